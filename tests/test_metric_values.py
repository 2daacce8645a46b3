"""The built-in metrics, computed from one confusion matrix and one ranking, equal scikit-learn's own functions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as m

from assay import metric_values


def _sklearn(fn, *args, **kwargs):
    """scikit-learn's value, or None where it raises or gives NaN (the metric is then left out)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(fn(*args, **kwargs))
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def sklearn_classification(y_true, y_pred, probabilities, classes, binary):
    """The metrics exactly as scikit-learn computes them, one function at a time."""
    average = "binary" if binary else "weighted"
    labels = list(range(len(classes)))
    values = {
        "accuracy": _sklearn(m.accuracy_score, y_true, y_pred),
        "balanced_accuracy": _sklearn(m.balanced_accuracy_score, y_true, y_pred),
        "precision": _sklearn(m.precision_score, y_true, y_pred, average=average, zero_division=0),
        "recall": _sklearn(m.recall_score, y_true, y_pred, average=average, zero_division=0),
        "f1": _sklearn(m.f1_score, y_true, y_pred, average=average, zero_division=0),
    }
    if probabilities is not None:
        proba = np.asarray(probabilities, dtype=float)
        if binary:
            proba = proba.reshape(len(y_true), -1)[:, -1]
            values["roc_auc"] = _sklearn(m.roc_auc_score, y_true, proba)
            values["log_loss"] = _sklearn(m.log_loss, y_true, np.clip(proba, 1e-7, 1 - 1e-7), labels=[0, 1])
        else:
            proba = np.clip(proba, 1e-7, 1.0)
            proba = proba / proba.sum(axis=1, keepdims=True)
            if len(classes) == 2:  # roc_auc_score takes two classes as a binary label: class 1's probability
                values["roc_auc"] = _sklearn(m.roc_auc_score, y_true, proba[:, 1])
            else:
                values["roc_auc"] = _sklearn(m.roc_auc_score, y_true, proba, multi_class="ovr", labels=labels)
            values["log_loss"] = _sklearn(m.log_loss, y_true, proba, labels=labels)
    return {name: value for name, value in values.items() if value is not None}


def sklearn_regression(y_true, y_pred):
    mse = _sklearn(m.mean_squared_error, y_true, y_pred)
    values = {
        "r2": _sklearn(m.r2_score, y_true, y_pred),
        "mse": mse,
        "rmse": None if mse is None else float(np.sqrt(mse)),
        "mae": _sklearn(m.mean_absolute_error, y_true, y_pred),
        "mape": _sklearn(m.mean_absolute_percentage_error, y_true, y_pred),
        "explained_variance": _sklearn(m.explained_variance_score, y_true, y_pred),
    }
    return {name: value for name, value in values.items() if value is not None}


def assert_same(ours: dict[str, float], theirs: dict[str, float]) -> None:
    assert sorted(ours) == sorted(theirs)
    for name, value in theirs.items():
        assert ours[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name


@st.composite
def classification_case(draw, binary: bool):
    class_count = 2 if binary else draw(st.integers(2, 5))
    rows = draw(st.integers(1, 40))
    # few distinct values make missing classes and tied scores common, the cases where conventions matter
    y_true = np.array(draw(st.lists(st.integers(0, class_count - 1), min_size=rows, max_size=rows)))
    y_pred = np.array(draw(st.lists(st.integers(0, class_count - 1), min_size=rows, max_size=rows)))
    levels = draw(st.sampled_from([3, 10, 1000]))
    raw = np.array(draw(st.lists(st.integers(0, levels), min_size=rows * class_count,
                                 max_size=rows * class_count)), dtype=float).reshape(rows, class_count) + 0.5
    probabilities = raw / raw.sum(axis=1, keepdims=True)
    if binary and draw(st.booleans()):
        probabilities = probabilities[:, 1:]  # one sigmoid column
    return y_true, y_pred, probabilities, [f"c{i}" for i in range(class_count)]


@settings(max_examples=60, deadline=None)
@given(classification_case(binary=False))
def test_multi_class_metrics_equal_scikit_learn(case):
    y_true, y_pred, probabilities, classes = case
    assert_same(metric_values.classification(y_true, y_pred, probabilities, classes, binary=False),
                sklearn_classification(y_true, y_pred, probabilities, classes, binary=False))


@settings(max_examples=60, deadline=None)
@given(classification_case(binary=True))
def test_binary_metrics_equal_scikit_learn(case):
    y_true, y_pred, probabilities, classes = case
    assert_same(metric_values.classification(y_true, y_pred, probabilities, classes, binary=True),
                sklearn_classification(y_true, y_pred, probabilities, classes, binary=True))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30).flatmap(lambda n: st.tuples(
    st.lists(st.sampled_from([-2.0, 0.0, 0.5, 1.0, 3.25, 100.0]), min_size=n, max_size=n),
    st.lists(st.floats(-50, 50, allow_nan=False, allow_subnormal=False), min_size=n, max_size=n),
)))
def test_regression_metrics_equal_scikit_learn(case):
    y_true, y_pred = (np.array(values) for values in case)
    assert_same(metric_values.regression(y_true, y_pred), sklearn_regression(y_true, y_pred))


def test_metrics_without_probabilities_leave_out_roc_auc_and_log_loss():
    values = metric_values.classification([0, 1, 2, 2], [0, 2, 2, 2], None, ["a", "b", "c"], binary=False)
    assert set(values) == {"accuracy", "balanced_accuracy", "precision", "recall", "f1"}
    assert values["accuracy"] == 0.75


def test_probabilities_of_the_wrong_width_leave_out_the_metrics_that_need_them():
    values = metric_values.classification([0, 1, 2], [0, 1, 2], np.full((3, 2), 0.5), ["a", "b", "c"], binary=False)
    assert "roc_auc" not in values
    assert "log_loss" not in values
    assert values["accuracy"] == 1.0


def test_a_perfect_fit_of_a_constant_label_scores_r2_one_as_scikit_learn_does():
    assert_same(metric_values.regression([2.0, 2.0], [2.0, 2.0]), sklearn_regression([2.0, 2.0], [2.0, 2.0]))
    assert metric_values.regression([2.0, 2.0], [2.0, 2.0])["r2"] == 1.0
