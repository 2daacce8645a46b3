"""The analysis type ``regression_positive`` and the extra regression metric ``max_abs_error``."""

from __future__ import annotations

from typing import Any

import numpy as np

from assay import errors

NAME = "regression_positive"


def check_labels(labels: Any, categorical_encoder: bool = False) -> None:
    """Labels must be numbers greater than zero (counts, prices, durations...)."""
    values = np.asarray(labels)
    if values.dtype.kind not in "iuf":
        raise errors.ExperimentError(
            "analysis_type", f"{NAME!r} needs a numeric label, the label column holds {values.dtype} values"
        )
    if np.any(values <= 0):
        raise errors.ExperimentError(
            "analysis_type",
            f"{NAME!r} needs labels greater than zero, the smallest is {values.min()!r}; use 'regression'",
        )
    if categorical_encoder:
        raise errors.ExperimentError(
            "analysis_type", f"{NAME!r} cannot use a categorical label encoder; use a scaler or none"
        )


def positive_regression_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """Errors on the log scale fit positive labels whose size varies over orders of magnitude."""
    y_true = np.asarray(y_true, dtype=float).ravel()
    y_pred = np.clip(np.asarray(y_pred, dtype=float).ravel(), 0.0, None)  # a negative prediction is clipped
    log_error = np.log1p(y_pred) - np.log1p(y_true)
    return {
        "rmsle": float(np.sqrt(np.mean(log_error**2))),
        "mae": float(np.mean(np.abs(y_pred - y_true))),
    }


def max_abs_error(y_true: Any, y_pred: Any) -> float:
    return float(np.max(np.abs(np.asarray(y_pred, dtype=float).ravel() - np.asarray(y_true, dtype=float).ravel())))
