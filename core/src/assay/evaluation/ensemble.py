"""Ensembles of a queue's trained models, selected from their stored predictions (nothing is trained again).

:func:`build` takes the best ``candidates`` combinations of a finished queue (by its objective, as the leaderboard
ranks them; pruned combinations and combinations with a failed run never count) and selects an ensemble of them:

* ``method="caruana"``: Caruana et al. (2004)'s greedy ensemble selection with replacement. Starting empty, each
  iteration adds the candidate whose addition gives the best score on the selection split; after ``size``
  iterations the best iteration is kept, and a candidate's weight is the share of the picks up to it.
* ``method="mean"``: the top k candidates averaged equally, k (at most ``size``) chosen the same way: the k whose
  average scores best on the selection split.

A member is a *combination*: its models (repeats, and with folds one per fold) are averaged, so the ensemble
predicts ``sum(weight_c * mean(models of c))``. Classification averages probabilities (the class is the most
probable one), regression the decoded values. With folds the selection split is out-of-fold: each fold's models
predict only their own fold's validation rows, so every train row has exactly one prediction per repeat, made by
models that never saw it.

The ensemble's prediction on every split is computed the same way from the members' stored predictions. With
folds, the ``train`` split holds each row's *in-fold* prediction (averaged over the fold models that trained on
it): it is in-sample and optimistic, and the stored prediction says so in its note. The selection split itself is
optimistic too (the ensemble was chosen on it); judge an ensemble on a split it was not selected on (``test``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from assay import errors, plugins
from assay.db.models import QueueRow, SplitsetRow
from assay.db.queries import data as data_queries
from assay.db.queries import ensembles as queries
from assay.db.queries import experiments as experiment_queries
from assay.db.queries import results as result_queries
from assay.evaluation import leaderboard
from assay.experiment import arrays, predicting
from assay.experiment import truth as split_truth

METHODS = ("caruana", "mean")
#: metrics that need the model's training loss function, which an average of models does not have
UNCOMPUTABLE = ("loss",)
IN_SAMPLE_NOTE = ("in-sample: with folds every train row is predicted by the fold models that trained on it, so "
                  "these numbers are optimistic; the out-of-fold 'validation' split and 'test' are honest")
SELECTION_NOTE = "the ensemble was selected on this split, so its score here is optimistic"


@attrs.frozen
class Combined:
    """A split's predictions averaged per row: sorted dataset rows, their labels and the averaged outputs
    (per-class probabilities ``(n, classes)`` for classification, decoded values for regression)."""

    rows: np.ndarray
    labels: np.ndarray | None
    values: np.ndarray


@attrs.frozen
class Selection:
    """What selection decided: weights per candidate, the curve, the best iteration."""

    weights: np.ndarray
    picks: np.ndarray
    curve: list[float]
    best_iteration: int


# --------------------------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------------------------


def ordered_splits(splits: list[str]) -> list[str]:
    """Splits as every table lists them: train, validation, test, then any other."""
    order = leaderboard.SPLIT_ORDER
    return sorted(splits, key=lambda name: (order.index(name) if name in order else len(order), name))


def _positive_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise errors.ValidationError(name, f"must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_arguments(size: Any, candidates: Any, method: Any) -> tuple[int, int, str]:
    """``size`` >= 1, ``candidates`` >= 2 and a known ``method``, or a ValidationError naming the parameter."""
    size = _positive_int("size", size, 1)
    candidates = _positive_int("candidates", candidates, 2)
    if method not in METHODS:
        raise errors.ValidationError("method", f"must be one of {list(METHODS)}, got {method!r}")
    return size, candidates, method


def _check_finished(queue_id: int) -> None:
    """A queue with jobs still to run is refused: its leaderboard, and so the candidates, would still change."""
    status = experiment_queries.queue_status(queue_id)
    waiting = status["queued"] + status["running"] + status["planned"]
    if waiting:
        raise errors.ValidationError(
            "queue", f"queue {queue_id} still has {waiting} job(s) to run ({status['queued']} queued, "
            f"{status['running']} running, {status['planned']} planned); ensembles are made of a finished queue: "
            "let queue.run_jobs() finish (or queue.retry_failed() and run them), then call queue.ensemble again")


# --------------------------------------------------------------------------------------------------------------
# Predictions per combination
# --------------------------------------------------------------------------------------------------------------


def class_columns(probabilities: np.ndarray, class_count: int) -> np.ndarray:
    """Probabilities as ``(n, classes)``: a binary model's positive-class probability p becomes ``[1 - p, p]``."""
    values = np.asarray(probabilities, dtype=np.float64).reshape(len(probabilities), -1)
    if values.shape[1] == 1 and class_count == 2:
        return np.column_stack([1.0 - values[:, 0], values[:, 0]])
    if values.shape[1] != class_count:
        raise errors.ValidationError(
            "queue", f"a model stored probabilities of shape {np.shape(probabilities)} for {class_count} classes; "
            "ensembles average one probability per class")
    return values


