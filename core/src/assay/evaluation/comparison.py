"""Is one combination really better than another? ``queue.compare(a, b)`` as a :class:`Comparison`.

The statistics live in :mod:`assay.evaluation.significance`; this module reads a queue's runs, picks the method the
splitset allows (folds: corrected and Bayesian correlated t-tests; one split: the paired bootstrap over stored
predictions) and holds the result.
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
    """Combination ``a`` against combination ``b`` on one metric and split (see :func:`compare`).

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

    def to_dict(self) -> dict[str, Any]:
        """Every field but the posterior, as plain Python values."""
        return {field.name: getattr(self, field.name) for field in attrs.fields(Comparison)
                if field.name != "posterior"}

    def __repr__(self) -> str:
        return (f"Comparison(a={self.a}, b={self.b}, metric={self.metric!r}, split={self.split!r}, "
                f"method={self.method!r}, n_pairs={self.n_pairs}, mean_difference={self.mean_difference:.4g}, "
                f"ci=({self.ci_low:.4g}, {self.ci_high:.4g}), p_value={self.p_value:.4g}, "
                f"prob_better={self.prob_better:.3f}, prob_equivalent={self.prob_equivalent:.3f}, "
                f"prob_worse={self.prob_worse:.3f}, rope={self.rope:.4g})")

    @property
    def summary(self) -> str:
        """One sentence: which is better and how sure."""
        if self.prob_equivalent >= 0.95:
            verdict = "practically equivalent"
        elif self.p_value < significance.ALPHA:
            winner = self.a if self.prob_better > self.prob_worse else self.b
            verdict = f"combination {winner} is significantly better"
        else:
            verdict = "not significantly different"
        return (f"{self.metric} on {self.split}: {self.mean_a:.4g} vs {self.mean_b:.4g}, difference "
                f"{self.mean_difference:+.4g} (95% CI {self.ci_low:+.4g} to {self.ci_high:+.4g}), p = "
                f"{self.p_value:.3g}: {verdict}")

    def plot(self):
        """The posterior of ``a - b`` with the rope shaded and the three probabilities; a matplotlib Figure."""
        from assay.evaluation import plots

        return plots.plot_comparison(self.posterior, self.rope, self.metric, self.a, self.b,
                                     (self.prob_worse, self.prob_equivalent, self.prob_better)
                                     if self.higher_is_better else
                                     (self.prob_better, self.prob_equivalent, self.prob_worse))

    def _repr_html_(self) -> str:
        """Jupyter's display: the numbers and the posterior."""
        return comparison_html(self)


def compare(queue_id: int, a: int, b: int, metric: str | None = None, split: str | None = None,
            rope: float | None = None, *, resamples: int = significance.RESAMPLES, seed: int = 0) -> Comparison:
    """Combination ``a`` against combination ``b`` of a queue (their ``combo_index``), paired.

    Args:
        queue_id: the queue.
        a, b: combination indexes, as the leaderboard's ``combo_index`` column lists them.
        metric, split: default: the queue's objective (the leaderboard's ranking metric and split).
        rope: half-width of the region of practical equivalence, in the metric's units. Default: the queue's
            rope when set, else 0.01 for a bounded score (accuracy, F1, AUC, R²) and 1% of the better
            combination's mean for a loss or an error.
        resamples, seed: the one-split bootstrap's resample count (at least 2,000) and seed.

    Raises:
        assay.errors.ValidationError: an unknown combination, split or metric; a combination with no run on the
            split; fewer than two (fold, repeat) pairs with folds; a negative rope.
    """
    rope = significance.check_rope(rope)
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 2000:
        raise errors.ValidationError("resamples", f"must be an integer >= 2000, got {resamples!r}")
    for name, value in (("a", a), ("b", b)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise errors.ValidationError(name, f"must be a combination index (the leaderboard's combo_index), "
                                         f"got {value!r}")
    board = tables.leaderboard(queue_id, split=split, metric=metric, significance=False)
    metric, split, higher = board.attrs["metric"], board.attrs["split"], board.attrs["higher_is_better"]
    known = board["combo_index"].astype(int).tolist()
    for name, value in (("a", a), ("b", b)):
        if int(value) not in known:
            raise errors.ValidationError(
                name, f"combination {value} has no trained model on the {split!r} split of queue {queue_id}; use "
                f"one of the leaderboard's combo_index values: {', '.join(map(str, sorted(known)[:20]))}")
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

    return [
        ("method", comparison.method), ("pairs", str(comparison.n_pairs)),
        (f"{comparison.metric} of {comparison.a} / {comparison.b}",
         f"{number(comparison.mean_a)} / {number(comparison.mean_b)}"),
        (f"difference ({comparison.a} minus {comparison.b})", f"{comparison.mean_difference:+.4g}"),
        ("95% interval", f"{comparison.ci_low:+.4g} to {comparison.ci_high:+.4g}"),
        ("p-value", f"{comparison.p_value:.3g}"),
        (f"P({comparison.a} better)", f"{comparison.prob_better:.3f}"),
        ("P(equivalent)", f"{comparison.prob_equivalent:.3f}"),
        (f"P({comparison.b} better)", f"{comparison.prob_worse:.3f}"),
        ("rope", f"±{comparison.rope:.4g}"),
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
    return (f"<div class='assay-comparison'><p><b>Combination {comparison.a} vs {comparison.b}</b>: "
            f"{html.escape(comparison.summary)}</p><table>{rows}</table>{image}</div>")
