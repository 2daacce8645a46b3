"""Conformal prediction sets and intervals on a prediction frame, from a stored calibration (plain JSON).

:func:`apply` is the one place a calibration meets predictions: ``predictor.infer``, bundles (the calibration rides
in the manifest) and ``assay serve`` call it on the frame they already made, and ``predictor.coverage`` on the
stored predictions of a split. It needs nothing but numpy and pandas, so a bundle loads it without the database.
The calibration itself is computed by :mod:`assay.evaluation.conformal`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

#: prefix of the probability columns of a prediction frame (as :mod:`assay.inference.infer` names them)
PROBABILITY_PREFIX = "probability_"


def aps_mass(probabilities: np.ndarray) -> np.ndarray:
    """``(n, classes)``: for each class, the probability mass of the classes more likely than it: the adaptive
    prediction sets' score of each class (Romano et al. 2020's ``sum(p_j > p_y) + u p_y`` with ``u = 0``, so the most
    likely class is always in the set and no randomness is needed)."""
    p = np.asarray(probabilities, dtype=float)
    return (p[:, None, :] * (p[:, None, :] > p[:, :, None])).sum(axis=2)


def _threshold(value: Any) -> float:
    return math.inf if value is None else float(value)


def apply(calibration: dict[str, Any], frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (``prediction``, and ``probability_<class>`` for classification) with the conformal output added:
    ``prediction_set`` (a list of original class values per row, most likely first) for classification,
    ``interval_low`` and ``interval_high`` for regression. The frame's index and attrs are kept."""
    result = frame.copy()
    if calibration["kind"] == "regression":
        threshold = _threshold(calibration["threshold"])
        predictions = pd.to_numeric(result["prediction"]).to_numpy(dtype=float)
        result["interval_low"] = predictions - threshold
        result["interval_high"] = predictions + threshold
        return result
    classes = list(calibration["classes"])
    columns = [f"{PROBABILITY_PREFIX}{value}" for value in classes]
    missing = [name for name in columns if name not in result.columns]
    if missing:
        raise ValueError(f"the calibration's classes have no probability columns here: {missing}")
    p = result[columns].to_numpy(dtype=float)
    method = calibration["method"]
    if method == "mondrian":
        thresholds = np.asarray([_threshold(value) for value in calibration["thresholds"]])
        included = 1.0 - p <= thresholds[None, :] + 1e-12
    elif method == "aps":
        included = aps_mass(p) <= _threshold(calibration["threshold"]) + 1e-12
    else:
        included = 1.0 - p <= _threshold(calibration["threshold"]) + 1e-12
    order = np.argsort(-p, axis=1, kind="stable")
    result["prediction_set"] = [[classes[j] for j in row_order if row_included[j]]
                                for row_order, row_included in zip(order, included, strict=True)]
    return result


def coverage_of(calibration: dict[str, Any], frame: pd.DataFrame, labels: np.ndarray) -> dict[str, Any]:
    """``coverage`` (share of rows whose set or interval holds the true label), ``alpha``, ``n`` and
    ``mean_set_size`` or ``mean_interval_width`` of a calibration on a prediction frame with known labels."""
    result = apply(calibration, frame)
    labels = np.asarray(labels)
    summary: dict[str, Any] = {"coverage": math.nan, "alpha": calibration["alpha"], "n": len(result),
                               "method": calibration["method"]}
    if not len(result):
        return summary
    if calibration["kind"] == "classification":
        covered = [str(value) in {str(member) for member in chosen}
                   for value, chosen in zip(labels.reshape(-1), result["prediction_set"], strict=True)]
        summary.update(coverage=float(np.mean(covered)),
                       mean_set_size=float(result["prediction_set"].map(len).mean()))
    else:
        y = labels.astype(float).reshape(-1)
        low, high = result["interval_low"].to_numpy(float), result["interval_high"].to_numpy(float)
        summary.update(coverage=float(np.mean((y >= low) & (y <= high))),
                       mean_interval_width=float(np.mean(high - low)))
    return summary
