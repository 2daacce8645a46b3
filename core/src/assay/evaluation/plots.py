"""Plots of results. Every function returns a :class:`matplotlib.figure.Figure` with titles, axis labels and legends.

Figures are made with ``Figure()`` directly, never through ``pyplot``: no global figure registry (nothing leaks
over a long session), no display needed (servers, workers, CI), and ``fig.savefig(...)`` works as usual. In a
notebook, a returned Figure displays itself.

Prediction plots are looked up by name in every plugin's ``assay_plots`` (:func:`default_plots` holds the core's),
so a plugin can add one: ``prediction.plot("my_plot")``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from assay import errors, plugins
from assay.contracts import PredictionData
from assay.db.queries import results as queries
from assay.evaluation import importance
from assay.evaluation import leaderboard as tables

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: one colour per line or class, consistent across the report
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf"]
CHANCE_STYLE = {"color": "#888888", "linestyle": "--", "linewidth": 1}
PANEL_SIZE = (4.6, 3.6)


def _figure(panel_count: int, columns: int = 3,
            panel_size: tuple[float, float] = PANEL_SIZE) -> tuple[Figure, list[Axes]]:
    """A figure with ``panel_count`` axes on a grid, its unused cells removed."""
    columns = max(1, min(columns, panel_count))
    rows = -(-panel_count // columns)
    figure = Figure(figsize=(panel_size[0] * columns, panel_size[1] * rows), layout="constrained")
    axes = list(np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel())
    for extra in axes[panel_count:]:
        figure.delaxes(extra)
    for axis in axes[:panel_count]:
        axis.grid(True, color="#e6e6e6", linewidth=0.8)
        axis.set_axisbelow(True)
    return figure, axes[:panel_count]


def _title(text: str) -> str:
    return text.replace("_", " ")


# --------------------------------------------------------------------------------------------------------------
# prediction plots (one split of one model)
# --------------------------------------------------------------------------------------------------------------


def _labelled(prediction: PredictionData) -> tuple[np.ndarray, np.ndarray]:
    """(true labels, predictions) of a prediction; predictions on new data have no true labels to plot."""
    if prediction.labels is None:
        raise errors.ValidationError(
            "prediction", f"prediction {prediction.id} ({prediction.split}) has no true labels (predictions on new "
            "data); plot a split's prediction instead, e.g. predictor.predictions['test']"
        )
    return np.asarray(prediction.labels).ravel(), np.asarray(prediction.predictions).ravel()


def _class_names(prediction: PredictionData, *arrays: np.ndarray) -> list[str]:
    """The classes as text, in encoded order; values seen in the data but not among the classes come last."""
    names = [str(value) for value in prediction.classes]
    for array in arrays:
        names += sorted(set(array.astype(str)) - set(names))
    return names


def _class_probabilities(prediction: PredictionData) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(class names, true labels as text, probabilities with one column per class) for ROC / PR curves."""
    labels, _ = _labelled(prediction)
    if prediction.probabilities is None:
        raise errors.ValidationError(
            "prediction", f"prediction {prediction.id} has no probabilities (fn_predict returned None for them); "
            "return (predictions, probabilities) from fn_predict to draw ROC and precision-recall curves"
        )
    classes = [str(value) for value in prediction.classes]
    probabilities = np.asarray(prediction.probabilities, dtype=float).reshape(len(labels), -1)
    if probabilities.shape[1] == 1:  # binary: the stored column is the positive (second) class
        probabilities = np.column_stack([1.0 - probabilities[:, 0], probabilities[:, 0]])
    if len(classes) != probabilities.shape[1]:
        classes = [str(i) for i in range(probabilities.shape[1])]
    return classes, labels.astype(str), probabilities


def _curve_classes(classes: list[str]) -> list[int]:
    """Which class columns get a curve: the positive class only for two classes, every class (one-vs-rest) else."""
    return [1] if len(classes) == 2 else list(range(len(classes)))


#: class names longer than this are cut (with an ellipsis) on the confusion matrix's axes
TICK_CHARACTERS = 32


