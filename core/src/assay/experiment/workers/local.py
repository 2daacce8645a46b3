"""Local worker processes: ``queue.run_jobs(workers=N)`` starts N fresh ``python -m assay.cli.worker`` processes.

Never forked: TensorFlow, torch and open database connections do not survive ``fork``. Each process has its
BLAS/OpenMP/TensorFlow threads capped before anything imports numpy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assay.experiment import claiming
from assay.experiment.outcomes import RunSummary
from assay.experiment.workers.loop import WorkerReport
from assay.experiment.workers.progress import PROGRESS_POLL_SECONDS, Watch, check_finished, summarise
from assay.experiment.workers.threads import thread_environment, threads_per_worker

#: how long interrupted workers get to give their jobs back before they are killed
STOP_GRACE_SECONDS = 10.0


def worker_command(queue_id: int, *, threads: int, report: str | None = None,
                   lease_seconds: float | None = None) -> list[str]:
    """The command line of one local worker process (``python -m assay.cli.worker ...``)."""
    command = [sys.executable, "-m", "assay.cli.worker", "--queue", str(queue_id), "--threads", str(threads),
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


def run_local(queue_id: int, worker_count: int, *, url: str, progress: bool = True,
              lease_seconds: float | None = None, threads: int | None = None) -> RunSummary:
    """Run a queue in ``worker_count`` fresh local worker processes with one progress bar here."""
    claiming.release_dead_local_jobs(queue_id)
    threads = threads or threads_per_worker(worker_count)
    env = worker_environment(url, threads)
    watch = Watch(queue_id, progress)
    with tempfile.TemporaryDirectory(prefix="assay-workers-") as folder:
        report_paths = [str(Path(folder) / f"worker-{i}.json") for i in range(worker_count)]
        processes: list[subprocess.Popen[bytes]] = []
        try:
            for path in report_paths:
                command = worker_command(queue_id, threads=threads, report=path, lease_seconds=lease_seconds)
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
        check_finished(queue_id, problems)
    return summarise(queue_id, watch, reports, progress)


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
