"""Is one combination really better than another? ``queue.compare(a, b)`` as a :class:`Comparison`.

The statistics live in :mod:`assay.evaluation.significance`; this module reads a queue's runs, picks the method the
splitset allows (folds: corrected and Bayesian correlated t-tests; one split: the paired bootstrap over stored
predictions) and holds the result.

Either side may also be an ensemble of the queue (:class:`EnsembleSide`; ``queue.compare`` takes an
:class:`assay.Ensemble`): with folds its per-(fold, repeat) scores (:func:`assay.evaluation.ensemble.run_scores`)
are paired with the combination's runs, with one split its stored predictions enter the same bootstrap. On the split
the ensemble was selected on (and, with folds, the in-sample train split) its score is optimistic: the comparison is
made, and its ``notes`` and display say so.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pandas as pd

from assay import errors
from assay.db.queries import comparison as queries
from assay.evaluation import leaderboard as tables
from assay.evaluation import significance


@attrs.frozen(repr=False)
class Comparison:
    """Combination (or ensemble) ``a`` against combination (or ensemble) ``b`` on one metric and split (see
    :func:`compare`; :attr:`a_name` and :attr:`b_name` say which each side is).

    ``mean_difference``, ``ci_low`` and ``ci_high`` are ``a - b`` in the metric's units; ``prob_better`` is the
    probability that ``a`` is better than ``b`` by more than ``rope`` in the metric's own direction (larger
    accuracy, smaller loss), ``prob_worse`` the reverse and ``prob_equivalent`` that they differ by less than
    ``rope``.
    """

    a: int
    b: int
    metric: str
    split: str
    higher_is_better: bool
    method: str
    n_pairs: int
    mean_a: float
    mean_b: float
    mean_difference: float
    ci_low: float
    ci_high: float
    p_value: float
    prob_better: float
    prob_equivalent: float
    prob_worse: float
    rope: float
    #: the posterior of ``a - b``: ``{"kind": "t", "df", "loc", "scale"}`` or ``{"kind": "samples", "samples"}``
    posterior: dict[str, Any] = attrs.field(eq=False)
    #: what ``a`` is: ``"combination 3"`` or ``"ensemble 2"`` (then ``a`` is the ensemble's id)
    a_name: str = attrs.field(default=attrs.Factory(lambda self: f"combination {self.a}", takes_self=True))
    #: what ``b`` is, as :attr:`a_name`
    b_name: str = attrs.field(default=attrs.Factory(lambda self: f"combination {self.b}", takes_self=True))
    #: why a side's score is optimistic on this split (an ensemble compared on the split it was selected on, or
    #: on the in-sample train split with folds); empty when neither is
    notes: tuple[str, ...] = ()

    @property
    def optimistic(self) -> bool:
        """Whether a side's score on this split is optimistic (see :attr:`notes`)."""
        return bool(self.notes)

    @property
    def _names(self) -> tuple[str, str]:
        """Short names of the sides: the combination indexes alone, or both names when an ensemble takes part."""
        if self.a_name == f"combination {self.a}" and self.b_name == f"combination {self.b}":
            return str(self.a), str(self.b)
        return self.a_name, self.b_name

    def to_dict(self) -> dict[str, Any]:
        """Every field but the posterior, as plain Python values."""
        return {field.name: getattr(self, field.name) for field in attrs.fields(Comparison)
                if field.name != "posterior"}

    def __repr__(self) -> str:
        a, b = (self.a, self.b) if self._names == (str(self.a), str(self.b)) else (repr(self.a_name),
                                                                                    repr(self.b_name))
        optimistic = ", optimistic=True" if self.optimistic else ""
        return (f"Comparison(a={a}, b={b}, metric={self.metric!r}, split={self.split!r}, "
                f"method={self.method!r}, n_pairs={self.n_pairs}, mean_difference={self.mean_difference:.4g}, "
                f"ci=({self.ci_low:.4g}, {self.ci_high:.4g}), p_value={self.p_value:.4g}, "
                f"prob_better={self.prob_better:.3f}, prob_equivalent={self.prob_equivalent:.3f}, "
                f"prob_worse={self.prob_worse:.3f}, rope={self.rope:.4g}{optimistic})")

    @property
    def summary(self) -> str:
        """One sentence: which is better and how sure."""
        if self.prob_equivalent >= 0.95:
            verdict = "practically equivalent"
        elif self.p_value < significance.ALPHA:
            winner = self.a_name if self.prob_better > self.prob_worse else self.b_name
            verdict = f"{winner} is significantly better"
        else:
            verdict = "not significantly different"
        optimistic = f" (optimistic: {'; '.join(self.notes)})" if self.notes else ""
        return (f"{self.metric} on {self.split}: {self.mean_a:.4g} vs {self.mean_b:.4g}, difference "
                f"{self.mean_difference:+.4g} (95% CI {self.ci_low:+.4g} to {self.ci_high:+.4g}), p = "
                f"{self.p_value:.3g}: {verdict}{optimistic}")

    def plot(self):
        """The posterior of ``a - b`` with the rope shaded and the three probabilities; a matplotlib Figure."""
        from assay.evaluation import plots

        a, b = self._names
        return plots.plot_comparison(self.posterior, self.rope, self.metric, a, b,
                                     (self.prob_worse, self.prob_equivalent, self.prob_better)
                                     if self.higher_is_better else
                                     (self.prob_better, self.prob_equivalent, self.prob_worse))

    def _repr_html_(self) -> str:
        """Jupyter's display: the numbers and the posterior."""
        return comparison_html(self)


