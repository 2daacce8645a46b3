"""``queue.report(path)``: one self-contained HTML file summarising a queue.

The page holds the queue's summary, the leaderboard, the comparison of every model and, for the best models,
their metrics per split, learning curves and the analysis type's plots (from every plugin's ``assay_plots``).
Images are PNGs embedded as base64, so the file can be mailed or archived alone. The layout is
``report.html`` next to this module, filled with :class:`string.Template`.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
import os
import string
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pandas as pd

from assay import __version__, errors, plugins
from assay.db.models import AlgorithmRow, QueueRow
from assay.db.queries import data as data_queries
from assay.db.queries import experiments as experiment_queries
from assay.db.queries import results as queries
from assay.evaluation import leaderboard as tables
from assay.evaluation import plots
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

escape = html.escape


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
    analysis_type = queue.analysis_type
    values = {
        "version": escape(__version__),
        "title": escape(f"Queue {queue.id}: {analysis_type.replace('_', ' ')} with {queue.library}"),
        "subtitle": escape(_subtitle(board, status)),
        "cards": _cards(queue, board, status),
        "leaderboard": _leaderboard_table(board),
        "comparison": _comparison(queue, board),
        "models": _best_models(queue, board, best_count),
        "failures": _failures(queue, status),
        "written": escape(dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
    }
    template = resources.files("assay.evaluation").joinpath("report.html").read_text(encoding="utf-8")
    return string.Template(template).substitute(values)


# --------------------------------------------------------------------------------------------------------------
# pieces of the page
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


def figure_html(figure: Figure, caption: str = "") -> str:
    """A figure as an embedded PNG (base64), with an accessible description.

    Every figure is shown at :data:`PIXELS_PER_INCH` of its size in inches, so text has one size across the
    page whatever the figure's shape; it is rendered at :data:`DPI` to stay sharp on dense screens.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")  # constrained layout already fits it
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    alt = escape(caption or (figure.texts[0].get_text() if figure.texts else "plot"))
    width = round(figure.get_figwidth() * PIXELS_PER_INCH)
    return f'<figure><img src="data:image/png;base64,{data}" alt="{alt}" style="width: {width}px"></figure>'


def _safe_figure(what: str, draw: Any, *args: Any, **kwargs: Any) -> str:
    """A figure, or a one-line note when it cannot be drawn.

    A plot a plugin registered may fail on data it did not expect; the rest of the report is still worth having.
    """
    try:
        return figure_html(draw(*args, **kwargs))
    except Exception as exc:  # any failure of a plugin's plot (see the docstring)
        reason = escape(f"{type(exc).__name__}: {exc}")
        return f'<p class="plot-error">{escape(what)} could not be drawn: {reason}</p>'


def _status_word(status: dict[str, Any]) -> tuple[str, str]:
    pending = status["queued"] + status["running"]
    if status["total"] and status["succeeded"] == status["total"]:
        return "complete", "status-complete"
    if pending:
        return f"in progress: {status['queued']} queued, {status['running']} running", ""
    return f"finished, {status['failed']} failed", "status-failed"


def _subtitle(board: pd.DataFrame, status: dict[str, Any]) -> str:
    split, metric = board.attrs.get("split"), board.attrs.get("metric")
    if board.empty:
        return f"{status['succeeded']} of {status['total']} runs trained; no results yet."
    best = board.iloc[0]
    return (f"{status['succeeded']} of {status['total']} runs trained. Best combination: "
            f"#{int(best['combo_index'])} with {metric} {number(best[f'{metric}_mean'])} on the {split} split "
            f"(mean of {int(best['run_count'])} runs).")


def _card(label: str, value: str, css: str = "") -> str:
    return (f'<div class="card"><div class="label">{escape(label)}</div>'
            f'<div class="value {css}">{escape(value)}</div></div>')


def _splitset_text(queue: _Queue) -> str:
    splitset = data_queries.splitset_summary(queue.splitset_id)
    sizes = " · ".join(f"{name} {count}" for name, count in (splitset.split_sizes or {}).items())
    folds = f", {splitset.fold_count} folds" if splitset.fold_count else ""
    dataset = splitset.name or "dataset"
    return (f"#{splitset.id}: {dataset} ({splitset.row_count} rows x {splitset.column_count} columns); "
            f"{sizes}{folds}")


