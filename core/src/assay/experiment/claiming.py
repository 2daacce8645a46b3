"""Claiming jobs from the database atomically, with leases, so any number of workers share one queue.

A worker claims a job by moving it from ``queued`` (or from ``running`` with an expired lease: its worker
died) to ``running`` with its own name and a lease (the queries are in :mod:`assay.db.queries.claims`). While a
job runs, a heartbeat renews the lease. Results are written only if the job is still claimed by the same worker,
so a job is never stored twice even if its lease was taken over. This module holds the policy: lease lengths,
worker names, which local worker is dead, and the time spent in storage.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from assay.db import retry
from assay.db.models import utcnow
from assay.db.queries import claims as queries
from assay.experiment.timing import STORAGE_TIMER, StorageTimer, seconds_since

__all__ = ["STORAGE_TIMER", "StorageTimer", "seconds_since"]  # re-exported: the timer lives in timing.py

LEASE_SECONDS = float(os.environ.get("ASSAY_LEASE_SECONDS", "60"))


def worker_name() -> str:
    """``host:pid:random`` — unique per worker, and tells which local process holds a job."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _lease_until(seconds: float | None = None, now: dt.datetime | None = None) -> dt.datetime:
    return (now or utcnow()) + dt.timedelta(seconds=LEASE_SECONDS if seconds is None else seconds)


def claim_next(queue_id: int, worker: str, lease_seconds: float | None = None) -> int | None:
    """Claim the next runnable job of a queue for ``worker``; returns its id, or ``None`` when none is left.

    A job whose worker died (lease expired, or its local process is gone) is taken again until it has used the
    queue's ``max_attempts``; then it is marked failed, so a job that kills its worker every time cannot stall
    the queue. An adaptive queue with nothing left to claim first grows by one combination
    (:func:`assay.experiment.search.adaptive.extend`), until its search is complete.
    """
    from assay.experiment.search import adaptive

    while True:
        with STORAGE_TIMER.measure("claim"):
            job_id = _claim_next(queue_id, worker, lease_seconds)
        if job_id is not None or not adaptive.extend(queue_id):
            return job_id


def claim(queue_id: int, worker: str, lease_seconds: float | None = None) -> queries.JobContext | None:
    """:func:`claim_next`, with what the claimed job needs to run, read in the claim's own transaction (the
    claim loop's way: one transaction fewer per job)."""
    from assay.experiment.search import adaptive

    retried = [False]

    def attempt() -> queries.JobContext | None:
        while True:
            with STORAGE_TIMER.measure("claim"):
                now = utcnow()
                context = queries.claim_next_context(queue_id, worker, now, _lease_until(lease_seconds, now),
                                                     retried=retried[0])
            if context is not None or not adaptive.extend(queue_id):
                return context

    return retry.call(attempt, what=f"claiming a job of queue {queue_id}",
                      on_retry=lambda: retried.__setitem__(0, True))


def store_and_claim_next(job_id: int, worker: str, predictor: dict[str, Any], predictions: list[dict[str, Any]],
                         status: str, queue_id: int,
                         lease_seconds: float | None = None) -> tuple[bool, queries.JobContext | None]:
    """Store a finished job and claim the worker's next one of ``queue_id`` in one transaction (see
    :func:`assay.db.queries.claims.store_and_claim_next`); ``(stored, next job's context or None)``.

    ``None`` only says that nothing was claimable at that moment: :func:`claim` then asks once more, and grows an
    adaptive queue.
    """
    retried = [False]

    def attempt() -> tuple[bool, queries.JobContext | None]:
        with STORAGE_TIMER.measure("store"):
            now = utcnow()
            return queries.store_and_claim_next(job_id, worker, predictor, predictions, status, queue_id, now,
                                                _lease_until(lease_seconds, now), retried=retried[0])

    return retry.call(attempt, what=f"storing job {job_id}", on_retry=lambda: retried.__setitem__(0, True))


def _claim_next(queue_id: int, worker: str, lease_seconds: float | None) -> int | None:
    now = utcnow()
    return queries.claim_next_job(queue_id, worker, now, _lease_until(lease_seconds, now))


