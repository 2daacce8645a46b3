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


@functools.lru_cache(maxsize=8)
def _splitset_truth(url: str | None, splitset_id: int, created_at: Any,
                    ) -> dict[tuple[str, int | None], tuple[np.ndarray, np.ndarray]]:
    """Every split's (and fold's) rows and true labels of one splitset, read once per process and database.

    Only these arrays are kept, not the splitset with its data (a dashboard reads many queues' predictions);
    ``created_at`` tells a splitset from one with the same id in a database made again at the same URL.
    """
    splitset = SplitsetData.load(splitset_id)
    folds = [None] + [fold.fold_index for fold in splitset.folds]
    found = {}
    for fold_index in folds:
        for split in ("train", "validation") if fold_index is not None else list(splitset.samples):
            found[split, fold_index] = _rows_labels(splitset, split, fold_index)
    if folds[1:]:  # a fold's runs are also tested on the splitset's test split
        for fold_index in folds[1:]:
            if "test" in splitset.samples:
                found["test", fold_index] = found["test", None]
    return found


@functools.lru_cache(maxsize=64)
def split_rows_labels(splitset: SplitsetData, split: str, fold_index: int | None) -> tuple[np.ndarray, np.ndarray]:
    """A split's dataset rows and true labels as a prediction's arrays hold them, read-only, once per process
    (for a worker, which keeps its splitsets anyway)."""
    return _rows_labels(splitset, split, fold_index)


def _rows_labels(splitset: SplitsetData, split: str, fold_index: int | None) -> tuple[np.ndarray, np.ndarray]:
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
    truth = _splitset_truth(current_url(), splitset_id, created_at)
    if (split, fold_index) not in truth:
        raise KeyError(f"splitset {splitset_id} has no {split!r} split" +
                       (f" in fold {fold_index}" if fold_index is not None else ""))
    rows, labels = truth[split, fold_index]
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