@attrs.frozen
class EnsembleSide:
    """A side of :func:`compare` that is a stored ensemble (``assay.Ensemble``), by its id."""

    id: int


Side = int | EnsembleSide


def compare(queue_id: int, a: Side, b: Side, metric: str | None = None, split: str | None = None,
            rope: float | None = None, *, resamples: int = significance.RESAMPLES, seed: int = 0) -> Comparison:
    """Combination (or ensemble) ``a`` against combination (or ensemble) ``b`` of a queue, paired.

    Args:
        queue_id: the queue.
        a, b: combination indexes, as the leaderboard's ``combo_index`` column lists them, or
            :class:`EnsembleSide` for an ensemble of this queue.
        metric, split: default: the queue's objective (the leaderboard's ranking metric and split); with an
            ensemble and an objective on the training ``loss`` (which an average of models has no function for),
            the analysis type's main metric.
        rope: half-width of the region of practical equivalence, in the metric's units. Default: the queue's
            rope when set, else 0.01 for a bounded score (accuracy, F1, AUC, R²) and 1% of the better
            combination's mean for a loss or an error.
        resamples, seed: the one-split bootstrap's resample count (at least 2,000) and seed.

    Raises:
        assay.errors.ValidationError: an unknown combination, split or metric; a combination with no run on the
            split; fewer than two (fold, repeat) pairs with folds; a negative rope; an ensemble of another queue,
            or one with no predictions on the split.
    """
    rope = significance.check_rope(rope)
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 2000:
        raise errors.ValidationError("resamples", f"must be an integer >= 2000, got {resamples!r}")
    for name, value in (("a", a), ("b", b)):
        if isinstance(value, EnsembleSide):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise errors.ValidationError(name, f"must be a combination index (the leaderboard's combo_index) or an "
                                         f"assay.Ensemble of the queue (assay.Ensemble.get(id) for an ensemble's "
                                         f"id), got {value!r}")
    if isinstance(a, EnsembleSide) or isinstance(b, EnsembleSide):
        return _compare_with_ensemble(queue_id, a, b, metric, split, rope, resamples, seed)
    board = tables.leaderboard(queue_id, split=split, metric=metric, significance=False)
    metric, split, higher = board.attrs["metric"], board.attrs["split"], board.attrs["higher_is_better"]
    _check_combinations(queue_id, board, {"a": a, "b": b}, split)
    means = board.set_index("combo_index")[f"{metric}_mean"]
    if rope is None:
        rope = queue_rope(queue_id)
    if rope is None:
        best = max(means[a], means[b]) if higher else min(means[a], means[b])
        rope = significance.default_rope(metric, best)
    runs, _, _ = tables.metrics_table(queue_id, split=split)
    analysis_type = board.attrs["analysis_type"]
    if runs["fold_index"].notna().any():
        return _compare_folds(runs, int(a), int(b), metric, split, higher, rope)
    return _compare_rows(queue_id, int(a), int(b), metric, split, higher, rope, analysis_type, resamples, seed)