_ENDED_WORKERS: set[str] = set()


def worker_ended(worker: str) -> None:
    """Remember that this process's claim loop ``worker`` stopped: a job it could not give back (the database
    refused) is requeued by the next run here instead of waiting for its lease."""
    _ENDED_WORKERS.add(worker)


def release_dead_local_jobs(queue_id: int) -> int:
    """Requeue jobs held by processes of this host that no longer exist (a crash, a kill, Ctrl-C), and by claim
    loops of this process that already stopped."""
    host = socket.gethostname()

    def is_dead(worker: str | None) -> bool:
        if worker in _ENDED_WORKERS:
            return True
        parts = (worker or "").split(":")
        return len(parts) == 3 and parts[0] == host and parts[1].isdigit() and not _pid_alive(int(parts[1]))

    return retry.call(queries.requeue_jobs_of_dead_workers, queue_id, is_dead,
                      what=f"looking for jobs of queue {queue_id} whose worker died")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def renew_lease(job_id: int, worker: str, lease_seconds: float | None = None) -> bool:
    """Extend this worker's lease on a job; ``False`` if the job is no longer ours."""
    with STORAGE_TIMER.measure("heartbeat"):
        return queries.extend_lease(job_id, worker, _lease_until(lease_seconds))


class _Heartbeats:
    """One thread per process renews the leases of every job this process runs.

    A thread started and joined per job cost more than a tiny job's own storage calls; this one starts with the
    first job and then sleeps until the next renewal is due (a third of each lease). A new job wakes it only when
    its renewal is due before that: waking a thread per job hands the GIL over and back, which cost a tiny job
    about a millisecond.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._jobs: dict[tuple[int, str], tuple[float, float]] = {}  # (job, worker) -> (lease seconds, next beat)
        self._thread: threading.Thread | None = None
        self._wakes_at = 0.0  # when the thread wakes up next by itself (monotonic)

    def add(self, job_id: int, worker: str, seconds: float) -> None:
        with self._lock:
            beat = time.monotonic() + seconds / 3
            self._jobs[(job_id, worker)] = (seconds, beat)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="assay-heartbeat", daemon=True)
                self._thread.start()
                return
            wake = beat < self._wakes_at
        if wake:
            self._wake.set()

    def remove(self, job_id: int, worker: str) -> None:
        with self._lock:
            self._jobs.pop((job_id, worker), None)

    def _run(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                due = [(key, seconds) for key, (seconds, at) in self._jobs.items() if at <= now]
                for key, seconds in due:
                    self._jobs[key] = (seconds, now + seconds / 3)
                next_at = min((at for _, at in self._jobs.values()), default=now + 60.0)
                self._wakes_at = next_at
            for (job_id, worker), seconds in due:
                # a missed beat only shortens the lease; the next one may succeed
                with contextlib.suppress(Exception):
                    renew_lease(job_id, worker, seconds)
            self._wake.wait(max(0.0, next_at - time.monotonic()))
            self._wake.clear()


_HEARTBEATS = _Heartbeats()


@contextlib.contextmanager
def heartbeat(job_id: int, worker: str, lease_seconds: float | None = None) -> Iterator[None]:
    """Renew the lease every third of its length while the block runs (from this process's heartbeat thread)."""
    _HEARTBEATS.add(job_id, worker, LEASE_SECONDS if lease_seconds is None else lease_seconds)
    try:
        yield
    finally:
        _HEARTBEATS.remove(job_id, worker)


def unclaim(job_id: int, worker: str) -> None:
    """Give a job back to the queue (the user interrupted it): it will run again from scratch."""
    retry.call(queries.give_back, job_id, worker, what=f"giving job {job_id} back to the queue")


def unfinished_counts(queue_id: int) -> dict[str, int]:
    """How many jobs of a queue are ``queued`` and ``running`` (one small query; idle workers poll it).

    ``queued`` includes the jobs an adaptive search has yet to create.
    """
    return retry.call(queries.unfinished_counts, queue_id, what=f"counting the unfinished jobs of queue {queue_id}")
