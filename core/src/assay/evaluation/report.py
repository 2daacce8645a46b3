"""``queue.report(path)``: one self-contained HTML file summarising a queue.

The page holds the queue's summary, the leaderboard, the comparison of every model and, for the best models,
their metrics per split, learning curves and the analysis type's plots (from every plugin's ``assay_plots``).
Images are PNGs embedded as base64, so the file can be mailed or archived alone. This module gathers the
numbers and figures into plain data; the page itself is the Jinja2 template ``templates/report.html`` (autoescaped),
whose macros (``templates/macros.html``) other pages can reuse.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import io
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import jinja2
import pandas as pd

from assay import __version__, errors, plugins, space
from assay.db.models import AlgorithmRow, QueueRow
from assay.db.queries import data as data_queries
from assay.db.queries import ensembles as ensemble_queries
from assay.db.queries import experiments as experiment_queries
from assay.db.queries import results as queries
from assay.evaluation import comparison, importance, plots, search_plots
from assay.evaluation import leaderboard as tables
from assay.experiment.trained import Trained

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: combinations whose best model gets its own section
BEST_MODEL_COUNT = 3
#: leaderboard rows shown; the rest are counted
LEADERBOARD_ROWS = 25
FAILED_JOBS_SHOWN = 10
#: resolution the PNGs are rendered at, and the scale they are shown at on the page
DPI = 110
PIXELS_PER_INCH = 75

#: shown where a value is missing (an en dash)
MISSING = "\u2013"


@functools.cache
def templates() -> jinja2.Environment:
    """The Jinja2 environment of assay's HTML pages (templates shipped in ``assay/evaluation/templates``)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("assay.evaluation", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,  # a misspelt name fails loudly instead of printing nothing
    )


@attrs.frozen
class _Queue:
    """What the report shows of a queue, read once."""

    row: QueueRow
    library: str
    analysis_type: str
    hyperparameters: dict[str, list[Any]]
    status: dict[str, Any]

    @classmethod
    def load(cls, queue_id: int) -> _Queue:
        row = data_queries.row(QueueRow, queue_id, "Queue")
        algorithm = data_queries.row(AlgorithmRow, row.algorithm_id, "Algorithm")
        return cls(row, algorithm.library, algorithm.analysis_type, experiment_queries.grid(row.hyperparamset_id),
                   experiment_queries.queue_status(queue_id))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)


def write_report(queue_id: int, path: str | os.PathLike[str], best_count: int = BEST_MODEL_COUNT) -> str:
    """Write the HTML report of queue ``queue_id`` to ``path`` (folders are created); returns the path written.

    Works on a queue still running or with failed jobs: the page says so and shows what exists.

    Raises:
        assay.errors.ValidationError: ``path`` is not a file path, or ``best_count`` is not a positive int.
    """
    if not isinstance(path, (str, os.PathLike)) or str(path) == "":
        raise errors.ValidationError("path", f"must be a file path such as 'report.html', got {path!r}")
    target = Path(path).expanduser()
    if target.is_dir():
        raise errors.ValidationError("path", f"{str(target)!r} is a folder; give a file name such as 'report.html'")
    if not isinstance(best_count, int) or isinstance(best_count, bool) or best_count < 1:
        raise errors.ValidationError("best_count", f"must be a positive int, got {best_count!r}")

    page = render(queue_id, best_count=best_count)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(page, encoding="utf-8")
    temporary.replace(target)  # readers never see half a report
    return str(target)


def render(queue_id: int, best_count: int = BEST_MODEL_COUNT) -> str:
    """The report of queue ``queue_id`` as an HTML string."""
    queue = _Queue.load(queue_id)
    board = tables.leaderboard(queue_id)
    status = queue.status
    context = {
        "version": __version__,
        "title": f"Queue {queue.id}: {queue.analysis_type.replace('_', ' ')} with {queue.library}",
        "subtitle": _subtitle(board, status),
        "cards": _cards(queue, board, status),
        "leaderboard": _leaderboard(board),
        "comparison": None if board.empty else figure_data(
            "the comparison", plots.plot_performance, queue.id, split=board.attrs["split"],
            metric=board.attrs["metric"]),
        "search": _search(queue, board),
        "models": _best_models(queue, board, best_count),
        "models_split": board.attrs.get("split"),
        "failures": _failures(queue, status),
        "ensembles": [ensemble_html(row.id) for row in ensemble_queries.ensemble_rows(queue_id)],
        "written": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
    }
    return templates().get_template("report.html").render(context)