def plot_confusion_matrix(prediction: PredictionData) -> Figure:
    """Counts of true (rows) against predicted (columns) classes, each cell annotated."""
    from sklearn.metrics import confusion_matrix

    labels, predictions = _labelled(prediction)
    labels, predictions = labels.astype(str), predictions.astype(str)
    names = _class_names(prediction, labels, predictions)
    matrix = confusion_matrix(labels, predictions, labels=names)
    size = max(3.6, 0.6 * len(names) + 1.6)  # room for every class's row and column
    # and for the class names beside and below it: long ones would squeeze the matrix to nothing
    ticks = [name if len(name) <= TICK_CHARACTERS else name[:TICK_CHARACTERS - 1] + "…" for name in names]
    room = 0.075 * max(map(len, ticks), default=0)  # inches of a 10-point label
    figure = Figure(figsize=(size + 1.0 + room, size + room / 2), layout="constrained")
    axis = figure.add_subplot()
    image = axis.imshow(matrix, cmap="Blues", vmin=0)
    figure.colorbar(image, ax=axis, label="rows")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, column), count in np.ndenumerate(matrix):
        axis.text(column, row, str(count), ha="center", va="center",
                  color="white" if count > threshold else "black", fontsize=11)
    axis.set_xticks(range(len(names)), ticks, rotation=30 if max(map(len, ticks), default=0) > 6 else 0)
    axis.set_yticks(range(len(names)), ticks)
    axis.set_xlabel("Predicted label")
    axis.set_ylabel("True label")
    accuracy = float(np.mean(labels == predictions)) if len(labels) else float("nan")
    axis.set_title(f"Confusion matrix, {prediction.split} split\naccuracy {accuracy:.3f}")
    return figure


def plot_roc_curve(prediction: PredictionData) -> Figure:
    """ROC curve of the positive class (binary) or of each class against the rest (multi), AUC in the legend."""
    from sklearn.metrics import auc, roc_curve

    classes, labels, probabilities = _class_probabilities(prediction)
    figure, (axis,) = _figure(1)
    for position, index in enumerate(_curve_classes(classes)):
        truth = labels == classes[index]
        if truth.all() or not truth.any():
            continue  # a class absent from (or alone in) this split has no ROC curve
        fpr, tpr, _ = roc_curve(truth, probabilities[:, index])
        name = classes[index] if len(classes) > 2 else f"positive class {classes[index]}"
        axis.plot(fpr, tpr, color=COLORS[position % len(COLORS)], linewidth=2,
                  label=f"{name} (AUC {auc(fpr, tpr):.3f})")
    axis.plot([0, 1], [0, 1], label="chance", **CHANCE_STYLE)
    axis.set_xlim(-0.01, 1.01)
    axis.set_ylim(-0.01, 1.02)
    axis.set_xlabel("False positive rate")
    axis.set_ylabel("True positive rate")
    kind = "ROC curves (one-vs-rest)" if len(classes) > 2 else "ROC curve"
    axis.set_title(f"{kind}, {prediction.split} split")
    axis.legend(loc="lower right", fontsize=9)
    return figure


