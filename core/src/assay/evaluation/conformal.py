"""Split-conformal calibration from a predictor's stored predictions: nothing is trained again.

A calibration split's rows give one nonconformity score each; the threshold is the
``ceil((n + 1) * (1 - alpha))``-th smallest score (the finite-sample corrected quantile, as crepes and MAPIE take
it), so that on exchangeable new rows the prediction set (classification) or interval (regression) holds the true
value with probability at least ``1 - alpha``.

- ``"lac"`` (classification, default): score ``1 - p(true class)``; the set holds every class whose
  ``1 - p`` is at most the threshold.
- ``"aps"`` (adaptive prediction sets): score = the probability mass of the classes more likely than the true
  class; the set holds the classes whose own such mass is at most the threshold (larger sets on harder rows; the
  most likely class is always in it).
- ``"mondrian"`` (class-conditional LAC): one threshold per class from that class's calibration rows, so each
  class is covered at ``1 - alpha`` on its own.
- ``"absolute"`` (regression, default): score ``|y - prediction|``; the interval is ``prediction ± threshold``.

The calibration is plain JSON (:func:`assay.inference.conformal.apply` applies it to a prediction frame, in
``predictor.infer``, bundles and ``assay serve``; :mod:`assay.inference.coverage` measures it on a split).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from assay import errors, plugins
from assay.db.queries import comparison as queries
from assay.experiment import truth

CLASSIFICATION_METHODS = ("lac", "aps", "mondrian")
REGRESSION_METHODS = ("absolute",)


def check_alpha(alpha: Any, parameter: str = "alpha") -> float:
    """``alpha`` as a float strictly between 0 and 1."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.number)) or not 0 < float(alpha) < 1:
        raise errors.ValidationError(
            parameter, f"must be a number strictly between 0 and 1 (the share of rows a set or interval may miss, "
            f"e.g. 0.1 for 90% coverage), got {alpha!r}")
    return float(alpha)


def check_method(method: Any, is_classification: bool) -> str:
    """``method`` checked against the analysis kind (``None``: ``"lac"`` or ``"absolute"``)."""
    allowed = CLASSIFICATION_METHODS if is_classification else REGRESSION_METHODS
    if method is None:
        return allowed[0]
    if not isinstance(method, str) or method.lower() not in allowed:
        kind = "classification" if is_classification else "regression"
        raise errors.ValidationError("method", f"{method!r} is not a conformal method for {kind}; use one of: "
                                     f"{', '.join(allowed)}")
    return method.lower()


def conformal_quantile(scores: np.ndarray, alpha: float) -> float:
    """The ``ceil((n + 1)(1 - alpha))``-th smallest of ``scores``; ``inf`` when that exceeds ``n``."""
    scores = np.sort(np.asarray(scores, dtype=float))
    rank = math.ceil((len(scores) + 1) * (1 - alpha) - 1e-9)
    return float(scores[rank - 1]) if rank <= len(scores) else math.inf


def class_probabilities(probabilities: np.ndarray, class_count: int) -> np.ndarray:
    """``(n, classes)`` probabilities; a binary model's positive-class column completed with ``1 - p``."""
    values = np.asarray(probabilities, dtype=float).reshape(len(probabilities), -1)
    if values.shape[1] == 1 and class_count == 2:
        values = np.column_stack([1 - values[:, 0], values[:, 0]])
    if values.shape[1] != class_count:
        raise errors.ValidationError(
            "split", f"the stored probabilities have {values.shape[1]} columns for {class_count} classes")
    return values


def scores(method: str, probabilities: np.ndarray | None, truth: np.ndarray) -> np.ndarray:
    """Nonconformity scores of calibration rows: ``truth`` is class indices (with ``probabilities``) or, for
    regression, absolute residuals already."""
    if method == "absolute":
        return np.asarray(truth, dtype=float)
    rows = np.arange(len(truth))
    if method in ("lac", "mondrian"):
        return 1.0 - probabilities[rows, truth]
    true = probabilities[rows, truth]
    # the probability mass of the classes more likely than the true class (assay.inference.conformal.aps_mass)
    return (probabilities * (probabilities > true[:, None])).sum(axis=1)