def stored_probabilities(values: np.ndarray, like: np.ndarray | None) -> np.ndarray:
    """Per-class probabilities back in the members' stored form (the positive class alone for binary)."""
    if like is not None and values.shape[1] == 2 and (np.ndim(like) == 1 or np.shape(like)[1] == 1):
        return values[:, 1].reshape(len(values), *np.shape(like)[1:])
    return values


def _outputs(stored: dict[str, np.ndarray], classes: list[Any], predictor_id: int) -> np.ndarray:
    if classes:
        probabilities = stored.get("probabilities")
        if probabilities is None:
            raise errors.ValidationError(
                "queue", f"predictor {predictor_id} stored no probabilities; a classification ensemble averages "
                "probabilities: return them from fn_predict (predictions, probabilities)")
        return class_columns(probabilities, len(classes))
    return np.asarray(stored["predictions"], dtype=np.float64)


def combine(parts: list[tuple[np.ndarray, np.ndarray | None, np.ndarray]]) -> Combined:
    """Average the outputs of several models per dataset row: ``parts`` are ``(rows, labels, outputs)``; a row
    predicted by several models (repeats; the test split of every fold model) gets their mean."""
    unique = np.unique(np.concatenate([part[0] for part in parts]))
    first_output = np.asarray(parts[0][2])
    sums = np.zeros((len(unique), *first_output.shape[1:]), dtype=np.float64)
    counts = np.zeros(len(unique), dtype=np.int64)
    positions = []
    for rows, _, outputs in parts:  # a model predicts each of its rows once: plain indexed adds
        at = np.searchsorted(unique, rows)
        sums[at] += outputs
        counts[at] += 1
        positions.append(at)
    labels = None
    if parts[0][1] is not None:  # concatenated first, so string labels keep the widest dtype
        stacked = np.concatenate([part[1] for part in parts])
        labels = np.empty((len(unique), *stacked.shape[1:]), dtype=stacked.dtype)
        labels[np.concatenate(positions)] = stacked
    return Combined(unique, labels, sums / counts.reshape(-1, *([1] * (sums.ndim - 1))))


@attrs.frozen
class Candidate:
    """A combination the ensemble may select: its index, its models and its rank score on the leaderboard."""

    combo_index: int
    predictor_ids: list[int]
    runs: list[tuple[int | None, int]]  # (fold_index, repeat_index) per model, aligned with predictor_ids
    score: float


def combined_split(candidates: list[Candidate], split: str, classes: list[Any],
                   only: Callable[[int | None, int], bool] | None = None) -> tuple[list[Combined], dict[str, Any]]:
    """Each candidate's models averaged per row on ``split`` (only the runs ``only(fold, repeat)`` accepts), and
    what the stored arrays share (``classes``, the stored probability shape); rows must coincide across
    candidates, or the candidates come from different splitsets."""
    ids = [pid for candidate in candidates for pid in candidate.predictor_ids]
    stored = queries.split_predictions(ids, split)
    combined, shared = [], {"probabilities": None}
    for candidate in candidates:
        parts = []
        for predictor_id, (fold, repeat) in zip(candidate.predictor_ids, candidate.runs, strict=True):
            if only is not None and not only(fold, repeat):
                continue
            if predictor_id not in stored:
                raise errors.ValidationError(
                    "split", f"predictor {predictor_id} (combination {candidate.combo_index}) was not evaluated on "
                    f"{split!r}; choose a split every model was evaluated on")
            values = split_truth.predictor_arrays(predictor_id, split, stored[predictor_id][0])  # rows, labels added
            shared["probabilities"] = values.get("probabilities", shared["probabilities"])
            parts.append((np.asarray(values["row_indices"]), values.get("labels"),
                          _outputs(values, classes, predictor_id)))
        combined.append(combine(parts))
    for candidate, one in zip(candidates[1:], combined[1:], strict=True):
        if not np.array_equal(one.rows, combined[0].rows):
            raise errors.ValidationError(
                "candidates", f"combination {candidate.combo_index} predicted other {split!r} rows than combination "
                f"{candidates[0].combo_index}: ensemble members must come from one splitset")
    return combined, shared


