"""The queue page's leaderboard: the Python API's leaderboard sorted, filtered and paged on the server.

Sorting and filtering happen on the whole leaderboard (a thousand combinations or more), and only one page of
rows is rendered, so the page stays small and quick whatever the queue's size. The view lives in the address
(``?sort=accuracy_mean&order=asc&filter=neuron_count%3D12&page=2``): links work without JavaScript, and with it
the page swaps in the new table without a reload.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

import attrs
import numpy as np
import pandas as pd

from assay.dashboard.formatting import number
from assay.evaluation import leaderboard as tables

#: rows per page of the leaderboard
PAGE_ROWS = 50
#: leaderboard columns that are neither hyperparameters nor statistics (``pruned``: a run stopped early)
FIXED_COLUMNS = ("rank", "combo_index", "run_count", "best_predictor_id", "pruned", "p_value_vs_best",
                 "tied_with_best", "starred")
SORTS = ("asc", "desc")


@attrs.frozen
class BoardView:
    """How the leaderboard is shown: chosen split and metric, sort column and order, filter text, page."""

    split: str | None = None
    metric: str | None = None
    sort: str | None = None
    order: str = "asc"
    filter: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, params: Any) -> BoardView:
        """From request query parameters; anything malformed falls back to the default view."""
        try:
            page = max(1, int(params.get("page") or 1))
        except ValueError:
            page = 1
        order = params.get("order") if params.get("order") in SORTS else "asc"
        return cls(split=params.get("split") or None, metric=params.get("metric") or None,
                   sort=params.get("sort") or None, order=order, filter=(params.get("filter") or "")[:200], page=page)

    def query(self, **changes: Any) -> str:
        """This view's query string with ``changes`` applied (empty values left out)."""
        values = attrs.asdict(self) | changes
        return "?" + urlencode({key: value for key, value in values.items()
                                if value not in (None, "") and not (key == "page" and value == 1)
                                and not (key == "order" and value == "asc" and not values.get("sort"))})


def hyperparameter_columns(board: pd.DataFrame) -> list[str]:
    statistics = tuple(f"_{stat}" for stat in tables.STATISTICS)
    return [column for column in board.columns if column not in FIXED_COLUMNS and not column.endswith(statistics)]


def metric_names(board: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(column[: -len("_mean")] for column in board.columns if column.endswith("_mean")))


def _text(value: Any) -> str:
    return number(value)


def filtered(board: pd.DataFrame, text: str) -> pd.DataFrame:
    """The rows matching every token of ``text``: ``name=value`` compares a hyperparameter's shown value (a
    prefix is enough), any other token is looked for in the row's hyperparameters and scores."""
    tokens = text.lower().split()
    if not tokens or board.empty:
        return board
    hp_columns = hyperparameter_columns(board)
    shown = {column: board[column].map(_text).str.lower() for column in hp_columns}
    scores = [f"{name}_mean" for name in metric_names(board)]
    everything = pd.Series("", index=board.index)
    for column in hp_columns:
        everything = everything + " " + column.lower() + "=" + shown[column]
    for column in scores:
        everything = everything + " " + board[column].map(_text)
    keep = pd.Series(True, index=board.index)
    for token in tokens:
        name, equals, value = token.partition("=")
        columns = [column for column in hp_columns if column.lower() == name] if equals else []
        if columns:
            keep &= shown[columns[0]].str.startswith(value)
        else:
            keep &= everything.str.contains(token, regex=False)
    return board[keep]


def sorted_board(board: pd.DataFrame, column: str | None, order: str) -> pd.DataFrame:
    """Sorted on ``column`` (missing values last either way, ties in rank order); unknown columns keep the rank."""
    if column is None or column not in board.columns:
        return board
    values = board[column]
    numeric = pd.to_numeric(values, errors="coerce")
    # numbers compare as numbers; text values (e.g. an activation name) as shown
    key = numeric if numeric.notna().sum() == values.notna().sum() else values.map(_text)
    missing = values.isna()
    order_frame = pd.DataFrame({"missing": missing.to_numpy(), "key": key.to_numpy(),
                                "position": np.arange(len(board))}, index=board.index)
    order_frame = order_frame.sort_values(["missing", "key", "position"],
                                          ascending=[True, order == "asc", True], kind="stable")
    return board.loc[order_frame.index]


def leaderboard_table(board: pd.DataFrame, view: BoardView) -> dict[str, Any]:
    """One page of the leaderboard as header cells (with their sort links) and rows of display cells."""
    metric, split = board.attrs["metric"], board.attrs["split"]
    analysis_type = board.attrs["analysis_type"]
    hp_columns = hyperparameter_columns(board)
    names = metric_names(board)
    shown = sorted_board(filtered(board, view.filter), view.sort, view.order)
    page_count = max(1, math.ceil(len(shown) / PAGE_ROWS))
    page = min(view.page, page_count)

    def header(label: str, column: str, kind: str, **extra: Any) -> dict[str, Any]:
        active = view.sort == column
        next_order = ("desc" if view.order == "asc" else "asc") if active else (
            "desc" if kind == "metric" and extra.get("better") == "higher" else "asc")
        return {"label": label, "column": column, "kind": kind, "href": view.query(sort=column, order=next_order,
                                                                                    page=1),
                "sorted": ("ascending" if view.order == "asc" else "descending") if active else None, **extra}

    headers = ([header("rank", "rank", "number"), header("combo", "combo_index", "number")]
               + [header(column, column, "hyperparameter") for column in hp_columns]
               + [header("runs", "run_count", "number"), header("best model", "best_predictor_id", "link")]
               + [header(name, f"{name}_mean", "metric", ranking=name == metric,
                         better="higher" if tables.higher_is_better(name, analysis_type) else "lower")
                  for name in names])
    rows = []
    for record in shown.iloc[(page - 1) * PAGE_ROWS: page * PAGE_ROWS].to_dict("records"):
        best = record["best_predictor_id"]
        rows.append({
            "rank": _text(record["rank"]), "combo": _text(record["combo_index"]),
            "pruned": bool(record.get("pruned", False)), "starred": bool(record.get("starred", False)),
            "tied": bool(record.get("tied_with_best", False)) and _text(record["rank"]) != "1",
            "p_value": _std(record.get("p_value_vs_best")),
            "hyperparameters": [(column, _text(record[column])) for column in hp_columns],
            "runs": _text(record["run_count"]),
            "best": None if best is None or (isinstance(best, float) and math.isnan(best)) else int(best),
            "metrics": [(_text(record[f"{name}_mean"]), _std(record.get(f"{name}_std")), name == metric)
                        for name in names],
        })
    return {"headers": headers, "rows": rows, "metric": metric, "split": split, "total": len(board),
            "matching": len(shown), "page": page, "page_count": page_count,
            "previous": view.query(page=page - 1) if page > 1 else None,
            "next": view.query(page=page + 1) if page < page_count else None,
            "higher_is_better": board.attrs["higher_is_better"], "filter": view.filter,
            "best_overall": None if board.empty else _best_id(board), "warning": board.attrs.get("warning"),
            "tied_count": int(board["tied_with_best"].sum()) - 1 if "tied_with_best" in board and len(board) else 0,
            "significance_pending": bool(board.attrs.get("significance_pending")),
            "significance_error": board.attrs.get("significance_error")}


def _std(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else _text(value)


def _best_id(board: pd.DataFrame) -> int | None:
    """The best model: rank 1's (starred combinations may be listed before it)."""
    ranked = board[board["rank"] == 1] if "starred" in board.columns else board
    value = (ranked if len(ranked) else board).iloc[0]["best_predictor_id"]
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)
