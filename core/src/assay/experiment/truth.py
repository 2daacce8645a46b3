"""A split's dataset rows and true labels, stored once with the splitset instead of with every prediction.

Every run on a split (and fold) of one splitset predicts the same rows, whose true labels never change. A
prediction's stored arrays (:mod:`assay.experiment.arrays`) therefore hold only what the run made: its
predictions and probabilities (and the classes). :func:`complete` adds ``row_indices`` and ``labels`` back from
the splitset when read, exactly as :func:`split_rows_labels` gives them to the run; predictions stored before
this (which carry both arrays) are read as they are.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import numpy as np

from assay.data.read.splitsets import SplitsetData
from assay.db.engine import current_url
from assay.db.queries import prediction_sources
from assay.experiment import arrays

#: the arrays a run's prediction no longer stores: the same for every run of a splitset's split and fold
FROM_SPLITSET = ("row_indices", "labels")


@functools.lru_cache(maxsize=16)
def _splitset(url: str | None, splitset_id: int, created_at: Any) -> SplitsetData:
    # one per process and database, as the runner keeps it; created_at tells apart a database made again
    return SplitsetData.load(splitset_id)


@functools.lru_cache(maxsize=64)
def split_rows_labels(splitset: SplitsetData, split: str, fold_index: int | None) -> tuple[np.ndarray, np.ndarray]:
    """A split's dataset rows and true labels as a prediction's arrays hold them, read-only, once per process."""
    rows = np.asarray(splitset.row_indices(split, fold_index=fold_index))
    labels = arrays.storable(np.asarray(splitset.raw_labels(rows)))
    for array in (rows, labels):
        array.setflags(write=False)
    return rows, labels


def complete(stored: dict[str, Any], splitset_id: int, created_at: dt.datetime | None, split: str,
             fold_index: int | None) -> dict[str, Any]:
    """``stored`` (a prediction's loaded arrays) with ``row_indices`` and ``labels`` of its split added when it
    does not carry them; predictions on new data (``split="inference"``) are returned as they are."""
    if "row_indices" in stored or split == "inference":
        return stored
    rows, labels = split_rows_labels(_splitset(current_url(), splitset_id, created_at), split, fold_index)
    return {**stored, "row_indices": rows.copy(), "labels": labels.copy()}


def stored_arrays(prediction_id: int) -> dict[str, Any]:
    """The arrays of one stored prediction, its split's rows and true labels included."""
    found = prediction_sources.prediction_with_source(prediction_id)
    if found is None:
        raise KeyError(f"no prediction {prediction_id}")
    blob, split, splitset_id, created_at, fold_index = found
    return complete(arrays.loads(blob), splitset_id, created_at, split, fold_index)


def predictor_arrays(predictor_id: int, split: str, blob: bytes) -> dict[str, Any]:
    """A predictor's stored arrays on ``split`` (``blob``), its split's rows and true labels included."""
    stored = arrays.loads(blob)
    if "row_indices" in stored or split == "inference":
        return stored
    splitset_id, created_at, fold_index = prediction_sources.predictor_source(predictor_id)
    return complete(stored, splitset_id, created_at, split, fold_index)


def queue_runs(queue_id: int, split: str, runs: list[tuple[int | None, bytes]]) -> list[dict[str, Any]]:
    """The stored arrays of a queue's runs on ``split``, given as ``(fold_index, blob)``, completed."""
    loaded = [(fold_index, arrays.loads(blob)) for fold_index, blob in runs]
    if all("row_indices" in stored for _, stored in loaded):
        return [stored for _, stored in loaded]
    splitset_id, created_at = prediction_sources.queue_splitset(queue_id)
    return [complete(stored, splitset_id, created_at, split, fold_index) for fold_index, stored in loaded]
