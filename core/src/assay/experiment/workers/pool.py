"""Long-lived local worker processes: started once, with the framework imported, they take queue after queue.

Starting a worker process costs seconds: Python, numpy, pandas, SQLAlchemy, the plugins and torch or TensorFlow
all load before the first job, and for a queue of small models that is a large share of the wall clock (and the
reason 2 workers were far from twice as fast as 1). So the processes that ``queue.run_jobs(workers=N)`` starts
stay after the queue is done, idle and ready: the next call, for any queue on any database, hands them its queue
at once. A new process imports the queue's library and assay's plugins as soon as it starts, while this process
is still preparing.

The processes are still fresh interpreters (``python -m assay.experiment.workers.serve``), never forked:
TensorFlow, torch and open database connections do not survive ``fork``. Each one's BLAS/OpenMP/TensorFlow
threads are capped when it starts, so the pool is kept per thread count: a call with another count replaces it.
Commands travel on the worker's stdin (one JSON line: queue, database URL, lease, where to write the report),
reports come back as files, so whatever the user's functions print cannot garble them.

An idle worker exits by itself after :data:`IDLE_SECONDS` (``ASSAY_WORKER_IDLE_SECONDS``), and when this
process exits (its stdin closes). :func:`start_workers` starts them ahead of the first queue;
:func:`stop_workers` stops them now.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from assay import errors
from assay.experiment.workers.threads import thread_environment, threads_per_worker

#: an idle pooled worker exits after this many seconds without a queue (``ASSAY_WORKER_IDLE_SECONDS``)
IDLE_SECONDS = float(os.environ.get("ASSAY_WORKER_IDLE_SECONDS", "600"))
#: how long interrupted workers get to give their jobs back before they are killed
STOP_GRACE_SECONDS = 10.0


def worker_environment(threads: int) -> dict[str, str]:
    """The environment of a local worker: thread caps, and this process's import path.

    The database URL is not in it: each queue's URL travels with the queue on the worker's stdin, so a password
    never shows in the process list and one worker serves any database.
    """
    env = {key: value for key, value in os.environ.items() if key != "ASSAY_DATABASE_URL"}
    env.update(thread_environment(threads))
    # like multiprocessing's spawn: the child imports what the parent could (the user's own modules included)
    paths = [path for path in sys.path if path and os.path.isdir(path)]
    env["PYTHONPATH"] = os.pathsep.join([*paths, *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def worker_command(threads: int, preload: list[str], idle_seconds: float) -> list[str]:
    """The command line of one pooled worker process."""
    command = [sys.executable, "-m", "assay.experiment.workers.serve", "--threads", str(threads),
               "--idle-seconds", repr(float(idle_seconds))]
    for library in preload:
        command += ["--preload", library]
    return command


class PooledWorker:
    """One long-lived worker process and the queue it is running, if any."""

    def __init__(self, threads: int, preload: list[str], env: dict[str, str]):
        self.process = subprocess.Popen(worker_command(threads, preload, IDLE_SECONDS), stdin=subprocess.PIPE,
                                        env=env)
        self.report: Path | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def assign(self, queue_id: int, url: str, lease_seconds: float | None, report: Path) -> bool:
        """Hand this worker a queue; ``False`` if it died (or exited idle) before it could take it."""
        self.report = report
        command = {"queue_id": queue_id, "url": url, "lease_seconds": lease_seconds, "report": str(report)}
        try:
            assert self.process.stdin is not None
            self.process.stdin.write((json.dumps(command) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return False
        return True

    def busy(self) -> bool:
        """Still running its queue: alive, and its report not written yet."""
        return self.report is not None and not self.report.exists() and self.alive()

    def stop(self, terminate: bool) -> None:
        """Close its stdin (an idle worker exits at once); ``terminate``: also ask a busy one to give its job back."""
        with contextlib.suppress(OSError, ValueError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        if terminate and self.alive():
            self.process.terminate()


class WorkerPool:
    """The worker processes of one thread count, kept between queues."""

    def __init__(self, threads: int):
        self.threads = threads
        self.env = worker_environment(threads)
        self.workers: list[PooledWorker] = []

    def take(self, count: int, preload: list[str]) -> list[PooledWorker]:
        """``count`` live workers: the idle ones first, new ones (importing ``preload``) for the rest."""
        self.workers = [worker for worker in self.workers if worker.alive()]
        while len(self.workers) < count:
            self.workers.append(PooledWorker(self.threads, preload, self.env))
        return self.workers[:count]

    def discard(self, workers: list[PooledWorker], terminate: bool) -> None:
        """Stop ``workers`` and forget them; with ``terminate``, running jobs go back to their queue first."""
        for worker in workers:
            worker.stop(terminate)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in workers:
            try:
                worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()  # its job comes back through its lease or release_dead_local_jobs
                worker.process.wait()
        self.workers = [worker for worker in self.workers if worker not in workers]

    def stop(self) -> None:
        self.discard(list(self.workers), terminate=True)


_lock = threading.Lock()
_pool: WorkerPool | None = None


def pool_for(threads: int) -> WorkerPool:
    """This process's pool for ``threads`` threads per worker; a pool of another thread count is stopped."""
    global _pool
    with _lock:
        env = worker_environment(threads)
        if _pool is not None and (_pool.threads != threads or _pool.env != env):
            _pool.stop()  # its processes were started with other thread caps or another import path
            _pool = None
        if _pool is None:
            _pool = WorkerPool(threads)
        return _pool


def start_workers(count: int, *, library: str | None = None, threads: int | None = None) -> list[int]:
    """Start ``count`` local worker processes now, so that the next ``queue.run_jobs(workers=count)`` needs none.

    Args:
        count: how many worker processes to have ready.
        library: the library they import while they start (``"torch"``, ``"keras"``...); ``None``: only assay.
        threads: BLAS/OpenMP/TensorFlow/torch threads of each; the same default as ``run_jobs(workers=count)``
            (the cores divided among the workers). A later call with another thread count replaces them.

    Returns:
        The process ids of the ready workers.
    """
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise errors.ValidationError("count", f"must be an int >= 1 (worker processes), got {count!r}")
    if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
        raise errors.ValidationError("threads", f"must be an int >= 1 (threads per worker), got {threads!r}")
    if library is not None:
        from assay import plugins

        plugins.backend(library)  # an unknown library fails here, naming what to install
    pool = pool_for(threads or threads_per_worker(count))
    return [worker.pid for worker in pool.take(count, [library] if library else [])]


def stop_workers() -> None:
    """Stop every idle local worker process this process started (they also exit on their own when idle)."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.stop()
            _pool = None


atexit.register(stop_workers)
