"""How the public objects display themselves in Jupyter (``_repr_html_``).

A Queue shows its progress and the top of its leaderboard, a Predictor its metrics per split and a learning-curve
thumbnail, a Splitset its split sizes and class balance, a Dataset its size, columns and label balance. The facts
come from the same queries and summaries as the web dashboard (:mod:`assay.db.queries.dashboard`,
:mod:`assay.dashboard.pages`), so a notebook and the dashboard agree. Styles are inline (notebook front ends
drop stylesheets) and every stored string is escaped.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from assay import errors
from assay.dashboard import pages
from assay.db.queries import dashboard as queries
from assay.evaluation import leaderboard as tables
from assay.evaluation import plots

#: leaderboard rows a queue shows
TOP_ROWS = 5
COLUMNS_SHOWN = 12
CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
                "#17becf"]
STATE_COLORS = {"succeeded": "#1a7f37", "pruned": "#8e6bbf", "failed": "#c62828", "running": "#e08a00",
                "queued": "#c9d1db"}

_BOX = "font-family: -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; font-size: 13px; line-height: 1.45;"
_TABLE = "border-collapse: collapse; margin: 4px 0 8px;"
_CELL = "padding: 3px 9px; border-bottom: 1px solid #dfe3e8; text-align: {align}; white-space: nowrap;"
_HEAD = "padding: 3px 9px; border-bottom: 1px solid #c7ced6; background: #f5f7fa; text-align: {align};"
_MUTED = "color: #5f6b7a;"

escape = html.escape


def _cell(value: Any, align: str = "left", head: bool = False, bold: bool = False) -> str:
    tag = "th" if head else "td"
    style = (_HEAD if head else _CELL).format(align=align) + (" font-weight: 600;" if bold else "")
    return f'<{tag} style="{style}">{value}</{tag}>'


def _table(header: list[tuple[str, str]], rows: list[list[tuple[str, str]]], css_class: str) -> str:
    """``header``: (escaped text, align); ``rows``: lists of (escaped html, align)."""
    head = "".join(_cell(text, align, head=True) for text, align in header)
    body = "".join("<tr>" + "".join(_cell(text, align) for text, align in row) + "</tr>" for row in rows)
    return f'<table class="{css_class}" style="{_TABLE}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _box(kind: str, title: str, subtitle: str, body: str) -> str:
    return (f'<div class="assay-repr assay-{kind}" style="{_BOX}">'
            f'<div style="font-size: 15px; font-weight: 600;">{title}</div>'
            f'<div style="{_MUTED} margin-bottom: 6px;">{subtitle}</div>{body}</div>')


def _bar(parts: list[tuple[float, str, str]], width: int = 320, height: int = 10) -> str:
    """A stacked horizontal bar as inline SVG: (percent, colour, tooltip) per part."""
    x, rects = 0.0, []
    for percent, color, tip in parts:
        rects.append(f'<rect x="{x:.3f}" y="0" width="{percent:.3f}" height="{height}" fill="{color}">'
                     f"<title>{escape(tip)}</title></rect>")
        x += percent
    return (f'<svg viewBox="0 0 100 {height}" preserveAspectRatio="none" width="{width}" height="{height}" '
            f'style="background: #f0f2f5; border-radius: 3px;">{"".join(rects)}</svg>')


def _progress(counts: dict[str, int]) -> str:
    state = pages.progress(counts)
    parts = [(state["percent"].get(name, 0.0), STATE_COLORS.get(name, "#888"), f"{name}: {counts.get(name, 0)}")
             for name in counts]
    words = " · ".join(f"<b>{count}</b> {escape(name)}" for name, count in counts.items())
    return f'<div>{_bar(parts)}</div><div style="{_MUTED}">{state["finished"]}/{state["total"]} done · {words}</div>'


def _dataset_name(summary: dict[str, Any]) -> str:
    return escape(str(summary["dataset_name"] or f"dataset #{summary['dataset_id']}"))


# ----------------------------------------------------------------------------------------------------------------


def queue_html(queue_id: int) -> str:
    """A queue: progress per job state, the best combinations and the first failures."""
    summary = queries.queue_summary(queue_id)
    if summary is None:
        return f"<p>queue {queue_id} is not in this database</p>"
    title = (f"Queue #{summary['id']} <span style=\"{_MUTED} font-weight: normal;\">"
             f"{escape(summary['analysis_type'].replace('_', ' '))} with {escape(summary['library'])}</span>")
    subtitle = (f"splitset #{summary['splitset_id']} of {_dataset_name(summary)} · "
                f"{summary['combination_count']} combinations &times; {summary['repeat_count']} repeats")
    body = _progress(summary["counts"])
    if summary["counts"].get("succeeded"):
        try:
            board = tables.leaderboard(queue_id)
        except errors.AssayError as exc:
            body += f'<p style="color: #c62828;">{escape(str(exc))}</p>'
        else:
            body += _leaderboard(board)
    failed = queries.failed_jobs(queue_id, limit=3)
    if failed:
        items = "".join(f"<li>run {job['run_index']}: <code>{escape(job['error'] or 'no message')}</code></li>"
                        for job in failed)
        body += (f'<div style="color: #c62828; margin-top: 4px;">Failed jobs:</div>'
                 f'<ul style="margin: 2px 0;">{items}</ul>')
    return _box("queue", title, subtitle, body)


def _leaderboard(board: Any) -> str:
    metric, split = board.attrs["metric"], board.attrs["split"]
    hp_columns = [column for column in board.columns if column not in ("rank", "combo_index", "run_count",
                  "best_predictor_id", "pruned", "p_value_vs_best", "tied_with_best")
                  and not column.endswith(tuple(f"_{stat}" for stat in tables.STATISTICS))]
    header = [("rank", "right"), *[(escape(column), "left") for column in hp_columns], ("runs", "right"),
              (escape(f"{metric} ({split})"), "right"), ("best predictor", "right")]
    rows = []
    for record in board.head(TOP_ROWS).to_dict("records"):
        std = record[f"{metric}_std"]
        score = pages.number(record[f"{metric}_mean"]) + (f" ± {pages.number(std)}" if std == std else "")
        tied = " (tied with best)" if record.get("tied_with_best") and str(record["rank"]) != "1" else ""
        rows.append([(str(record["rank"]) + tied, "right"),
                     *[(escape(pages.number(record[column])), "left") for column in hp_columns],
                     (str(record["run_count"]), "right"), (escape(score), "right"),
                     (f"#{int(record['best_predictor_id'])}", "right")])
    more = f'<div style="{_MUTED}">top {TOP_ROWS} of {len(board)}: queue.leaderboard() has them all</div>' \
        if len(board) > TOP_ROWS else ""
    warning = board.attrs.get("warning")
    warning = f'<div style="color: #9a5b00;">{escape(warning)}</div>' if warning else ""
    return warning + _table(header, rows, "assay-leaderboard") + more


def predictor_html(predictor_id: int) -> str:
    """A trained model: hyperparameters, metrics per split and a learning-curve thumbnail."""
    summary = queries.predictor_summary(predictor_id)
    if summary is None:
        return f"<p>predictor {predictor_id} is not in this database</p>"
    metrics = queries.metrics_by_split(predictor_id)
    table = pages.metrics_table(metrics, summary["analysis_type"])
    title = (f"Predictor #{summary['id']} <span style=\"{_MUTED} font-weight: normal;\">"
             f"{escape(summary['analysis_type'].replace('_', ' '))} with {escape(summary['library'])}</span>")
    hyperparameters = ", ".join(f"{escape(str(name))}={escape(pages.number(value))}"
                                for name, value in (summary["hyperparameters"] or {}).items())
    subtitle = (f"queue #{summary['queue_id']}, run {summary['run_index']}, repeat {summary['repeat_index']}"
                + (f", fold {summary['fold_index']}" if summary["fold_index"] is not None else "")
                + (f" · {hyperparameters}" if hyperparameters else ""))
    rows = [[(escape(row["metric"].replace("_", " ")), "left"), *[(escape(value), "right") for value in row["values"]]]
            for row in table["rows"]]
    metrics_html = _table([("metric", "left"), *[(escape(split), "right") for split in table["splits"]]], rows,
                          "assay-metrics")
    thumbnail = _learning_curve_thumbnail(summary, list(metrics))
    conformal = pages.conformal_summary(predictor_id)
    conformal_html = "" if conformal is None else _table(
        [("conformal prediction", "left"), ("", "left")],
        [[(escape(label), "left"), (escape(text), "left")] for label, text in conformal["rows"]], "assay-conformal")
    body = (f'<div style="display: flex; gap: 18px; align-items: flex-start; flex-wrap: wrap;">'
            f"{metrics_html}{conformal_html}{thumbnail}</div>")
    return _box("predictor", title, subtitle, body)


def _learning_curve_thumbnail(summary: dict[str, Any], splits: list[str]) -> str:
    if not summary["history"]:
        return ""
    figure = plots.plot_learning_curve(summary["id"], summary["history"], splits)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=60, facecolor="white")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<img class="assay-learning-curve" src="data:image/png;base64,{data}" '
            f'alt="learning curve of predictor {summary["id"]}" style="max-width: 420px; border: 1px solid #dfe3e8;">')


def splitset_html(splitset_id: int) -> str:
    """A splitset: rows per split (and fold) and the class balance of each."""
    summary = queries.splitset_summary(splitset_id)
    if summary is None:
        return f"<p>splitset {splitset_id} is not in this database</p>"
    folds = [{"fold_index": fold["fold_index"], "sizes": {name: len(rows) for name, rows in fold["samples"].items()}}
             for fold in queries.fold_samples(splitset_id)]
    title = (f"Splitset #{summary['id']} <span style=\"{_MUTED} font-weight: normal;\">of "
             f"{_dataset_name(summary)}</span>")
    label = summary["label_column"]
    subtitle = (f"{summary['row_count']} rows &times; {summary['column_count']} columns · "
                + (f"label <b>{escape(str(label))}</b>" if label is not None else "no label")
                + (f" · {len(folds)} folds" if folds else ""))
    balance = pages.class_balance(splitset_id, summary, folds)
    if balance is not None and balance["categorical"]:
        header = [("split", "left"), ("rows", "right"), ("classes", "left"),
                  *[(escape(name), "right") for name in balance["classes"]]]
        rows = []
        for row in balance["rows"]:
            parts = [(cell["percent"], CLASS_COLORS[i % len(CLASS_COLORS)], f"{balance['classes'][i]}: {cell['count']}")
                     for i, cell in enumerate(row["cells"])]
            rows.append([(escape(row["name"]), "left"), (str(row["total"]), "right"), (_bar(parts, 160), "left"),
                         *[(f"{cell['count']} <span style=\"{_MUTED}\">{cell['percent']:.0f}%</span>", "right")
                           for cell in row["cells"]]])
        body = _table(header, rows, "assay-balance")
    elif balance is not None:
        header = [("split", "left"), ("rows", "right")] + [(stat, "right") for stat in ("mean", "std", "min", "max")]
        rows = [[(escape(row["name"]), "left"), (str(row["count"]), "right"),
                 *[(escape(row[stat]), "right") for stat in ("mean", "std", "min", "max")]] for row in balance["rows"]]
        body = _table(header, rows, "assay-balance")
    else:
        sizes = summary["split_sizes"] or {}
        body = _table([("split", "left"), ("rows", "right")],
                      [[(escape(name), "left"), (str(count), "right")] for name, count in sizes.items()],
                      "assay-splits")
    return _box("splitset", title, subtitle, body)


def dataset_html(dataset_id: int) -> str:
    """A dataset: kind, shape, its columns with dtypes and, when a label was defined on it, the class counts."""
    summary = queries.dataset_summary(dataset_id)
    if summary is None:
        return f"<p>dataset {dataset_id} is not in this database</p>"
    title = (f"Dataset #{summary['id']} <span style=\"{_MUTED} font-weight: normal;\">"
             f"{escape(str(summary['name'] or ''))}</span>")
    subtitle = (f"{escape(summary['kind'])} · {summary['row_count']} rows &times; {summary['column_count']} columns · "
                f"sha256 {escape(summary['sha256'][:12])}…")
    columns = summary["columns"] or []
    dtypes = summary["dtypes"] or {}
    shown = [[(f"<code>{escape(str(name))}</code>", "left"), (escape(str(dtypes.get(name, ""))), "left")]
             for name in columns[:COLUMNS_SHOWN]]
    body = _table([("column", "left"), ("dtype", "left")], shown, "assay-columns")
    if len(columns) > COLUMNS_SHOWN:
        body += f'<div style="{_MUTED}">and {len(columns) - COLUMNS_SHOWN} more columns</div>'
    label = queries.label_of_dataset(dataset_id)
    if label is not None and label["class_counts"]:
        counts = label["class_counts"]
        total = sum(counts.values()) or 1
        parts = [(100.0 * count / total, CLASS_COLORS[i % len(CLASS_COLORS)], f"{name}: {count}")
                 for i, (name, count) in enumerate(counts.items())]
        rows = [[(escape(str(name)), "left"), (str(count), "right"), (f"{100.0 * count / total:.1f}%", "right")]
                for name, count in counts.items()]
        body += (f'<div style="margin-top: 6px;">Classes of <b>{escape(str(label["column"]))}</b></div>'
                 f"<div>{_bar(parts)}</div>" + _table([("class", "left"), ("rows", "right"), ("share", "right")],
                                                       rows, "assay-classes"))
    return _box("dataset", title, subtitle, body)
