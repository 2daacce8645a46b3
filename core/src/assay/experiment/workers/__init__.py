"""Running a queue: in this process, in local worker processes, on a Dask cluster, or ``assay worker`` anywhere.

Every way runs the same claim loop (:func:`~assay.experiment.workers.loop.work`) against the database:

- :mod:`~assay.experiment.workers.loop`: the loop;
- :mod:`~assay.experiment.workers.in_process`: the loop in this process (``queue.run_jobs()``);
- :mod:`~assay.experiment.workers.local`: local worker processes (``queue.run_jobs(workers=N)``), taken from
  :mod:`~assay.experiment.workers.pool`, which keeps them, framework imported, for the next queue
  (:func:`start_workers` starts them ahead, :func:`stop_workers` stops them); each runs
  :mod:`~assay.experiment.workers.serve`;
- :mod:`~assay.experiment.workers.dask_cluster`: one loop per Dask worker (``queue.run_jobs(executor=client)``);
- :mod:`~assay.experiment.workers.progress`: the starting process's progress bar and summary;
- :mod:`~assay.experiment.workers.threads`: thread caps per worker process.

In every case the calling process returns the same :class:`~assay.experiment.outcomes.RunSummary`.
Imports no numpy at module level, so a worker process can cap its threads before numpy loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assay import errors, lazy
from assay.db.engine import get_engine
from assay.experiment.outcomes import RunSummary
from assay.experiment.workers.dask_cluster import run_on_dask
from assay.experiment.workers.in_process import run_in_process
from assay.experiment.workers.local import run_local, worker_command, worker_environment
from assay.experiment.workers.loop import WorkerReport, work
from assay.experiment.workers.pool import start_workers, stop_workers
from assay.experiment.workers.threads import limit_threads, thread_environment, threads_per_worker

__all__ = [
    "RunSummary", "WorkerReport", "limit_threads", "run_in_process", "run_local", "run_on_dask", "run_parallel",
    "shared_database_url", "start_workers", "stop_workers", "thread_environment", "threads_per_worker", "work",
    "worker_command", "worker_environment",
]


def run_parallel(queue_id: int, workers: int | None = None, executor: Any = None, progress: bool = True,
                 lease_seconds: float | None = None, threads: int | None = None) -> RunSummary:
    """Run a queue's unfinished jobs in ``workers`` local processes or on a Dask ``executor``.

    Args:
        queue_id: the queue; ``queue.run_jobs(workers=..., executor=...)`` calls this.
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
        return run_on_dask(queue_id, executor, url=url, progress=progress, lease_seconds=lease_seconds,
                           threads=threads)
    return run_local(queue_id, workers, url=url, progress=progress, lease_seconds=lease_seconds, threads=threads)


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

__getattr__ = lazy.submodules(__name__)  # submodules load on first access (assay.lazy)
