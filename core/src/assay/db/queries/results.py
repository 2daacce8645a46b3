"""Queries of results: metrics per trained model and split, queue overviews, what an analysis type is."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Text, cast, func, select

from assay.db import jsontype
from assay.db.engine import get_engine, session_scope
from assay.db.models import (
    AlgorithmRow,
    HyperparamcomboRow,
    HyperparamsetRow,
    JobRow,
    PredictionRow,
    PredictorRow,
    QueueRow,
)


def queue_objective(queue_id: int) -> dict[str, str] | None:
    """The objective a queue's search optimises (``{"metric", "split", "direction"}``), or ``None`` when the queue
    was stored without one (before revision 0005)."""
    queue, hyperparamset = QueueRow.__table__, HyperparamsetRow.__table__
    with session_scope() as session:
        objective = session.connection().execute(
            select(hyperparamset.c.objective)
            .select_from(queue.join(hyperparamset, hyperparamset.c.id == queue.c.hyperparamset_id))
            .where(queue.c.id == queue_id)
        ).scalar_one_or_none()
    return objective or None


def queue_analysis_type_and_grid(queue_id: int) -> tuple[str, dict[str, list[Any]], int]:
    """A queue's analysis type, hyperparameter grid and hyperparamset id."""
    queue, algorithm, hyperparamset = QueueRow.__table__, AlgorithmRow.__table__, HyperparamsetRow.__table__
    with session_scope() as session:
        row = session.connection().execute(
            select(algorithm.c.analysis_type, hyperparamset.c.grid, hyperparamset.c.id)
            .select_from(queue.join(algorithm, algorithm.c.id == queue.c.algorithm_id)
                         .join(hyperparamset, hyperparamset.c.id == queue.c.hyperparamset_id))
            .where(queue.c.id == queue_id)
        ).one()
    return row[0], dict(row[1] or {}), row[2]


def combos(hyperparamset_id: int) -> list[tuple[int, int, dict[str, Any]]]:
    """``(combo id, combo_index, hyperparameters)`` of every combination of a hyperparameter set.

    The hyperparameters are read as JSON text and parsed as one document (a thousand combinations: one parse,
    not a thousand).
    """
    combo = HyperparamcomboRow.__table__.c
    rows = plain_rows(select(combo.id, combo.combo_index, cast(combo.hyperparameters, Text))
                       .where(combo.hyperparamset_id == hyperparamset_id))
    values = jsontype.loads_many(row[2] for row in rows)
    return [(row[0], row[1], value) for row, value in zip(rows, values, strict=True)]


def evaluated_splits(queue_id: int) -> list[str]:
    """The splits a queue's trained models were evaluated on (inferences left out), in no particular order."""
    with session_scope() as session:
        return list(session.scalars(
            select(PredictionRow.split).distinct()
            .join(PredictorRow, PredictorRow.id == PredictionRow.predictor_id)
            .join(JobRow, JobRow.id == PredictorRow.job_id)
            .where(JobRow.queue_id == queue_id, PredictionRow.split != "inference")
        ).all())


def metric_runs(queue_id: int, split: str | None = None) -> list[tuple[Any, ...]]:
    """One tuple per trained model and evaluated split of a queue (only ``split``'s when given): ``(job id,
    predictor id, run_index, hyperparamcombo id, fold_index, repeat_index, split, metrics as JSON text)``;
    inferences left out.

    Core columns (not ORM attributes) and the metrics as raw JSON text: at 30,000 rows the ORM's per-row
    processing and one ``json.loads`` per row would cost more than the query itself.
    """
    job_table, predictor_table, prediction_table = JobRow.__table__, PredictorRow.__table__, PredictionRow.__table__
    job, predictor, prediction = job_table.c, predictor_table.c, prediction_table.c
    return plain_rows(
        select(job.id, predictor.id, job.run_index, job.hyperparamcombo_id, job.fold_index, job.repeat_index,
               prediction.split, cast(prediction.metrics, Text))
        .select_from(job_table.join(predictor_table, predictor.job_id == job.id)
                     .join(prediction_table, prediction.predictor_id == predictor.id))
        .where(job.queue_id == queue_id, prediction.split != "inference",
               *([prediction.split == split] if split is not None else []))
    )


def plain_rows(query: Any) -> list[tuple[Any, ...]]:
    """The rows of a Core ``select`` of plain columns as the driver's own tuples, read as one statement alone.

    A queue of 100,000 runs reads 100,000 to 300,000 rows here: SQLAlchemy's result rows, and turning them into
    tuples, cost several times the driver's fetch. The statement is compiled by SQLAlchemy (bound parameters
    included) and run on the driver's cursor; its columns need no result processing (integers, text).

    It runs on a pooled connection outside any session: one statement reads one consistent snapshot on SQLite
    (WAL) and PostgreSQL alike, and on SQLite it takes no write lock (a session begins with ``BEGIN IMMEDIATE``,
    so that writers never deadlock), so reading a big leaderboard does not hold up workers storing results, nor
    a reader beside it.
    """
    with _cursor(query) as cursor:
        return cursor.fetchall()


def plain_row_chunks(query: Any, size: int) -> Iterator[list[tuple[Any, ...]]]:
    """:func:`plain_rows`'s rows in lists of at most ``size`` as the driver fetches them, so a caller can work
    on one list (on another thread) while the next is read."""
    with _cursor(query) as cursor:
        while chunk := cursor.fetchmany(size):
            yield chunk


