"""Keras callbacks for ``fn_train``: :class:`MetricCutoff` stops training once every given metric passes its
threshold (AIQC's ``TrainingCallback.Keras.MetricCutoff``; also ``assay.TrainingCallback.Keras.MetricCutoff``).

This module imports Keras; import it inside ``fn_train`` or from user code, never from a hook module.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import keras

from assay import errors

__all__ = ["MetricCutoff"]

_COMPARE = {"above": operator.ge, "below": operator.le}
_KEYS = {"metric", "cutoff", "above_or_below"}


def _check(thresholds: Any) -> list[dict[str, Any]]:
    if isinstance(thresholds, dict):
        thresholds = [thresholds]
    if not isinstance(thresholds, (list, tuple)) or not thresholds:
        raise errors.ValidationError(
            "thresholds", "expected a non-empty list of dicts such as "
            "[{'metric': 'val_accuracy', 'cutoff': 0.9, 'above_or_below': 'above'}]"
        )
    checked = []
    for i, threshold in enumerate(thresholds):
        where = f"thresholds[{i}]"
        if not isinstance(threshold, dict) or set(threshold) != _KEYS:
            raise errors.ValidationError(
                where, f"must be a dict with exactly the keys {sorted(_KEYS)}, got {threshold!r}"
            )
        if not isinstance(threshold["metric"], str) or not threshold["metric"]:
            raise errors.ValidationError(f"{where}.metric", f"must be a metric name such as 'val_loss', got "
                                         f"{threshold['metric']!r}")
        cutoff = threshold["cutoff"]
        if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)) or not math.isfinite(cutoff):
            raise errors.ValidationError(f"{where}.cutoff", f"must be a finite number, got {cutoff!r}")
        if threshold["above_or_below"] not in _COMPARE:
            raise errors.ValidationError(
                f"{where}.above_or_below", f"must be 'above' (>=) or 'below' (<=), got {threshold['above_or_below']!r}"
            )
        checked.append(dict(threshold))
    return checked


class MetricCutoff(keras.callbacks.Callback):
    """Stop training at the end of the first epoch where *every* threshold is met.

    Args:
        thresholds: a list of ``{"metric": name, "cutoff": number, "above_or_below": "above" | "below"}``;
            ``"above"`` means ``metric >= cutoff``, ``"below"`` ``metric <= cutoff``. Metric names are those of
            Keras' epoch logs: ``loss``, ``accuracy``, and ``val_``-prefixed ones for the validation data.

    Raises:
        assay.errors.ValidationError: at construction, for a malformed threshold; at the end of an epoch, for a
            metric the logs do not hold (naming the metrics they hold).

    Attributes:
        stopped_epoch: the (0-based) epoch training stopped after, or ``None`` when it ran every epoch.
    """

    def __init__(self, thresholds: list[dict[str, Any]]):
        super().__init__()
        self.thresholds = _check(thresholds)
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        for threshold in self.thresholds:
            value = logs.get(threshold["metric"])
            if value is None:
                raise errors.ValidationError(
                    "thresholds", f"metric {threshold['metric']!r} is not in this epoch's logs {sorted(logs)}; "
                    "compile the model with it, or fit with validation_data for 'val_' metrics"
                )
            if not _COMPARE[threshold["above_or_below"]](float(value), threshold["cutoff"]):
                return
        self.stopped_epoch = epoch
        self.model.stop_training = True