# --------------------------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------------------------


def _fast_scores(metric: str, truth: np.ndarray, trial: np.ndarray, classes: list[Any]) -> np.ndarray | None:
    """``metric`` of K trial ensembles at once (``trial``: ``(K, n, ...)``) for the metrics that vectorise
    (scikit-learn's definitions, checked against it in the tests); ``None`` for any other metric."""
    if classes:
        if metric == "accuracy":
            return (trial.argmax(axis=2) == truth[None, :]).mean(axis=1)
        if metric == "log_loss":  # as assay.metric_values: clipped to [1e-7, 1] and renormalised
            clipped = np.clip(trial, 1e-7, 1.0)
            clipped = clipped / clipped.sum(axis=2, keepdims=True)
            true_p = np.take_along_axis(clipped, truth[None, :, None].repeat(len(trial), axis=0), axis=2)[..., 0]
            return -np.log(true_p).mean(axis=1)
        return None
    flat_truth = truth.reshape(len(truth), -1)
    flat = trial.reshape(len(trial), len(truth), -1)
    if flat.shape[2] != flat_truth.shape[1]:
        return None
    residual = flat - flat_truth[None]
    if metric == "mse":
        return (residual ** 2).reshape(len(trial), -1).mean(axis=1)
    if metric == "rmse":
        return np.sqrt((residual ** 2).reshape(len(trial), -1).mean(axis=1))
    if metric == "mae":
        return np.abs(residual).reshape(len(trial), -1).mean(axis=1)
    if metric == "r2" and flat_truth.shape[1] == 1:
        total = ((flat_truth[:, 0] - flat_truth[:, 0].mean()) ** 2).sum()
        if total == 0:
            return None
        return 1.0 - (residual[..., 0] ** 2).sum(axis=1) / total
    return None


def metrics_of(analysis_type: str, truth: np.ndarray, values: np.ndarray, classes: list[Any],
               like: np.ndarray | None) -> dict[str, float]:
    """Every metric of the analysis type for one ensemble output, as the runner computes a model's."""
    if classes:
        return dict(plugins.metrics(analysis_type, truth, values.argmax(axis=1), stored_probabilities(values, like),
                                    classes))
    return dict(plugins.metrics(analysis_type, truth, values.reshape(len(truth), *np.shape(truth)[1:]), None, []))


def scores(metric: str, analysis_type: str, truth: np.ndarray, trial: np.ndarray, classes: list[Any],
           like: np.ndarray | None, worst: float) -> np.ndarray:
    """``metric`` of each trial ensemble (``(K, n, ...)``); ``worst`` where it is undefined."""
    fast = _fast_scores(metric, truth, trial, classes)
    if fast is None:
        fast = np.array([metrics_of(analysis_type, truth, one, classes, like).get(metric, math.nan) for one in trial])
    return np.where(np.isfinite(fast), fast, worst)


# --------------------------------------------------------------------------------------------------------------
# Selection
# --------------------------------------------------------------------------------------------------------------


def _best(values: np.ndarray, higher_is_better: bool) -> int:
    """The index of the best value; ties go to the first (the better-ranked candidate, the smaller ensemble)."""
    return int(np.argmax(values) if higher_is_better else np.argmin(values))


