"""Where a stored prediction's rows come from: its split, splitset and fold (see :mod:`assay.experiment.truth`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from assay.db.engine import session_scope
from assay.db.models import JobRow, PredictionRow, PredictorRow, QueueRow, SplitsetRow


def _source_columns():
    prediction, predictor, job, queue, splitset = (PredictionRow.__table__, PredictorRow.__table__, JobRow.__table__,
                                                   QueueRow.__table__, SplitsetRow.__table__)
    joined = (prediction.join(predictor, predictor.c.id == prediction.c.predictor_id)
              .join(job, job.c.id == predictor.c.job_id).join(queue, queue.c.id == job.c.queue_id)
              .join(splitset, splitset.c.id == queue.c.splitset_id))
    return prediction, job, queue, splitset, joined


def prediction_with_source(prediction_id: int) -> tuple[bytes, str, int, dt.datetime, int | None] | None:
    """``(arrays blob, split, splitset id, splitset created_at, fold index)`` of one prediction, or ``None``."""
    prediction, job, _queue, splitset, joined = _source_columns()
    statement = (select(prediction.c.arrays, prediction.c.split, splitset.c.id, splitset.c.created_at,
                        job.c.fold_index).select_from(joined).where(prediction.c.id == prediction_id))
    with session_scope() as session:
        row = session.connection().execute(statement).first()
    return None if row is None else tuple(row)


def predictor_source(predictor_id: int) -> tuple[int, dt.datetime, int | None] | None:
    """``(splitset id, splitset created_at, fold index)`` of a predictor's job, or ``None``."""
    predictor, job, queue, splitset = (PredictorRow.__table__, JobRow.__table__, QueueRow.__table__,
                                       SplitsetRow.__table__)
    statement = (select(splitset.c.id, splitset.c.created_at, job.c.fold_index)
                 .select_from(predictor.join(job, job.c.id == predictor.c.job_id)
                              .join(queue, queue.c.id == job.c.queue_id)
                              .join(splitset, splitset.c.id == queue.c.splitset_id))
                 .where(predictor.c.id == predictor_id))
    with session_scope() as session:
        row = session.connection().execute(statement).first()
    return None if row is None else tuple(row)


def queue_splitset(queue_id: int) -> tuple[int, dt.datetime]:
    """``(splitset id, created_at)`` of a queue's splitset."""
    queue, splitset = QueueRow.__table__, SplitsetRow.__table__
    with session_scope() as session:
        return tuple(session.connection().execute(
            select(splitset.c.id, splitset.c.created_at).select_from(queue.join(splitset,
                                                                                splitset.c.id == queue.c.splitset_id))
            .where(queue.c.id == queue_id)).one())
