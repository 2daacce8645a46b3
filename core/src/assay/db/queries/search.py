"""The queries of adaptive search and pruning: a queue's search settings, its trials, adding a combination.

Like every query module, each function opens its own session and returns plain values. Adding a combination is
one unit of work that must hold the queue: :func:`extension` opens that transaction and hands out an
:class:`Extension` whose methods read and write inside it. The engine (:mod:`assay.experiment.search`) holds the
logic and never writes SQL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Collection, Iterator
from typing import Any

import attrs
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from assay.db.engine import session_scope
from assay.db.models import (
    FoldRow,
    HyperparamcomboRow,
    HyperparamsetRow,
    JobRow,
    PredictionRow,
    PredictorRow,
    QueueRow,
    utcnow,
)


@attrs.frozen
class SearchSettings:
    """How a queue searches: what its hyperparamset and queue rows say (rows never change once written)."""

    queue_id: int
    hyperparamset_id: int
    splitset_id: int
    repeat_count: int
    seed: int
    search: str
    space: dict[str, Any]
    search_count: int | None
    objective: dict[str, str] | None
    pruner: bytes | None


@attrs.frozen
class JobResult:
    """One job of a combination: its state, its metrics on the objective's split and how many epochs it trained."""

    status: str
    metrics: dict[str, float] | None
    epochs: int


@attrs.frozen
class CombinationTrial:
    """A stored combination with what its jobs have done so far (a trial, for a sampler)."""

    combo_index: int
    hyperparameters: dict[str, Any]
    sampler_attrs: dict[str, Any]
    jobs: list[JobResult]


def search_settings(queue_id: int) -> SearchSettings:
    """The search settings of a queue."""
    with session_scope() as session:
        row = session.execute(
            select(QueueRow.hyperparamset_id, QueueRow.splitset_id, QueueRow.repeat_count, QueueRow.seed,
                   HyperparamsetRow.search, HyperparamsetRow.grid, HyperparamsetRow.search_count,
                   HyperparamsetRow.objective, HyperparamsetRow.pruner)
            .join(HyperparamsetRow, HyperparamsetRow.id == QueueRow.hyperparamset_id)
            .where(QueueRow.id == queue_id)
        ).one()
    return SearchSettings(queue_id, row.hyperparamset_id, row.splitset_id, row.repeat_count, row.seed,
                          row.search or "grid", dict(row.grid or {}), row.search_count, row.objective, row.pruner)