def caruana(score: Callable[[np.ndarray], np.ndarray], outputs: np.ndarray, size: int,
            higher_is_better: bool) -> Selection:
    """Greedy ensemble selection with replacement over ``outputs`` ``(K, n, ...)``; ``score`` scores a stack of
    trial averages. Keeps the best of the ``size`` iterations."""
    total = np.zeros(outputs.shape[1:], dtype=np.float64)
    trial = np.empty(outputs.shape, dtype=np.float64)  # reused: one allocation, not one per iteration
    picks, curve = [], []
    for iteration in range(1, size + 1):
        np.add(total[None], outputs, out=trial)
        trial /= iteration
        values = score(trial)
        pick = _best(values, higher_is_better)
        picks.append(pick)
        curve.append(float(values[pick]))
        total += outputs[pick]
    best = _best(np.asarray(curve), higher_is_better) + 1
    weights = np.bincount(np.asarray(picks[:best]), minlength=len(outputs)) / best
    return Selection(weights, np.asarray(picks), curve, best)


def mean_of_top(score: Callable[[np.ndarray], np.ndarray], outputs: np.ndarray, size: int,
                higher_is_better: bool) -> Selection:
    """The top k candidates averaged equally, k <= ``size`` the count whose average scores best."""
    count = min(size, len(outputs))
    averages = np.cumsum(outputs[:count], axis=0) / np.arange(1, count + 1).reshape(-1, *([1] * (outputs.ndim - 1)))
    curve = [float(value) for value in score(averages)]
    best = _best(np.asarray(curve), higher_is_better) + 1
    weights = np.zeros(len(outputs))
    weights[:best] = 1.0 / best
    return Selection(weights, np.arange(count), curve, best)


# --------------------------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------------------------


def _queue_context(queue_id: int) -> tuple[QueueRow, SplitsetRow]:
    queue = data_queries.row(QueueRow, queue_id, "Queue")
    return queue, data_queries.row(SplitsetRow, queue.splitset_id, "Splitset")


def candidates_of(queue_id: int, count: int) -> tuple[list[Candidate], Any]:
    """The best ``count`` complete combinations by the queue's objective (the leaderboard's ranking), and the
    leaderboard. A combination with a pruned or failed run, or without a trained model, never counts."""
    board = leaderboard.leaderboard(queue_id)
    runs = queries.queue_runs(queue_id)
    by_combo: dict[int, list[tuple[Any, ...]]] = {}
    for run in runs:
        by_combo.setdefault(run[2], []).append(run)
    candidates = []
    for _, entry in board.iterrows():
        if entry["pruned"] or len(candidates) == count:
            continue
        combo_runs = by_combo.get(int(entry["combo_index"]), [])
        if not combo_runs or any(status != "succeeded" or pid is None for _, status, _, _, _, pid in combo_runs):
            continue
        metric_mean = entry.get(f"{board.attrs['metric']}_mean")
        candidates.append(Candidate(int(entry["combo_index"]), [run[5] for run in combo_runs],
                                    [(run[3], run[4]) for run in combo_runs], float(metric_mean)))
    return candidates, board


def _metric_choice(metric: str | None, board: Any, analysis_type: str) -> tuple[str, bool]:
    """The selection metric and its direction: ``metric``, else the queue's objective metric, else (for an
    objective on the training loss, which an average of models does not have) the analysis type's main one."""
    analysis = plugins.analysis_type(analysis_type)
    if metric is None:
        chosen = board.attrs["metric"]
        if chosen in UNCOMPUTABLE:
            return analysis.main_metric, analysis.higher_is_better
        return chosen, bool(board.attrs["higher_is_better"])
    if not isinstance(metric, str):
        raise errors.ValidationError("metric", f"must be a metric name (str), got {metric!r}")
    if metric in UNCOMPUTABLE:
        raise errors.ValidationError(
            "metric", f"{metric!r} is the models' training loss, which an ensemble (an average of models) has no "
            f"function for; choose a metric of {analysis_type!r}, e.g. {analysis.main_metric!r}")
    return metric, leaderboard.higher_is_better(metric, analysis_type)


def _models_of(candidate: Candidate, weight: float) -> list[tuple[int, float]]:
    share = weight / len(candidate.predictor_ids)
    return [(predictor_id, share) for predictor_id in candidate.predictor_ids]


