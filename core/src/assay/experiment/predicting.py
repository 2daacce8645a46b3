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
            samples: dict[str, Any], class_count: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """``(predictions, probabilities)`` as numpy, from the user's ``fn_predict`` or the backend's default.

    The output is checked before anything decodes or scores it (see :func:`check_output`): a prediction per
    sample, class indices below ``class_count`` (when given) for classification, probabilities of matching shape,
    no NaN. A wrong shape would otherwise decode to wrong classes, or silently drop the metrics.

    Raises:
        assay.errors.ExperimentError: naming ``fn_predict`` (the user's function returned it) or ``fn_build``
            (the backend's default predict, so the model's outputs are the wrong shape).
    """
    parameter = "fn_predict" if fn_predict is not None else "fn_build"
    if fn_predict is not None:
        output = fn_predict(model, samples)
        if not isinstance(output, (tuple, list)) or len(output) != 2:
            raise errors.ExperimentError(
                "fn_predict", f"must return a pair (predictions, probabilities), got {_described(output)}; return "
                "(predictions, None) when the model gives no probabilities")
        predictions, probabilities = output
    else:
        predictions, probabilities = backend.default_predict(analysis_type, model, samples)
    predictions = np.asarray(predictions)
    try:
        values = predictions.astype(float)
        probabilities = None if probabilities is None else np.asarray(probabilities, dtype=float)
    except (TypeError, ValueError):
        raise errors.ExperimentError(
            parameter, f"gave predictions or probabilities that are not numbers ({_described(predictions)} of "
            f"{predictions.dtype}); return class indices 0..k-1 for classification (assay decodes them to the "
            "original labels) or the encoded values for regression") from None
    check_output(values, probabilities, sample_count(samples), class_count,
                 plugins.analysis_type(analysis_type).is_classification, parameter)
    return predictions, probabilities


def _described(value: Any) -> str:
    shape = getattr(value, "shape", None)
    return f"{type(value).__name__} of shape {tuple(shape)}" if shape is not None else type(value).__name__


def sample_count(samples: dict[str, Any]) -> int | None:
    """The number of samples handed to the model (the first input's, for several inputs), if it has a length."""
    features = samples.get("features")
    if isinstance(features, (list, tuple)) and features:
        features = features[0]
    elif isinstance(features, dict) and features:
        features = next(iter(features.values()))
    try:
        return len(features)
    except TypeError:
        return None


def check_output(predictions: np.ndarray, probabilities: np.ndarray | None, rows: int | None,
                 class_count: int | None, is_classification: bool, parameter: str) -> None:
    """Refuse predictions that cannot be what the model means for these ``rows`` samples.

    Every array must hold one entry per sample. Classification predictions are class indices, one per sample
    (integers in ``0..class_count-1``; one-hot rows or probabilities are refused rather than guessed at), and
    probabilities are ``(rows, class_count)`` (binary: also the positive class's, ``(rows,)`` or ``(rows, 1)``).
    NaN or ±inf anywhere is refused: the metrics of such a split would be left out without a word.
    """
    def fail(message: str, hint: bool = True) -> None:
        if parameter == "fn_predict":
            raise errors.ExperimentError(parameter, message)
        raise errors.ExperimentError(parameter, "the model " + message + (
            "; fix the model's last layer, or pass fn_predict" if hint else ""))

    if rows is not None:
        for name, array in (("predictions", predictions), ("probabilities", probabilities)):
            if array is not None and (array.ndim == 0 or len(array) != rows):
                fail(f"gave {name} of shape {array.shape} for {rows} samples; return one per sample, in order")
    for name, array in (("predictions", predictions), ("probabilities", probabilities)):
        if array is not None and not np.isfinite(array).all():
            bad = int((~np.isfinite(array.reshape(len(array), -1))).any(axis=1).sum()) if array.ndim else 1
            fail(f"gave {name} holding NaN or ±inf for {bad} sample(s): the training diverged (try a lower "
                 "learning rate, or scale the features) or the model computes NaN", hint=False)
    if not is_classification:
        return
    if predictions.ndim > 1 and int(np.prod(predictions.shape[1:])) != 1:
        fail(f"gave classification predictions of shape {predictions.shape}; return one class index per sample "
             "(e.g. probabilities.argmax(axis=1)), not one-hot rows or probabilities")
    if probabilities is not None and class_count is not None:
        width = int(np.prod(probabilities.shape[1:])) if probabilities.ndim > 1 else 1
        if not (probabilities.ndim <= 2 and (width == class_count or (class_count == 2 and width == 1))):
            expected = f"({rows}, {class_count})" + (f", ({rows},) or ({rows}, 1)" if class_count == 2 else "")
            fail(f"gave probabilities of shape {probabilities.shape} for {class_count} classes; return {expected}: "
                 "one column per class, in the order of the label's classes")
    flat = predictions.ravel()
    top = class_count - 1 if class_count else None
    if flat.size and ((flat != np.rint(flat)).any() or flat.min() < 0 or (top is not None and flat.max() > top)):
        wrong = flat[(flat != np.rint(flat)) | (flat < 0) | (flat > (top if top is not None else np.inf))]
        fail(f"gave predictions {sorted({float(v) for v in wrong})[:5]} that are not class indices "
             f"0..{top if top is not None else 'k-1'}; return the index of each sample's class (assay decodes it "
             "to the original label)")


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
