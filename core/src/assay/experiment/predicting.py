"""Predicting and scoring one set of samples: shared by the runner, inference and feature importance.

The runner's stored predictions, ``Predictor.infer``, bundles and permutation importance must agree exactly, so
they all predict, decode and code labels for metrics through these functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from assay import errors, plugins


def predict(backend: plugins.Backend, analysis_type: str, fn_predict: Callable[..., Any] | None, model: Any,
            samples: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """``(predictions, probabilities)`` as numpy, from the user's ``fn_predict`` or the backend's default."""
    if fn_predict is not None:
        predictions, probabilities = fn_predict(model, samples)
    else:
        predictions, probabilities = backend.default_predict(analysis_type, model, samples)
    return np.asarray(predictions), None if probabilities is None else np.asarray(probabilities, dtype=float)


def one_column(predictions: np.ndarray, row_count: int) -> np.ndarray:
    """``(n, 1)`` outputs as ``(n,)`` for decoding; wider outputs stay 2-D."""
    if predictions.ndim > 1:
        predictions = predictions.reshape(row_count, -1)
        if predictions.shape[1] == 1:
            return predictions[:, 0]
    return predictions


def class_indices(values: Any, classes: list[Any], parameter: str = "label_column") -> np.ndarray:
    """Original label values as indices into ``classes``; unknown values raise naming them."""
    # object indexes: inferring an Arrow string dtype for both sides costs more than the lookup itself
    indices = pd.Index(list(classes), dtype=object).get_indexer(pd.Index(np.asarray(values), dtype=object))
    if (indices < 0).any():
        unknown = sorted({str(v) for v in np.asarray(values)[indices < 0]})[:5]
        raise errors.DataError(parameter, f"labels {unknown} are not among the model's classes {list(classes)}")
    return indices


def true_coding(labels: Any, classes: list[Any], parameter: str = "label_column") -> np.ndarray:
    """True labels as metrics take them: class indices for classification, floats for regression (forecast
    windows keep their ``(n, size_window, columns)`` shape, for metrics per horizon step)."""
    if classes:
        return class_indices(labels, classes, parameter)
    try:
        return _flat_unless_windows(np.asarray(labels, dtype=float))
    except (TypeError, ValueError):
        raise errors.DataError(parameter, "a regression label must hold numbers") from None


def _flat_unless_windows(values: np.ndarray) -> np.ndarray:
    return values if values.ndim == 3 else values.ravel()


def predicted_coding(predictions: np.ndarray, decoded: np.ndarray, classes: list[Any]) -> np.ndarray:
    """Predictions as metrics take them: class indices for classification, decoded floats for regression."""
    if classes:
        return np.asarray(predictions).astype(int).ravel()
    return _flat_unless_windows(np.asarray(decoded, dtype=float))
