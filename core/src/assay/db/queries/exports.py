"""Queries of what an export to another tracking system reads: a queue's settings and its trained models.

Read as Core rows with the JSON columns as raw text, decoded in bulk (:func:`assay.db.jsontype.loads_many`): an
export of a thousand predictors reads them in a few queries, never one ORM object (and its model bytes) each.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import attrs
from sqlalchemy import Text, cast, select

from assay.db import jsontype
from assay.db.engine import session_scope
from assay.db.models import (
    AlgorithmRow,
    HyperparamcomboRow,
    HyperparamsetRow,
    JobRow,
    PredictionRow,
    PredictorRow,
    QueueRow,
)


@attrs.frozen
class QueueSummary:
    """A queue's settings as an export tags them."""

    id: int
    created_at: dt.datetime | None
    splitset_id: int
    library: str
    analysis_type: str
    repeat_count: int
    hide_test: bool
    seed: int | None
    search: str | None


@attrs.frozen
class PredictorSummary:
    """One trained model as an export writes it: its job's place in the queue, hyperparameters, history and
    metrics per split (``{split: {metric: value}}``, inferences left out)."""

    id: int
    job_id: int
    run_index: int
    fold_index: int | None
    repeat_index: int
    status: str
    hyperparameters: dict[str, Any]
    history: dict[str, list[float]]
    metrics: dict[str, dict[str, float]]
    versions: dict[str, str]
    seconds_train: float | None
    seconds_total: float | None
    created_at: dt.datetime | None


def queue_summary(queue_id: int) -> QueueSummary:
    """A queue's settings, library and analysis type; raises ``LookupError`` (``NoResultFound``) without it."""
    queue, algorithm, hyperparamset = QueueRow.__table__.c, AlgorithmRow.__table__.c, HyperparamsetRow.__table__.c
    with session_scope() as session:
        row = session.connection().execute(
            select(queue.id, queue.created_at, queue.splitset_id, algorithm.library, algorithm.analysis_type,
                   queue.repeat_count, queue.hide_test, queue.seed, hyperparamset.search)
            .select_from(QueueRow.__table__.join(AlgorithmRow.__table__, algorithm.id == queue.algorithm_id)
                         .join(HyperparamsetRow.__table__, hyperparamset.id == queue.hyperparamset_id))
            .where(queue.id == queue_id)
        ).one()
    return QueueSummary(*row)


def predictor_summaries(queue_id: int) -> list[PredictorSummary]:
    """Every trained model of a queue, in run order, with its metrics per split: three queries in all."""
    job, predictor, combo = JobRow.__table__.c, PredictorRow.__table__.c, HyperparamcomboRow.__table__.c
    prediction = PredictionRow.__table__.c
    with session_scope() as session:
        connection = session.connection()
        rows = connection.execute(
            select(predictor.id, job.id, job.run_index, job.fold_index, job.repeat_index, job.status,
                   cast(combo.hyperparameters, Text), cast(predictor.history, Text), cast(predictor.versions, Text),
                   predictor.seconds_train, predictor.seconds_total, predictor.created_at)
            .select_from(JobRow.__table__.join(PredictorRow.__table__, predictor.job_id == job.id)
                         .join(HyperparamcomboRow.__table__, combo.id == job.hyperparamcombo_id))
            .where(job.queue_id == queue_id)
            .order_by(job.run_index)
        ).all()
        metric_rows = connection.execute(
            select(prediction.predictor_id, prediction.split, cast(prediction.metrics, Text))
            .select_from(PredictionRow.__table__.join(PredictorRow.__table__, predictor.id == prediction.predictor_id)
                         .join(JobRow.__table__, job.id == predictor.job_id))
            .where(job.queue_id == queue_id, prediction.split != "inference")
            .order_by(prediction.id)
        ).all()
    metrics: dict[int, dict[str, dict[str, float]]] = defaultdict(dict)
    for (predictor_id, split, _), values in zip(metric_rows, jsontype.loads_many(row[2] for row in metric_rows),
                                                 strict=True):
        metrics[predictor_id][split] = dict(values or {})
    decoded = jsontype.loads_many(text for row in rows for text in (row[6], row[7], row[8]))
    return [
        PredictorSummary(
            id=row[0], job_id=row[1], run_index=row[2], fold_index=row[3], repeat_index=row[4], status=row[5],
            hyperparameters=dict(decoded[3 * i] or {}), history=dict(decoded[3 * i + 1] or {}),
            versions=dict(decoded[3 * i + 2] or {}), metrics=metrics.get(row[0], {}), seconds_train=row[9],
            seconds_total=row[10], created_at=row[11],
        )
        for i, row in enumerate(rows)
    ]