def _check_combinations(queue_id: int, board: pd.DataFrame, sides: dict[str, Any], split: str) -> None:
    known = board["combo_index"].astype(int).tolist()
    for name, value in sides.items():
        if not isinstance(value, EnsembleSide) and int(value) not in known:
            raise errors.ValidationError(
                name, f"combination {value} has no trained model on the {split!r} split of queue {queue_id}; use "
                f"one of the leaderboard's combo_index values: {', '.join(map(str, sorted(known)[:20]))}")


# -- an ensemble on either side -------------------------------------------------------------------------------------


def _ensemble_row(queue_id: int, name: str, side: EnsembleSide) -> Any:
    """The stored ensemble of a side, refused when it was made from another queue."""
    from assay.db.models import EnsembleRow
    from assay.db.queries import data as data_queries

    row = data_queries.row(EnsembleRow, side.id, "Ensemble")
    if row.queue_id != queue_id:
        raise errors.ValidationError(
            name, f"ensemble {side.id} was made from queue {row.queue_id}, not queue {queue_id}: a paired comparison "
            f"needs both sides' predictions of the same rows; compare it through its own queue, "
            f"assay.Queue.get({row.queue_id}).compare(...)")
    return row


def _ensemble_prediction(row: Any, name: str, split: str) -> tuple[dict[str, Any], str | None]:
    """An ensemble's stored arrays on ``split`` (as a combination run's: ``row_indices``, ``predictions``,
    ``probabilities``, ``labels``, ``classes``) and the stored note saying why they are optimistic, if they are."""
    from assay.db.queries import ensembles as ensemble_queries
    from assay.experiment import arrays

    found = {prediction.split: prediction for prediction in ensemble_queries.prediction_rows(row.id)}
    if split not in found:
        raise errors.ValidationError(
            name, f"ensemble {row.id} has no predictions on the {split!r} split; compare on one of: "
            f"{', '.join(sorted(found))} (split=...)")
    stored = arrays.loads(ensemble_queries.prediction_arrays(found[split].id))
    if stored.get("labels") is None:
        raise errors.ValidationError("split", f"the {split!r} split has no labels to score ensemble {row.id} on")
    return stored, found[split].note


