"""Queries of ensembles: the runs a queue's ensemble selects from, storing an ensemble whole, reading it back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from assay.db.engine import session_scope
from assay.db.models import (
    AlgorithmRow,
    EnsembleMemberRow,
    EnsemblePredictionRow,
    EnsembleRow,
    HyperparamcomboRow,
    JobRow,
    PredictionRow,
    PredictorRow,
    QueueRow,
)


def queue_runs(queue_id: int) -> list[tuple[Any, ...]]:
    """Every job of a queue: ``(job id, status, combo_index, fold_index, repeat_index, predictor id or None)``, in
    run order."""
    job, combo, predictor = JobRow.__table__.c, HyperparamcomboRow.__table__.c, PredictorRow.__table__.c
    with session_scope() as session:
        return [tuple(row) for row in session.connection().execute(
            select(job.id, job.status, combo.combo_index, job.fold_index, job.repeat_index, predictor.id)
            .select_from(JobRow.__table__.join(HyperparamcomboRow.__table__, combo.id == job.hyperparamcombo_id)
                         .outerjoin(PredictorRow.__table__, predictor.job_id == job.id))
            .where(job.queue_id == queue_id).order_by(job.run_index)
        ).all()]


def split_predictions(predictor_ids: list[int], split: str) -> dict[int, tuple[bytes, dict[str, float]]]:
    """``predictor id -> (arrays npz bytes, metrics)`` of these predictors' predictions on ``split``; predictors
    not evaluated on it are left out."""
    prediction = PredictionRow.__table__.c
    found: dict[int, tuple[bytes, dict[str, float]]] = {}
    with session_scope() as session:
        for start in range(0, len(predictor_ids), 500):  # keep the IN list short for every database
            chunk = predictor_ids[start:start + 500]
            for predictor_id, blob, metrics in session.connection().execute(
                select(prediction.predictor_id, prediction.arrays, prediction.metrics)
                .where(prediction.predictor_id.in_(chunk), prediction.split == split)
            ):
                found[predictor_id] = (blob, dict(metrics or {}))
    return found


def store_ensemble(fields: dict[str, Any], members: list[dict[str, Any]],
                   predictions: list[dict[str, Any]]) -> EnsembleRow:
    """Store an ensemble, its members and its predictions per split in one transaction; returns its row."""
    with session_scope() as session:
        row = EnsembleRow(**fields)
        session.add(row)
        session.flush()
        session.add_all([EnsembleMemberRow(ensemble_id=row.id, **member) for member in members])
        session.add_all([EnsemblePredictionRow(ensemble_id=row.id, **prediction) for prediction in predictions])
    return row


def ensemble_rows(queue_id: int) -> list[EnsembleRow]:
    """A queue's ensembles, oldest first."""
    ensemble = EnsembleRow.__table__.c
    with session_scope() as session:
        # most queues have none: asked first with a Core select (through ix_ensemble_queue_id), so a queue page
        # of such a queue needs no ORM statement (the ORM's first one in a process configures the mappers: 20 ms)
        if session.connection().execute(select(ensemble.id).where(ensemble.queue_id == queue_id).limit(1)).first() \
                is None:
            return []
        return list(session.scalars(select(EnsembleRow).where(EnsembleRow.queue_id == queue_id)
                                    .order_by(EnsembleRow.id)))


def member_rows(ensemble_id: int) -> list[EnsembleMemberRow]:
    """An ensemble's members in the order they were stored (combination, then run order)."""
    with session_scope() as session:
        return list(session.scalars(select(EnsembleMemberRow).where(EnsembleMemberRow.ensemble_id == ensemble_id)
                                    .order_by(EnsembleMemberRow.id)))


def prediction_rows(ensemble_id: int, inference: bool = False) -> list[EnsemblePredictionRow]:
    """An ensemble's predictions on its splits (or, with ``inference``, on new data), oldest first."""
    table = EnsemblePredictionRow
    split_matches = table.split == "inference" if inference else table.split != "inference"
    with session_scope() as session:
        return list(session.scalars(select(table).where(table.ensemble_id == ensemble_id, split_matches)
                                    .order_by(table.id)))


def prediction_arrays(prediction_id: int) -> bytes:
    """The arrays (npz bytes) of one ensemble prediction."""
    with session_scope() as session:
        return session.execute(select(EnsemblePredictionRow.arrays)
                               .where(EnsemblePredictionRow.id == prediction_id)).scalar_one()


def store_inference(ensemble_id: int, arrays: bytes, metrics: dict[str, float], row_count: int) -> int:
    """Store an ensemble's prediction on new data; returns its id."""
    with session_scope() as session:
        row = EnsemblePredictionRow(ensemble_id=ensemble_id, split="inference", row_count=row_count, arrays=arrays,
                                    metrics=metrics)
        session.add(row)
        session.flush()
        return row.id


def queue_library(queue_id: int) -> str:
    """The library of a queue's algorithm."""
    with session_scope() as session:
        return session.execute(select(AlgorithmRow.library).join(QueueRow, QueueRow.algorithm_id == AlgorithmRow.id)
                               .where(QueueRow.id == queue_id)).scalar_one()
