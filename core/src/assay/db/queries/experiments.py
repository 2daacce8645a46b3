"""Queries of experiments: algorithms, hyperparameters, queues, jobs, predictors and predictions."""

from __future__ import annotations

import functools
import traceback
from collections import Counter
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, func, insert, select, update

from assay import errors
from assay.db import arrays as db_arrays
from assay.db.engine import current_url, get_engine, session_scope
from assay.db.models import (
    AlgorithmRow,
    HyperparamcomboRow,
    HyperparamsetRow,
    JobRow,
    PredictionDatasetRow,
    PredictionRow,
    PredictorRow,
    QueueRow,
    utcnow,
)
from assay.db.queries.data import store_dataset
from assay.db.queries.steps import add_encoding, add_hyperparamset

JOB_STATES = ("queued", "running", "succeeded", "failed", "pruned")


def grid(hyperparamset_id: int) -> dict[str, list[Any]]:
    """The hyperparameter grid a queue was made from."""
    with session_scope() as session:
        return session.get(HyperparamsetRow, hyperparamset_id).grid


def combo_hyperparameters(hyperparamcombo_id: int) -> dict[str, Any]:
    """One combination's hyperparameters."""
    with session_scope() as session:
        return session.get(HyperparamcomboRow, hyperparamcombo_id).hyperparameters


def job_rows(queue_id: int) -> list[JobRow]:
    """Every job of a queue, in run order (combination, fold, repeat)."""
    with session_scope() as session:
        return list(session.scalars(select(JobRow).where(JobRow.queue_id == queue_id).order_by(JobRow.run_index)))


def predictor_rows(queue_id: int) -> list[PredictorRow]:
    """The trained models of a queue's succeeded jobs, in run order."""
    with session_scope() as session:
        return list(session.scalars(
            select(PredictorRow)
            .join(JobRow, JobRow.id == PredictorRow.job_id)
            .where(JobRow.queue_id == queue_id)
            .order_by(JobRow.run_index)
        ))


def predictor_row_of_job(job_id: int) -> PredictorRow | None:
    """The trained model of a job, once it succeeded."""
    with session_scope() as session:
        return session.scalars(select(PredictorRow).where(PredictorRow.job_id == job_id)).one_or_none()


def prediction_rows(predictor_id: int, inference: bool = False) -> list[PredictionRow]:
    """A predictor's predictions on its splits (or, with ``inference``, on new data), oldest first."""
    split_matches = PredictionRow.split == "inference" if inference else PredictionRow.split != "inference"
    with session_scope() as session:
        return list(session.scalars(
            select(PredictionRow)
            .where(PredictionRow.predictor_id == predictor_id, split_matches)
            .order_by(PredictionRow.id)
        ))


def queue_status(queue_id: int) -> dict[str, Any]:
    """Counts of queued / running / succeeded / failed / pruned jobs, the jobs an adaptive search has yet to
    create (``planned``), their ``total`` and the failed jobs' errors."""
    # counted in the database over the (queue_id, status) index, and only the failed jobs' errors read: at 100,000
    # jobs, reading every job's row cost 0.5 s
    with session_scope() as session:
        counts = Counter(dict(session.execute(
            select(JobRow.status, func.count()).where(JobRow.queue_id == queue_id).group_by(JobRow.status)
        ).all()))
        failed = session.execute(
            select(JobRow.id, JobRow.error).where(JobRow.queue_id == queue_id, JobRow.status == "failed")
        ).all() if counts.get("failed") else []
        job_count = session.execute(select(QueueRow.job_count).where(QueueRow.id == queue_id)).scalar_one()
    stored = sum(counts.values())
    planned = max(0, job_count - stored)
    return {
        **{state: counts.get(state, 0) for state in JOB_STATES},
        "planned": planned,
        "total": stored + planned,
        "errors": {row.id: row.error for row in failed},
    }