def calibration_from(method: str, alpha: float, split: str, probabilities: np.ndarray | None,
                     truth: np.ndarray, classes: list[Any]) -> dict[str, Any]:
    """The JSON calibration of rows (``truth``: class indices, or absolute residuals for regression)."""
    n = len(truth)
    calibration: dict[str, Any] = {"alpha": alpha, "method": method, "split": split, "n": n}
    if method == "absolute":
        calibration.update(kind="regression", threshold=conformal_quantile(truth, alpha))
        return calibration
    calibration.update(kind="classification", classes=[_plain(value) for value in classes])
    values = scores(method, probabilities, truth)
    if method == "mondrian":
        counts = np.bincount(truth, minlength=len(classes))
        needed = math.ceil(1 / alpha) - 1
        short = [f"{classes[i]!r}: {count}" for i, count in enumerate(counts) if count < needed]
        if short:
            raise errors.ValidationError(
                "method", f"mondrian calibration needs at least {needed} calibration rows of every class at alpha "
                f"{alpha}; the {split!r} split has {', '.join(short)}. Use method='lac', a larger alpha, or a "
                "larger split")
        calibration["thresholds"] = [conformal_quantile(values[truth == i], alpha) for i in range(len(classes))]
    else:
        calibration["threshold"] = conformal_quantile(values, alpha)
    return calibration


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def stored_frame(stored: dict[str, np.ndarray]) -> tuple[pd.DataFrame, np.ndarray, list[Any]]:
    """A stored prediction's arrays as the frame inference returns (``prediction``, ``probability_<class>``),
    its true labels and its classes."""
    classes = [] if stored.get("classes") is None else np.asarray(stored["classes"]).tolist()
    predictions = np.asarray(stored["predictions"])
    frame = pd.DataFrame({"prediction": predictions.reshape(len(predictions), -1)[:, 0]
                          if predictions.ndim > 1 and predictions.reshape(len(predictions), -1).shape[1] == 1
                          else list(predictions) if predictions.ndim > 1 else predictions})
    if classes and stored.get("probabilities") is not None:
        values = class_probabilities(stored["probabilities"], len(classes))
        for i, value in enumerate(classes):
            frame[f"probability_{value}"] = values[:, i]
    return frame, np.asarray(stored.get("labels")), classes


def stored_split(predictor_id: int, split: str) -> tuple[pd.DataFrame, np.ndarray, list[Any]]:
    """:func:`stored_frame` of a predictor's stored predictions on ``split`` (a clear error when it has none)."""
    if not isinstance(split, str):
        raise errors.ValidationError("split", f"must be a split name such as 'test', got {split!r}")
    return stored_frame(_stored(predictor_id, split))


def _stored(predictor_id: int, split: str) -> dict[str, np.ndarray]:
    blob = queries.prediction_arrays(predictor_id, split)
    if blob is None:
        splits = queries.predictor_splits(predictor_id)
        raise errors.ValidationError(
            "split", f"predictor {predictor_id} has no predictions on a {split!r} split; use one of: "
            f"{', '.join(map(repr, sorted(splits))) or 'none'}")
    return truth.predictor_arrays(predictor_id, split, blob)


def _is_forecast(stored: dict[str, np.ndarray]) -> bool:
    labels = stored.get("labels")
    return labels is not None and np.asarray(labels).reshape(len(labels), -1).shape[1] > 1


def compute(predictor_id: int, analysis_type: str, alpha: float = 0.1, split: str = "validation",
            method: str | None = None) -> dict[str, Any]:
    """Check everything and compute a predictor's calibration from its stored predictions on ``split``; stores
    nothing (:func:`calibrate` stores it).

    Raises:
        assay.errors.ValidationError: ``alpha`` not a number in (0, 1); an unknown ``method``; a ``split`` the
            predictor has no predictions on; fewer rows on it than ``1/alpha``; a forecasting model; a model
            that stored no probabilities (classification).
    """
    alpha = check_alpha(alpha)
    if not isinstance(split, str):
        raise errors.ValidationError("split", f"must be a split name such as 'validation', got {split!r}")
    is_classification = plugins.analysis_type(analysis_type).is_classification
    method = check_method(method, is_classification)
    stored = _stored(predictor_id, split)
    if _is_forecast(stored):
        raise errors.ValidationError(
            "predictor", "conformal calibration of forecasting models (several values per prediction) is not "
            "supported; calibrate a model that predicts one value or class per row")
    labels = np.asarray(stored.get("labels"))
    n = len(labels)
    needed = math.ceil(1 / alpha - 1e-9)
    if n < needed:
        raise errors.ValidationError(
            "alpha", f"alpha={alpha} needs at least 1/alpha = {needed} calibration rows, but the {split!r} split "
            f"has {n}; use a larger alpha (at least {1 / max(n, 1):.3g}) or a larger split")
    frame, labels, classes = stored_frame(stored)
    if is_classification:
        if stored.get("probabilities") is None:
            raise errors.ValidationError(
                "predictor", "conformal prediction sets need class probabilities, and this model stored none; "
                "return them from fn_predict")
        from assay.experiment import predicting

        truth = predicting.class_indices(labels, classes, "split")
        probabilities = class_probabilities(stored["probabilities"], len(classes))
        return calibration_from(method, alpha, split, probabilities, truth, classes)
    residuals = np.abs(frame["prediction"].to_numpy(float) - labels.astype(float).reshape(-1))
    return calibration_from(method, alpha, split, None, residuals, [])


def calibrate(predictor_id: int, analysis_type: str, alpha: float = 0.1, split: str = "validation",
              method: str | None = None) -> dict[str, Any]:
    """:func:`compute` the calibration and store it with the predictor (replacing an earlier one); returns it."""
    calibration = compute(predictor_id, analysis_type, alpha, split, method)
    queries.store_calibration(predictor_id, calibration)
    return calibration