def plot_precision_recall(prediction: PredictionData) -> Figure:
    """Precision against recall per class (binary: the positive class), average precision in the legend."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    classes, labels, probabilities = _class_probabilities(prediction)
    figure, (axis,) = _figure(1)
    for position, index in enumerate(_curve_classes(classes)):
        truth = labels == classes[index]
        if not truth.any():
            continue
        color = COLORS[position % len(COLORS)]
        precision, recall, _ = precision_recall_curve(truth, probabilities[:, index])
        average = average_precision_score(truth, probabilities[:, index])
        name = classes[index] if len(classes) > 2 else f"positive class {classes[index]}"
        axis.plot(recall, precision, color=color, linewidth=2, drawstyle="steps-post",
                  label=f"{name} (AP {average:.3f})")
        if len(classes) == 2:  # a model that guesses scores the class's share of rows
            axis.axhline(truth.mean(), label=f"chance ({truth.mean():.2f})", **CHANCE_STYLE)
    axis.set_xlim(-0.01, 1.01)
    axis.set_ylim(-0.01, 1.02)
    axis.set_xlabel("Recall")
    axis.set_ylabel("Precision")
    axis.set_title(f"Precision-recall, {prediction.split} split")
    axis.legend(loc="lower left", fontsize=9)
    return figure


def _regression_values(prediction: PredictionData) -> tuple[np.ndarray, np.ndarray]:
    labels, predictions = _labelled(prediction)
    return labels.astype(float), predictions.astype(float)


def plot_residuals(prediction: PredictionData) -> Figure:
    """Residuals (actual - predicted) against the prediction, and their histogram."""
    actual, predicted = _regression_values(prediction)
    residuals = actual - predicted
    figure, (scatter, histogram) = _figure(2, columns=2)
    scatter.scatter(predicted, residuals, s=18, alpha=0.7, color=COLORS[0], edgecolors="none", label="row")
    scatter.axhline(0.0, label="no error", **CHANCE_STYLE)
    scatter.set_xlabel("Predicted value")
    scatter.set_ylabel("Residual (actual - predicted)")
    scatter.set_title(f"Residuals, {prediction.split} split")
    scatter.legend(fontsize=9)
    histogram.hist(residuals, bins=min(30, max(5, len(residuals) // 5)), color=COLORS[0], alpha=0.8,
                   label=f"mean {residuals.mean():.3g}, std {residuals.std():.3g}")
    histogram.axvline(0.0, **CHANCE_STYLE)
    histogram.set_xlabel("Residual (actual - predicted)")
    histogram.set_ylabel("Rows")
    histogram.set_title("Distribution of residuals")
    histogram.legend(fontsize=9)
    return figure


def plot_predicted_vs_actual(prediction: PredictionData) -> Figure:
    """Each row's prediction against its true value; a perfect model lies on the diagonal."""
    actual, predicted = _regression_values(prediction)
    figure, (axis,) = _figure(1)
    axis.scatter(actual, predicted, s=18, alpha=0.7, color=COLORS[0], edgecolors="none", label="row")
    low = float(np.nanmin([actual.min(), predicted.min()])) if len(actual) else 0.0
    high = float(np.nanmax([actual.max(), predicted.max()])) if len(actual) else 1.0
    axis.plot([low, high], [low, high], label="perfect prediction", **CHANCE_STYLE)
    axis.set_xlabel("Actual value")
    axis.set_ylabel("Predicted value")
    r2 = prediction.metrics.get("r2")
    suffix = f" (R² {r2:.3f})" if r2 is not None else ""
    axis.set_title(f"Predicted vs actual, {prediction.split} split{suffix}")
    axis.legend(fontsize=9)
    return figure


CLASSIFICATION_PLOTS: dict[str, Callable[[Any], Figure]] = {
    "confusion_matrix": plot_confusion_matrix,
    "roc_curve": plot_roc_curve,
    "precision_recall": plot_precision_recall,
}
REGRESSION_PLOTS: dict[str, Callable[[Any], Figure]] = {
    "residuals": plot_residuals,
    "predicted_vs_actual": plot_predicted_vs_actual,
}


def default_plots(analysis_type: str) -> dict[str, Callable[[Any], Figure]]:
    """The core's plots for an analysis type (what :mod:`assay.evaluation.builtin_plots` answers to ``assay_plots``).

    Classification types get ``confusion_matrix``, ``roc_curve`` and ``precision_recall``; every other type
    with a label (regression, and a plugin's regression-like type) ``residuals`` and ``predicted_vs_actual``.
    An analysis type nobody registered gets none.
    """
    analysis = plugins.analysis_types().get(analysis_type)
    if analysis is None:
        return {}
    return dict(CLASSIFICATION_PLOTS if analysis.is_classification else REGRESSION_PLOTS)


def plot_prediction(prediction: PredictionData, name: str) -> Figure:
    """Draw the plot registered as ``name`` for this prediction's analysis type (by any plugin).

    Raises:
        assay.errors.ValidationError: no plugin registered a plot of that name; the message lists those that are.
    """
    analysis_type = queries.analysis_type_of_prediction(prediction.id)
    available = plugins.plots(analysis_type)
    if name not in available:
        raise errors.ValidationError(
            "name", f"{name!r} is not a plot for {analysis_type!r} predictions; use one of: "
            f"{', '.join(sorted(available)) or 'none (no plugin registers plots for it)'}"
        )
    return available[name](prediction)


# --------------------------------------------------------------------------------------------------------------
# model plots
# --------------------------------------------------------------------------------------------------------------


def _history_groups(history: dict[str, list[float]]) -> dict[str, dict[str, str]]:
    """Base metric → {"train": key, "evaluation": "val_" key}; loss first, then in history order."""
    groups: dict[str, dict[str, str]] = {}
    for key in history:
        base, role = (key[4:], "evaluation") if key.startswith("val_") else (key, "train")
        groups.setdefault(base, {})[role] = key
    return dict(sorted(groups.items(), key=lambda item: item[0] != "loss"))


