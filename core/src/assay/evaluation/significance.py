"""The statistics of paired comparisons, and the leaderboard's ``p_value_vs_best`` in bulk.

- **Folds** (``fold_count >= 2``, any repeats): runs paired by ``(fold, repeat)``. :func:`corrected_ttest` gives the
  Nadeau-Bengio corrected resampled t-test (the variance of the differences times ``1/n + 1/(k-1)``, ``n - 1``
  degrees of freedom: p-value and 95% interval) and the Bayesian correlated t-test (Benavoli et al. 2017,
  ``rho = 1/k``), whose posterior is the Student t with the same location, scale and degrees of freedom (the three
  probabilities of a region of practical equivalence, the rope).
- **One split, no folds**: a paired, seeded bootstrap over the split's rows (:func:`resample_counts`,
  :func:`bootstrap_result`): the percentile interval, the null-centred p-value
  ``(1 + #{|d* - d| >= |d|}) / (B + 1)``, and the shares of resampled differences below, inside and above the rope.

The functions take per-run scores or per-row scores (:class:`RowScores`), never a kind of predictor, so anything
that has such scores (an ensemble, say) is compared the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import pandas as pd

from assay import errors, plugins
from assay.db.queries import comparison as queries
from assay.experiment import truth

#: metrics bounded to a fixed range (a rope of 0.01 suits them); any other is a loss or error (1% of the best's mean)
BOUNDED_METRICS = {"accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "r2",
                   "average_precision", "explained_variance", "matthews_corrcoef", "cohen_kappa"}
#: the rope of a bounded score
BOUNDED_ROPE = 0.01
#: the rope of a loss or error, as a share of the best combination's mean
RELATIVE_ROPE = 0.01
#: bootstrap resamples of a one-split comparison
RESAMPLES = 2000
#: significance level of ``tied_with_best``
ALPHA = 0.05


# -- the statistics ------------------------------------------------------------------------------------------


def _student_t() -> Any:
    """scipy's Student t, imported on first use: ``scipy.stats`` holds about 66 MB, which a process that only
    lists leaderboards (the dashboard at start, a bootstrap on one split) need not pay."""
    from scipy import stats

    return stats.t


def corrected_ttest(differences: np.ndarray, fold_count: int, rope: float,
                    higher_is_better: bool = True) -> dict[str, float]:
    """The Nadeau-Bengio corrected resampled t-test and the Bayesian correlated t-test of paired differences.

    Args:
        differences: ``a - b`` per (fold, repeat) pair.
        fold_count: ``k``, the folds of the cross-validation (``rho = 1/k``).
        rope: the half-width of the region of practical equivalence (``>= 0``).
        higher_is_better: the metric's direction, for ``prob_better``.

    Returns:
        ``mean_difference, ci_low, ci_high, p_value, prob_better, prob_equivalent, prob_worse, df, scale``.
    """
    d = np.asarray(differences, dtype=float)
    n = len(d)
    mean = float(d.mean())
    variance = float(d.var(ddof=1)) * (1 / n + 1 / (fold_count - 1))
    return _t_result(mean, variance, n - 1, rope, higher_is_better)


def _t_result(mean: float, variance: float, df: int, rope: float, higher_is_better: bool) -> dict[str, float]:
    scale = math.sqrt(max(variance, 0.0))
    if scale == 0.0:  # every pair differs by the same amount: no spread, the posterior is a point
        p_value = 1.0 if mean == 0 else 0.0
        low = high = mean
        below, above = float(mean < -rope), float(mean > rope)
    else:
        t, student = mean / scale, _student_t()
        p_value = float(2 * student.sf(abs(t), df))
        half = float(student.ppf(0.975, df)) * scale
        low, high = mean - half, mean + half
        below = float(student.cdf(-rope, df, loc=mean, scale=scale))
        above = float(student.sf(rope, df, loc=mean, scale=scale))
    better, worse = (above, below) if higher_is_better else (below, above)
    return {"mean_difference": mean, "ci_low": low, "ci_high": high, "p_value": p_value, "prob_better": better,
            "prob_equivalent": max(0.0, 1.0 - above - below), "prob_worse": worse, "df": df, "scale": scale}


def resample_counts(row_count: int, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """``(resamples, row_count)`` counts of each row in each bootstrap resample, seeded."""
    picks = np.random.default_rng(seed).integers(0, row_count, size=(resamples, row_count))
    offsets = (np.arange(resamples) * row_count)[:, None]
    return np.bincount((picks + offsets).ravel(), minlength=resamples * row_count).reshape(resamples, row_count)


def bootstrap_result(observed: float, resampled: np.ndarray, rope: float,
                     higher_is_better: bool = True) -> dict[str, float]:
    """Interval, p-value and probabilities of a paired bootstrap of ``a - b`` (``observed`` on all rows,
    ``resampled`` on each resample)."""
    resampled = np.asarray(resampled, dtype=float)
    low, high = np.percentile(resampled, [2.5, 97.5])
    p_value = float(bootstrap_p_values(np.asarray([observed]), resampled[:, None])[0])
    below, above = float((resampled < -rope).mean()), float((resampled > rope).mean())
    better, worse = (above, below) if higher_is_better else (below, above)
    return {"mean_difference": float(observed), "ci_low": float(low), "ci_high": float(high), "p_value": p_value,
            "prob_better": better, "prob_equivalent": max(0.0, 1.0 - above - below), "prob_worse": worse}


def bootstrap_p_values(observed: np.ndarray, resampled: np.ndarray) -> np.ndarray:
    """Null-centred bootstrap p-values, several differences at once (``observed``: ``(c,)``; ``resampled``:
    ``(resamples, c)``; non-finite resamples left out): how often a resample strays from the observed difference
    as far as that lies from 0, ``(1 + #{|d* - d| >= |d|}) / (B + 1)``; 1 where the observed difference is 0."""
    observed, resampled = np.asarray(observed, dtype=float), np.asarray(resampled, dtype=float)
    finite = np.isfinite(resampled)
    tolerance = 1e-12 * np.maximum(1.0, np.abs(observed))
    extreme = (np.abs(resampled - observed) >= np.abs(observed) - tolerance) & finite
    p = (1 + extreme.sum(axis=0)) / (finite.sum(axis=0) + 1)
    return np.where(observed == 0, 1.0, p)


def default_rope(metric: str, best_mean: float | None) -> float:
    """0.01 for a bounded score, 1% of the best combination's mean (absolute) for a loss or an error."""
    if metric.lower() in BOUNDED_METRICS:
        return BOUNDED_ROPE
    if best_mean is None or not np.isfinite(best_mean):
        return 0.0
    return RELATIVE_ROPE * abs(float(best_mean))


def check_rope(rope: Any) -> float | None:
    """``rope`` as a float, or ``None``; refuses a negative or non-numeric rope."""
    if rope is None:
        return None
    if isinstance(rope, bool) or not isinstance(rope, (int, float, np.number)) or not np.isfinite(rope) or rope < 0:
        raise errors.ValidationError("rope", f"must be a number >= 0 in the metric's units, got {rope!r}")
    return float(rope)


# -- per-row scores of stored predictions (one split) ---------------------------------------------------------


@attrs.frozen
class RowScores:
    """What a metric needs from each row of one split, averaged over a combination's runs.

    ``terms`` is ``(rows, 1)``, or ``(rows, c)`` for ``c`` predictors at once; :meth:`values` turns resample
    counts into the metric, ``(resamples, c)``. A metric that is a mean of per-row values
    (accuracy, mse, mae, log loss) needs nothing else; R² also needs the labels.
    """

    kind: str  # "mean" or "r2"
    terms: np.ndarray
    labels: np.ndarray | None = None

    def values(self, counts: np.ndarray) -> np.ndarray:
        """The metric on each resample given by ``counts`` (``(resamples, rows)``; one row of ones: every row),
        ``(resamples, c)``: one column per column of ``terms``."""
        total = counts.sum(axis=1)[:, None]
        if self.kind == "mean":
            return counts @ self.terms / total
        y = self.labels
        spread = counts @ (y * y) - (counts @ y) ** 2 / total[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 - (counts @ self.terms) / spread[:, None]


def _correct(run: dict[str, np.ndarray]) -> np.ndarray:
    return (np.asarray(run["predictions"]).astype(str).ravel() == np.asarray(run["labels"]).astype(str).ravel()
            ).astype(float)


def _squared_error(run: dict[str, np.ndarray]) -> np.ndarray:
    return (_floats(run["predictions"]) - _floats(run["labels"])) ** 2


def _absolute_error(run: dict[str, np.ndarray]) -> np.ndarray:
    return np.abs(_floats(run["predictions"]) - _floats(run["labels"]))


def _log_loss(run: dict[str, np.ndarray]) -> np.ndarray:
    return -np.log(np.clip(true_class_probability(run), 1e-15, 1.0))


#: metrics that are a mean of per-row values: name -> the per-row value of one run's stored arrays
ROW_METRICS: dict[str, Callable[[dict[str, np.ndarray]], np.ndarray]] = {
    "accuracy": _correct, "mse": _squared_error, "mae": _absolute_error, "log_loss": _log_loss,
}


def _floats(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.ndim > 1 and values.reshape(len(values), -1).shape[1] != 1:
        raise errors.ValidationError(
            "metric", "a forecasting model's predictions have several values per row; compare it on folds, or "
            "on a metric of one value per row")
    return values.reshape(-1)


def true_class_probability(run: dict[str, np.ndarray]) -> np.ndarray:
    """Each row's probability of its true class (binary: the stored positive-class column completed)."""
    probabilities = run.get("probabilities")
    if probabilities is None:
        raise errors.ValidationError("metric", "these predictions hold no probabilities")
    classes = [str(value) for value in np.asarray(run["classes"]).tolist()]
    probabilities = np.asarray(probabilities, dtype=float)
    if probabilities.ndim == 1 or probabilities.shape[1] == 1:
        positive = probabilities.reshape(-1)
        probabilities = np.column_stack([1 - positive, positive])
    index = pd.Index(classes).get_indexer(np.asarray(run["labels"]).astype(str).ravel())
    if (index < 0).any():
        raise errors.ValidationError("split", "a stored label is not one of the stored classes")
    return probabilities[np.arange(len(index)), index]


def has_row_scores(metric: str) -> bool:
    """Whether :func:`row_scores` resamples ``metric`` in bulk (a mean of per-row values, or R²)."""
    return metric in ROW_METRICS or metric == "r2"


def row_scores(runs: list[dict[str, np.ndarray]], metric: str) -> RowScores:
    """The per-row form of ``metric`` over one combination's runs on one split, rows aligned by dataset row."""
    if metric == "r2":
        squared = np.mean([_squared_error(run) for run in aligned(runs)], axis=0)
        return RowScores("r2", squared[:, None], _floats(aligned(runs)[0]["labels"]))
    function = ROW_METRICS[metric]
    return RowScores("mean", np.mean([function(run) for run in aligned(runs)], axis=0)[:, None])


def aligned(runs: list[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    """The runs with their rows in the first run's order (they cover the same rows without folds)."""
    first = np.asarray(runs[0]["row_indices"])
    aligned = []
    for run in runs:
        rows = np.asarray(run["row_indices"])
        if len(rows) != len(first) or not np.array_equal(rows, first):
            position = pd.Index(rows).get_indexer(first)
            if len(rows) != len(first) or (position < 0).any():
                raise errors.ValidationError("split", "the two combinations' runs did not predict the same rows")
            run = {name: (value[position] if name in ("row_indices", "predictions", "probabilities", "labels")
                          and value is not None else value) for name, value in run.items()}
        aligned.append(run)
    return aligned


def generic_values(runs: list[dict[str, np.ndarray]], metric: str, analysis_type: str,
                    picks: np.ndarray) -> np.ndarray:
    """``metric`` recomputed on each resample (``picks``: ``(resamples, rows)`` row positions), averaged over the
    runs: for the metrics with no per-row form (F1, ROC AUC, ...)."""
    from assay.experiment import predicting

    values = np.zeros(len(picks))
    for run in aligned(runs):
        classes = np.asarray(run["classes"]).tolist() if run.get("classes") is not None else []
        truth = predicting.true_coding(run["labels"], classes)
        predicted = predicting.class_indices(run["predictions"], classes) if classes else _floats(run["predictions"])
        probabilities = run.get("probabilities")
        for i, pick in enumerate(picks):
            scores = plugins.metrics(analysis_type, truth[pick], predicted[pick],
                                     None if probabilities is None else probabilities[pick], classes)
            values[i] += scores.get(metric, np.nan)
    return values / len(runs)


# -- stored predictions -------------------------------------------------------------------------------------------


def fold_scores(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The metric per combination (rows) and (fold, repeat) pair (columns) of a metrics table's split rows."""
    return runs.pivot_table(index="combo_index", columns=["fold_index", "repeat_index"], values=metric,
                            aggfunc="mean", dropna=False)


def combination_runs(queue_id: int, split: str, combos: list[int]) -> dict[int, list[dict[str, np.ndarray]]]:
    """The stored prediction arrays of each combination's runs on ``split``."""
    found: dict[int, list[dict[str, np.ndarray]]] = {combo: [] for combo in combos}
    runs = queries.split_prediction_arrays(queue_id, split, combos)
    completed = truth.queue_runs(queue_id, split, [(fold_index, blob) for _, fold_index, _, blob in runs])
    for (combo, _, _, _), stored in zip(runs, completed, strict=True):
        found[int(combo)].append(stored)
    return found


def bootstrap_rows(runs_a: list[dict[str, np.ndarray]], runs_b: list[dict[str, np.ndarray]], metric: str,
                   analysis_type: str, resamples: int = RESAMPLES, seed: int = 0) -> tuple[float, float, np.ndarray]:
    """``(metric of a, metric of b, metric of a - metric of b on each resample)`` over the rows of one split, from
    each side's runs (stored prediction arrays: ``row_indices``, ``predictions``, ``labels``, ``probabilities``,
    ``classes``; several runs are averaged per resample). Rows are resampled with :func:`resample_counts`'s seed,
    the same for both sides: the pairing."""
    if metric == "loss":
        raise errors.ValidationError(
            "metric", "the 'loss' metric comes from the model itself and cannot be recomputed on resampled rows; "
            "compare on another metric (e.g. metric='log_loss' or metric='mse'), or use folds")
    runs_b = reordered(runs_b, runs_a[0])
    row_count = len(runs_a[0]["row_indices"])
    if row_count < 2:
        raise errors.ValidationError("split", f"the split has {row_count} row; a bootstrap needs at least 2")
    everything = np.ones((1, row_count))
    if has_row_scores(metric):
        counts = resample_counts(row_count, resamples, seed)
        scores_a, scores_b = row_scores(runs_a, metric), row_scores(runs_b, metric)
        value_a, value_b = scores_a.values(everything)[0, 0], scores_b.values(everything)[0, 0]
        resampled = scores_a.values(counts)[:, 0] - scores_b.values(counts)[:, 0]
    else:  # the same resamples as resample_counts draws, as row positions
        picks = np.random.default_rng(seed).integers(0, row_count, size=(resamples, row_count))
        all_rows = np.arange(row_count)[None, :]
        value_a = generic_values(runs_a, metric, analysis_type, all_rows)[0]
        value_b = generic_values(runs_b, metric, analysis_type, all_rows)[0]
        resampled = (generic_values(runs_a, metric, analysis_type, picks)
                     - generic_values(runs_b, metric, analysis_type, picks))
    return float(value_a), float(value_b), resampled[np.isfinite(resampled)]


def reordered(runs: list[dict[str, np.ndarray]], like: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    """``runs`` with their rows in ``like``'s order."""
    return aligned([like, *runs])[1:]


# -- the leaderboard's columns, in bulk ---------------------------------------------------------------------------

#: with one split, the leaderboard resamples the stored predictions of the best-ranked combinations whose runs
#: add up to at most this many (the best and the next always): reading them is most of its cost
BULK_RUNS = 200


def reads_predictions(board: pd.DataFrame, metric: str, fold_runs: pd.DataFrame | None) -> bool:
    """Whether :func:`versus_best` would read stored predictions for this ranked leaderboard: one split (no
    ``fold_runs``), two ranked combinations or more, and a metric with a per-row form."""
    return fold_runs is None and int(board["rank"].notna().sum()) >= 2 and _bootstrapped(metric)


def _bootstrapped(metric: str) -> bool:
    """Whether one split's p-values of ``metric`` are bootstrapped from stored predictions: a metric with a
    per-row form (the mean loss a run stored has none)."""
    return metric != "loss" and has_row_scores(metric)


def versus_best(queue_id: int, board: pd.DataFrame, split: str, metric: str, higher: bool,
                fold_runs: pd.DataFrame | None, rope: float | None = None) -> tuple[pd.Series, str | None]:
    """``p_value_vs_best`` for each row of a ranked leaderboard (NA on rank 1 and where not computed), and a note
    saying what was not computed (or ``None``).

    With folds: the corrected resampled t-test against the best, for every combination at once from the metrics.
    With one split: the paired bootstrap of ``queue.compare`` (same seed and resamples) on the stored predictions
    of the best-ranked combinations within :data:`BULK_RUNS` runs, for metrics with a per-row form (accuracy, mse,
    mae, log loss, R²).
    """
    p_values = pd.Series(np.nan, index=board.index, dtype=float)
    ranked = board[board["rank"].notna()]
    if len(ranked) < 2:
        return p_values, None
    best = int(ranked.iloc[0]["combo_index"])
    if fold_runs is not None:
        table = fold_scores(fold_runs, metric)
        fold_count = int(fold_runs["fold_index"].nunique())
        if fold_count < 2 or best not in table.index:
            return p_values, None
        matrix = table.to_numpy(float)
        differences = matrix - matrix[table.index.get_loc(best)]
        n = np.isfinite(differences).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.nanmean(np.where(n[:, None] > 0, differences, 0.0), axis=1)
            variance = np.nanvar(differences, axis=1, ddof=1) * (1 / n + 1 / (fold_count - 1))
            scale = np.sqrt(variance)
            t = np.abs(mean) / scale
            p = 2 * _student_t().sf(t, n - 1)
        p = np.where(scale == 0, np.where(mean == 0, 1.0, 0.0), p)
        p = np.where(n >= 2, p, np.nan)
        by_combo = pd.Series(p, index=table.index)
        p_values[:] = board["combo_index"].map(by_combo).to_numpy(float)
        p_values[board["combo_index"] == best] = np.nan
        return p_values, None
    if not _bootstrapped(metric):
        return p_values, (f"p_value_vs_best is not computed for {metric!r} with one split: compare combinations "
                          "with queue.compare(a, b)")
    within = (ranked["run_count"].cumsum() <= BULK_RUNS).to_numpy(copy=True)
    within[:2] = True
    chosen = [int(index) for index in ranked["combo_index"][within]]
    found = combination_runs(queue_id, split, chosen)
    reference = found[best][0]
    row_count = len(reference["row_indices"])
    if row_count < 2:
        return p_values, None
    counts = resample_counts(row_count)
    best_scores = row_scores(found[best], metric)
    combos, terms = [], []
    for combo in chosen[1:]:
        try:
            scores = row_scores(reordered(found[combo], reference), metric)
        except errors.ValidationError:  # runs over other rows: left NA
            continue
        combos.append(combo)
        terms.append(scores.terms[:, 0])
    if not combos:
        return p_values, None
    # every combination at once: one product of the resample counts with a column of per-row terms each
    together = RowScores(best_scores.kind, np.column_stack(terms), best_scores.labels)
    everything = np.ones((1, row_count))
    observed = together.values(everything)[0] - best_scores.values(everything)[0, 0]
    resampled = together.values(counts) - best_scores.values(counts)
    by_combo = dict(zip(combos, bootstrap_p_values(observed, resampled), strict=True))
    p_values[:] = board["combo_index"].map(by_combo).to_numpy(float)
    note = None
    if len(chosen) < len(ranked):
        note = (f"p_value_vs_best is computed for the first {len(chosen)} combinations (their {BULK_RUNS} runs' "
                "stored predictions); compare others with queue.compare(a, b)")
    return p_values, note