def requeue_failed_jobs(queue_id: int) -> int:
    """Queue a queue's failed jobs again, attempts reset; returns how many."""
    with session_scope() as session:
        result = session.execute(
            update(JobRow)
            .where(JobRow.queue_id == queue_id, JobRow.status == "failed")
            .values(status="queued", attempts=0, error=None, traceback=None, worker=None,
                    lease_expires_at=None, started_at=None, finished_at=None)
        )
        return result.rowcount


@functools.lru_cache(maxsize=1)
def _store_statements() -> tuple[Any, Any, Any]:
    # built once, with bound parameters: building the expressions costs more than running them
    owned = (
        update(JobRow)
        .where(JobRow.id == bindparam("store_job", type_=Integer), JobRow.worker == bindparam("store_worker"),
               JobRow.status == "running")
        .values(status=bindparam("store_status", type_=JobRow.status.type),
                finished_at=bindparam("store_finished", type_=JobRow.finished_at.type), lease_expires_at=None)
    )
    return owned, insert(PredictorRow).returning(PredictorRow.id), insert(PredictionRow)


def store_trained(job_id: int, worker: str, predictor: dict[str, Any], predictions: list[dict[str, Any]],
                  status: str = "succeeded") -> bool:
    """Write a Predictor, its Predictions and the job's end (``succeeded``, or ``pruned`` by an adaptive search)
    in one transaction, if the job is still ``worker``'s; returns whether it was (``False``: another worker took
    the job over, nothing is written).

    Three statements on one Core connection (the predictions as one multi-row insert): the ORM's unit of work
    cost more than the writes themselves, and SQLite holds its write lock for the whole transaction.
    """
    with get_engine().begin() as connection:
        return store_trained_in(connection, job_id, worker, predictor, predictions, status)


def store_trained_in(connection: Connection, job_id: int, worker: str, predictor: dict[str, Any],
                     predictions: list[dict[str, Any]], status: str = "succeeded") -> bool:
    """:func:`store_trained` within the caller's transaction (the claim loop claims its next job in it too)."""
    owned, insert_predictor, insert_predictions = _store_statements()
    result = connection.execute(owned, {"store_job": job_id, "store_worker": worker, "store_status": status,
                                         "store_finished": utcnow()})
    if result.rowcount != 1:
        return False  # nothing was written
    predictor_id = connection.execute(
        insert_predictor, {"feature_importance": None, **predictor, "job_id": job_id}
    ).scalar_one()
    if predictions:
        connection.execute(insert_predictions, [{"dataset_id": None, "plot_data": None, **prediction,
                                                 "predictor_id": predictor_id} for prediction in predictions])
    return True


def store_failure(job_id: int, worker: str, exc: BaseException) -> None:
    """Mark a job failed with its error and traceback, if it is still ``worker``'s."""
    with session_scope() as session:
        session.execute(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.worker == worker, JobRow.status == "running")
            .values(status="failed", finished_at=utcnow(), lease_expires_at=None,
                    error=f"{type(exc).__name__}: {exc}",
                    traceback="".join(traceback.format_exception(exc)))
        )


def store_feature_importance(predictor_id: int, split: str, key: str, result: dict[str, Any]) -> dict[str, Any]:
    """Merge one permutation-importance result into a predictor's stored ones; returns them all."""
    with session_scope() as session:
        row = session.get(PredictorRow, predictor_id)
        merged = dict(row.feature_importance or {})
        merged[split] = {**merged.get(split, {}), key: result}
        row.feature_importance = merged  # a new dict, so the JSON column is seen as changed
    return merged