def _lock_queue(session: Session, queue_id: int) -> None:
    """Hold the queue's row until the transaction ends, so one worker at a time extends its search.

    PostgreSQL locks the row (``FOR UPDATE``); on SQLite every assay transaction starts with ``BEGIN
    IMMEDIATE`` (see :mod:`assay.db.engine`), which already serialises writers, and this read only starts it.
    """
    query = select(QueueRow.id).where(QueueRow.id == queue_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    session.execute(query).one()


def _claimable_job_exists(session: Session, queue_id: int, now: dt.datetime | None = None) -> bool:
    """Whether a job of the queue is queued, or running under an expired lease (its worker died)."""
    now = now or utcnow()
    found = session.execute(
        select(JobRow.id).where(
            JobRow.queue_id == queue_id,
            or_(JobRow.status == "queued", and_(JobRow.status == "running", JobRow.lease_expires_at < now)),
        ).limit(1)
    ).first()
    return found is not None


def _combination_trials(session: Session, queue_id: int, hyperparamset_id: int, split: str | None, *,
                       from_index: int = 0, also: Collection[int] = ()) -> list[CombinationTrial]:
    """Combinations of a queue in creation order, with each job's state, metrics on ``split`` and epochs.

    Every combination by default; with ``from_index`` only those from that index on, plus the indexes in
    ``also`` (an adaptive search's cached study reads what was added or has finished since it last looked).
    """
    combo_query = (
        select(HyperparamcomboRow.id, HyperparamcomboRow.combo_index, HyperparamcomboRow.hyperparameters,
               HyperparamcomboRow.sampler_attrs)
        .where(HyperparamcomboRow.hyperparamset_id == hyperparamset_id)
        .order_by(HyperparamcomboRow.combo_index)
    )
    partial = from_index > 0 or bool(also)
    if partial:
        combo_query = combo_query.where(or_(HyperparamcomboRow.combo_index >= from_index,
                                            HyperparamcomboRow.combo_index.in_(list(also))))
    combos = session.execute(combo_query).all()
    if not combos:
        return []
    job_filter = [JobRow.queue_id == queue_id]
    if partial:
        job_filter.append(JobRow.hyperparamcombo_id.in_([row.id for row in combos]))
    jobs = session.execute(select(JobRow.id, JobRow.hyperparamcombo_id, JobRow.status).where(*job_filter)).all()
    finished = session.execute(
        select(PredictorRow.job_id, PredictionRow.metrics, PredictorRow.history)
        .join(JobRow, JobRow.id == PredictorRow.job_id)
        .outerjoin(PredictionRow, and_(PredictionRow.predictor_id == PredictorRow.id, PredictionRow.split == split))
        .where(*job_filter)
    ).all()
    results = {job_id: (metrics, max((len(v) for v in (history or {}).values()), default=0))
               for job_id, metrics, history in finished}
    by_combo: dict[int, list[JobResult]] = {}
    for job_id, combo_id, status in jobs:
        metrics, epochs = results.get(job_id, (None, 0))
        by_combo.setdefault(combo_id, []).append(JobResult(status, metrics, epochs))
    return [CombinationTrial(index, dict(values or {}), dict(attrs_ or {}), by_combo.get(combo_id, []))
            for combo_id, index, values, attrs_ in combos]


def _fold_keys(session: Session, splitset_id: int) -> list[tuple[int | None, int | None]]:
    """``(fold id, fold index)`` of a splitset's folds in order, or ``[(None, None)]`` without folds."""
    rows = session.execute(
        select(FoldRow.id, FoldRow.fold_index).where(FoldRow.splitset_id == splitset_id).order_by(FoldRow.fold_index)
    ).all()
    return [(row.id, row.fold_index) for row in rows] or [(None, None)]


def _add_combination(session: Session, settings: SearchSettings, combo_index: int, hyperparameters: dict[str, Any],
                    sampler_attrs: dict[str, Any], folds: list[tuple[int | None, int | None]]) -> int:
    """Store one new combination and its queued jobs (every fold x repeat); returns the combination's id."""
    combo = HyperparamcomboRow(hyperparamset_id=settings.hyperparamset_id, combo_index=combo_index,
                               hyperparameters=hyperparameters, sampler_attrs=sampler_attrs or None)
    session.add(combo)
    session.flush()
    next_run = session.execute(
        select(func.coalesce(func.max(JobRow.run_index) + 1, 0)).where(JobRow.queue_id == settings.queue_id)
    ).scalar_one()
    session.add_all([
        JobRow(queue_id=settings.queue_id, run_index=next_run + i, hyperparamcombo_id=combo.id, fold_id=fold_id,
               fold_index=fold_index, repeat_index=repeat_index, status="queued", attempts=0)
        for i, (fold_id, fold_index, repeat_index) in enumerate(
            (fold_id, fold_index, repeat_index) for fold_id, fold_index in folds
            for repeat_index in range(settings.repeat_count)
        )
    ])
    session.flush()
    return combo.id


def _set_job_count(session: Session, queue_id: int, job_count: int) -> None:
    """Record how many jobs a queue will have in all (an adaptive search that ran out of new combinations)."""
    session.execute(update(QueueRow).where(QueueRow.id == queue_id).values(job_count=job_count))


def _job_row_count(session: Session, queue_id: int) -> int:
    """How many job rows a queue has now."""
    return session.execute(select(func.count()).select_from(JobRow).where(JobRow.queue_id == queue_id)).scalar_one()


def _finished_runs(session: Session, queue_id: int, fold_index: int | None) -> list[tuple[int, int, str]]:
    """``(job id, run index, status)`` of the queue's succeeded and pruned jobs on a fold, by run index."""
    fold_match = JobRow.fold_index.is_(None) if fold_index is None else JobRow.fold_index == fold_index
    rows = session.execute(
        select(JobRow.id, JobRow.run_index, JobRow.status)
        .where(JobRow.queue_id == queue_id, JobRow.status.in_(("succeeded", "pruned")), fold_match)
        .order_by(JobRow.run_index)
    ).all()
    return [(row.id, row.run_index, row.status) for row in rows]


def _run_histories(session: Session, job_ids: Collection[int]) -> dict[int, dict[str, list[float]]]:
    """The per-epoch history of each of these jobs' predictor."""
    if not job_ids:
        return {}
    rows = session.execute(
        select(PredictorRow.job_id, PredictorRow.history).where(PredictorRow.job_id.in_(list(job_ids)))
    ).all()
    return {row.job_id: dict(row.history or {}) for row in rows}


def _pruned_combo_indexes(session: Session, queue_id: int) -> set[int]:
    """The combination indexes of a queue with at least one pruned job."""
    # table columns (Core), not ORM attributes: a leaderboard's first read in a process then neither configures
    # the mappers nor compiles an ORM statement for it (20 ms at the dashboard's first view)
    combo, job = HyperparamcomboRow.__table__, JobRow.__table__
    rows = session.connection().execute(
        select(combo.c.combo_index).distinct()
        .select_from(combo.join(job, job.c.hyperparamcombo_id == combo.c.id))
        .where(job.c.queue_id == queue_id, job.c.status == "pruned")
    ).all()
    return {row.combo_index for row in rows}


def _pruned_predictor_ids(session: Session, queue_id: int) -> set[int]:
    """The predictors of a queue's pruned jobs."""
    rows = session.execute(
        select(PredictorRow.id).join(JobRow, JobRow.id == PredictorRow.job_id)
        .where(JobRow.queue_id == queue_id, JobRow.status == "pruned")
    ).all()
    return {row.id for row in rows}


def combination_trials(queue_id: int, hyperparamset_id: int, split: str | None) -> list[CombinationTrial]:
    """Every combination of a queue in creation order, with each job's state, metrics on ``split`` and epochs."""
    with session_scope() as session:
        return _combination_trials(session, queue_id, hyperparamset_id, split)


def finished_runs(queue_id: int, fold_index: int | None) -> list[tuple[int, int, str]]:
    """``(job id, run index, status)`` of the queue's succeeded and pruned jobs on a fold, by run index."""
    with session_scope() as session:
        return _finished_runs(session, queue_id, fold_index)


def run_histories(job_ids: Collection[int]) -> dict[int, dict[str, list[float]]]:
    """The per-epoch history of each of these jobs' predictor."""
    with session_scope() as session:
        return _run_histories(session, job_ids)


def pruned_combo_indexes(queue_id: int) -> set[int]:
    """The combination indexes of a queue with at least one pruned job."""
    with session_scope() as session:
        return _pruned_combo_indexes(session, queue_id)


def pruned_predictor_ids(queue_id: int) -> set[int]:
    """The predictors of a queue's pruned jobs (never ranked best)."""
    with session_scope() as session:
        return _pruned_predictor_ids(session, queue_id)


class Extension:
    """The reads and writes of one adaptive-search step, inside the transaction :func:`extension` holds."""

    def __init__(self, session: Session, settings: SearchSettings) -> None:
        self._session = session
        self._settings = settings

    def claimable_job_exists(self) -> bool:
        """Whether a job of the queue is queued, or running under an expired lease (another worker added one)."""
        return _claimable_job_exists(self._session, self._settings.queue_id)

    def combination_trials(self, split: str | None, *, from_index: int = 0,
                           also: Collection[int] = ()) -> list[CombinationTrial]:
        """The queue's combinations (see :func:`combination_trials`); with ``from_index`` only those from that
        index on, plus the indexes in ``also`` (a kept study reads what was added or has finished since)."""
        settings = self._settings
        return _combination_trials(self._session, settings.queue_id, settings.hyperparamset_id, split,
                                   from_index=from_index, also=also)

    def add_combination(self, combo_index: int, hyperparameters: dict[str, Any], sampler_attrs: dict[str, Any],
                        ) -> int:
        """Store one new combination and its queued jobs (every fold x repeat); returns the combination's id."""
        folds = _fold_keys(self._session, self._settings.splitset_id)
        return _add_combination(self._session, self._settings, combo_index, hyperparameters, sampler_attrs, folds)

    def finish(self) -> None:
        """The search has no combination left: the queue's job count shrinks to the jobs that exist."""
        queue_id = self._settings.queue_id
        _set_job_count(self._session, queue_id, _job_row_count(self._session, queue_id))


@contextlib.contextmanager
def extension(settings: SearchSettings) -> Iterator[Extension]:
    """One transaction holding the queue's row (PostgreSQL: ``FOR UPDATE``; SQLite: ``BEGIN IMMEDIATE``), so one
    worker at a time extends its search; committed when the block ends, rolled back if it raises."""
    with session_scope() as session:
        _lock_queue(session, settings.queue_id)
        yield Extension(session, settings)
