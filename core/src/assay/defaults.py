"""The core's own plugin: the three built-in analysis types and their metrics.

Registered like any plugin with ``trylast=True`` (see :data:`assay.plugins.BUILTIN_PLUGINS`), so third-party
plugins override or extend it the same way. The built-in plots are the core's second plugin,
:mod:`assay.evaluation.builtin_plots`, because they belong to evaluation.
"""

from __future__ import annotations

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


def classification_metrics(y_true, y_pred, probabilities, classes, binary: bool) -> dict[str, float]:
    """scikit-learn's accuracy, balanced accuracy, precision, recall, F1, ROC AUC and log loss of one split.

    Computed from one confusion matrix and one ranking (:mod:`assay.metric_values`): the same values as the
    scikit-learn functions, at a fraction of their cost per split. Probabilities are clipped to ``[1e-7, 1]``
    (multi-class: and renormalised) first, so a model that outputs an exact 0 gets a finite log loss.
    """
    return metric_values.classification(y_true, y_pred, probabilities, classes, binary)


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """scikit-learn's R², MSE, RMSE, MAE, MAPE and explained variance of one split (:mod:`assay.metric_values`)."""
    return metric_values.regression(y_true, y_pred)


@hookimpl(trylast=True)
def assay_metrics(analysis_type: str, y_true: Any, y_pred: Any, probabilities: Any, classes: list[Any]):
    if analysis_type == REGRESSION:
        return regression_metrics(y_true, y_pred)
    if analysis_type in (BINARY, MULTI):
        return classification_metrics(y_true, y_pred, probabilities, classes, binary=analysis_type == BINARY)
    return None