def plot_learning_curve(predictor_id: int, history: dict[str, list[float]], evaluated_splits: list[str],
                        metrics: list[str] | None = None, loss_skip_15pct: bool = False) -> Figure:
    """One panel per metric of the training history: its value per epoch on train and evaluation data.

    Args:
        predictor_id: the trained model (named in messages).
        history: its per-epoch history (``{"loss": [...], "val_loss": [...], ...}``).
        evaluated_splits: the splits it was predicted on after training (names the evaluation curves).
        metrics: base names to plot (``"loss"``, ``"accuracy"``; ``"val_loss"`` means ``"loss"``). Default:
            every metric in the history, loss first.
        loss_skip_15pct: leave the first 15% of epochs out of the loss panel (AIQC's option), so the large
            losses of the first epochs do not flatten the rest; the epochs keep their numbers.

    Raises:
        assay.errors.ValidationError: the history is empty, or a requested metric is not in it.
    """
    history = history or {}
    groups = _history_groups(history)
    if not groups:
        raise errors.ValidationError(
            "predictor", f"predictor {predictor_id} has no training history; return it from fn_train (Keras: fit "
            "with a History; torch: assay_torch.fit or (model, history))"
        )
    if metrics is not None:
        if isinstance(metrics, str):
            metrics = [metrics]
        wanted = [name[4:] if name.startswith("val_") else name for name in metrics]
        unknown = [name for name in wanted if name not in groups]
        if unknown or not wanted:
            raise errors.ValidationError(
                "metrics", f"{unknown or metrics} not in the training history; use some of: {', '.join(groups)}"
            )
        groups = {name: groups[name] for name in dict.fromkeys(wanted)}
    evaluation = tables.evaluation_split([s for s in evaluated_splits if s != "train"]) or "evaluation"
    figure, axes = _figure(len(groups), columns=min(3, len(groups)))
    for axis, (base, keys) in zip(axes, groups.items(), strict=True):
        for position, role in enumerate(("train", "evaluation")):
            if role in keys:
                values = history[keys[role]]
                # AIQC keeps the last round(85%) epochs of the loss: dataframe.tail(round(rows * .85))
                skip = len(values) - round(len(values) * 0.85) if loss_skip_15pct and base == "loss" else 0
                values = values[skip:]
                axis.plot(range(skip + 1, skip + len(values) + 1), values, color=COLORS[position], linewidth=2,
                          marker="o" if len(values) <= 20 else None, markersize=3,
                          label="train" if role == "train" else evaluation)
        axis.set_xlabel("Epoch")
        axis.set_ylabel(_title(base))
        # "MAE", "AUC" read as acronyms; longer names as words ("Loss", "Accuracy")
        axis.set_title(_title(base).upper() if len(base) <= 3 else _title(base).capitalize())
        axis.legend(fontsize=9)
    figure.suptitle(f"Learning curve of predictor {predictor_id}")
    return figure


def _importance_legend(table: Any) -> str:
    """What the bars average: the permutations, and the rows permuted per round when sampled."""
    legend = f"mean of {table.attrs['permutation_count']} permutations (± std)"
    if table.attrs.get("sample_rows") is not None:
        legend += f", {table.attrs['sample_rows']} of {table.attrs['rows']} rows each"
    return legend


def plot_feature_importance(predictor_id: int, split: str = "test", permutation_count: int = 5,
                            top_n: int | None = 20, sample_rows: int | str | None = "auto") -> Figure:
    """Horizontal bars of permutation importance per original feature column, most important on top.

    The bar is the mean drop in the score when the column's values are shuffled; the whisker its standard
    deviation over the permutations. Computed on first request (see :mod:`assay.evaluation.importance`, which
    also says what ``sample_rows`` chooses). ``top_n``: the most important columns shown; ``None``: every column.
    """
    if top_n is not None and (not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 1):
        raise errors.ValidationError("top_n", f"must be a positive int or None (every column), got {top_n!r}")
    table = importance.feature_importance(predictor_id, split=split, permutation_count=permutation_count,
                                          sample_rows=sample_rows)
    # barh draws bottom-up: reverse so the most important is on top
    shown = (table if top_n is None else table.head(top_n)).iloc[::-1]
    figure = Figure(figsize=(7.0, max(2.6, 0.38 * len(shown) + 1.4)), layout="constrained")
    axis = figure.add_subplot()
    colors = [COLORS[0] if value >= 0 else COLORS[3] for value in shown["importance_mean"]]
    axis.barh(shown["feature"].astype(str), shown["importance_mean"], xerr=shown["importance_std"].fillna(0.0),
              color=colors, capsize=3, label=_importance_legend(table))
    axis.axvline(0.0, color="#444444", linewidth=0.8)
    axis.grid(True, axis="x", color="#e6e6e6")
    axis.set_axisbelow(True)
    metric = table.attrs.get("metric", "score")
    axis.set_xlabel(f"Drop in {_title(metric)} when the column is shuffled")
    axis.set_ylabel("Feature column")
    hidden = len(table) - len(shown)
    more = f", top {len(shown)} of {len(table)}" if hidden else ""
    axis.set_title(f"Permutation feature importance, predictor {predictor_id}, {split} split{more}")
    axis.legend(fontsize=9, loc="lower right")
    return figure


