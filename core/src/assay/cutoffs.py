"""Metric cutoffs (AIQC's ``MetricCutoff``): stop training once every listed metric passes its threshold.

One definition for every library: ``assay.TrainingCallback.Keras.MetricCutoff`` (a Keras callback) and
``assay.TrainingCallback.Torch.MetricCutoff`` (for ``assay_torch.fit(..., callbacks=[...])``) both check their
thresholds here and decide here, on the epoch's history values, whether training stops.
"""

from __future__ import annotations

import math
import operator
from typing import Any

from assay import errors

_COMPARE = {"above": operator.ge, "below": operator.le}
_KEYS = {"metric", "cutoff", "above_or_below"}


def check_thresholds(thresholds: Any) -> list[dict[str, Any]]:
    """``[{"metric": name, "cutoff": number, "above_or_below": "above" | "below"}, ...]``, checked."""
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


def all_met(thresholds: list[dict[str, Any]], logs: dict[str, Any], fix: str) -> bool:
    """Whether this epoch's values (``logs``: metric name -> value) meet every threshold; a metric missing from
    the logs raises, naming the ones present and ``fix``."""
    met = True
    for threshold in thresholds:
        value = logs.get(threshold["metric"])
        if value is None:
            raise errors.ValidationError(
                "thresholds", f"metric {threshold['metric']!r} is not in this epoch's logs {sorted(logs)}; {fix}")
        met = met and _COMPARE[threshold["above_or_below"]](float(value), threshold["cutoff"])
    return met
