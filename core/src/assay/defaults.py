"""The core's own plugin: the three built-in analysis types and their metrics.

Registered like any plugin with ``trylast=True`` (see :data:`assay.plugins.BUILTIN_PLUGINS`), so third-party
plugins override or extend it the same way. The built-in plots are the core's second plugin,
:mod:`assay.evaluation.builtin_plots`, because they belong to evaluation.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from assay import errors
from assay.contracts import AnalysisType
from assay.hookspecs import hookimpl

REGRESSION = "regression"
BINARY = "classification_binary"
MULTI = "classification_multi"


def _is_continuous(labels) -> bool:
    """A float label with non-integer values is continuous."""
    values = np.asarray(labels)
    if values.dtype.kind != "f":
        return False
    finite = values[np.isfinite(values)]
    return bool(np.any(finite != np.round(finite)))


def _check_classification(labels, classes_min: int, classes_max: int | None, name: str) -> None:
    if _is_continuous(labels):
        raise errors.ExperimentError(
            "analysis_type",
            f"{name!r} needs class labels, but the label column holds continuous floats "
            f"(e.g. {np.asarray(labels)[0]!r}); use analysis_type='regression' or bin the label first",
        )
    count = len(np.unique(np.asarray(labels).astype(str)))
    if count < classes_min or (classes_max is not None and count > classes_max):
        expected = "exactly 2" if classes_max == 2 else f"at least {classes_min}"
        hint = " use analysis_type='classification_multi'" if classes_max == 2 else ""
        raise errors.ExperimentError(
            "analysis_type", f"{name!r} needs {expected} classes, the label has {count};{hint}".rstrip(";")
        )


def check_binary(labels, categorical_encoder: bool = False) -> None:
    _check_classification(labels, 2, 2, BINARY)


def check_multi(labels, categorical_encoder: bool = False) -> None:
    _check_classification(labels, 2, None, MULTI)


def check_regression(labels, categorical_encoder: bool = False) -> None:
    values = np.asarray(labels)
    if values.dtype.kind not in "iuf":
        raise errors.ExperimentError(
            "analysis_type",
            f"'regression' needs a numeric label, the label column holds {values.dtype} values; "
            "use a classification analysis type",
        )
    if categorical_encoder:
        raise errors.ExperimentError(
            "analysis_type",
            "'regression' cannot use a categorical label encoder (one-hot, ordinal...); use a scaler such as "
            "StandardScaler() as label_encoder, or a classification analysis type",
        )


ANALYSIS_TYPES = [
    AnalysisType(REGRESSION, False, "r2", True, check_regression, "continuous label"),
    AnalysisType(BINARY, True, "accuracy", True, check_binary, "two classes"),
    AnalysisType(MULTI, True, "accuracy", True, check_multi, "two or more classes"),
]


@hookimpl(trylast=True)
def assay_analysis_types():
    return ANALYSIS_TYPES


def _safe(fn, *args, **kwargs) -> float | None:
    """A metric that is undefined here (e.g. ROC AUC with one class present) is left out, not stored as NaN."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(fn(*args, **kwargs))
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def classification_metrics(y_true, y_pred, probabilities, classes, binary: bool) -> dict[str, float]:
    from sklearn import metrics as m

    y_true = np.asarray(y_true).astype(int).ravel()
    y_pred = np.asarray(y_pred).astype(int).ravel()
    labels = list(range(len(classes))) if classes else None
    average = "binary" if binary else "weighted"
    values: dict[str, float | None] = {
        "accuracy": _safe(m.accuracy_score, y_true, y_pred),
        "balanced_accuracy": _safe(m.balanced_accuracy_score, y_true, y_pred),
        "precision": _safe(m.precision_score, y_true, y_pred, average=average, zero_division=0),
        "recall": _safe(m.recall_score, y_true, y_pred, average=average, zero_division=0),
        "f1": _safe(m.f1_score, y_true, y_pred, average=average, zero_division=0),
    }
    if probabilities is not None:
        proba = np.asarray(probabilities, dtype=float)
        if binary:
            proba = proba.reshape(len(y_true), -1)[:, -1]
            values["roc_auc"] = _safe(m.roc_auc_score, y_true, proba)
            values["log_loss"] = _safe(m.log_loss, y_true, np.clip(proba, 1e-7, 1 - 1e-7), labels=[0, 1])
        else:
            proba = np.clip(proba, 1e-7, 1.0)
            proba = proba / proba.sum(axis=1, keepdims=True)
            values["roc_auc"] = _safe(m.roc_auc_score, y_true, proba, multi_class="ovr", labels=labels)
            values["log_loss"] = _safe(m.log_loss, y_true, proba, labels=labels)
    return {name: value for name, value in values.items() if value is not None}


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """r2, mse, rmse, mae, mape, explained variance over every value. Forecast windows ``(n, size_window,
    columns)`` also get ``mae_step_<k>``, ``rmse_step_<k>`` and ``r2_step_<k>`` for each step k = 1..size_window
    of the window (the horizon: later steps lie further in the future)."""
    from sklearn import metrics as m

    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    windows = y_true.ndim == 3 and y_pred.shape == y_true.shape
    per_step = forecast_step_metrics(y_true, y_pred) if windows else {}
    # R² of forecast windows: per column, then averaged (columns of different scales would inflate a pooled R²)
    r2 = _safe(m.r2_score, y_true.reshape(-1, y_true.shape[-1]), y_pred.reshape(-1, y_true.shape[-1])) \
        if windows else None
    y_true, y_pred = y_true.ravel(), y_pred.ravel()
    mse = _safe(m.mean_squared_error, y_true, y_pred)
    values = {
        "r2": r2 if windows else _safe(m.r2_score, y_true, y_pred),
        "mse": mse,
        "rmse": None if mse is None else float(np.sqrt(mse)),
        "mae": _safe(m.mean_absolute_error, y_true, y_pred),
        "mape": _safe(m.mean_absolute_percentage_error, y_true, y_pred),
        "explained_variance": _safe(m.explained_variance_score, y_true, y_pred),
    }
    values.update(per_step)
    return {name: value for name, value in values.items() if value is not None}


def forecast_step_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float | None]:
    """MAE, RMSE and R² (averaged over columns) of each step of forecast windows ``(n, size_window, columns)``,
    steps numbered from 1."""
    from sklearn import metrics as m

    values: dict[str, float | None] = {}
    for step in range(y_true.shape[1]):
        true, pred = y_true[:, step].ravel(), y_pred[:, step].ravel()
        mse = _safe(m.mean_squared_error, true, pred)
        values[f"mae_step_{step + 1}"] = _safe(m.mean_absolute_error, true, pred)
        values[f"rmse_step_{step + 1}"] = None if mse is None else float(np.sqrt(mse))
        values[f"r2_step_{step + 1}"] = _safe(m.r2_score, y_true[:, step], y_pred[:, step])
    return values


@hookimpl(trylast=True)
def assay_metrics(analysis_type: str, y_true: Any, y_pred: Any, probabilities: Any, classes: list[Any]):
    if analysis_type == REGRESSION:
        return regression_metrics(y_true, y_pred)
    if analysis_type in (BINARY, MULTI):
        return classification_metrics(y_true, y_pred, probabilities, classes, binary=analysis_type == BINARY)
    return None