# --------------------------------------------------------------------------------------------------------------
# queue plots
# --------------------------------------------------------------------------------------------------------------


#: a numeric hyperparameter with more distinct values than this (a sampled range) is shown in bins
MAX_CATEGORIES = 10
BIN_COUNT = 8


def _binned_positions(values: pd.Series) -> tuple[np.ndarray, list[str]] | None:
    """Values of a range (many distinct numbers) as bins: equal width, or equal in log scale when they span
    more than a factor of 20 and are positive (learning rates, sizes sampled with log=True)."""
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any() or numbers.nunique() <= MAX_CATEGORIES:
        return None
    low, high = float(numbers.min()), float(numbers.max())
    log = low > 0 and high / low > 20
    edges = np.geomspace(low, high, BIN_COUNT + 1) if log else np.linspace(low, high, BIN_COUNT + 1)
    positions = np.clip(np.searchsorted(edges, numbers.to_numpy(dtype=float), side="right") - 1, 0, BIN_COUNT - 1)
    ticks = [f"{edges[i]:.2g}-{edges[i + 1]:.2g}" for i in range(BIN_COUNT)]
    return positions.astype(float), ticks


def _category_positions(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Grid values as evenly spaced positions (sorted numerically when they are numbers) and their tick labels;
    a sampled range is binned."""
    binned = _binned_positions(values)
    if binned is not None:
        return binned
    unique = list(dict.fromkeys(values.tolist()))
    try:
        unique.sort()
    except TypeError:
        unique.sort(key=str)
    lookup = {value: i for i, value in enumerate(unique)}
    return values.map(lookup).to_numpy(dtype=float), [str(value) for value in unique]


def plot_performance(queue_id: int, split: str | None = None, metric: str | None = None,
                     predictor_ids: list[int] | None = None) -> Figure:
    """Every trained model of a queue compared on one split (or only ``predictor_ids``, e.g. the models AIQC's
    thresholds keep: :func:`assay.evaluation.aiqc_tables.performance_predictor_ids`).

    The first panel plots each model's loss against ``metric`` (the analysis type's main metric by default),
    coloured by combination, the best model starred; each further panel shows one hyperparameter's effect:
    every model's score at each value of it, with the mean and standard deviation per value.

    Raises:
        assay.errors.ValidationError: the queue has no trained model yet, or ``split``/``metric`` is unknown.
    """
    runs, _, hp_columns = tables.metrics_table(queue_id)
    if predictor_ids is not None:
        runs = runs[runs["predictor_id"].isin(predictor_ids)].reset_index(drop=True)
    if runs.empty:
        raise errors.ValidationError(
            "queue", f"queue {queue_id} has no trained model yet; run queue.run_jobs() first"
        )
    # the leaderboard's split, metric and best model: one notion of "best" for every table, plot and page
    board = tables.leaderboard(queue_id, split=split, metric=metric, significance=False)
    split, metric = board.attrs["split"], board.attrs["metric"]
    chosen = runs[runs["split"] == split].reset_index(drop=True)
    figure, axes = _figure(1 + len(hp_columns), columns=3)

    overview = axes[0]
    has_loss = metric != "loss" and "loss" in chosen and chosen["loss"].notna().any()
    x = chosen["loss"] if has_loss else chosen["run_index"]
    combo_count = int(chosen["combo_index"].max()) + 1
    # one colour per combination: a colormap cut into as many steps, with a tick per combination when few
    cmap = matplotlib.colormaps["viridis"].resampled(max(combo_count, 2))
    points = overview.scatter(x, chosen[metric], c=chosen["combo_index"], cmap=cmap, vmin=-0.5,
                              vmax=combo_count - 0.5, s=26, alpha=0.8, edgecolors="none", label="model")
    if combo_count > 1:
        bar = figure.colorbar(points, ax=overview, label="combination")
        if combo_count <= 12:
            bar.set_ticks(range(combo_count))
    # the leaderboard's rank 1 combination's best model (pruned runs are never best), among the models shown
    ranked = board[board["rank"].notna()]
    best_rows = chosen.index[chosen["predictor_id"] == int(ranked.iloc[0]["best_predictor_id"])] if len(ranked) else []
    if len(best_rows):
        best = best_rows[0]
        overview.scatter([x[best]], [chosen[metric][best]], marker="*", s=220, color=COLORS[3], edgecolors="black",
                         linewidths=0.6, zorder=3, label=f"best (predictor {chosen['predictor_id'][best]}, "
                         f"combination {chosen['combo_index'][best]})")
    overview.set_xlabel(f"loss ({split})" if has_loss else "run")
    overview.set_ylabel(f"{_title(metric)} ({split})")
    overview.set_title(f"{'Loss vs ' if has_loss else ''}{_title(metric)}, {len(chosen)} models")
    overview.legend(fontsize=9)

    for axis, column in zip(axes[1:], hp_columns, strict=True):
        positions, ticks = _category_positions(chosen[column])
        # a little deterministic jitter keeps repeats at the same value from hiding each other
        jitter = (np.random.default_rng(0).random(len(positions)) - 0.5) * 0.25
        axis.scatter(positions + jitter, chosen[metric], s=16, alpha=0.45, color=COLORS[0], edgecolors="none",
                     label="model")
        summary = chosen.groupby(positions)[metric].agg(["mean", "std"])
        axis.errorbar(summary.index.to_numpy(dtype=float), summary["mean"].to_numpy(dtype=float),
                      yerr=summary["std"].fillna(0.0).to_numpy(dtype=float), color=COLORS[1],
                      marker="o", linewidth=2, capsize=4, label="mean ± std")
        axis.set_xticks(range(len(ticks)), ticks, rotation=30 if max(map(len, ticks), default=0) > 6 else 0)
        axis.set_xlim(-0.5, len(ticks) - 0.5)
        axis.set_xlabel(column)
        axis.set_ylabel(f"{_title(metric)} ({split})")
        axis.set_title(f"Effect of {column}")
        axis.legend(fontsize=9)
    figure.suptitle(f"Queue {queue_id}: {len(chosen)} models on the {split} split")
    return figure


def plot_comparison(posterior: dict[str, Any], rope: float, metric: str, a: int | str, b: int | str,
                    probabilities: tuple[float, float, float]) -> Figure:
    """The posterior of a comparison's difference ``a - b`` (a Student t with folds, the bootstrap's histogram
    with one split), the rope shaded and the probability of each region written on it (``probabilities``: left of
    the rope, inside, right of it). ``a`` and ``b``: combination indexes, or names ("ensemble 2")."""
    from scipy import stats

    figure, axes = _figure(1, columns=1)
    figure.set_size_inches(7.5, 4.5)
    axis = axes[0]
    if posterior["kind"] == "t" and posterior["scale"] > 0:
        loc, scale, df = posterior["loc"], posterior["scale"], posterior["df"]
        x = np.linspace(loc - 5 * scale, loc + 5 * scale, 400)
        axis.plot(x, stats.t.pdf(x, df, loc=loc, scale=scale), color=COLORS[0], linewidth=2,
                  label=f"posterior (Student t, {df} df)")
        axis.fill_between(x, stats.t.pdf(x, df, loc=loc, scale=scale), alpha=0.15, color=COLORS[0])
    elif posterior["kind"] == "samples" and len(posterior["samples"]):
        axis.hist(posterior["samples"], bins=50, density=True, color=COLORS[0], alpha=0.6,
                  label=f"bootstrap ({len(posterior['samples'])} resamples)")
    else:
        axis.axvline(posterior.get("loc", 0.0), color=COLORS[0], linewidth=2, label="every pair differs equally")
    if rope > 0:
        axis.axvspan(-rope, rope, color=COLORS[2], alpha=0.2, label=f"rope ±{rope:.3g}")
    axis.axvline(0, color="black", linewidth=0.8)
    left, inside, right = probabilities
    first = f"combination {a}" if str(a).isdigit() else a
    axis.set_title(f"{_title(metric)}: {first} minus {b}\n"
                   f"P(< -rope) = {left:.3f}   P(rope) = {inside:.3f}   P(> rope) = {right:.3f}", fontsize=11)
    axis.set_xlabel(f"difference in {metric} ({a} minus {b})")
    axis.set_ylabel("density")
    axis.legend(fontsize=9)
    return figure