def build(queue_id: int, size: int = 50, candidates: int = 20, metric: str | None = None, split: str | None = None,
          method: str = "caruana") -> int:
    """Select and store an ensemble of a finished queue's models; returns its id (see the module documentation).

    Raises:
        assay.errors.ValidationError: a bad ``size`` (< 1), ``candidates`` (< 2), ``method``, ``metric`` (one the
            analysis type lacks, or the training loss) or ``split``; a queue still running, a forecasting queue, or
            fewer than 2 complete combinations to choose from. Nothing is stored then.
    """
    size, count, method = check_arguments(size, candidates, method)
    queue, splitset = _queue_context(queue_id)
    _check_finished(queue_id)
    analysis_type = result_queries.queue_analysis_type_and_grid(queue_id)[0]
    if splitset.window is not None:
        raise errors.ValidationError(
            "queue", f"queue {queue_id} forecasts windows (its splitset has a feature_window); ensembles of "
            "forecasting models are not supported: compare their forecasts with queue.leaderboard()")
    chosen, board = candidates_of(queue_id, count)
    if len(chosen) < 2:
        raise errors.ValidationError(
            "queue", f"queue {queue_id} has {len(chosen)} combination(s) whose every run succeeded (pruned and "
            "failed runs never count); an ensemble needs at least 2: run more combinations")
    out_of_fold = chosen[0].runs[0][0] is not None
    split = board.attrs["split"] if split is None else split
    evaluated = result_queries.evaluated_splits(queue_id)
    if split not in evaluated:
        raise errors.ValidationError("split", f"{split!r} is not a split this queue's models were evaluated on; use "
                                     f"one of: {', '.join(ordered_splits(evaluated))}")
    if out_of_fold and split == "train":
        raise errors.ValidationError(
            "split", "with folds the train split's predictions are in-sample (each row was seen by the fold models "
            "that predict it); select on 'validation' (out-of-fold) instead")
    metric, higher = _metric_choice(metric, board, analysis_type)
    classes = list(data_queries.label_classes(queue.splitset_id)) \
        if plugins.analysis_type(analysis_type).is_classification else []
    combined, shared = combined_split(chosen, split, classes)
    truth = predicting.true_coding(combined[0].labels, classes)
    like = shared["probabilities"]
    available = metrics_of(analysis_type, truth, combined[0].values, classes, like)
    if metric not in available:
        raise errors.ValidationError(
            "metric", f"{metric!r} is not a metric of {analysis_type!r} on the {split!r} split; use one of: "
            f"{', '.join(sorted(available))}")
    worst = -math.inf if higher else math.inf
    outputs = np.stack([one.values for one in combined])

    def score(trial: np.ndarray) -> np.ndarray:
        return scores(metric, analysis_type, truth, trial, classes, like, worst)

    selection = (caruana if method == "caruana" else mean_of_top)(score, outputs, size, higher)
    members = [dict(predictor_id=pid, combo_index=candidate.combo_index, weight=weight)
               for candidate, combo_weight in zip(chosen, selection.weights, strict=True) if combo_weight > 0
               for pid, weight in _models_of(candidate, float(combo_weight))]
    kept = [candidate for candidate, weight in zip(chosen, selection.weights, strict=True) if weight > 0]
    weights = [float(weight) for weight in selection.weights if weight > 0]
    predictions = [split_prediction(kept, weights, name, analysis_type, classes, out_of_fold, split)
                   for name in ordered_splits(evaluated)]
    fields = dict(
        queue_id=queue_id, method=method, size=size, candidate_count=len(chosen), metric=metric, split=split,
        higher_is_better=higher, best_iteration=selection.best_iteration, curve=selection.curve,
        out_of_fold=out_of_fold,
        candidates=[{"combo_index": candidate.combo_index, "weight": float(weight),
                     "picks": int(np.sum(selection.picks[:selection.best_iteration] == index)),
                     "score": score_value, "models": len(candidate.predictor_ids)}
                    for index, (candidate, weight, score_value) in enumerate(zip(
                        chosen, selection.weights, [c.score for c in chosen], strict=True))],
    )
    return queries.store_ensemble(fields, members, predictions).id


