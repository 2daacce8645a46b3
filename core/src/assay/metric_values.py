"""The built-in metrics of one split, computed from shared work: one confusion matrix, one ranking of the scores.

scikit-learn's metric functions each validate their arguments and rebuild the same counts: seven classification
metrics on one split cost about 60 ms, more than training a small model. Every classification metric here comes
from one confusion matrix (accuracy, balanced accuracy, precision, recall, F1) or from one ranking of the
probabilities (ROC AUC) and one gather of the true class's probability (log loss), with scikit-learn's
definitions, conventions and edge cases:

* precision, recall and F1 average over the labels present in either ``y_true`` or ``y_pred``, weighted by
  support (``average="weighted"``), or for the positive class 1 (``average="binary"``), with
  ``zero_division=0``; a binary average of more than two labels is undefined;
* balanced accuracy is the mean recall over the classes present in ``y_true``;
* ROC AUC is the Mann-Whitney statistic (ties count one half), one-vs-rest and macro-averaged over ``classes``
  for three or more classes, of class 1's probability for two; undefined when a class has no positive or no
  negative row;
* log loss is the mean of ``-log p(true class)``, probabilities clipped to ``[eps, 1 - eps]``.

A metric that is undefined for the split is left out, never stored as NaN. ``tests/test_metric_values.py``
checks every value against scikit-learn's own function.
"""

from __future__ import annotations

import numpy as np

