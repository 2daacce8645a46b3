"""The datasets a prediction read: one per input of a multi-input model, in input order (``prediction_dataset``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.db import arrays as db_arrays
from assay.db.engine import session_scope
from assay.db.models import PredictionDatasetRow, PredictionRow
from assay.db.queries.data import store_dataset


def link_datasets(session: Session, prediction_id: int, dataset_ids: list[int]) -> None:
    """Record, in order, the datasets a prediction read."""
    for position, dataset_id in enumerate(dataset_ids):
        session.add(PredictionDatasetRow(prediction_id=prediction_id, dataset_id=dataset_id, position=position))
    session.flush()


def store_inputs_inference(predictor_id: int, inputs: list[tuple[str, Any]], arrays: bytes,
                           metrics: dict[str, float], row_count: int) -> int:
    """Store every input's new data (each found again when identical) and a multi-input model's prediction on them,
    in one transaction; returns the prediction's id. ``inputs``: ``("tabular", (serialized, fields))`` or
    ``("array", (sha256, new_dataset))`` per input, as ``store_inference`` / ``store_array_inference`` take them.
    The prediction's own ``dataset_id`` is the first input's."""
    with session_scope() as session:
        dataset_ids = []
        for kind, payload in inputs:
            if kind == "tabular":
                dataset_ids.append(store_dataset(session, *payload).id)
            else:
                sha256, new_dataset = payload
                row = db_arrays.dataset_with_sha256(session, sha256)
                dataset_ids.append((row or db_arrays.add_array_dataset(session, *new_dataset())).id)
        prediction = PredictionRow(predictor_id=predictor_id, split="inference", dataset_id=dataset_ids[0],
                                   row_count=row_count, arrays=arrays, metrics=metrics)
        session.add(prediction)
        session.flush()
        link_datasets(session, prediction.id, dataset_ids)
        return prediction.id


def dataset_ids(prediction_id: int) -> list[int]:
    """The datasets a prediction read, in input order (its ``dataset_id`` alone when no link was recorded)."""
    with session_scope() as session:
        linked = list(session.scalars(select(PredictionDatasetRow.dataset_id)
                                      .where(PredictionDatasetRow.prediction_id == prediction_id)
                                      .order_by(PredictionDatasetRow.position)))
        if linked:
            return linked
        own = session.scalar(select(PredictionRow.dataset_id).where(PredictionRow.id == prediction_id))
        return [] if own is None else [own]