def _cards(queue: _Queue, board: pd.DataFrame, status: dict[str, Any]) -> str:
    word, css = _status_word(status)
    grid = queue.hyperparameters
    grid_text = "; ".join(f"{name}: {', '.join(map(str, values))}" for name, values in grid.items()) or "none"
    split, metric = board.attrs.get("split"), board.attrs.get("metric")
    best = MISSING if board.empty else f"{number(board.iloc[0][f'{metric}_mean'])} {metric} ({split})"
    cards = [
        _card("Queue", f"#{queue.id}"),
        _card("Library", queue.library),
        _card("Analysis type", queue.analysis_type),
        _card("Status", word, css),
        _card("Runs trained", f"{status['succeeded']} / {status['total']}"),
        _card("Failed runs", str(status["failed"]), "status-failed" if status["failed"] else ""),
        _card("Best score", best),
        _card("Combinations x repeats", f"{len(board) if not board.empty else MISSING} x {queue.repeat_count}"),
        _card("Hyperparameters", grid_text),
        _card("Splitset", _splitset_text(queue)),
        _card("Test split", "hidden from training and evaluation" if queue.hide_test else "evaluated"),
        _card("Created", queue.created_at.strftime("%Y-%m-%d %H:%M") if queue.created_at else MISSING),
    ]
    return "".join(cards)


def _hp_columns(board: pd.DataFrame) -> list[str]:
    """The leaderboard's hyperparameter columns (between ``combo_index`` and ``run_count``)."""
    return list(board.columns[board.columns.get_loc("combo_index") + 1: board.columns.get_loc("run_count")])