_paused = 0  # fetches running with the cyclic garbage collector paused (threads may overlap)
_paused_lock = threading.Lock()
_resume = False  # whether the collector was enabled when the first of them paused it


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while a caller reads many rows, turns them into columns and drops them.

    A read of 100,000 rows allocates 100,000 tuples, and each 700 allocations start a collection that walks the
    young objects, every tenth one the older ones, and once the survivors outnumber a quarter of the heap, all
    of them: at 100,000 runs 100 - 150 ms of the leaderboard's 550 (CPU). Pausing only the fetch would leave the
    tuples to the first collections after it; dropped before the pause ends, they cost the collector nothing
    (freeing an object takes it off the count). The rows hold no reference cycles, so there is nothing to find.
    Overlapping pauses (reads on several threads) resume the collector when the last ends, and only if it was
    enabled before the first.
    """
    global _paused, _resume
    with _paused_lock:
        if _paused == 0:
            _resume = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _paused_lock:
            _paused -= 1
            if _paused == 0 and _resume:
                gc.enable()


@contextlib.contextmanager
def _cursor(query: Any) -> Iterator[Any]:
    """A driver cursor that has run ``query`` on a pooled connection of its own (see :func:`plain_rows`)."""
    engine = get_engine()
    compiled = query.compile(dialect=engine.dialect)
    parameters = compiled.construct_params()
    if compiled.positional:
        parameters = tuple(parameters[name] for name in compiled.positiontup)
    connection = engine.raw_connection()
    try:
        cursor = connection.driver_connection.cursor()
        try:
            cursor.execute(compiled.string, parameters)
            yield cursor
        finally:
            cursor.close()
    finally:
        connection.close()  # back to the pool, which rolls back PostgreSQL's implicit transaction


def analysis_type_of_prediction(prediction_id: int) -> str:
    """The analysis type of the algorithm that made a prediction."""
    with session_scope() as session:
        return session.execute(
            select(AlgorithmRow.analysis_type)
            .join(QueueRow, QueueRow.algorithm_id == AlgorithmRow.id)
            .join(JobRow, JobRow.queue_id == QueueRow.id)
            .join(PredictorRow, PredictorRow.job_id == JobRow.id)
            .join(PredictionRow, PredictionRow.predictor_id == PredictorRow.id)
            .where(PredictionRow.id == prediction_id)
        ).scalar_one()


def queue_overview_rows() -> list[Any]:
    """Every queue, oldest first: ``id, created_at, library, analysis_type``."""
    with session_scope() as session:
        return list(session.execute(
            select(QueueRow.id, QueueRow.created_at, AlgorithmRow.library, AlgorithmRow.analysis_type)
            .join(AlgorithmRow, AlgorithmRow.id == QueueRow.algorithm_id).order_by(QueueRow.id)
        ).all())


def job_state_counts() -> Counter:
    """``(queue id, state) -> job count`` over every queue, in one query."""
    with session_scope() as session:
        return Counter({
            (queue_id, status): count for queue_id, status, count in session.execute(
                select(JobRow.queue_id, JobRow.status, func.count()).group_by(JobRow.queue_id, JobRow.status)
            )
        })


def failed_jobs(queue_id: int, limit: int | None = None) -> list[Any]:
    """The failed jobs of a queue in run order (the first ``limit``): ``id, run_index, error, hyperparameters``."""
    with session_scope() as session:
        return list(session.execute(
            select(JobRow.id, JobRow.run_index, JobRow.error, HyperparamcomboRow.hyperparameters)
            .join(HyperparamcomboRow, HyperparamcomboRow.id == JobRow.hyperparamcombo_id)
            .where(JobRow.queue_id == queue_id, JobRow.status == "failed")
            .order_by(JobRow.run_index).limit(limit)
        ).all())


def split_evaluated(queue_id: int, split: str) -> bool:
    """Whether a trained model of the queue was evaluated on ``split`` (inferences do not count); the query stops
    at the first such prediction."""
    job, predictor, prediction = JobRow.__table__, PredictorRow.__table__, PredictionRow.__table__
    with session_scope() as session:
        return bool(session.connection().execute(select(
            select(prediction.c.id)
            .select_from(job.join(predictor, predictor.c.job_id == job.c.id)
                         .join(prediction, prediction.c.predictor_id == predictor.c.id))
            .where(job.c.queue_id == queue_id, prediction.c.split == split, prediction.c.split != "inference")
            .exists()
        )).scalar())


def split_metric_run_chunks(queue_id: int, split: str,
                            size: int) -> Iterator[list[tuple[int, int, int, str | None, int | None, int]]]:
    """``(hyperparamcombo id, run_index, predictor id, metrics as JSON text, fold_index, repeat_index)`` of every
    trained model of a queue evaluated on ``split``, in no particular order, in lists of at most ``size`` rows as
    they are read: what a leaderboard ranks (and pairs, for ``p_value_vs_best``), from one query over the job,
    predictor and prediction indexes (no model or prediction arrays; no join or sort the caller does more
    cheaply)."""
    return plain_row_chunks(_split_metric_query(queue_id, split), size)


def _split_metric_query(queue_id: int, split: str) -> Any:
    job, predictor, prediction = JobRow.__table__, PredictorRow.__table__, PredictionRow.__table__
    return (select(job.c.hyperparamcombo_id, job.c.run_index, predictor.c.id, cast(prediction.c.metrics, Text),
                   job.c.fold_index, job.c.repeat_index)
            .select_from(job.join(predictor, predictor.c.job_id == job.c.id)
                         .join(prediction, prediction.c.predictor_id == predictor.c.id))
            .where(job.c.queue_id == queue_id, prediction.c.split == split))
