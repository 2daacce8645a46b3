"""The core's own plugin: the three built-in analysis types and their metrics.

Registered like any plugin with ``trylast=True`` (see :data:`assay.plugins.BUILTIN_PLUGINS`), so third-party
plugins override or extend it the same way. The built-in plots are the core's second plugin,
:mod:`assay.evaluation.builtin_plots`, because they belong to evaluation.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from assay import errors, metric_values
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


def _check_classification(labels, classes_min: int, classes_max: int | None, name: str,
                          categorical_encoder: bool) -> None:
    if _is_continuous(labels):
        raise errors.ExperimentError(
            "analysis_type",
            f"{name!r} needs class labels, but the label column holds continuous floats "
            f"(e.g. {np.asarray(labels)[0]!r}); use analysis_type='regression' or bin the label first",
        )
    if np.asarray(labels).dtype.kind == "f" and not categorical_encoder:
        # a float label without a categorical encoder was stored as a continuous label: it has no classes, so
        # predictions would decode without them and carry no probability columns
        values = sorted({float(v) for v in np.unique(np.asarray(labels))})[:5]
        raise errors.ExperimentError(
            "label_encoder",
            f"{name!r} needs class labels, but the label column holds floats {values}, which the splitset stores as "
            "a continuous label; make the splitset again with the label cast to int (df[label_column].astype(int)) "
            "or with label_encoder=dict(sklearn_preprocess=OrdinalEncoder())",
        )
    count = len(np.unique(np.asarray(labels).astype(str)))
    if count < classes_min or (classes_max is not None and count > classes_max):
        expected = "exactly 2" if classes_max == 2 else f"at least {classes_min}"
        hint = " use analysis_type='classification_multi'" if classes_max == 2 else ""
        raise errors.ExperimentError(
            "analysis_type", f"{name!r} needs {expected} classes, the label has {count};{hint}".rstrip(";")
        )


def check_binary(labels, categorical_encoder: bool = False) -> None:
    _check_classification(labels, 2, 2, BINARY, categorical_encoder)


def check_multi(labels, categorical_encoder: bool = False) -> None:
    _check_classification(labels, 2, None, MULTI, categorical_encoder)


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


def classification_metrics(y_true, y_pred, probabilities, classes, binary: bool) -> dict[str, float]:
    """scikit-learn's accuracy, balanced accuracy, precision, recall, F1, ROC AUC and log loss of one split.

    Computed from one confusion matrix and one ranking (:mod:`assay.metric_values`): the same values as the
    scikit-learn functions, at a fraction of their cost per split. Probabilities are clipped to ``[1e-7, 1]``
    (multi-class: and renormalised) first, so a model that outputs an exact 0 gets a finite log loss.
    """
    return metric_values.classification(y_true, y_pred, probabilities, classes, binary)


def _safe(fn, *args, **kwargs) -> float | None:
    """A metric that is undefined here is left out, not stored as NaN."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(fn(*args, **kwargs))
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """r2, mse, rmse, mae, mape, explained variance over every value (scikit-learn's definitions, computed from
    one residual vector by :mod:`assay.metric_values`). Forecast windows ``(n, size_window, columns)`` also get
    ``mae_step_<k>``, ``rmse_step_<k>`` and ``r2_step_<k>`` for each step k = 1..size_window of the window (the
    horizon: later steps lie further in the future)."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    windows = y_true.ndim == 3 and y_pred.shape == y_true.shape
    values: dict[str, float] = metric_values.regression(y_true.ravel(), y_pred.ravel())
    if windows:
        from sklearn import metrics as m

        # R² of forecast windows: per column, then averaged (columns of different scales would inflate a pooled R²)
        values.pop("r2", None)
        r2 = _safe(m.r2_score, y_true.reshape(-1, y_true.shape[-1]), y_pred.reshape(-1, y_true.shape[-1]))
        if r2 is not None:
            values["r2"] = r2
        values.update({name: value for name, value in forecast_step_metrics(y_true, y_pred).items()
                       if value is not None})
    return values


def forecast_step_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float | None]:
    """MAE, RMSE and R² (averaged over columns) of each step of forecast windows ``(n, size_window, columns)``,
    steps numbered from 1."""
    from sklearn import metrics as m

    values: dict[str, float | None] = {}
    for step in range(y_true.shape[1]):
        flat = metric_values.regression(y_true[:, step].ravel(), y_pred[:, step].ravel())
        values[f"mae_step_{step + 1}"] = flat.get("mae")
        values[f"rmse_step_{step + 1}"] = flat.get("rmse")
        values[f"r2_step_{step + 1}"] = _safe(m.r2_score, y_true[:, step], y_pred[:, step])
    return values


@hookimpl(trylast=True)
def assay_metrics(analysis_type: str, y_true: Any, y_pred: Any, probabilities: Any, classes: list[Any]):
    if analysis_type == REGRESSION:
        return regression_metrics(y_true, y_pred)
    if analysis_type in (BINARY, MULTI):
        return classification_metrics(y_true, y_pred, probabilities, classes, binary=analysis_type == BINARY)
    return None
