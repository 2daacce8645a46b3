"""Queries of stored predictions for comparing combinations and calibrating predictors: the prediction arrays of
one split, and a predictor's conformal calibration."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from assay.db.engine import session_scope
from assay.db.models import HyperparamcomboRow, JobRow, PredictionRow, PredictorRow, QueueRow


def split_prediction_arrays(queue_id: int, split: str,
                            combo_indexes: list[int] | None = None) -> list[tuple[int, int | None, int, bytes]]:
    """``(combo_index, fold_index, repeat_index, arrays blob)`` of every trained model of a queue evaluated on
    ``split`` (only the combinations ``combo_indexes`` when given), in run order."""
    job, predictor, prediction, combo = (JobRow.__table__, PredictorRow.__table__, PredictionRow.__table__,
                                         HyperparamcomboRow.__table__)
    statement = (
        select(combo.c.combo_index, job.c.fold_index, job.c.repeat_index, prediction.c.arrays)
        .select_from(job.join(predictor, predictor.c.job_id == job.c.id)
                     .join(prediction, prediction.c.predictor_id == predictor.c.id)
                     .join(combo, combo.c.id == job.c.hyperparamcombo_id))
        .where(job.c.queue_id == queue_id, prediction.c.split == split)
        .order_by(job.c.run_index)
    )
    if combo_indexes is not None:
        statement = statement.where(combo.c.combo_index.in_([int(index) for index in combo_indexes]))
    with session_scope() as session:
        return [tuple(row) for row in session.connection().execute(statement).all()]


def prediction_arrays(predictor_id: int, split: str) -> bytes | None:
    """The stored arrays blob of a predictor's prediction on ``split``, or ``None`` when it has none."""
    prediction = PredictionRow.__table__
    with session_scope() as session:
        return session.connection().execute(
            select(prediction.c.arrays).where(prediction.c.predictor_id == predictor_id, prediction.c.split == split)
            .limit(1)
        ).scalar_one_or_none()


def predictor_splits(predictor_id: int) -> list[str]:
    """The splits a predictor was evaluated on (inferences left out)."""
    prediction = PredictionRow.__table__
    with session_scope() as session:
        return list(session.connection().execute(
            select(prediction.c.split).where(prediction.c.predictor_id == predictor_id,
                                             prediction.c.split != "inference")
        ).scalars())


def predictor_calibration(predictor_id: int) -> dict[str, Any] | None:
    """A predictor's stored conformal calibration, or ``None`` when it was never calibrated."""
    with session_scope() as session:
        return session.execute(
            select(PredictorRow.calibration).where(PredictorRow.id == predictor_id)
        ).scalar_one_or_none()


def store_calibration(predictor_id: int, calibration: dict[str, Any]) -> None:
    """Store a predictor's conformal calibration (replacing an earlier one)."""
    with session_scope() as session:
        session.execute(update(PredictorRow).where(PredictorRow.id == predictor_id).values(calibration=calibration))


def queue_rope_and_conformal(queue_id: int) -> tuple[float | None, dict[str, Any] | None]:
    """A queue's ``rope`` and ``conformal`` settings (``Experiment.make(rope=..., conformal_alpha=...)``)."""
    queue = QueueRow.__table__
    with session_scope() as session:
        row = session.connection().execute(
            select(queue.c.rope, queue.c.conformal).where(queue.c.id == queue_id)).one()
    return row[0], row[1]


def uncalibrated_predictor_ids(queue_id: int) -> list[int]:
    """The predictors of a queue's succeeded (or pruned) jobs without a calibration, in run order."""
    job, predictor = JobRow.__table__, PredictorRow.__table__
    with session_scope() as session:
        rows = session.connection().execute(
            select(predictor.c.id, predictor.c.calibration)
            .select_from(job.join(predictor, predictor.c.job_id == job.c.id))
            .where(job.c.queue_id == queue_id).order_by(job.c.run_index)
        ).all()
    return [predictor_id for predictor_id, calibration in rows if not calibration]