def predictor_context(predictor_id: int) -> tuple[PredictorRow, JobRow, HyperparamcomboRow, QueueRow, AlgorithmRow]:
    """A trained model's predictor row with its job, combination, queue and algorithm, in one transaction."""
    with session_scope() as session:
        predictor = session.get(PredictorRow, predictor_id)
        if predictor is None:
            raise errors.NotFoundError(f"Predictor id={predictor_id} does not exist in {current_url()}")
        job = session.get(JobRow, predictor.job_id)
        combo = session.get(HyperparamcomboRow, job.hyperparamcombo_id)
        queue = session.get(QueueRow, job.queue_id)
        algorithm = session.get(AlgorithmRow, queue.algorithm_id)
    return predictor, job, combo, queue, algorithm


def prediction_arrays(prediction_id: int) -> bytes:
    """The stored arrays (npz bytes) of one prediction."""
    with session_scope() as session:
        return session.execute(select(PredictionRow.arrays).where(PredictionRow.id == prediction_id)).scalar_one()


def model_blob(predictor_id: int) -> bytes:
    """A trained model's bytes, in its library's own format."""
    with session_scope() as session:
        return session.execute(select(PredictorRow.model_blob).where(PredictorRow.id == predictor_id)).scalar_one()


def feature_importance(predictor_id: int) -> dict[str, Any]:
    """A predictor's stored permutation importances (read fresh: another process may have stored one)."""
    with session_scope() as session:
        stored = session.execute(
            select(PredictorRow.feature_importance).where(PredictorRow.id == predictor_id)
        ).scalar_one()
    return dict(stored or {})


def store_queue(algorithm: dict[str, Any], hyperparamset: dict[str, Any], combinations: list[dict[str, Any]],
                folds: list[tuple[int | None, int | None]], queue: dict[str, Any],
                encoding: dict[str, Any] | None = None) -> QueueRow:
    """Store an experiment in one transaction: its algorithm, hyperparameter set and combinations, the queue,
    and one queued job per combination x fold x repeat (in that run order).

    Args:
        algorithm: AlgorithmRow columns (library, analysis_type, functions, sources).
        hyperparamset: HyperparamsetRow columns; ``combination_count`` defaults to ``len(combinations)`` (an
            adaptive search stores its first combinations now and counts, and queues jobs for, all it will make).
        combinations: each combination's hyperparameters, in combo_index order.
        folds: ``(fold id, fold_index)`` per fold, or ``[(None, None)]`` without folds.
        queue: QueueRow columns but the ids and ``job_count`` (repeat_count included).
        encoding: for a splitset made step by step and not encoded yet, the keyword arguments of
            :func:`~assay.db.queries.steps.add_encoding`: its encoders are stored in the same transaction.
    """
    with session_scope() as session:
        if encoding is not None:
            add_encoding(session, **encoding)
        algorithm_row = AlgorithmRow(**algorithm)
        combination_count = hyperparamset.get("combination_count", len(combinations))
        hyperparamset_row = HyperparamsetRow(**{**hyperparamset, "combination_count": combination_count})
        session.add_all([algorithm_row, hyperparamset_row])
        session.flush()
        combo_rows = [
            HyperparamcomboRow(hyperparamset_id=hyperparamset_row.id, combo_index=i, hyperparameters=combo)
            for i, combo in enumerate(combinations)
        ]
        session.add_all(combo_rows)
        hyperparamset_row.algorithm_id = algorithm_row.id
        session.flush()
        return add_queue(session, algorithm_row.id, hyperparamset_row.id, [c.id for c in combo_rows], folds, queue,
                         combination_count)


def store_queue_for(algorithm_id: int, hyperparamset_id: int | None, combination_ids: list[int],
                    folds: list[tuple[int | None, int | None]], queue: dict[str, Any],
                    encoding: dict[str, Any] | None = None,
                    hyperparamset: tuple[dict[str, Any], list[dict[str, Any]]] | None = None) -> QueueRow:
    """:func:`store_queue` for an algorithm stored already (the step-by-step API), in one transaction: with
    ``encoding``, the splitset's encoders first; with ``hyperparamset`` (fields and combinations) instead of a
    ``hyperparamset_id``, a new hyperparameter set of the algorithm."""
    with session_scope() as session:
        if encoding is not None:
            add_encoding(session, **encoding)
        if hyperparamset is not None:
            row, combination_ids = add_hyperparamset(session, *hyperparamset)
            hyperparamset_id = row.id
        return add_queue(session, algorithm_id, hyperparamset_id, combination_ids, folds, queue)