def _compare_with_ensemble(queue_id: int, a: Side, b: Side, metric: str | None, split: str | None,
                           rope: float | None, resamples: int, seed: int) -> Comparison:
    from assay import plugins
    from assay.evaluation import ensemble as ensembles

    sides = {"a": a, "b": b}
    rows = {name: _ensemble_row(queue_id, name, side) for name, side in sides.items()
            if isinstance(side, EnsembleSide)}
    if metric in ensembles.UNCOMPUTABLE:
        raise errors.ValidationError(
            "metric", f"{metric!r} is the models' training loss, which an ensemble (an average of models) has no "
            "function for; compare on another metric, e.g. metric='log_loss', 'accuracy', 'mse' or 'r2'")
    board = tables.leaderboard(queue_id, split=split, metric=metric, significance=False)
    if metric is None and board.attrs["metric"] in ensembles.UNCOMPUTABLE:  # the objective is the training loss
        main = plugins.analysis_type(board.attrs["analysis_type"]).main_metric
        board = tables.leaderboard(queue_id, split=split, metric=main, significance=False)
    metric, split, higher = board.attrs["metric"], board.attrs["split"], board.attrs["higher_is_better"]
    analysis_type = board.attrs["analysis_type"]
    _check_combinations(queue_id, board, sides, split)
    names = {name: (f"ensemble {side.id}" if isinstance(side, EnsembleSide) else f"combination {int(side)}")
             for name, side in sides.items()}
    runs, _, _ = tables.metrics_table(queue_id, split=split)
    notes = []
    stored = {}
    for name, row in rows.items():
        stored[name], note = _ensemble_prediction(row, name, split)
        if note and f"{names[name]}: {note}" not in notes:
            notes.append(f"{names[name]}: {note}")
    if runs["fold_index"].notna().any():
        table = significance.fold_scores(runs, metric) if metric in runs.columns else None
        scores = {}
        for name, side in sides.items():
            if isinstance(side, EnsembleSide):
                frame = ensembles.run_scores(side.id, split=split, metric=metric)
                scores[name] = pd.Series(frame[metric].to_numpy(float),
                                         index=[(int(f), int(r)) for f, r in zip(frame["fold_index"],
                                                                                 frame["repeat_index"],
                                                                                 strict=True)])
            else:
                if table is None or int(side) not in table.index:
                    raise errors.ValidationError("metric", f"{names[name]} has no {metric!r} on {split!r}")
                one = table.loc[int(side)]
                scores[name] = pd.Series(one.to_numpy(float), index=[(int(f), int(r)) for f, r in one.index])
        pairs = pd.concat([scores["a"].rename("a"), scores["b"].rename("b")], axis=1, join="inner").dropna()
        fold_count = int(runs["fold_index"].nunique())
        if len(pairs) < 2 or fold_count < 2:
            raise errors.ValidationError(
                "a", f"{names['a']} and {names['b']} share {len(pairs)} (fold, repeat) runs with a {metric} value; "
                "a paired comparison needs at least 2 (run the queue's remaining jobs)")
        mean_a, mean_b = float(pairs["a"].mean()), float(pairs["b"].mean())
        rope = _side_rope(queue_id, rope, metric, mean_a, mean_b, higher)
        result = significance.corrected_ttest(pairs["a"].to_numpy(float) - pairs["b"].to_numpy(float), fold_count,
                                              rope, higher)
        posterior = {"kind": "t", "df": result.pop("df"), "loc": result["mean_difference"],
                     "scale": result.pop("scale")}
        method = f"corrected resampled t-test and Bayesian correlated t-test ({fold_count} folds)"
        n_pairs = len(pairs)
    else:
        side_runs = {}
        for name, side in sides.items():
            if isinstance(side, EnsembleSide):
                side_runs[name] = [stored[name]]
            else:
                side_runs[name] = significance.combination_runs(queue_id, split, [int(side)])[int(side)]
        mean_a, mean_b, resampled = significance.bootstrap_rows(side_runs["a"], side_runs["b"], metric,
                                                                analysis_type, resamples, seed)
        rope = _side_rope(queue_id, rope, metric, mean_a, mean_b, higher)
        result = significance.bootstrap_result(mean_a - mean_b, resampled, rope, higher)
        posterior = {"kind": "samples", "samples": resampled}
        method = f"paired bootstrap over the {split} rows ({len(resampled)} resamples)"
        n_pairs = len(side_runs["a"][0]["row_indices"])
    side_ids = {name: side.id if isinstance(side, EnsembleSide) else int(side) for name, side in sides.items()}
    return Comparison(a=side_ids["a"], b=side_ids["b"], metric=metric, split=split, higher_is_better=higher,
                      method=method, n_pairs=n_pairs, mean_a=mean_a, mean_b=mean_b, rope=rope, posterior=posterior,
                      a_name=names["a"], b_name=names["b"], notes=tuple(notes), **result)


def _side_rope(queue_id: int, rope: float | None, metric: str, mean_a: float, mean_b: float, higher: bool) -> float:
    if rope is None:
        rope = queue_rope(queue_id)
    if rope is None:
        rope = significance.default_rope(metric, max(mean_a, mean_b) if higher else min(mean_a, mean_b))
    return rope


def queue_rope(queue_id: int) -> float | None:
    """The rope set on a queue (``Experiment.make(rope=...)``), or ``None``."""
    return queries.queue_rope_and_conformal(queue_id)[0]


