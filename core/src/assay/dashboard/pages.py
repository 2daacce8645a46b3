"""What each dashboard page shows, gathered as plain dicts for its template; no web framework here.

Facts come from :mod:`assay.db.queries.dashboard` (small columns, a fixed number of queries), tables and figures from
:mod:`assay.evaluation` (the same leaderboard and plots as the Python API). Leaderboards and class balances
are cached: a leaderboard under the queue's progress signature (recomputed only after a job finished), a
splitset's balance for good (splitsets never change).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from queue import SimpleQueue
from typing import Any

import numpy as np
import pandas as pd

from assay import errors, plugins
from assay.dashboard import ensembles
from assay.dashboard.board import BoardView, leaderboard_table
from assay.dashboard.formatting import MISSING, number
from assay.db.queries import comparison as comparison_queries
from assay.db.queries import dashboard as queries
from assay.db.queries import lifecycle
from assay.evaluation import comparison, importance
from assay.evaluation import leaderboard as tables
from assay.inference import coverage

#: rows of a predictions table per page
PREDICTION_ROWS = 50
FAILED_JOBS_SHOWN = 20
#: class-probability columns shown in a predictions table
PROBABILITY_COLUMNS = 10
COMPARE_MIN, COMPARE_MAX = 2, 4
#: values of one hyperparameter listed on a queue page (a grid of 10,000 seeds lists the first ones and a count)
GRID_VALUES_SHOWN = 50


class _Lru:
    """A small thread-safe LRU of computed values."""

    def __init__(self, size: int):
        self._size, self._items, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        self.put(key, value)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class _Serial:
    """Work done one piece at a time, in order, on one daemon thread started when first needed: the p-values of
    several leaderboards (each reading stored predictions) are never computed at once."""

    def __init__(self, name: str):
        self._name, self._work, self._lock = name, SimpleQueue(), threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, function: Callable[[], Any]) -> None:
        """Run ``function()`` after the work submitted before it (it handles its own errors)."""
        self._work.put(function)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            work = self._work.get()
            try:
                work()
            except Exception:  # noqa: BLE001 - the work reports its own errors; the thread must go on serving
                continue


def progress(counts: dict[str, int]) -> dict[str, Any]:
    """Counts with their total, how many finished and the percentage of each state (for a stacked bar)."""
    total = sum(counts.values())
    finished = total - counts.get("queued", 0) - counts.get("running", 0)
    return {"counts": counts, "total": total, "finished": finished,
            "percent": {state: (100.0 * count / total if total else 0.0) for state, count in counts.items()},
            "active": bool(counts.get("queued", 0) or counts.get("running", 0))}


def signature(summary: dict[str, Any]) -> str:
    """Changes whenever a job of the queue changes state: what live pages poll for."""
    counts = summary["counts"]
    finished = summary.get("last_finished_at")
    return "-".join(f"{counts[state]}" for state in sorted(counts)) + f"-{finished.timestamp() if finished else 0}"


class Pages:
    """Builds every page's context; one per running dashboard (it holds the caches)."""

    def __init__(self) -> None:
        self._boards = _Lru(64)
        self._balances = _Lru(64)
        self._completing: set[Hashable] = set()  # leaderboards whose p-values are being computed
        self._completing_lock = threading.Lock()
        self._significance = _Serial("assay-dashboard-significance")

    # -- queues ----------------------------------------------------------------------------------------------

    def queues(self) -> dict[str, Any]:
        rows = []
        for summary in queries.queue_summaries():
            best = self._best(summary)
            rows.append({**summary, **progress(summary["counts"]), "best": best,
                         "hyperparameter_names": list(summary["grid"] or {})})
        return {"queues": rows}

    def warm(self, limit: int = 16) -> None:
        """Compute the newest queues' leaderboards ahead of their first visit (the CLI runs this in a thread).

        A leaderboard over ten thousand runs takes a few hundred milliseconds; computed here, a page opened
        afterwards only renders. A failure just leaves that queue to be computed on its first visit.
        """
        for summary in queries.queue_summaries()[:limit]:
            if summary["counts"].get("succeeded"):
                try:
                    self._board(summary, None, None, wait=True)
                except errors.AssayError:
                    continue

    def _best(self, summary: dict[str, Any]) -> dict[str, Any] | None:
        """The top combination's mean ranking metric (from the cached leaderboard), or None before any result."""
        if not summary["counts"].get("succeeded"):
            return None
        try:
            board = self._board(summary, None, None, complete=False)  # the ranking is enough here
        except errors.AssayError:
            return None
        if board.empty:
            return None
        metric = board.attrs["metric"]
        return {"metric": metric, "split": board.attrs["split"], "value": number(board.iloc[0][f"{metric}_mean"]),
                "predictor_id": int(board.iloc[0]["best_predictor_id"])}

    def _board(self, summary: dict[str, Any], split: str | None, metric: str | None, wait: bool = False,
               complete: bool = True) -> pd.DataFrame:
        """The queue's leaderboard, cached until a job finishes.

        Its ranking comes at once; the p-values against the best that need stored predictions (one split: a
        bootstrap over the best combinations' predictions) are computed on a thread of their own and replace the
        cached frame when done, so a page shows the ranking without waiting for them
        (``attrs["significance_pending"]`` says they are still coming). ``wait``: compute them here instead;
        ``complete=False``: leave them (the queue list shows only the best score).
        """
        key = (summary["id"], split, metric, signature(summary))
        board = self._boards.get(key, lambda: tables.leaderboard(summary["id"], split=split, metric=metric,
                                                                 significance=tables.DEFERRED))
        if board.attrs.get("significance_pending") and (wait or complete):
            if wait:
                return self._complete(key, board)
            with self._completing_lock:
                started = key in self._completing
                self._completing.add(key)
            if not started:
                self._significance.submit(lambda: self._complete(key, board))
        return board

    def _complete(self, key: Hashable, board: pd.DataFrame) -> pd.DataFrame:
        """``board``'s p-values computed and cached under ``key``; a failure is cached too, as the board's
        ``significance_note`` (a page must not wait for p-values that never come)."""
        try:
            done = tables.with_significance(board)
        except Exception as exc:  # noqa: BLE001 - shown on the page instead of p-values
            done = board.copy()
            reason = f"which combinations are tied with best could not be computed: {exc}"
            done.attrs.update(board.attrs, significance_pending=False, significance_note=reason,
                              significance_error=reason)
        finally:
            with self._completing_lock:
                self._completing.discard(key)
        self._boards.put(key, done)
        return done

    def queue_summary(self, queue_id: int) -> dict[str, Any]:
        summary = queries.queue_summary(queue_id)
        if summary is None:
            raise errors.NotFoundError(f"there is no queue {queue_id}")
        return summary

    def queue(self, queue_id: int, view: BoardView | None = None) -> dict[str, Any]:
        summary = self.queue_summary(queue_id)
        context: dict[str, Any] = {"queue": summary, "signature": signature(summary), **progress(summary["counts"]),
                                   "hyperparameter_names": list(summary["grid"] or {}),
                                   "grid_values_shown": GRID_VALUES_SHOWN,
                                   "sources": {name: source for name, source in (summary["sources"] or {}).items()
                                               if source}}
        context.update(self.queue_live(summary, view or BoardView()))
        context["ensembles"] = ensembles.queue_ensembles(summary["id"])
        return context

    def queue_live(self, summary: dict[str, Any], view: BoardView) -> dict[str, Any]:
        """The parts of the queue page that change while it runs: leaderboard, running and failed jobs."""
        board_error = None
        board = None
        if summary["counts"].get("succeeded"):
            try:
                board = self._board(summary, view.split, view.metric)
            except errors.ValidationError as exc:  # a split or metric typed into the address bar
                board_error = str(exc)
        if board is not None:
            # starred combinations first, read on every view (a star is not in the signature; the read goes through
            # the partial index ix_predictor_starred: 0.1 ms at 100,000 runs), so a star set anywhere shows at once
            from assay.evaluation import stars

            board = stars.starred_first(board, lifecycle.starred_combo_indexes(summary["id"]) if len(board) else set())
        table = leaderboard_table(board, view) if board is not None else None
        choices = {"splits": [], "metrics": []}
        best_id = table["best_overall"] if table is not None else None
        if best_id is not None:
            # a model of the queue has been evaluated on every split the queue evaluates, with every metric
            per_split = queries.metrics_by_split(best_id)
            choices = {"splits": [name for name, _ in _ordered_splits(dict.fromkeys(per_split, 0))],
                       "metrics": list(per_split.get(table["split"], {}))}
        return {"queue": summary, "signature": signature(summary), **progress(summary["counts"]),
                "leaderboard": table, "choices": choices, "view": view,
                "board_error": board_error,
                "running_jobs": queries.running_jobs(summary["id"]),
                "failed_jobs": queries.failed_jobs(summary["id"], FAILED_JOBS_SHOWN)}

    # -- predictors ------------------------------------------------------------------------------------------

    def predictor_summary(self, predictor_id: int) -> dict[str, Any]:
        summary = queries.predictor_summary(predictor_id)
        if summary is None:
            raise errors.NotFoundError(f"there is no predictor {predictor_id}")
        return summary

    def predictor(self, predictor_id: int, split: str | None = None, page: int = 1) -> dict[str, Any]:
        summary = self.predictor_summary(predictor_id)
        metrics = queries.metrics_by_split(predictor_id)
        splits = list(metrics)
        if split is None:
            split = tables.evaluation_split(splits)
        elif split not in splits:
            raise errors.NotFoundError(f"predictor {predictor_id} has no predictions on split {split!r}; "
                           f"it has: {', '.join(splits) or 'none'}")
        analysis_type = summary["analysis_type"]
        plot_names = sorted(plugins.plots(analysis_type)) if split is not None else []
        stored = (summary["feature_importance"] or {}).get(split) or {}
        return {
            "predictor": summary, "splits": splits, "split": split,
            "metrics": metrics_table(metrics, analysis_type),
            "hyperparameters": summary["hyperparameters"] or {},
            "has_history": bool(summary["history"]),
            "epochs": max((len(values) for values in (summary["history"] or {}).values()), default=0),
            "plot_names": plot_names,
            "importance_counts": sorted({importance.parse_key(key)[0] for key in stored}),
            "predictions": self.predictions(predictor_id, split, page) if split is not None else None,
            "siblings": self.siblings(summary, split),
            "starred": _starred(predictor_id),
            "conformal": conformal_summary(predictor_id),
        }

    def siblings(self, summary: dict[str, Any], split: str | None) -> dict[str, Any] | None:
        """The combination's other trained models (repeats, folds) with their scores on ``split``."""
        if split is None:
            return None
        runs = queries.runs_of_combination(summary["queue_id"], summary["combo_index"], split)
        if len(runs) < 2:
            return None
        main = plugins.analysis_types().get(summary["analysis_type"])
        names = list(dict.fromkeys(name for run in runs for name in run["metrics"]))
        if main is not None and main.main_metric in names:
            names.remove(main.main_metric)
            names.insert(0, main.main_metric)
        names = names[:4]
        return {"split": split, "metrics": names, "runs": [
            {**run, "values": [number(run["metrics"].get(name)) for name in names],
             "current": run["predictor_id"] == summary["id"]} for run in runs]}

    def predictions(self, predictor_id: int, split: str, page: int) -> dict[str, Any]:
        """One page of a split's predictions: dataset row, true label, prediction, class probabilities."""
        frame = predictions_frame(predictor_id, split)
        page_count = max(1, -(-len(frame) // PREDICTION_ROWS))
        page = min(max(page, 1), page_count)
        shown = frame.iloc[(page - 1) * PREDICTION_ROWS: page * PREDICTION_ROWS]
        return {"columns": list(shown.columns), "rows": [[number(value) for value in row]
                                                         for row in shown.itertuples(index=False)],
                "page": page, "page_count": page_count, "row_count": len(frame),
                "wrong": [bool(row.get("correct") is False) for row in shown.to_dict("records")]}

    def compare(self, predictor_ids: list[int]) -> dict[str, Any]:
        if not COMPARE_MIN <= len(predictor_ids) <= COMPARE_MAX or len(set(predictor_ids)) != len(predictor_ids):
            raise errors.ValidationError("ids", f"choose {COMPARE_MIN} to {COMPARE_MAX} different predictors to "
                                         f"compare, e.g. /compare?ids=1,2; got {predictor_ids}")
        missing = sorted(set(predictor_ids) - set(queries.existing_predictor_ids(predictor_ids)))
        if missing:
            raise errors.NotFoundError(f"there is no predictor {', '.join(map(str, missing))}")
        summaries = [queries.predictor_summary(predictor_id) for predictor_id in predictor_ids]
        metrics = [queries.metrics_by_split(predictor_id) for predictor_id in predictor_ids]
        names = list(dict.fromkeys(name for summary in summaries for name in (summary["hyperparameters"] or {})))
        hyperparameters = []
        for name in names:
            values = [(summary["hyperparameters"] or {}).get(name, MISSING) for summary in summaries]
            hyperparameters.append({"name": name, "values": [number(value) for value in values],
                                    "differs": len({repr(value) for value in values}) > 1})
        rows = []
        splits = list(dict.fromkeys(split for per in metrics for split in per))
        analysis_type = summaries[0]["analysis_type"]
        for split in splits:
            metric_names = list(dict.fromkeys(name for per in metrics for name in per.get(split, {})))
            for name in metric_names:
                values = [per.get(split, {}).get(name) for per in metrics]
                present = [value for value in values if value is not None and not math.isnan(value)]
                best = None
                if len(present) > 1 and len(set(present)) > 1:
                    better_high = tables.higher_is_better(name, analysis_type)
                    best = (max if better_high else min)(present)
                rows.append({"split": split, "metric": name, "values": [number(value) for value in values],
                             "best": [value is not None and value == best for value in values]})
        common_plots = sorted(plugins.plots(analysis_type)) if all(
            summary["analysis_type"] == analysis_type for summary in summaries) else []
        evaluation = tables.evaluation_split(
            [split for split in splits if all(split in per for per in metrics)]) if splits else None
        return {"predictors": summaries, "hyperparameters": hyperparameters, "metrics": rows,
                "plot_names": common_plots, "split": evaluation,
                "has_history": [bool(summary["history"]) for summary in summaries],
                "significance": significance_of(summaries)}

    # -- splitsets -------------------------------------------------------------------------------------------

    def splitset(self, splitset_id: int) -> dict[str, Any]:
        summary = queries.splitset_summary(splitset_id)
        if summary is None:
            raise errors.NotFoundError(f"there is no splitset {splitset_id}")
        folds = [{"fold_index": fold["fold_index"],
                  "sizes": {split: len(rows) for split, rows in (fold["samples"] or {}).items()}}
                 for fold in queries.fold_samples(splitset_id)]
        sizes = summary["split_sizes"] or {}
        total = sum(sizes.values())
        splits = [{"name": name, "count": count, "percent": 100.0 * count / total if total else 0.0}
                  for name, count in _ordered_splits(sizes)]
        columns = []
        label = summary["label_column"]
        excluded = set(summary["feature_columns_excluded"] or [])
        features = set(summary["feature_columns"] or [])
        for column in summary["dataset_columns"] or []:
            role = ("label" if column == label else "feature" if column in features
                    else "excluded" if column in excluded else "unused")
            columns.append({"name": column, "dtype": (summary["dataset_dtypes"] or {}).get(column, ""), "role": role})
        return {"splitset": summary, "splits": splits, "folds": folds, "columns": columns,
                "balance": self._balances.get(splitset_id, lambda: class_balance(splitset_id, summary, folds))}


def significance_of(summaries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Two predictors of one queue from different combinations: ``queue.compare`` of their combinations (the
    numbers, a sentence and the posterior as a PNG data URI), or a note saying why it cannot be computed."""
    if len(summaries) != 2 or summaries[0]["queue_id"] != summaries[1]["queue_id"] or \
            summaries[0]["combo_index"] == summaries[1]["combo_index"]:
        return None
    a, b = summaries[0]["combo_index"], summaries[1]["combo_index"]
    try:
        result = comparison.compare(summaries[0]["queue_id"], a, b)
    except errors.ValidationError as exc:
        return {"a": a, "b": b, "error": str(exc)}
    return {"a": a, "b": b, "error": None, "summary": result.summary, "rows": comparison.comparison_rows(result),
            "image": comparison.comparison_png(result)}


def conformal_summary(predictor_id: int) -> dict[str, Any] | None:
    """A calibrated predictor's conformal calibration and its coverage on the test split (when it has one), as
    (label, text) rows; ``None`` when not calibrated."""
    calibration = comparison_queries.predictor_calibration(predictor_id)
    if not calibration:
        return None
    alpha = calibration["alpha"]
    rows = [("alpha", f"{alpha:g} (target coverage {1 - alpha:.0%})"), ("method", calibration["method"]),
            ("calibrated on", f"{calibration['split']} ({calibration['n']} rows)")]
    try:
        measured = coverage.coverage(predictor_id, "test")
    except errors.ValidationError:
        measured = None
    if measured is not None:
        rows.append(("coverage on test", f"{measured['coverage']:.3f} of {measured['n']} rows"))
        if "mean_set_size" in measured:
            rows.append(("mean set size", f"{measured['mean_set_size']:.3g}"))
        else:
            rows.append(("mean interval width", f"{measured['mean_interval_width']:.4g}"))
    return {"rows": rows, "kind": calibration["kind"]}


def _ordered_splits(sizes: dict[str, int]) -> list[tuple[str, int]]:
    order = {name: i for i, name in enumerate(tables.SPLIT_ORDER)}
    return sorted(sizes.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))


def class_balance(splitset_id: int, summary: dict[str, Any], folds: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Per split (and fold): how many rows hold each class, or the label's summary statistics when continuous.

    Reads the stored dataset once; ``None`` for a splitset without a label.
    """
    from assay.data.read.splitsets import SplitsetData

    if summary["label_column"] is None:
        return None
    splitset = SplitsetData.load(splitset_id)
    groups = [(name, splitset.samples[name]) for name, _ in _ordered_splits(summary["split_sizes"] or {})]
    for fold in queries.fold_samples(splitset_id) if folds else []:
        groups += [(f"fold {fold['fold_index']} {part}", rows) for part, rows in (fold["samples"] or {}).items()]
    if summary["label_is_categorical"]:
        classes = [str(value) for value in (summary["label_classes"] or [])]
        table = []
        for name, rows in groups:
            labels = pd.Series(splitset.raw_labels(rows)).astype(str)
            counts = labels.value_counts()
            for value in counts.index:  # a class only some splits hold still gets a column
                if value not in classes:
                    classes.append(value)
            total = int(counts.sum())
            table.append({"name": name, "total": total, "cells": [
                {"count": int(counts.get(value, 0)),
                 "percent": 100.0 * int(counts.get(value, 0)) / total if total else 0.0} for value in classes]})
        return {"categorical": True, "classes": classes, "rows": table}
    rows = []
    for name, indices in groups:
        values = pd.to_numeric(pd.Series(splitset.raw_labels(indices)), errors="coerce")
        rows.append({"name": name, "count": int(values.notna().sum()),
                     **{stat: number(getattr(values, stat)()) for stat in ("mean", "std", "min", "median", "max")}})
    return {"categorical": False, "rows": rows}


def metrics_table(metrics: dict[str, dict[str, float]], analysis_type: str) -> dict[str, Any]:
    """Metric rows by split columns, the analysis type's main metric first."""
    splits = [name for name, _ in _ordered_splits(dict.fromkeys(metrics, 0))]
    names = list(dict.fromkeys(name for per in metrics.values() for name in per))
    main = plugins.analysis_types().get(analysis_type)
    if main is not None and main.main_metric in names:
        names.remove(main.main_metric)
        names.insert(0, main.main_metric)
    return {"splits": splits, "rows": [{"metric": name, "values": [number(metrics[split].get(name))
                                                                   for split in splits]} for name in names]}


def predictions_frame(predictor_id: int, split: str) -> pd.DataFrame:
    """A split's predictions as a table: dataset row, true label, prediction, whether right, class probabilities."""
    from assay.experiment.trained import Trained

    trained = Trained.load(predictor_id)
    if split not in trained.evaluated_splits():
        raise errors.NotFoundError(f"predictor {predictor_id} has no predictions on split {split!r}")
    stored = trained.prediction_arrays(split)
    predicted = np.asarray(stored["predictions"])
    columns: dict[str, Any] = {}
    if stored.get("row_indices") is not None:
        columns["row"] = np.asarray(stored["row_indices"])
    labels = stored.get("labels")
    classes = [] if stored.get("classes") is None else stored["classes"].tolist()
    flat = predicted.reshape(len(predicted), -1)
    if labels is not None:
        truth = np.asarray(labels).reshape(len(labels), -1)
        columns.update({"label" if truth.shape[1] == 1 else f"label {i}": truth[:, i] for i in range(truth.shape[1])})
    columns.update({"prediction" if flat.shape[1] == 1 else f"prediction {i}": flat[:, i]
                    for i in range(flat.shape[1])})
    if labels is not None and classes and flat.shape[1] == 1:
        columns["correct"] = truth[:, 0].astype(str) == flat[:, 0].astype(str)
    probabilities = stored.get("probabilities")
    if probabilities is not None:
        probabilities = np.asarray(probabilities)
        if probabilities.ndim == 1 and len(classes) == 2:
            columns[f"P({classes[1]})"] = probabilities
        elif probabilities.ndim == 2:
            for i in range(min(probabilities.shape[1], PROBABILITY_COLUMNS)):
                name = classes[i] if i < len(classes) else i
                columns[f"P({name})"] = probabilities[:, i]
    return pd.DataFrame(columns)


def _starred(predictor_id: int) -> bool:
    return predictor_id in lifecycle.starred_ids([predictor_id])