def _leaderboard_table(board: pd.DataFrame) -> str:
    if board.empty:
        return '<p class="note">No trained model yet: run <code>queue.run_jobs()</code>.</p>'
    split, metric = board.attrs["split"], board.attrs["metric"]
    direction = "higher" if board.attrs["higher_is_better"] else "lower"
    hp_columns = _hp_columns(board)
    others = [c[: -len("_mean")] for c in board.columns if c.endswith("_mean") and c != f"{metric}_mean"]
    header = "".join(
        [f"<th>{name}</th>" for name in ("#", "combination")]
        + [f'<th class="text">{escape(name)}</th>' for name in hp_columns]
        + ["<th>runs</th>", "<th>best model</th>",
           f'<th class="ranking">{escape(metric)}<br>mean ± std</th>', '<th class="ranking">min / max</th>']
        + [f"<th>{escape(name)}<br>mean</th>" for name in others]
    )
    rows = []
    for row in board.head(LEADERBOARD_ROWS).to_dict("records"):
        std = row[f"{metric}_std"]
        ranking = number(row[f"{metric}_mean"]) + ("" if pd.isna(std) else f" ± {number(std)}")
        cells = (
            [f"<td>{int(row['rank'])}</td>", f"<td>{int(row['combo_index'])}</td>"]
            + [f'<td class="text">{escape(str(row[c]))}</td>' for c in hp_columns]
            + [f"<td>{int(row['run_count'])}</td>", f"<td>predictor {int(row['best_predictor_id'])}</td>",
               f'<td class="ranking">{escape(ranking)}</td>',
               f'<td class="ranking">{number(row[f"{metric}_min"])} / {number(row[f"{metric}_max"])}</td>']
            # the other metrics' spread is one hover away, keeping the table narrow enough to read
            + [f'<td title="std {number(row[f"{name}_std"])}, min {number(row[f"{name}_min"])}, '
               f'max {number(row[f"{name}_max"])}">{number(row[f"{name}_mean"])}</td>' for name in others]
        )
        rows.append(f'<tr class="{"best" if row["rank"] == 1 else ""}">{"".join(cells)}</tr>')
    more = len(board) - LEADERBOARD_ROWS
    note = (f'<p class="note">Ranked by mean <b>{escape(metric)}</b> on the <b>{escape(split)}</b> split '
            f"({direction} is better) over each combination's repeats and folds. Hover a mean for its spread."
            + (f" {more} more combinations are not shown; <code>queue.leaderboard()</code> has them all." if more > 0
               else "") + "</p>")
    return (f'{note}<div class="table-wrap"><table><thead><tr>{header}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _comparison(queue: _Queue, board: pd.DataFrame) -> str:
    if board.empty:
        return '<p class="note">Nothing to compare yet.</p>'
    note = ('<p class="note">Left: every model\'s loss against the ranking metric (star: the best model). '
            "Then one panel per hyperparameter: each model's score at each value, with the mean ± std.</p>")
    return note + _safe_figure("the comparison", plots.plot_performance, queue.id, split=board.attrs["split"],
                               metric=board.attrs["metric"])


def _metrics_table(predictor: Trained) -> str:
    by_split = predictor.metrics()
    splits = [s for s in tables.SPLIT_ORDER if s in by_split] + [s for s in by_split if s not in tables.SPLIT_ORDER]
    names = list(dict.fromkeys(name for split in splits for name in by_split[split]))
    header = '<th class="text">metric</th>' + "".join(f"<th>{escape(split)}</th>" for split in splits)
    rows = "".join(
        f'<tr><td class="text">{escape(name)}</td>'
        + "".join(f"<td>{number(by_split[split].get(name))}</td>" for split in splits) + "</tr>"
        for name in names
    )
    return f'<div class="table-wrap"><table><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table></div>'


def _stored_importance(predictor: Trained, split: str) -> int | None:
    """The largest permutation count already computed for ``split`` (the report never starts that work)."""
    stored = experiment_queries.feature_importance(predictor.id).get(split) or {}
    return max((int(count) for count in stored), default=None)


def _model_section(queue: _Queue, predictor: Trained, place: int, row: dict[str, Any], hp_columns: list[str],
                   splits: list[str]) -> str:
    hyperparameters = ", ".join(f"{c}={row[c]}" for c in hp_columns) or "no hyperparameters"
    job = predictor.job
    fold = f", fold {job.fold_index}" if job.fold_index is not None else ""
    parts = [
        f'<div class="model"><h3><span class="badge">#{place}</span>predictor {predictor.id}: combination '
        f"{int(row['combo_index'])} ({escape(hyperparameters)})</h3>",
        f'<p class="note">The best of its combination\'s {int(row["run_count"])} runs: repeat {job.repeat_index}'
        f"{fold}, trained in {predictor.predictor.seconds_train:.1f} s.</p>",
        '<div class="plots"><div><h4>Metrics per split</h4>', _metrics_table(predictor), "</div>",
        _safe_figure("the learning curve", plots.plot_learning_curve, predictor.id, predictor.predictor.history,
                     predictor.evaluated_splits()), "</div>",
    ]
    registered = plugins.plots(queue.analysis_type)
    for split in splits:
        prediction = predictor.prediction(split)
        if prediction is None:
            continue
        parts.append(f'<h4>{escape(split.capitalize())} split</h4><div class="grid">')
        for name in registered:
            parts.append(_safe_figure(f"{name} ({split})", plots.plot_prediction, prediction, name))
        count = _stored_importance(predictor, split)
        if count is not None:
            parts.append(_safe_figure(f"feature importance ({split})", plots.plot_feature_importance, predictor.id,
                                      split=split, permutation_count=count))
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def _best_models(queue: _Queue, board: pd.DataFrame, best_count: int) -> str:
    if board.empty:
        return '<p class="note">No trained model yet.</p>'
    split = board.attrs["split"]
    hp_columns = _hp_columns(board)
    sections = [
        '<p class="note">The best model of each of the top combinations on the leaderboard. Plots are drawn on the '
        f"{escape(split)} split (the first model's also on the test split). Permutation feature importance appears "
        "once computed: <code>predictor.feature_importance()</code>.</p>"
    ]
    for place, row in enumerate(board.head(best_count).to_dict("records"), start=1):
        predictor = Trained.load(int(row["best_predictor_id"]))
        splits = [split] + (["test"] if place == 1 and split != "test" else [])
        sections.append(_model_section(queue, predictor, place, row, hp_columns, splits))
    return "".join(sections)


def _failures(queue: _Queue, status: dict[str, Any]) -> str:
    if not status["failed"]:
        return ""
    rows = queries.failed_jobs(queue.id, limit=FAILED_JOBS_SHOWN)
    body = "".join(
        f'<tr><td>{row.id}</td><td>{row.run_index}</td><td class="text">{escape(str(row.hyperparameters))}</td>'
        f'<td class="error">{escape((row.error or "").splitlines()[0] if row.error else "")}</td></tr>'
        for row in rows
    )
    shown = f"the first {len(rows)} of " if status["failed"] > len(rows) else ""
    return (f'<section><h2>Failed runs</h2><p class="note">{shown}{status["failed"]} failed runs; '
            "<code>assay.Job.get(id).traceback</code> has the details and <code>queue.retry_failed()</code> queues "
            'them again.</p><div class="table-wrap"><table><thead><tr><th>job</th><th>run</th>'
            '<th class="text">hyperparameters</th><th class="text">error</th></tr></thead>'
            f"<tbody>{body}</tbody></table></div></section>")