def _compare_folds(runs: pd.DataFrame, a: int, b: int, metric: str, split: str, higher: bool,
                   rope: float) -> Comparison:
    fold_count = int(runs["fold_index"].nunique())
    table = significance.fold_scores(runs, metric)
    pairs = table.loc[[a, b]].T.dropna()
    if len(pairs) < 2 or fold_count < 2:
        raise errors.ValidationError(
            "a", f"combinations {a} and {b} share {len(pairs)} (fold, repeat) runs with a {metric} value; a "
            "paired comparison needs at least 2 (run the queue's remaining jobs)")
    differences = pairs[a].to_numpy(float) - pairs[b].to_numpy(float)
    result = significance.corrected_ttest(differences, fold_count, rope, higher)
    posterior = {"kind": "t", "df": result.pop("df"), "loc": result["mean_difference"], "scale": result.pop("scale")}
    return Comparison(a=a, b=b, metric=metric, split=split, higher_is_better=higher,
                      method=f"corrected resampled t-test and Bayesian correlated t-test ({fold_count} folds)",
                      n_pairs=len(pairs), mean_a=float(pairs[a].mean()), mean_b=float(pairs[b].mean()),
                      rope=rope, posterior=posterior, **result)


def _compare_rows(queue_id: int, a: int, b: int, metric: str, split: str, higher: bool, rope: float,
                  analysis_type: str, resamples: int, seed: int) -> Comparison:
    found = significance.combination_runs(queue_id, split, sorted({a, b}))
    value_a, value_b, resampled = significance.bootstrap_rows(found[a], found[b], metric, analysis_type,
                                                              resamples, seed)
    result = significance.bootstrap_result(value_a - value_b, resampled, rope, higher)
    return Comparison(a=a, b=b, metric=metric, split=split, higher_is_better=higher,
                      method=f"paired bootstrap over the {split} rows ({len(resampled)} resamples)",
                      n_pairs=len(found[a][0]["row_indices"]), mean_a=value_a, mean_b=value_b, rope=rope,
                      posterior={"kind": "samples", "samples": resampled}, **result)


def comparison_rows(comparison: Comparison) -> list[tuple[str, str]]:
    """The numbers of a comparison as (label, text) rows, for pages and reports."""
    def number(value: float) -> str:
        return f"{value:.4g}"

    a, b = comparison._names
    return [
        ("method", comparison.method), ("pairs", str(comparison.n_pairs)),
        (f"{comparison.metric} of {a} / {b}",
         f"{number(comparison.mean_a)} / {number(comparison.mean_b)}"),
        (f"difference ({a} minus {b})", f"{comparison.mean_difference:+.4g}"),
        ("95% interval", f"{comparison.ci_low:+.4g} to {comparison.ci_high:+.4g}"),
        ("p-value", f"{comparison.p_value:.3g}"),
        (f"P({a} better)", f"{comparison.prob_better:.3f}"),
        ("P(equivalent)", f"{comparison.prob_equivalent:.3f}"),
        (f"P({b} better)", f"{comparison.prob_worse:.3f}"),
        ("rope", f"±{comparison.rope:.4g}"),
        *(("optimistic", note) for note in comparison.notes),
    ]


def comparison_png(comparison: Comparison) -> str:
    """The posterior plot of a comparison as a ``data:image/png;base64,...`` URI."""
    import base64
    import io

    import matplotlib.pyplot as plt

    drawn = comparison.plot()
    buffer = io.BytesIO()
    drawn.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(drawn)
    return f"data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}"


def comparison_html(comparison: Comparison, figure: bool = True) -> str:
    """A comparison as an HTML fragment: a sentence, its numbers and (with ``figure``) the posterior as a PNG."""
    import html

    image = (f'<img alt="posterior of the difference" style="max-width:520px" src="{comparison_png(comparison)}">'
             if figure else "")
    rows = "".join(f"<tr><th style='text-align:left'>{html.escape(label)}</th><td>{html.escape(text)}</td></tr>"
                   for label, text in comparison_rows(comparison))
    a, b = comparison._names
    title = f"Combination {a} vs {b}" if (a, b) == (str(comparison.a), str(comparison.b)) else \
        f"{a[:1].upper()}{a[1:]} vs {b}"
    return (f"<div class='assay-comparison'><p><b>{html.escape(title)}</b>: "
            f"{html.escape(comparison.summary)}</p><table>{rows}</table>{image}</div>")