def ensemble_html(ensemble_id: int) -> str:
    """One ensemble as an HTML fragment: metrics per split with their notes, members and weights, the selection
    curve (the report's ensemble section and the notebook display)."""
    from assay.evaluation import ensemble_report

    curve = figure_data("the selection curve", ensemble_report.plot_selection_curve, ensemble_id)
    return templates().get_template("ensemble.html").render(e=ensemble_report.summary(ensemble_id), curve=curve,
                                                            number=number)


# --------------------------------------------------------------------------------------------------------------
# what the page shows, as plain data
# --------------------------------------------------------------------------------------------------------------


def number(value: Any) -> str:
    """A metric value for people: 4 decimals, or 4 significant digits when large or tiny; an en dash when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return str(value)
    value = float(value)
    if value != 0 and (abs(value) >= 1000 or abs(value) < 0.001):
        return f"{value:.4g}"
    return f"{value:.4f}"


def figure_png(figure: Figure, caption: str = "") -> dict[str, Any]:
    """A figure as an embedded PNG: ``{"png": base64, "alt": description, "width": pixels}``.

    Every figure is shown at :data:`PIXELS_PER_INCH` of its size in inches, so text has one size across the
    page whatever the figure's shape; it is rendered at :data:`DPI` to stay sharp on dense screens.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")  # constrained layout already fits it
    return {
        "png": base64.b64encode(buffer.getvalue()).decode("ascii"),
        "alt": caption or (figure.texts[0].get_text() if figure.texts else "plot"),
        "width": round(figure.get_figwidth() * PIXELS_PER_INCH),
        "error": None,
    }


