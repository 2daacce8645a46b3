"""Local worker processes: ``queue.run_jobs(workers=N)`` runs the queue in N long-lived worker processes.

The processes come from this process's pool (:mod:`assay.experiment.workers.pool`): the first call starts them
(fresh interpreters, never forked: TensorFlow, torch and open database connections do not survive ``fork``), and
they stay, with their framework imported, for the calls that follow. Each has its BLAS/OpenMP/TensorFlow threads
capped before anything imports numpy.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from assay.db.models import AlgorithmRow, QueueRow
from assay.db.queries import data as data_queries
from assay.experiment import claiming
from assay.experiment.outcomes import RunSummary
from assay.experiment.workers.loop import WorkerReport
from assay.experiment.workers.pool import pool_for
from assay.experiment.workers.progress import PROGRESS_POLL_SECONDS, Watch, check_finished, summarise
from assay.experiment.workers.threads import thread_environment, threads_per_worker

#: how often this process looks whether its workers finished the queue (the progress bar polls less often)
FINISH_POLL_SECONDS = 0.02


def worker_command(queue_id: int, *, threads: int, report: str | None = None,
                   lease_seconds: float | None = None) -> list[str]:
    """The command line of one stand-alone worker process for one queue (``python -m assay.cli.worker ...``),
    for running a queue's workers outside this process's pool (on another terminal, or under a supervisor)."""
    command = [sys.executable, "-m", "assay.cli.worker", "--queue", str(queue_id), "--threads", str(threads),
               "--quiet"]
    if report is not None:
        command += ["--report", report]
    if lease_seconds is not None:
        command += ["--lease-seconds", repr(float(lease_seconds))]
    return command


def worker_environment(url: str, threads: int) -> dict[str, str]:
    """The environment of a stand-alone worker: the database URL, thread caps, and this process's import path."""
    env = dict(os.environ)
    env.update(thread_environment(threads))
    # the URL travels in the environment, so a password never shows in the process list
    env["ASSAY_DATABASE_URL"] = url
    # like multiprocessing's spawn: the child imports what the parent could (the user's own modules included)
    paths = [path for path in sys.path if path and os.path.isdir(path)]
    env["PYTHONPATH"] = os.pathsep.join([*paths, *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def queue_library(queue_id: int) -> str:
    """The library of a queue's algorithm: what its workers import while they start."""
    algorithm_id = data_queries.column_value(QueueRow, queue_id, "algorithm_id")
    return data_queries.column_value(AlgorithmRow, algorithm_id, "library")


def run_local(queue_id: int, worker_count: int, *, url: str, progress: bool = True,
              lease_seconds: float | None = None, threads: int | None = None) -> RunSummary:
    """Run a queue in ``worker_count`` local worker processes (kept for later queues) with one progress bar here."""
    claiming.release_dead_local_jobs(queue_id)
    threads = threads or threads_per_worker(worker_count)
    pool = pool_for(threads)
    workers = pool.take(worker_count, [queue_library(queue_id)])
    watch = Watch(queue_id, progress)
    with tempfile.TemporaryDirectory(prefix="assay-workers-") as folder:
        reports = [Path(folder) / f"worker-{index}.json" for index in range(worker_count)]
        try:
            for worker, report in zip(workers, reports, strict=True):
                worker.assign(queue_id, url, lease_seconds, report)
            last_update = 0.0
            while any(worker.busy() for worker in workers):
                # without a bar, no polling: on SQLite every read briefly takes the lock the workers' stores need
                if progress and time.monotonic() - last_update >= PROGRESS_POLL_SECONDS:
                    watch.update()
                    last_update = time.monotonic()
                time.sleep(FINISH_POLL_SECONDS)
            watch.update()
        except BaseException:
            pool.discard(workers, terminate=True)  # Ctrl-C: the running jobs go back to the queue
            raise
        finally:
            watch.close()
        done = [WorkerReport.from_dict(json.loads(report.read_text())) for report in reports if report.exists()]
    dead = [worker for worker in workers if not worker.alive()]
    problems = [f"worker process {worker.pid} exited with code {worker.process.returncode}" for worker in dead]
    pool.discard(dead, terminate=False)
    if not any(report.stopped_by for report in done):
        check_finished(queue_id, problems)
    return summarise(queue_id, watch, done, progress)
