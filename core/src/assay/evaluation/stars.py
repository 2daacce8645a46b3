"""Starred models first (AIQC 6): the leaderboard as people read it, with the combinations they starred on top.

The ranking itself never changes (``rank`` and "the best" stay the metric's); only the order of the view does, so
code that asks for the best model gets the best model, starred or not.
"""

from __future__ import annotations

import pandas as pd

from assay.db.queries import lifecycle


def starred_first(board: pd.DataFrame, starred: set[int] | None = None) -> pd.DataFrame:
    """``board`` (a :func:`assay.evaluation.leaderboard.leaderboard`) with a ``starred`` column, its starred
    combinations first, each part in its ranked order.

    Args:
        board: the ranked leaderboard.
        starred: the queue's combinations with a starred model, when the caller already read them
            (default: read now, :func:`assay.db.queries.lifecycle.starred_combo_indexes`).
    """
    if starred is None:
        starred = lifecycle.starred_combo_indexes(board.attrs["queue_id"]) if len(board) else set()
    marked = board.assign(starred=board["combo_index"].isin(starred) if len(board) else pd.Series(dtype=bool))
    view = marked.sort_values("starred", ascending=False, kind="stable").reset_index(drop=True)
    view.attrs.update(board.attrs)
    return view
