"""The evaluation subcommands of ``assay``: ``report``, ``queues`` and ``leaderboard``.

Importing this module registers them with :func:`assay.cli.subcommand` (``assay.cli`` imports it when it builds
its parser). Each takes the parsed arguments and returns an exit code; errors are raised as :mod:`assay.errors`
exceptions and ``assay.cli.main`` turns them into a one-line message and an exit code.

Usage::

    assay report QUEUE_ID [-o report.html]
    assay queues
    assay leaderboard QUEUE_ID [--split SPLIT] [--metric METRIC] [--limit N]
"""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd

from assay.cli import EXIT_OK, existing_database, subcommand


def _queue(args: argparse.Namespace) -> Any:
    """Set up the database named by ``--url`` and load the queue ``args.queue_id``."""
    import assay
    from assay.objects.experiment import Queue

    assay.setup(existing_database(getattr(args, "url", None)))
    return Queue.get(args.queue_id)


def _table(frame: pd.DataFrame) -> str:
    """A frame as a plain-text table: floats to 4 decimals, missing values as '-'."""
    if frame.empty:
        return "(none)"
    return frame.to_string(index=False, na_rep="-", float_format=lambda value: f"{value:.4f}")


# --------------------------------------------------------------------------------------------------------------
# assay report
# --------------------------------------------------------------------------------------------------------------


def report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("queue_id", type=int, metavar="QUEUE_ID", help="the queue to report on")
    parser.add_argument("-o", "--output", default=None, metavar="PATH",
                        help="the HTML file to write (default: queue-QUEUE_ID-report.html)")


@subcommand("report", "write a queue's self-contained HTML report", arguments=report_arguments)
def report(args: argparse.Namespace) -> int:
    """``assay report QUEUE_ID -o report.html``: write the queue's self-contained HTML report."""
    queue = _queue(args)
    path = queue.report(args.output or f"queue-{queue.id}-report.html")
    print(f"wrote the report of queue {queue.id} to {path}")
    return EXIT_OK


# --------------------------------------------------------------------------------------------------------------
# assay queues
# --------------------------------------------------------------------------------------------------------------


def queues_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-score", action="store_true", help="skip the best score (faster on huge queues)")


def queue_overview(with_score: bool = True) -> pd.DataFrame:
    """Every queue: library, analysis type, progress counts and the best combination's mean main metric."""
    from assay.db.queries import results as queries
    from assay.evaluation import leaderboard

    queue_rows = queries.queue_overview_rows()
    counts = queries.job_state_counts()
    records = []
    for row in queue_rows:
        states = {state: counts[(row.id, state)] for state in ("succeeded", "failed", "running", "queued")}
        record = {"queue": row.id, "created": row.created_at.strftime("%Y-%m-%d %H:%M") if row.created_at else None,
                  "library": row.library, "analysis_type": row.analysis_type,
                  "done": f"{states['succeeded'] + states['failed']}/{sum(states.values())}", **states}
        if with_score:
            record["best"] = None
            if states["succeeded"]:
                board = leaderboard.leaderboard(row.id, significance=False)
                metric = board.attrs["metric"]
                record["best"] = f"{board.iloc[0][f'{metric}_mean']:.4f} {metric} ({board.attrs['split']})"
        records.append(record)
    return pd.DataFrame.from_records(records)


@subcommand("queues", "list every queue with its progress and best score", arguments=queues_arguments)
def queues(args: argparse.Namespace) -> int:
    """``assay queues``: every queue with its progress and best score."""
    import assay

    url = assay.setup(existing_database(getattr(args, "url", None)))
    overview = queue_overview(with_score=not getattr(args, "no_score", False))
    print(_table(overview) if not overview.empty else f"no queues in {url}")
    return EXIT_OK


# --------------------------------------------------------------------------------------------------------------
# assay leaderboard
# --------------------------------------------------------------------------------------------------------------


def leaderboard_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("queue_id", type=int, metavar="QUEUE_ID", help="the queue to rank")
    parser.add_argument("--split", default=None, help="compare on this split (default: validation, else test)")
    parser.add_argument("--metric", default=None, help="rank by this metric (default: the analysis type's main)")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="show only the best N combinations")


def leaderboard_text(board: pd.DataFrame, limit: int | None = None) -> str:
    """The leaderboard as text: ids, hyperparameters, the ranking metric's statistics and other metrics' means."""
    metric = board.attrs["metric"]
    ranking = [f"{metric}_{stat}" for stat in ("mean", "std", "min", "max")]
    others = [c for c in board.columns if c.endswith("_mean") and c != f"{metric}_mean"]
    front = list(board.columns[: board.columns.get_loc("best_predictor_id") + 1])
    tied = [c for c in ("tied_with_best", "p_value_vs_best") if c in board.columns]
    shown = board[front + tied + ranking + others]
    shown = shown.head(limit) if limit else shown
    title = (f"Queue {board.attrs.get('queue_id', '?')} leaderboard: {len(board)} combinations ranked by {metric} "
             f"on the {board.attrs['split']} split "
             f"({'higher' if board.attrs['higher_is_better'] else 'lower'} is better; tied_with_best: not "
             "significantly different from rank 1 at 0.05)")
    warning = f"\nwarning: {board.attrs['warning']}" if board.attrs.get("warning") else ""
    return f"{title}\n{_table(shown)}{warning}"


@subcommand("leaderboard", "print a queue's leaderboard (one row per combination)",
            arguments=leaderboard_arguments)
def leaderboard(args: argparse.Namespace) -> int:
    """``assay leaderboard QUEUE_ID``: print one row per combination, best first."""
    queue = _queue(args)
    board = queue.leaderboard(split=args.split, metric=args.metric)
    if board.empty:
        print(f"queue {queue.id} has no trained model yet; run it first")
    else:
        print(leaderboard_text(board, limit=args.limit))
    return EXIT_OK
