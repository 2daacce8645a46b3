"""Claiming jobs from the database atomically, with leases, so any number of workers share one queue.

A worker claims a job by moving it from ``queued`` (or from ``running`` with an expired lease: its worker
died) to ``running`` with its own name and a lease. PostgreSQL does it with ``FOR UPDATE SKIP LOCKED``;
SQLite with a single conditional ``UPDATE`` inside an immediate transaction. While a job runs, a heartbeat
renews the lease. Results are written only if the job is still claimed by the same worker, so a job is never
stored twice even if its lease was taken over.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, func, or_, select, update

from assay.db.engine import get_engine, session_scope
from assay.db.models import JobRow, QueueRow, utcnow

LEASE_SECONDS = float(os.environ.get("ASSAY_LEASE_SECONDS", "60"))


class StorageTimer:
    """Seconds and calls this process spent in assay's own storage calls, by kind (claim, heartbeat, load, store).

    The benchmarks and ``RunSummary.storage_seconds`` report it: the database overhead of a run is what a user
    pays on top of training. Thread-safe, because the heartbeat renews leases from its own thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = defaultdict(float)
        #: the CPU time of the same calls (of the calling thread): on a busy machine the wall time also counts
        #: the time other processes held the cores
        self.cpu_seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    @contextlib.contextmanager
    def measure(self, kind: str) -> Iterator[None]:
        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
            with self._lock:
                self.seconds[kind] += elapsed
                self.cpu_seconds[kind] += cpu
                self.calls[kind] += 1

    def snapshot(self) -> dict[str, float]:
        """Seconds per kind so far; subtract two snapshots to time a stretch of work."""
        with self._lock:
            return dict(self.seconds)

    def cpu_snapshot(self) -> dict[str, float]:
        """CPU seconds per kind so far (this process's calls)."""
        with self._lock:
            return dict(self.cpu_seconds)


#: this process's storage time; workers report it, ``run_queue`` reports the part spent in its call
STORAGE_TIMER = StorageTimer()


def seconds_since(before: dict[str, float]) -> dict[str, float]:
    """Storage seconds per kind spent since ``before`` (a :meth:`StorageTimer.snapshot`)."""
    now = STORAGE_TIMER.snapshot()
    return {kind: seconds - before.get(kind, 0.0) for kind, seconds in now.items() if seconds > before.get(kind, 0.0)}


