"""Running a queue in several processes: local worker processes, a Dask cluster, or ``assay worker`` anywhere.

Every worker runs the same claim loop (:func:`work`) against the database, which is the single source of truth:
a worker claims a job atomically (see :mod:`assay.experiment.claiming`), runs it, stores its results in one
transaction and claims the next. Workers never talk to each other or to the process that started them, so a
worker may die at any moment: its job is taken again when its lease expires (or at once, by a worker on the same
machine that sees its process is gone), and nothing it half-wrote remains.

``queue.run_jobs(workers=N)`` starts N fresh ``python -m assay.experiment.workers`` processes (never forked:
TensorFlow, torch and open database connections do not survive ``fork``), each with its BLAS/OpenMP/TensorFlow
threads capped before anything imports numpy. ``queue.run_jobs(executor=client)`` runs one long-running claim
loop per worker of a ``dask.distributed.Client``. In both cases the calling process only watches the database
to draw one progress bar and returns the same :class:`~assay.experiment.runner.RunSummary` as an in-process run.

This module imports no numpy at module level, so a worker process can cap its threads before numpy loads.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from assay import errors
from assay.db.engine import get_engine
from assay.experiment import claiming

if TYPE_CHECKING:
    from assay.experiment.objects import Queue
    from assay.experiment.runner import RunSummary

logger = logging.getLogger("assay.workers")

#: environment variables that cap the threads of BLAS, OpenMP, numexpr and TensorFlow in a worker process
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)

#: how often the parent process polls the database for the progress bar
PROGRESS_POLL_SECONDS = 0.25
#: how long interrupted workers get to give their jobs back before they are killed
STOP_GRACE_SECONDS = 10.0


# ----------------------------------------------------------------------------------------------------------------
# threads
# ----------------------------------------------------------------------------------------------------------------


def cpu_count() -> int:
    """The cores this process may use (its CPU affinity where the platform tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def threads_per_worker(worker_count: int) -> int:
    """Cores shared fairly: ``cores // worker_count``, at least one (more threads would only fight each other)."""
    return max(1, cpu_count() // worker_count)


def thread_environment(threads: int) -> dict[str, str]:
    """The environment variables that cap every numerical library of a new process at ``threads`` threads."""
    return dict.fromkeys(THREAD_ENV_VARS, str(threads))


def limit_threads(threads: int) -> None:
    """Cap this process's numerical libraries at ``threads`` threads.

    Call it before numpy, torch or TensorFlow are imported: then the environment variables do everything.
    Libraries already loaded (a Dask worker imported numpy long ago) are capped through threadpoolctl and
    ``torch.set_num_threads``; TensorFlow cannot change its thread pools once it has started, so it keeps them.
    """
    os.environ.update(thread_environment(threads))
    if "numpy" in sys.modules:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


# ----------------------------------------------------------------------------------------------------------------
# the claim loop every worker runs
# ----------------------------------------------------------------------------------------------------------------


@attrs.define
class WorkerReport:
    """What one worker did: its name, the jobs it finished, and why it stopped early (if it did).

    ``lost`` counts jobs whose lease another worker took over before this one could store them (this worker
    stalled for longer than the lease); their results were dropped, the other worker's count.
    """

    worker: str
    succeeded: int = 0
    failed: int = 0
    lost: int = 0
    pruned: int = 0
    stopped_by: dict[str, str] | None = None  # {"error": class name, "parameter": ..., "message": ...}
    storage_seconds: dict[str, float] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkerReport:
        return cls(**data)


def _idle_poll_seconds(lease_seconds: float | None) -> float:
    # Waiting for other workers' jobs: poll often enough to notice a dead one well within its lease.
    lease = claiming.LEASE_SECONDS if lease_seconds is None else lease_seconds
    return max(0.05, min(0.2, lease / 4))


def work(
    queue_id: int,
    *,
    worker: str | None = None,
    lease_seconds: float | None = None,
    wait: bool = True,
    should_stop: Callable[[], bool] | None = None,
) -> WorkerReport:
    """Claim and run jobs of a queue in this process until none is left; the loop every worker runs.

    Args:
        queue_id: the queue to work on (``assay.setup`` must point at its database).
        worker: this worker's name (default: ``host:pid:random``).
        lease_seconds: the lease of each claimed job (default ``ASSAY_LEASE_SECONDS``, else 60 s).
        wait: when nothing can be claimed but other workers still run jobs, wait: their worker may die and
            its job come back. With ``False`` the worker stops as soon as nothing can be claimed.
        should_stop: asked between jobs; ``True`` ends the loop (Dask uses it to stop its workers).

    Returns:
        A :class:`WorkerReport`. A missing hyperparameter (every job would fail the same way) stops the loop;
        ``stopped_by`` says so. An interruption (Ctrl-C, SIGTERM) gives the running job back to the queue.
    """
    from assay.experiment import runner

    worker = worker or claiming.worker_name()
    report = WorkerReport(worker)
    storage_before = claiming.STORAGE_TIMER.snapshot()
    try:
        while should_stop is None or not should_stop():
            job_id = claiming.claim_next(queue_id, worker, lease_seconds)
            if job_id is None:
                if not wait or not _others_may_hand_back(queue_id):
                    break
                time.sleep(_idle_poll_seconds(lease_seconds))
                continue
            try:
                outcome = runner.run_claimed_job(job_id, worker, lease_seconds)
            except BaseException:
                claiming.unclaim(job_id, worker)  # interrupted: the job runs again later, from scratch
                raise
            if outcome.status == "succeeded":
                report.succeeded += 1
            elif outcome.status == "pruned":
                report.pruned += 1
            elif outcome.status == "lost":
                report.lost += 1
            else:
                report.failed += 1
                if isinstance(outcome.error, runner.MissingHyperparameterError):
                    report.stopped_by = _describe(outcome.error)
                    break
    finally:
        report.storage_seconds = claiming.seconds_since(storage_before)
    return report


def _others_may_hand_back(queue_id: int) -> bool:
    """True while other workers hold jobs that may come back (their worker may die); requeues dead local ones."""
    claiming.release_dead_local_jobs(queue_id)
    counts = claiming.unfinished_counts(queue_id)
    return counts["queued"] + counts["running"] > 0


def _describe(exc: errors.ValidationError) -> dict[str, str]:
    prefix = f"{exc.parameter}: "
    text = str(exc)
    return {"error": type(exc).__name__, "parameter": exc.parameter,
            "message": text[len(prefix):] if text.startswith(prefix) else text}


# ----------------------------------------------------------------------------------------------------------------
# the parent: start workers, draw the progress bar, summarise
# ----------------------------------------------------------------------------------------------------------------


def run_parallel(queue: Queue, workers: int | None = None, executor: Any = None, progress: bool = True,
                 lease_seconds: float | None = None, threads: int | None = None) -> RunSummary:
    """Run a queue's unfinished jobs in ``workers`` local processes or on a Dask ``executor``.

    Args:
        queue: the queue; ``queue.run_jobs(workers=..., executor=...)`` calls this.
        workers: how many local worker processes to start.
        executor: a ``dask.distributed.Client``; one claim loop runs on each of its workers, which must reach
            the database at the URL this process uses (a SQLite file only works on this machine).
        progress: draw one progress bar here, fed by the database.
        lease_seconds: the lease of each claimed job (default ``ASSAY_LEASE_SECONDS``, else 60 s).
        threads: BLAS/OpenMP/TensorFlow/torch threads of each worker. Default: the cores divided among the local
            workers (at least one), or each Dask worker's own thread count. Small models train fastest with 1:
            their threads cost more than they give, above all on a busy machine.

    Returns:
        The same :class:`~assay.experiment.runner.RunSummary` as an in-process run, with the storage time of
        every worker added up.

    Raises:
        assay.errors.ValidationError: bad ``workers`` or ``executor``, checked before anything starts.
        assay.errors.ConfigurationError: the database cannot be shared (an in-memory SQLite database).
        assay.errors.JobError: every worker died while jobs were left; run it again to resume.
    """
    if workers is not None and executor is not None:
        raise errors.ValidationError("workers", "give workers=N for local processes or executor=client for Dask, "
                                                "not both")
    if executor is None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise errors.ValidationError("workers", f"must be an int >= 1 (local worker processes), got {workers!r}")
    if executor is not None and not (hasattr(executor, "submit") and hasattr(executor, "nthreads")):
        raise errors.ValidationError(
            "executor", f"must be a dask.distributed.Client, got {type(executor).__name__}; for local processes "
                        "use workers=N"
        )
    if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
        raise errors.ValidationError("threads", f"must be an int >= 1 (threads per worker), got {threads!r}")
    url = shared_database_url()
    if executor is not None:
        return run_on_dask(queue, executor, url=url, progress=progress, lease_seconds=lease_seconds,
                           threads=threads)
    return run_local(queue, workers, url=url, progress=progress, lease_seconds=lease_seconds, threads=threads)


def shared_database_url() -> str:
    """The URL (password included) other processes use to reach this process's database."""
    engine = get_engine()
    if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        raise errors.ConfigurationError(
            "url: an in-memory SQLite database cannot be shared with worker processes; call "
            "assay.setup('sqlite:///path/assay.sqlite3') or use PostgreSQL"
        )
    url = engine.url
    if engine.dialect.name == "sqlite":
        # a relative path would point elsewhere from a worker started in another folder (Dask workers may be)
        url = url.set(database=str(Path(url.database).expanduser().resolve()))
    return url.render_as_string(hide_password=False)


class _Watch:
    """One progress bar over all runs, fed by polling the database while workers run elsewhere."""

    def __init__(self, queue: Queue, progress: bool):
        from tqdm.auto import tqdm

        self.queue_id = queue.id
        self.before = queue.status()
        self.bar = tqdm(total=self.before["total"],
                        initial=self.before["succeeded"] + self.before["failed"] + self.before["pruned"],
                        disable=not progress, desc=f"Queue {queue.id}", unit="run")

    def update(self) -> None:
        counts = claiming.unfinished_counts(self.queue_id)
        done = self.before["total"] - counts["queued"] - counts["running"]
        if done != self.bar.n:
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def _summarise(queue: Queue, watch: _Watch, reports: list[WorkerReport], progress: bool) -> RunSummary:
    from assay.experiment.runner import MissingHyperparameterError, RunSummary

    after = queue.status()
    storage: dict[str, float] = {}
    for report in reports:
        for kind, seconds in report.storage_seconds.items():
            storage[kind] = storage.get(kind, 0.0) + seconds
    summary = RunSummary(queue.id, after["succeeded"] - watch.before["succeeded"],
                         after["failed"] - watch.before["failed"], after, storage,
                         after["pruned"] - watch.before["pruned"])
    stopped = next((r.stopped_by for r in reports if r.stopped_by), None)
    if stopped is not None and stopped["error"] == MissingHyperparameterError.__name__:
        raise MissingHyperparameterError(stopped["parameter"], stopped["message"])
    if progress:
        print(summary)
    return summary


def _check_finished(queue: Queue, problems: list[str]) -> None:
    """Raise when workers died and left jobs behind; only log when the surviving workers made up for it."""
    if not problems:
        return
    left = claiming.unfinished_counts(queue.id)
    if left["queued"] + left["running"]:
        raise errors.JobError(
            f"queue {queue.id}: the workers stopped with {left['queued']} jobs queued and {left['running']} "
            f"running ({'; '.join(problems)}); their output above says why; call queue.run_jobs() again to resume"
        )
    logger.warning("queue %s finished, but %s; their jobs ran again", queue.id, "; ".join(problems))


# ----------------------------------------------------------------------------------------------------------------
# local worker processes
# ----------------------------------------------------------------------------------------------------------------


def worker_command(queue_id: int, *, threads: int, report: str | None = None,
                   lease_seconds: float | None = None) -> list[str]:
    """The command line of one local worker process (``python -m assay.experiment.workers ...``)."""
    command = [sys.executable, "-m", "assay.experiment.workers", "--queue", str(queue_id), "--threads", str(threads),
               "--quiet"]
    if report is not None:
        command += ["--report", report]
    if lease_seconds is not None:
        command += ["--lease-seconds", repr(float(lease_seconds))]
    return command


def worker_environment(url: str, threads: int) -> dict[str, str]:
    """The environment of a local worker: the database URL, thread caps, and this process's import path."""
    env = dict(os.environ)
    env.update(thread_environment(threads))
    # the URL travels in the environment, so a password never shows in the process list
    env["ASSAY_DATABASE_URL"] = url
    # like multiprocessing's spawn: the child imports what the parent could (the user's own modules included)
    paths = [path for path in sys.path if path and os.path.isdir(path)]
    env["PYTHONPATH"] = os.pathsep.join([*paths, *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def run_local(queue: Queue, worker_count: int, *, url: str, progress: bool = True,
              lease_seconds: float | None = None, threads: int | None = None) -> RunSummary:
    """Run a queue in ``worker_count`` fresh local worker processes with one progress bar here."""
    claiming.release_dead_local_jobs(queue.id)
    threads = threads or threads_per_worker(worker_count)
    env = worker_environment(url, threads)
    watch = _Watch(queue, progress)
    with tempfile.TemporaryDirectory(prefix="assay-workers-") as folder:
        report_paths = [str(Path(folder) / f"worker-{i}.json") for i in range(worker_count)]
        processes: list[subprocess.Popen[bytes]] = []
        try:
            for path in report_paths:
                command = worker_command(queue.id, threads=threads, report=path, lease_seconds=lease_seconds)
                processes.append(subprocess.Popen(command, env=env))
            while any(process.poll() is None for process in processes):
                watch.update()
                time.sleep(PROGRESS_POLL_SECONDS)
            watch.update()
        except BaseException:
            _stop_processes(processes)
            raise
        finally:
            watch.close()
        reports = [WorkerReport.from_dict(json.loads(Path(path).read_text()))
                   for path in report_paths if Path(path).exists()]
    problems = [f"worker process {process.pid} exited with code {process.returncode}"
                for process in processes if process.returncode != 0]
    stopped_early = any(report.stopped_by for report in reports)
    if not stopped_early:
        _check_finished(queue, problems)
    return _summarise(queue, watch, reports, progress)


def _stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    """Ask workers to give their jobs back (SIGTERM), then kill whatever still runs after a grace period."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()  # its job comes back through its lease or release_dead_local_jobs
            process.wait()


# ----------------------------------------------------------------------------------------------------------------
# Dask
# ----------------------------------------------------------------------------------------------------------------


def dask_worker_task(queue_id: int, url: str, lease_seconds: float | None, threads: int, stop_event: str) -> dict:
    """The long-running task each Dask worker runs: set up the database here, then :func:`work` until done."""
    from distributed import Event

    from assay.db.engine import setup

    limit_threads(threads)
    setup(url)
    event = Event(stop_event)
    last_check = [0.0, False]

    def should_stop() -> bool:
        # between jobs only; at most once a second, so a queue of tiny jobs does not flood the scheduler
        if time.monotonic() - last_check[0] > 1.0:
            last_check[:] = [time.monotonic(), event.is_set()]
        return bool(last_check[1])

    return work(queue_id, lease_seconds=lease_seconds, should_stop=should_stop).to_dict()


def run_on_dask(queue: Queue, client: Any, *, url: str, progress: bool = True,
                lease_seconds: float | None = None, threads: int | None = None) -> RunSummary:
    """Run one claim loop per worker of a ``dask.distributed.Client``; the database stays the source of truth."""
    from distributed import Event

    nthreads = client.nthreads()
    if not nthreads:
        raise errors.ValidationError("executor", "the Dask client has no workers; start some (e.g. "
                                                 "LocalCluster(n_workers=2)) and try again")
    claiming.release_dead_local_jobs(queue.id)
    token = uuid.uuid4().hex[:8]
    stop_name = f"assay-stop-{queue.id}-{token}"
    stop = Event(stop_name, client=client)
    watch = _Watch(queue, progress)
    futures = []
    try:
        for index, (address, worker_threads) in enumerate(sorted(nthreads.items())):
            # one loop per Dask worker; allowed elsewhere only if that worker disappears before it starts
            futures.append(client.submit(
                dask_worker_task, queue.id, url, lease_seconds, threads or max(1, worker_threads), stop_name,
                key=f"assay-worker-{queue.id}-{token}-{index}", workers=[address], allow_other_workers=True,
                pure=False,
            ))
        while not all(future.done() for future in futures):
            watch.update()
            time.sleep(PROGRESS_POLL_SECONDS)
        watch.update()
    except BaseException:
        stop.set()  # running jobs finish and are stored; the loops then stop
        client.cancel(futures)
        raise
    finally:
        watch.close()
    reports, problems = [], []
    for future in futures:
        if future.status == "finished":
            reports.append(WorkerReport.from_dict(future.result()))
        else:
            problems.append(f"Dask task {future.key} ended with {future.status}: {_future_error(future)}")
    if not any(report.stopped_by for report in reports):
        _check_finished(queue, problems)
    return _summarise(queue, watch, reports, progress)


def _future_error(future: Any) -> str:
    try:
        exc = future.exception()
    except Exception as error:  # a cancelled future has no exception to give
        return type(error).__name__
    return f"{type(exc).__name__}: {exc}"


if __name__ == "__main__":
    from assay.experiment.commands import worker_main

    sys.exit(worker_main())