def add_queue(session: Any, algorithm_id: int, hyperparamset_id: int, combination_ids: list[int],
              folds: list[tuple[int | None, int | None]], queue: dict[str, Any],
              combination_count: int | None = None) -> QueueRow:
    """Within ``session``: the queue and one queued job per combination x fold x repeat, in that run order.

    The queue's ``job_count`` counts ``combination_count`` combinations (default: those given); an adaptive
    search adds the rest later."""
    repeat_count = queue["repeat_count"]
    if combination_count is None:
        combination_count = len(combination_ids)
    queue_row = QueueRow(algorithm_id=algorithm_id, hyperparamset_id=hyperparamset_id,
                         job_count=combination_count * len(folds) * repeat_count, **queue)
    session.add(queue_row)
    session.flush()
    jobs = []
    run_index = 0
    for combo_id in combination_ids:
        for fold_id, fold_index in folds:
            for repeat_index in range(repeat_count):
                jobs.append(JobRow(
                    queue_id=queue_row.id, run_index=run_index, hyperparamcombo_id=combo_id, fold_id=fold_id,
                    fold_index=fold_index, repeat_index=repeat_index, status="queued", attempts=0,
                ))
                run_index += 1
    session.add_all(jobs)
    return queue_row


def store_inference(predictor_id: int, dataset: Any, dataset_fields: dict[str, Any], arrays: bytes,
                    metrics: dict[str, float], row_count: int) -> int:
    """Store new data (found again when identical, see :func:`~assay.db.queries.data.store_dataset`) and a
    predictor's prediction on it, in one transaction; returns the prediction's id."""
    with session_scope() as session:
        dataset_row = store_dataset(session, dataset, dataset_fields)
        row = PredictionRow(predictor_id=predictor_id, split="inference", dataset_id=dataset_row.id,
                            row_count=row_count, arrays=arrays, metrics=metrics)
        session.add(row)
        session.flush()
        session.add(PredictionDatasetRow(prediction_id=row.id, dataset_id=dataset_row.id, position=0))
        return row.id


def store_array_inference(predictor_id: int, sha256: str, new_dataset: Any, arrays: bytes,
                          metrics: dict[str, float], row_count: int) -> int:
    """Store new sequence or image samples (found again by ``sha256`` when identical) and a predictor's prediction
    on them, in one transaction; returns the prediction's id. ``new_dataset()`` gives the dataset's columns and
    chunks as :func:`assay.db.arrays.add_array_dataset` takes them; it is called only when the samples are new."""
    with session_scope() as session:
        dataset_row = db_arrays.dataset_with_sha256(session, sha256)
        if dataset_row is None:
            dataset_row = db_arrays.add_array_dataset(session, *new_dataset())
        row = PredictionRow(predictor_id=predictor_id, split="inference", dataset_id=dataset_row.id,
                            row_count=row_count, arrays=arrays, metrics=metrics)
        session.add(row)
        session.flush()
        session.add(PredictionDatasetRow(prediction_id=row.id, dataset_id=dataset_row.id, position=0))
        return row.id


def search_summary(hyperparamset_id: int) -> dict[str, Any]:
    """How a queue's combinations are chosen: ``{"search", "search_count", "objective", "pruner"}`` (the pruner by
    its class name)."""
    import cloudpickle

    with session_scope() as session:
        row = session.get(HyperparamsetRow, hyperparamset_id)
        pruner = row.pruner
        return {"search": row.search, "search_count": row.search_count, "objective": row.objective,
                "pruner": None if pruner is None else type(cloudpickle.loads(pruner)).__name__}