def worker_name() -> str:
    """``host:pid:random`` — unique per worker, and tells which local process holds a job."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _lease_until(seconds: float | None = None) -> dt.datetime:
    return utcnow() + dt.timedelta(seconds=LEASE_SECONDS if seconds is None else seconds)


def _claimable(now: dt.datetime):
    return or_(
        JobRow.status == "queued",
        and_(JobRow.status == "running", JobRow.lease_expires_at < now),
    )


def claim_next(queue_id: int, worker: str, lease_seconds: float | None = None) -> int | None:
    """Claim the next runnable job of a queue for ``worker``; returns its id, or ``None`` when none is left.

    A job whose worker died (lease expired, or its local process is gone) is taken again until it has used the
    queue's ``max_attempts``; then it is marked failed, so a job that kills its worker every time cannot stall
    the queue.
    """
    with STORAGE_TIMER.measure("claim"):
        return _claim_next(queue_id, worker, lease_seconds)


def _claim_next(queue_id: int, worker: str, lease_seconds: float | None) -> int | None:
    now = utcnow()
    engine = get_engine()
    postgres = engine.dialect.name == "postgresql"
    # SQLAlchemy Core on one connection, not an ORM session: the session's bookkeeping cost more than the claim's
    # statements (SQLite holds its write lock for the whole transaction)
    with engine.begin() as connection:
        claimed = connection.execute(_claim_first(postgres), {
            "claim_queue": queue_id, "claim_now": now, "claim_worker": worker,
            "claim_lease_until": _lease_until(lease_seconds),
        }).scalar()
        if claimed is not None:
            return claimed
        # the first claimable job has used up its attempts, or none is left: look at them one by one
        max_attempts = connection.execute(
            select(QueueRow.max_attempts).where(QueueRow.id == queue_id)
        ).scalar_one()
        while True:
            query = (
                select(JobRow.id, JobRow.attempts)
                .where(JobRow.queue_id == queue_id, _claimable(now))
                .order_by(JobRow.run_index)
                .limit(1)
            )
            if postgres:
                query = query.with_for_update(skip_locked=True)
            row = connection.execute(query).first()
            if row is None:
                return None
            if row.attempts >= max_attempts:
                # only a worker that died leaves attempts used up on a claimable job (retry_failed resets them)
                connection.execute(
                    update(JobRow).where(JobRow.id == row.id, _claimable(now)).values(
                        status="failed", finished_at=now, lease_expires_at=None, worker=None,
                        error=f"WorkerDied: the worker running this job died {row.attempts} times "
                              f"(max_attempts={max_attempts}); see the workers' output for why",
                    )
                )
                continue
            # The conditional UPDATE is the claim: it only matches if nobody took the job in between.
            result = connection.execute(
                update(JobRow)
                .where(JobRow.id == row.id, _claimable(now))
                .values(status="running", worker=worker, attempts=JobRow.attempts + 1, started_at=now,
                        lease_expires_at=_lease_until(lease_seconds), error=None, traceback=None)
            )
            if result.rowcount == 1:
                return row.id


@functools.lru_cache(maxsize=2)
def _claim_first(postgres: bool) -> Any:
    """The common claim as one statement: the first claimable job in run order, if it has attempts left.

    ``UPDATE ... WHERE id = (the first claimable job) AND attempts < max_attempts RETURNING id``; no row when that
    job has used up its attempts (its workers died) or nothing is claimable, which the caller sorts out. Built
    once per dialect with bound parameters (``claim_queue``, ``claim_now``, ``claim_worker``,
    ``claim_lease_until``): building the
    expression costs more than running it.
    """
    queue_id, now = bindparam("claim_queue", type_=Integer), bindparam("claim_now", type_=JobRow.lease_expires_at.type)
    first = (
        select(JobRow.id)
        .where(JobRow.queue_id == queue_id, _claimable(now))
        .order_by(JobRow.run_index)
        .limit(1)
    )
    if postgres:
        first = first.with_for_update(skip_locked=True)  # a job another worker is claiming right now is skipped
    max_attempts = select(QueueRow.max_attempts).where(QueueRow.id == queue_id).scalar_subquery()
    return (
        update(JobRow)
        .where(JobRow.id == first.scalar_subquery(), _claimable(now), JobRow.attempts < max_attempts)
        .values(status="running", worker=bindparam("claim_worker", type_=String), attempts=JobRow.attempts + 1,
                started_at=now, lease_expires_at=bindparam("claim_lease_until", type_=JobRow.lease_expires_at.type),
                error=None, traceback=None)
        .returning(JobRow.id)
    )


def release_dead_local_jobs(queue_id: int) -> int:
    """Requeue jobs held by processes of this host that no longer exist (a crash, a kill, Ctrl-C)."""
    host = socket.gethostname()
    with session_scope() as session:
        rows = session.execute(
            select(JobRow.id, JobRow.worker).where(JobRow.queue_id == queue_id, JobRow.status == "running")
        ).all()
        dead = []
        for job_id, worker in rows:
            parts = (worker or "").split(":")
            if len(parts) == 3 and parts[0] == host and parts[1].isdigit() and not _pid_alive(int(parts[1])):
                dead.append(job_id)
        if dead:
            session.execute(
                update(JobRow).where(JobRow.id.in_(dead), JobRow.status == "running")
                .values(status="queued", worker=None, lease_expires_at=None)
            )
        return len(dead)


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
    with STORAGE_TIMER.measure("heartbeat"), session_scope() as session:
        result = session.execute(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.worker == worker, JobRow.status == "running")
            .values(lease_expires_at=_lease_until(lease_seconds))
        )
        return result.rowcount == 1


class _Heartbeats:
    """One thread per process renews the leases of every job this process runs.

    A thread started and joined per job cost more than a tiny job's own storage calls; this one starts with the
    first job and then sleeps until the next renewal is due (a third of each lease), or until a job comes or goes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._jobs: dict[tuple[int, str], tuple[float, float]] = {}  # (job, worker) -> (lease seconds, next beat)
        self._thread: threading.Thread | None = None

    def add(self, job_id: int, worker: str, seconds: float) -> None:
        with self._lock:
            self._jobs[(job_id, worker)] = (seconds, time.monotonic() + seconds / 3)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="assay-heartbeat", daemon=True)
                self._thread.start()
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
    with session_scope() as session:
        session.execute(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.worker == worker, JobRow.status == "running")
            .values(status="queued", worker=None, lease_expires_at=None, attempts=JobRow.attempts - 1)
        )


def unfinished_counts(queue_id: int) -> dict[str, int]:
    """How many jobs of a queue are ``queued`` and ``running`` (one small query; idle workers poll it)."""
    with session_scope() as session:
        rows = session.execute(
            select(JobRow.status, func.count())
            .where(JobRow.queue_id == queue_id, JobRow.status.in_(("queued", "running")))
            .group_by(JobRow.status)
        ).all()
    counts = {"queued": 0, "running": 0}
    counts.update(dict(rows))
    return counts
