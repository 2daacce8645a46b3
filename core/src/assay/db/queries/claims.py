"""Queries of job claiming: workers take jobs atomically, renew their leases and give jobs back.

A worker claims a job by moving it from ``queued`` (or from ``running`` with an expired lease: its worker died)
to ``running`` with its own name and a lease. PostgreSQL does it with ``FOR UPDATE SKIP LOCKED``; SQLite with a
single conditional ``UPDATE`` inside an immediate transaction. The policy (lease lengths, heartbeats, which
worker is dead) is :mod:`assay.experiment.claiming`'s; these functions only read and write rows.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

import attrs
from sqlalchemy import Connection, Integer, String, and_, bindparam, func, or_, select, text, update

from assay.db.engine import get_engine, session_scope
from assay.db.models import JOB_UNFINISHED, AlgorithmRow, HyperparamcomboRow, JobRow, QueueRow, SplitsetRow
from assay.db.queries import experiments


def _claimable(now: dt.datetime):
    return or_(
        JobRow.status == "queued",
        and_(JobRow.status == "running", JobRow.lease_expires_at < now),
    )


def _first_claimable(now: dt.datetime):
    # the partial index's own condition, as literal text, so SQLite's and PostgreSQL's planners see that
    # ix_job_claimable holds every candidate: the search then skips the finished jobs instead of stepping over them
    return and_(text(f"job.{JOB_UNFINISHED}"), _claimable(now))


def claim_next_job(queue_id: int, worker: str, now: dt.datetime, lease_until: dt.datetime) -> int | None:
    """Claim the next runnable job of a queue for ``worker``; returns its id, or ``None`` when none is left.

    A claimable job that has used the queue's ``max_attempts`` (only a worker that died leaves one) is marked
    failed instead, so a job that kills its worker every time cannot stall the queue.

    SQLAlchemy Core on one connection, not an ORM session: the session's bookkeeping cost more than the claim's
    statements, and SQLite holds its write lock for the whole transaction. The common case is one statement.
    """
    engine = get_engine()
    with engine.begin() as connection:
        return _claim(connection, engine.dialect.name == "postgresql", queue_id, worker, now, lease_until)


def claim_next_context(queue_id: int, worker: str, now: dt.datetime, lease_until: dt.datetime,
                       retried: bool = False) -> JobContext | None:
    """:func:`claim_next_job`, and what the claimed job needs to run, in the same transaction.

    ``retried``: an earlier try's connection broke, perhaps after its claim was committed; a job of the queue
    this worker still holds is taken up again (its lease renewed) instead of claiming another one.
    """
    engine = get_engine()
    with engine.begin() as connection:
        job_id = _held(connection, queue_id, worker, lease_until) if retried else None
        if job_id is None:
            job_id = _claim(connection, engine.dialect.name == "postgresql", queue_id, worker, now, lease_until)
        return None if job_id is None else _context(connection, job_id)


def store_and_claim_next(job_id: int, worker: str, predictor: dict[str, Any], predictions: list[dict[str, Any]],
                         status: str, queue_id: int, now: dt.datetime, lease_until: dt.datetime,
                         retried: bool = False) -> tuple[bool, JobContext | None]:
    """Store a finished job as :func:`assay.db.queries.experiments.store_trained` does and claim the worker's next
    job of ``queue_id`` as :func:`claim_next_context` does, in one transaction: one commit per job instead of two.

    Returns whether the finished job was stored (``False``: it was no longer the worker's, nothing of it is
    written) and the next job's context (``None`` when nothing is claimable).

    ``retried``: an earlier try's connection broke, perhaps after it committed. The job then counts as stored
    when it already ended with ``status`` under this worker (the predictor's unique job id keeps it single), and
    a job this worker already holds is taken up again instead of claiming another.
    """
    engine = get_engine()
    with engine.begin() as connection:
        stored = experiments.store_trained_in(connection, job_id, worker, predictor, predictions, status)
        if not stored and retried:
            stored = _ended_by(connection, job_id, worker, status)
        next_id = _held(connection, queue_id, worker, lease_until) if retried else None
        if next_id is None:
            next_id = _claim(connection, engine.dialect.name == "postgresql", queue_id, worker, now, lease_until)
        return stored, None if next_id is None else _context(connection, next_id)


def _held(connection: Connection, queue_id: int, worker: str, lease_until: dt.datetime) -> int | None:
    """A running job of the queue this worker holds (claimed by a try whose answer was lost), its lease renewed."""
    job_id = connection.execute(
        select(JobRow.id).where(JobRow.queue_id == queue_id, JobRow.worker == worker, JobRow.status == "running")
        .order_by(JobRow.run_index).limit(1)
    ).scalar()
    if job_id is not None:
        connection.execute(update(JobRow).where(JobRow.id == job_id).values(lease_expires_at=lease_until))
    return job_id


def _ended_by(connection: Connection, job_id: int, worker: str, status: str) -> bool:
    row = connection.execute(select(JobRow.status, JobRow.worker).where(JobRow.id == job_id)).first()
    return row is not None and row.status == status and row.worker == worker


def _claim(connection: Connection, postgres: bool, queue_id: int, worker: str, now: dt.datetime,
           lease_until: dt.datetime) -> int | None:
    claimed = connection.execute(_claim_first(postgres), {
        "claim_queue": queue_id, "claim_now": now, "claim_worker": worker, "claim_lease_until": lease_until,
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
            .where(JobRow.queue_id == queue_id, _first_claimable(now))
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
                    lease_expires_at=lease_until, error=None, traceback=None)
        )
        if result.rowcount == 1:
            return row.id


@functools.lru_cache(maxsize=2)
def _claim_first(postgres: bool) -> Any:
    """The common claim as one statement: the first claimable job in run order, if it has attempts left.

    ``UPDATE ... WHERE id = (the first claimable job) AND attempts < max_attempts RETURNING id``; no row when that
    job has used up its attempts (its workers died) or nothing is claimable, which the caller sorts out. Built
    once per dialect with bound parameters (``claim_queue``, ``claim_now``, ``claim_worker``,
    ``claim_lease_until``): building the expression costs more than running it.
    """
    timestamp = JobRow.lease_expires_at.type
    queue_id, now = bindparam("claim_queue", type_=Integer), bindparam("claim_now", type_=timestamp)
    first = (
        select(JobRow.id)
        .where(JobRow.queue_id == queue_id, _first_claimable(now))
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
                started_at=now, lease_expires_at=bindparam("claim_lease_until", type_=timestamp),
                error=None, traceback=None)
        .returning(JobRow.id)
    )


@attrs.frozen
class JobContext:
    """What running one claimed job needs from its job, combination, queue and algorithm rows."""

    job_id: int
    fold_index: int | None
    repeat_index: int
    combo_index: int
    hyperparameters: dict[str, Any]
    queue_id: int
    seed: int
    splitset_id: int
    #: when the splitset was made: with the database URL and its id, it tells a splitset kept by a long-lived
    #: worker from another one that got the same id in a database made again at the same path
    splitset_created_at: dt.datetime
    hide_test: bool
    algorithm_id: int
    library: str
    analysis_type: str


@functools.lru_cache(maxsize=1)
def _job_context_query() -> Any:
    # built once: building the expression costs more than running it, for every job of a queue
    return (
        select(JobRow.id, JobRow.fold_index, JobRow.repeat_index, HyperparamcomboRow.combo_index,
               HyperparamcomboRow.hyperparameters, QueueRow.id, QueueRow.seed, QueueRow.splitset_id,
               SplitsetRow.created_at, QueueRow.hide_test, AlgorithmRow.id, AlgorithmRow.library,
               AlgorithmRow.analysis_type)
        .join(HyperparamcomboRow, HyperparamcomboRow.id == JobRow.hyperparamcombo_id)
        .join(QueueRow, QueueRow.id == JobRow.queue_id)
        .join(SplitsetRow, SplitsetRow.id == QueueRow.splitset_id)
        .join(AlgorithmRow, AlgorithmRow.id == QueueRow.algorithm_id)
        .where(JobRow.id == bindparam("context_job", type_=Integer))
    )


def job_context(job_id: int) -> JobContext:
    """Everything a claimed job needs, read in one statement (under several workers each one waits its turn)."""
    with get_engine().begin() as connection:
        return _context(connection, job_id)


def _context(connection: Connection, job_id: int) -> JobContext:
    # plain columns on a Core connection: hydrating four ORM rows cost more than the query itself
    return JobContext(*connection.execute(_job_context_query(), {"context_job": job_id}).one())


def requeue_jobs_of_dead_workers(queue_id: int, is_dead: Callable[[str | None], bool]) -> int:
    """Put a queue's running jobs back in the queue when ``is_dead(worker)`` says their worker is gone; one
    transaction, so a job another worker claims meanwhile is left alone. Returns how many."""
    with session_scope() as session:
        rows = session.execute(
            select(JobRow.id, JobRow.worker).where(JobRow.queue_id == queue_id, JobRow.status == "running")
        ).all()
        dead = [job_id for job_id, worker in rows if is_dead(worker)]
        if dead:
            session.execute(
                update(JobRow).where(JobRow.id.in_(dead), JobRow.status == "running")
                .values(status="queued", worker=None, lease_expires_at=None)
            )
        return len(dead)


def extend_lease(job_id: int, worker: str, until: dt.datetime) -> bool:
    """Move this worker's lease on a job to ``until``; ``False`` if the job is no longer the worker's."""
    with session_scope() as session:
        result = session.execute(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.worker == worker, JobRow.status == "running")
            .values(lease_expires_at=until)
        )
        return result.rowcount == 1


def give_back(job_id: int, worker: str) -> None:
    """Put a job the worker holds back in the queue, its attempt not counted (the user interrupted it)."""
    with session_scope() as session:
        session.execute(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.worker == worker, JobRow.status == "running")
            .values(status="queued", worker=None, lease_expires_at=None, attempts=JobRow.attempts - 1)
        )


def unfinished_counts(queue_id: int) -> dict[str, int]:
    """How many jobs of a queue are ``queued`` and ``running`` (one small query; idle workers poll it).

    ``queued`` includes the jobs an adaptive search has yet to create (the queue's ``job_count`` is the plan).
    """
    with session_scope() as session:
        rows = session.execute(
            select(JobRow.status, func.count()).where(JobRow.queue_id == queue_id).group_by(JobRow.status)
        ).all()
        planned = session.execute(select(QueueRow.job_count).where(QueueRow.id == queue_id)).scalar_one()
    counts = {"queued": 0, "running": 0}
    by_status = dict(rows)
    counts.update({status: by_status.get(status, 0) for status in counts})
    counts["queued"] += max(0, planned - sum(by_status.values()))
    return counts