def figure_data(what: str, draw: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """A drawn figure (:func:`figure_png`), or ``{"what", "error"}`` when it cannot be drawn.

    A plot a plugin registered may fail on data it did not expect; the rest of the report is still worth having.
    """
    try:
        return figure_png(draw(*args, **kwargs))
    except Exception as exc:  # any failure of a plugin's plot (see the docstring)
        return {"what": what, "error": f"{type(exc).__name__}: {exc}"}


def _status_word(status: dict[str, Any]) -> tuple[str, str]:
    pending = status["queued"] + status["running"] + status.get("planned", 0)
    if status["total"] and status["succeeded"] + status.get("pruned", 0) == status["total"]:
        return "complete", "status-complete"
    if pending:
        return f"in progress: {status['queued'] + status.get('planned', 0)} queued, {status['running']} running", ""
    return f"finished, {status['failed']} failed", "status-failed"


def _subtitle(board: pd.DataFrame, status: dict[str, Any]) -> str:
    split, metric = board.attrs.get("split"), board.attrs.get("metric")
    if board.empty:
        return f"{status['succeeded']} of {status['total']} runs trained; no results yet."
    best = board.iloc[0]
    return (f"{status['succeeded']} of {status['total']} runs trained. Best combination: "
            f"#{int(best['combo_index'])} with {metric} {number(best[f'{metric}_mean'])} on the {split} split "
            f"(mean of {int(best['run_count'])} runs).")


def _splitset_text(queue: _Queue) -> str:
    splitset = data_queries.splitset_summary(queue.splitset_id)
    sizes = " · ".join(f"{name} {count}" for name, count in (splitset.split_sizes or {}).items())
    folds = f", {splitset.fold_count} folds" if splitset.fold_count else ""
    dataset = splitset.name or "dataset"
    return (f"#{splitset.id}: {dataset} ({splitset.row_count} rows x {splitset.column_count} columns); "
            f"{sizes}{folds}")


def _cards(queue: _Queue, board: pd.DataFrame, status: dict[str, Any]) -> list[dict[str, str]]:
    word, css = _status_word(status)
    grid = queue.hyperparameters
    grid_text = "; ".join(f"{name}: {space.describe(values)}" for name, values in grid.items()) or "none"
    split, metric = board.attrs.get("split"), board.attrs.get("metric")
    best = MISSING if board.empty else f"{number(board.iloc[0][f'{metric}_mean'])} {metric} ({split})"
    cards = [
        ("Queue", f"#{queue.id}", ""),
        ("Library", queue.library, ""),
        ("Analysis type", queue.analysis_type, ""),
        ("Status", word, css),
        ("Runs trained", f"{status['succeeded']} / {status['total']}", ""),
        ("Failed runs", str(status["failed"]), "status-failed" if status["failed"] else ""),
        ("Pruned runs", str(status.get("pruned", 0)), ""),
        ("Best score", best, ""),
        ("Combinations x repeats", f"{len(board) if not board.empty else MISSING} x {queue.repeat_count}", ""),
        ("Hyperparameters", grid_text, ""),
        ("Splitset", _splitset_text(queue), ""),
        ("Test split", "hidden from training and evaluation" if queue.hide_test else "evaluated", ""),
        ("Created", queue.created_at.strftime("%Y-%m-%d %H:%M") if queue.created_at else MISSING, ""),
    ]
    return [{"label": label, "value": value, "css": css} for label, value, css in cards]


def _hp_columns(board: pd.DataFrame) -> list[str]:
    """The leaderboard's hyperparameter columns (between ``combo_index`` and ``run_count``)."""
    return list(board.columns[board.columns.get_loc("combo_index") + 1: board.columns.get_loc("run_count")])


def _leaderboard(board: pd.DataFrame) -> dict[str, Any] | None:
    if board.empty:
        return None
    metric = board.attrs["metric"]
    hp_columns = _hp_columns(board)
    others = [c[: -len("_mean")] for c in board.columns if c.endswith("_mean") and c != f"{metric}_mean"]
    rows = []
    for row in board.head(LEADERBOARD_ROWS).to_dict("records"):
        std = row[f"{metric}_std"]
        rows.append({
            "rank": "pruned" if pd.isna(row["rank"]) else int(row["rank"]), "combo_index": int(row["combo_index"]),
            "hyperparameters": [str(row[c]) for c in hp_columns], "run_count": int(row["run_count"]),
            "best_predictor_id": int(row["best_predictor_id"]),
            "tied": bool(row.get("tied_with_best")) and not pd.isna(row["rank"]) and int(row["rank"]) != 1,
            "p_value": "" if pd.isna(row.get("p_value_vs_best", float("nan"))) else number(row["p_value_vs_best"]),
            "ranking": number(row[f"{metric}_mean"]) + ("" if pd.isna(std) else f" ± {number(std)}"),
            "min": number(row[f"{metric}_min"]), "max": number(row[f"{metric}_max"]),
            "others": [{stat: number(row[f"{name}_{stat}"]) for stat in ("mean", "std", "min", "max")}
                       for name in others],
        })
    return {
        "metric": metric, "split": board.attrs["split"],
        "direction": "higher" if board.attrs["higher_is_better"] else "lower",
        "hp_columns": hp_columns, "others": others, "rows": rows, "hidden": len(board) - LEADERBOARD_ROWS,
        "warning": board.attrs.get("warning"), "significance_note": board.attrs.get("significance_note"),
        "top_two": _top_two(board),
    }


def _top_two(board: pd.DataFrame) -> dict[str, Any] | None:
    """``queue.compare`` of the two best-ranked combinations: a sentence, its numbers and the posterior."""
    ranked = board[board["rank"].notna()]
    if len(ranked) < 2:
        return None
    a, b = int(ranked.iloc[0]["combo_index"]), int(ranked.iloc[1]["combo_index"])
    try:
        result = comparison.compare(board.attrs["queue_id"], a, b, metric=board.attrs["metric"],
                                    split=board.attrs["split"])
    except errors.ValidationError as exc:
        return {"a": a, "b": b, "error": str(exc)}
    return {"a": a, "b": b, "error": None, "summary": result.summary, "rows": comparison.comparison_rows(result),
            "image": comparison.comparison_png(result)}


def _metrics_table(predictor: Trained) -> tuple[list[str], list[dict[str, Any]]]:
    """(the splits, one ``{"name", "cells"}`` per metric) of a model's metrics per split."""
    by_split = predictor.metrics()
    splits = [s for s in tables.SPLIT_ORDER if s in by_split] + [s for s in by_split if s not in tables.SPLIT_ORDER]
    names = list(dict.fromkeys(name for split in splits for name in by_split[split]))
    return splits, [{"name": name, "cells": [number(by_split[split].get(name)) for split in splits]}
                    for name in names]


def _stored_importance(predictor: Trained, split: str) -> tuple[int, int | None] | None:
    """The permutation count and row sample of the result already computed for ``split`` that the report shows
    (the report never starts that work)."""
    return importance.shown(experiment_queries.feature_importance(predictor.id).get(split) or {})


def _model(queue: _Queue, predictor: Trained, place: int, row: dict[str, Any], hp_columns: list[str],
           splits: list[str]) -> dict[str, Any]:
    metric_splits, metrics = _metrics_table(predictor)
    registered = plugins.plots(queue.analysis_type)
    split_plots = []
    for split in splits:
        prediction = predictor.prediction(split)
        if prediction is None:
            continue
        figures = [figure_data(f"{name} ({split})", plots.plot_prediction, prediction, name) for name in registered]
        stored = _stored_importance(predictor, split)
        if stored is not None:
            figures.append(figure_data(f"feature importance ({split})", plots.plot_feature_importance, predictor.id,
                                       split=split, permutation_count=stored[0], sample_rows=stored[1]))
        split_plots.append({"name": split, "plots": figures})
    return {
        "place": place, "id": predictor.id, "combo_index": int(row["combo_index"]),
        "hyperparameters": ", ".join(f"{c}={row[c]}" for c in hp_columns) or "no hyperparameters",
        "run_count": int(row["run_count"]), "repeat_index": predictor.job.repeat_index,
        "fold_index": predictor.job.fold_index, "seconds_train": predictor.predictor.seconds_train,
        "metric_splits": metric_splits, "metrics": metrics,
        "learning_curve": figure_data("the learning curve", plots.plot_learning_curve, predictor.id,
                                      predictor.predictor.history, predictor.evaluated_splits()),
        "splits": split_plots,
    }


def _best_models(queue: _Queue, board: pd.DataFrame, best_count: int) -> list[dict[str, Any]]:
    if board.empty:
        return []
    split = board.attrs["split"]
    hp_columns = _hp_columns(board)
    models = []
    for place, row in enumerate(board.head(best_count).to_dict("records"), start=1):
        predictor = Trained.load(int(row["best_predictor_id"]))
        splits = [split] + (["test"] if place == 1 and split != "test" else [])
        models.append(_model(queue, predictor, place, row, hp_columns, splits))
    return models


def _failures(queue: _Queue, status: dict[str, Any]) -> dict[str, Any] | None:
    if not status["failed"]:
        return None
    rows = queries.failed_jobs(queue.id, limit=FAILED_JOBS_SHOWN)
    return {
        "count": status["failed"], "shown": len(rows),
        "jobs": [{"id": row.id, "run_index": row.run_index, "hyperparameters": str(row.hyperparameters),
                  "error": (row.error or "").splitlines()[0] if row.error else ""} for row in rows],
    }


def _search(queue: _Queue, board: pd.DataFrame) -> dict[str, Any]:
    """How the combinations were chosen and, once results exist, the search history and hyperparameter importance."""
    settings = experiment_queries.search_summary(queue.hyperparamset_id)
    figures = []
    if not board.empty:
        figures.append(figure_data("the optimisation history", search_plots.plot_search_history, queue.id))
        if len(board) >= 2:
            figures.append(figure_data("the hyperparameter importance", search_plots.plot_hyperparameter_importance,
                                       queue.id))
    return {**settings, "finished": not board.empty, "figures": figures}