def split_prediction(kept: list[Candidate], weights: list[float], split: str, analysis_type: str,
                     classes: list[Any], out_of_fold: bool, selection_split: str) -> dict[str, Any]:
    """The ensemble's stored prediction on one split: arrays, metrics and what the numbers mean."""
    combined, shared = combined_split(kept, split, classes)
    values = sum(weight * one.values for weight, one in zip(weights, combined, strict=True))
    like = shared["probabilities"]
    labels = combined[0].labels
    truth = None if labels is None else predicting.true_coding(labels, classes)
    metrics = {} if truth is None else metrics_of(analysis_type, truth, values, classes, like)
    blob = arrays.dumps(row_indices=combined[0].rows, **decoded(values, classes, like), labels=labels,
                        classes=np.asarray(classes) if classes else None)
    note = IN_SAMPLE_NOTE if out_of_fold and split == "train" else \
        SELECTION_NOTE if split == selection_split else None
    return dict(split=split, row_count=len(combined[0].rows), arrays=blob, metrics=metrics, note=note)


def decoded(values: np.ndarray, classes: list[Any], like: np.ndarray | None) -> dict[str, np.ndarray | None]:
    """``predictions`` (original label values) and ``probabilities`` (the members' stored form) of averaged
    outputs."""
    if classes:
        return {"predictions": np.asarray(classes)[values.argmax(axis=1)],
                "probabilities": stored_probabilities(values, like)}
    return {"predictions": values, "probabilities": None}


# --------------------------------------------------------------------------------------------------------------
# For comparisons: per-run scores
# --------------------------------------------------------------------------------------------------------------


def run_scores(ensemble_id: int, split: str | None = None, metric: str | None = None) -> Any:
    """The ensemble's score per (fold, repeat), comparable with a combination's runs (``queue.compare``): for each
    fold and repeat, the members' models of that fold and repeat weighted as in the ensemble, scored on that
    fold's rows of ``split`` (default: the selection split). Without folds, one row per repeat.

    Returns:
        A DataFrame with ``fold_index`` (nullable), ``repeat_index`` and ``metric`` columns, ``attrs`` naming the
        metric and split.
    """
    import pandas as pd

    from assay.db.models import EnsembleRow

    ensemble = data_queries.row(EnsembleRow, ensemble_id, "Ensemble")
    split = ensemble.split if split is None else split
    metric = ensemble.metric if metric is None else metric
    analysis_type = result_queries.queue_analysis_type_and_grid(ensemble.queue_id)[0]
    queue = data_queries.row(QueueRow, ensemble.queue_id, "Queue")
    classes = list(data_queries.label_classes(queue.splitset_id)) \
        if plugins.analysis_type(analysis_type).is_classification else []
    kept, weights = members_by_combination(ensemble_id, ensemble.queue_id)
    runs = sorted({run for candidate in kept for run in candidate.runs}, key=lambda r: (r[0] is not None, r[0] or 0,
                                                                                      r[1]))
    records = []
    for fold, repeat in runs:
        combined, shared = combined_split(kept, split, classes, only=lambda f, r, fold=fold, repeat=repeat:
                                          f == fold and r == repeat)
        values = sum(w * one.values for w, one in zip(weights, combined, strict=True))
        truth = predicting.true_coding(combined[0].labels, classes)
        value = metrics_of(analysis_type, truth, values, classes, shared["probabilities"]).get(metric, math.nan)
        records.append({"fold_index": fold, "repeat_index": repeat, metric: value})
    frame = pd.DataFrame(records, columns=["fold_index", "repeat_index", metric])
    frame["fold_index"] = frame["fold_index"].astype("Int64")
    frame.attrs.update(ensemble_id=ensemble_id, split=split, metric=metric)
    return frame


def members_by_combination(ensemble_id: int, queue_id: int) -> tuple[list[Candidate], list[float]]:
    """An ensemble's member combinations (their models and runs) and each combination's weight."""
    members = queries.member_rows(ensemble_id)
    runs = {run[5]: run for run in queries.queue_runs(queue_id) if run[5] is not None}
    grouped: dict[int, list[Any]] = {}
    for member in members:
        grouped.setdefault(member.combo_index, []).append(member)
    kept = [Candidate(combo, [m.predictor_id for m in rows], [(runs[m.predictor_id][3], runs[m.predictor_id][4])
                                                               for m in rows], math.nan)
            for combo, rows in grouped.items()]
    return kept, [float(sum(m.weight for m in rows)) for rows in grouped.values()]