_EPS = float(np.finfo(np.float64).eps)


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` as floats, 0 where the denominator is 0 (``zero_division=0``)."""
    denominator = np.asarray(denominator, dtype=np.float64)
    result = np.zeros(len(denominator), dtype=np.float64)
    nonzero = denominator != 0
    result[nonzero] = np.asarray(numerator, dtype=np.float64)[nonzero] / denominator[nonzero]
    return result


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, matrix)``: the sorted labels present in either array and the counts, rows true, columns predicted."""
    labels = np.union1d(y_true, y_pred)
    true_index = np.searchsorted(labels, y_true)
    pred_index = np.searchsorted(labels, y_pred)
    size = len(labels)
    matrix = np.bincount(true_index * size + pred_index, minlength=size * size).reshape(size, size)
    return labels, matrix


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None


def _counts_metrics(labels: np.ndarray, matrix: np.ndarray, binary: bool) -> dict[str, float | None]:
    total = matrix.sum()
    tp = np.diag(matrix)
    true_sum = matrix.sum(axis=1)
    pred_sum = matrix.sum(axis=0)
    present = true_sum > 0
    values: dict[str, float | None] = {
        "accuracy": float(tp.sum() / total),
        "balanced_accuracy": float(np.mean(tp[present] / true_sum[present])),
    }
    if binary:
        if len(labels) > 2 or (len(labels) == 2 and 1 not in labels):
            return values | {"precision": None, "recall": None, "f1": None}  # not a binary problem
        # the positive class 1, with zero counts when neither array holds it
        where = np.flatnonzero(labels == 1)
        index = slice(where[0], where[0] + 1) if len(where) else slice(0, 0)
        tp, true_sum, pred_sum = (np.pad(a[index], (0, 1 - len(a[index]))) for a in (tp, true_sum, pred_sum))
        weights = None
    else:
        weights = true_sum
    precision = _divide(tp, pred_sum)
    recall = _divide(tp, true_sum)
    f1 = _divide(2.0 * tp, 1.0 * true_sum + pred_sum)
    for name, per_label in (("precision", precision), ("recall", recall), ("f1", f1)):
        values[name] = float(np.average(per_label, weights=weights))
    return values


def _rank_auc(y_positive: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC AUC of each column of ``scores`` against the 0/1 column of ``y_positive`` (NaN where undefined).

    One stable sort of every column, then average ranks over ties: the Mann-Whitney U statistic divided by
    ``positives * negatives`` is the area under the ROC curve, ties counting one half.
    """
    order = np.argsort(scores, axis=0, kind="stable")
    ranked = np.take_along_axis(scores, order, axis=0)
    rows, columns = scores.shape
    ranks = np.empty_like(scores, dtype=np.float64)
    positions = np.arange(1, rows + 1, dtype=np.float64)
    for column in range(columns):
        values = ranked[:, column]
        # the first position of every run of equal scores, and each run's mean rank
        changes = np.empty(rows, dtype=bool)
        changes[0] = True
        np.not_equal(values[1:], values[:-1], out=changes[1:])
        starts = np.flatnonzero(changes)
        ends = np.append(starts[1:], rows)
        mean_rank = (positions[starts] + positions[ends - 1]) / 2
        ranks[order[:, column], column] = np.repeat(mean_rank, ends - starts)
    positives = y_positive.sum(axis=0).astype(np.float64)
    negatives = rows - positives
    rank_sum = (ranks * y_positive).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
    return np.where((positives > 0) & (negatives > 0), auc, np.nan)


def classification(y_true, y_pred, probabilities, classes, binary: bool) -> dict[str, float]:
    """Accuracy, balanced accuracy, precision, recall, F1, ROC AUC and log loss of one split.

    Args:
        y_true: true class indices (into ``classes``), one per row.
        y_pred: predicted class indices, one per row.
        probabilities: ``(rows, classes)`` probabilities (binary: ``(rows,)`` or ``(rows, 1)`` of class 1, or
            ``(rows, 2)``), or ``None``: then ROC AUC and log loss are left out.
        classes: the label's classes; their count is the number of probability columns.
        binary: ``average="binary"`` for class 1 (two classes) instead of the support-weighted average.

    Returns:
        ``{name: value}`` without the metrics that are undefined for this split.
    """
    y_true = np.asarray(y_true).astype(np.int64).ravel()
    y_pred = np.asarray(y_pred).astype(np.int64).ravel()
    if len(y_true) == 0 or len(y_true) != len(y_pred):
        return {}
    values = _counts_metrics(*confusion_matrix(y_true, y_pred), binary=binary)
    if probabilities is not None:
        values.update(_probability_metrics(y_true, np.asarray(probabilities, dtype=np.float64), classes, binary))
    return {name: value for name, value in values.items() if value is not None and np.isfinite(value)}


def _probability_metrics(y_true: np.ndarray, proba: np.ndarray, classes, binary: bool) -> dict[str, float | None]:
    rows = len(y_true)
    if binary:
        proba = proba.reshape(rows, -1)[:, -1]
        if np.setdiff1d(y_true, [0, 1]).size:
            return {}
        positive = np.clip(proba, 1e-7, 1 - 1e-7)
        chosen = np.where(y_true == 1, positive, 1 - positive)
        auc = _rank_auc((y_true == 1)[:, None].astype(np.float64), proba[:, None])[0]
        return {"roc_auc": _finite(float(auc)), "log_loss": _log_loss(chosen)}
    count = len(classes) if classes else proba.shape[1] if proba.ndim == 2 else 0
    if proba.ndim != 2 or proba.shape != (rows, count) or count < 2 or y_true.min() < 0 or y_true.max() >= count:
        return {}  # probabilities that do not match the classes: both metrics undefined
    proba = np.clip(proba, 1e-7, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)
    one_hot = np.zeros((rows, count), dtype=np.float64)
    one_hot[np.arange(rows), y_true] = 1.0
    # two classes: the AUC of class 1's probability (what roc_auc_score gives for a binary label)
    first = 1 if count == 2 else 0
    per_class = _rank_auc(one_hot[:, first:], proba[:, first:])
    auc = float(np.mean(per_class)) if not np.isnan(per_class).any() else None
    return {"roc_auc": auc, "log_loss": _log_loss(proba[np.arange(rows), y_true])}


def _log_loss(true_class_probability: np.ndarray) -> float:
    return float(np.mean(-np.log(np.clip(true_class_probability, _EPS, 1 - _EPS))))


def regression(y_true, y_pred) -> dict[str, float]:
    """R², MSE, RMSE, MAE, MAPE and explained variance of one split, from one residual vector.

    scikit-learn's definitions: R² and explained variance are 1 for a perfect fit of a constant label and 0 for
    any other fit of it; R² is undefined (left out) for one row; MAPE divides by ``max(|y_true|, eps)``.
    """
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.float64).ravel()
    if len(y_true) == 0 or len(y_true) != len(y_pred) or not (np.isfinite(y_true).all() and np.isfinite(y_pred).all()):
        return {}
    residual = y_true - y_pred
    mse = float(np.average(residual**2))
    values: dict[str, float | None] = {
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "mae": float(np.average(np.abs(residual))),
        "mape": float(np.average(np.abs(residual) / np.maximum(np.abs(y_true), _EPS))),
    }
    deviation = y_true - np.average(y_true)
    if len(y_true) >= 2:  # scikit-learn leaves R² undefined for one row, but not the explained variance
        values["r2"] = _one_minus_ratio((residual**2).sum(), (deviation**2).sum())
    centred = residual - np.average(residual)
    values["explained_variance"] = _one_minus_ratio(np.average(centred**2), np.average(deviation**2))
    return {name: value for name, value in values.items() if value is not None and np.isfinite(value)}


def _one_minus_ratio(numerator: float, denominator: float) -> float:
    """``1 - numerator / denominator`` with scikit-learn's conventions: 1 for a perfect fit, 0 for a constant label."""
    if denominator != 0:
        return float(1 - numerator / denominator)
    return 1.0 if numerator == 0 else 0.0
