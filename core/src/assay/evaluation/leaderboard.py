"""Metrics as tables: every trained model per split (:func:`metrics_to_pandas`) and one row per hyperparameter
combination, aggregated over repeats and folds and ranked (:func:`leaderboard`).

Both read only small columns (ids, indices, the metrics JSON) with a fixed number of queries, never the model or
prediction blobs, so a queue of ten thousand runs is tabled in well under a second.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.json as pa_json

from assay import errors, plugins
from assay.db import jsontype
from assay.db.queries import results as queries
from assay.db.queries import search as search_queries
from assay.evaluation import significance as comparing

#: the columns every metrics table starts with; hyperparameters come after ``combo_index``
ID_COLUMNS = ["queue_id", "job_id", "predictor_id", "run_index", "combo_index"]
RUN_COLUMNS = ["fold_index", "repeat_index", "split"]
#: the order splits are listed in; anything else (a plugin's split) comes after them
SPLIT_ORDER = ["train", "validation", "test"]
#: the split models are compared on by default: the first of these that was evaluated
PREFERRED_SPLITS = ("validation", "test", "train")
#: statistics the leaderboard gives for every metric
STATISTICS = ["mean", "std", "min", "max"]
#: rows of a leaderboard's runs read at a time (their metrics are parsed while the next rows are read). Smaller
#: chunks leave less to parse after the last row is read: the dashboard's first view of 100,000 runs took 337 - 386
#: ms with 5,000 against 390 - 497 ms with 20,000 (alternating fresh processes, load 0.8 - 0.9)
READ_CHUNK = 5_000
#: metrics of the built-in analysis types where a smaller value is better (besides names ending in loss/error)
LOWER_IS_BETTER = {"loss", "log_loss", "mse", "rmse", "mae", "mape", "rmsle", "msle"}


def hyperparameter_columns(names: list[str]) -> dict[str, str]:
    """Hyperparameter name → its column; a name that clashes with a fixed column gets the prefix ``hp_``."""
    fixed = set(ID_COLUMNS) | set(RUN_COLUMNS)
    return {name: f"hp_{name}" if name in fixed else name for name in names}


def _hashable(value: Any) -> Any:
    # JSON lists (e.g. layer sizes) cannot be grouped or plotted as categories; show them as text
    return str(value) if isinstance(value, (list, dict)) else value


def metrics_to_pandas(queue_id: int) -> pd.DataFrame:
    """One row per trained model and evaluated split, with its hyperparameters and a column per metric.

    Columns: ``queue_id, job_id, predictor_id, run_index, combo_index``, one column per hyperparameter (named
    like it, or ``hp_<name>`` when that clashes with a fixed column), ``fold_index`` (nullable int; missing
    without folds), ``repeat_index``, ``split``, then one float column per metric (NaN where a split lacks it,
    e.g. ROC AUC with one class present). Rows are in run order, splits as train, validation, test.
    Predictions on new data (inference) are not included.

    Three small queries whatever the queue's size: the analysis type and grid, the combinations, and one join
    of job, predictor and prediction reading only ids, indices and the metrics JSON.
    """
    return metrics_table(queue_id)[0]


def metrics_table(queue_id: int, split: str | None = None) -> tuple[pd.DataFrame, str, list[str]]:
    """(:func:`metrics_to_pandas`'s frame, the analysis type, the hyperparameter columns); with ``split``, only
    that split's rows are read (a third of the work when three splits were evaluated)."""
    analysis_type, grid, hyperparamset_id = queries.queue_analysis_type_and_grid(queue_id)
    names = list(grid)
    columns = hyperparameter_columns(names)
    combos = queries.combos(hyperparamset_id)
    combo_frame = pd.DataFrame(
        [{"hyperparamcombo_id": combo_id, "combo_index": index,
          **{columns[name]: _hashable((values or {}).get(name)) for name in names}}
         for combo_id, index, values in combos],
        columns=["hyperparamcombo_id", "combo_index", *columns.values()],
    )
    names_fetched = ["job_id", "predictor_id", "run_index", "hyperparamcombo_id", "fold_index", "repeat_index",
                     "split", "metrics"]
    with queries.collector_paused():  # one tuple per run, dropped before it resumes
        runs = queries.metric_runs(queue_id, split=split)
        fetched = dict(zip(names_fetched, zip(*runs, strict=True), strict=True)) if runs else {}
        del runs
        base = pd.DataFrame({name: pd.Series(fetched.get(name, ()), dtype=object if name in ("fold_index", "split")
                                             else "int64") for name in names_fetched[:7]})
        base["split"] = base["split"].astype("str")
        metric_frame = metric_columns(fetched.pop("metrics", ()), base.index)
        del fetched
    measured = [name for name in metric_frame.columns if name not in ID_COLUMNS + RUN_COLUMNS]

    frame = base.merge(combo_frame, on="hyperparamcombo_id", how="left", sort=False)
    frame = pd.concat([frame, metric_frame[measured]], axis=1)
    frame.insert(0, "queue_id", queue_id)
    frame["fold_index"] = frame["fold_index"].astype("Int64")
    frame["split_order"] = frame["split"].map({name: i for i, name in enumerate(SPLIT_ORDER)}).fillna(len(SPLIT_ORDER))
    frame = frame.sort_values(["run_index", "split_order", "split"], kind="stable").reset_index(drop=True)
    ordered = [*ID_COLUMNS, *columns.values(), *RUN_COLUMNS, *measured]
    return frame[ordered], analysis_type, list(columns.values())


def higher_is_better(metric: str, analysis_type: str | None = None) -> bool:
    """Whether a larger value of ``metric`` is better.

    The analysis type's main metric follows its ``higher_is_better``; otherwise losses, errors and the built-in
    error metrics (mse, rmse, mae, mape, log_loss) are better smaller and every other metric better larger.
    """
    if analysis_type is not None:
        analysis = plugins.analysis_type(analysis_type)
        if metric == analysis.main_metric:
            return analysis.higher_is_better
    name = metric.lower()
    return not (name in LOWER_IS_BETTER or name.endswith(("loss", "error")))


def evaluation_split(splits: list[str] | set[str]) -> str | None:
    """The split models are compared on: validation if evaluated, else test, else train."""
    for name in PREFERRED_SPLITS:
        if name in splits:
            return name
    return next(iter(sorted(splits)), None)


def _queue_split(queue_id: int, split: str | None) -> str | None:
    """:func:`evaluation_split` of a queue's stored splits, or ``split`` checked against them, asking only whether
    a split exists (the first matching prediction answers) unless neither a preferred split nor ``split`` does."""
    if split is None:
        found = next((name for name in PREFERRED_SPLITS if queries.split_evaluated(queue_id, name)), None)
        return found if found is not None else evaluation_split(queries.evaluated_splits(queue_id))
    if not queries.split_evaluated(queue_id, split):
        evaluated = queries.evaluated_splits(queue_id)
        if evaluated:
            _check_choice("split", split, _ordered(evaluated), "an evaluated split")
    return split


def _check_choice(parameter: str, value: str, available: list[str], what: str) -> None:
    if value not in available:
        raise errors.ValidationError(
            parameter, f"{value!r} is not {what} of this queue; use one of: {', '.join(map(str, available)) or 'none'}"
        )


def _ordered(splits: list[str]) -> list[str]:
    return sorted(splits, key=lambda name: (SPLIT_ORDER.index(name) if name in SPLIT_ORDER else len(SPLIT_ORDER), name))


def metric_names(runs: pd.DataFrame, hp_columns: list[str]) -> list[str]:
    """The metric columns of a :func:`metrics_table` frame (every column but ids, hyperparameters and run
    columns), in its order."""
    fixed = {*ID_COLUMNS, *hp_columns, *RUN_COLUMNS}
    return [name for name in runs.columns if name not in fixed]


def choose_split_and_metric(runs: pd.DataFrame, analysis_type: str, hp_columns: list[str], split: str | None,
                            metric: str | None) -> tuple[str | None, str, list[str]]:
    """Check or default ``split`` and ``metric`` against a metrics table.

    Returns:
        ``(split, metric, metric names present on that split with metric first)``.

    Raises:
        assay.errors.ValidationError: naming the splits or metrics that exist.
    """
    splits = _ordered(runs["split"].unique().tolist())
    if split is None:
        split = evaluation_split(splits)
    elif splits:
        _check_choice("split", split, splits, "an evaluated split")
    metric, ordered = _choose_metric(runs.loc[runs["split"] == split, metric_names(runs, hp_columns)], analysis_type,
                                     split, metric)
    return split, metric, ordered


def _choose_metric(values: pd.DataFrame, analysis_type: str, split: str | None,
                   metric: str | None) -> tuple[str, list[str]]:
    """``metric`` checked (or the analysis type's main metric) against the metric columns of one split's runs,
    and the metric names holding a value there, ``metric`` first."""
    analysis = plugins.analysis_type(analysis_type)
    present = [name for name in values.columns if values[name].notna().any()]
    if metric is None:
        metric = analysis.main_metric if (analysis.main_metric in present or not present) else present[0]
    elif present:
        _check_choice("metric", metric, present, f"a metric on the {split!r} split")
    return metric, [metric, *[name for name in present if name != metric]]


def metric_columns(texts: Sequence[str | None], index: pd.Index) -> pd.DataFrame:
    """A float column per metric name from each row's metrics as JSON text (NaN where a row lacks one), columns
    in the order the names first appear.

    Numbers only (what metrics are) are read by pyarrow's JSON reader, three times faster than the json module
    over ten thousand rows; a tagged value (a non-finite metric, see :mod:`assay.db.jsontype`) or anything else
    the reader refuses takes the json module, which decodes it as the column type would. Tags start with ``$``,
    so a ``$`` anywhere sends the rows to the json module (one byte is found 20 times faster than ``"$``, whose
    quote is in every key: 20 ms over 100,000 rows).
    """
    document = "\n".join(text or "{}" for text in texts).encode()
    if texts and b"$" not in document:
        try:
            table = pa_json.read_json(io.BytesIO(document), read_options=pa_json.ReadOptions(use_threads=False))
        except pa.ArrowInvalid:
            table = None
        numeric = (pa.types.is_floating, pa.types.is_integer, pa.types.is_boolean, pa.types.is_null)
        if table is not None and table.num_rows == len(texts) and all(
                any(check(field.type) for check in numeric) for field in table.schema):
            return pd.DataFrame({name: table.column(name).to_numpy(zero_copy_only=False).astype(float)
                                 for name in table.column_names}, index=index)
    metrics = jsontype.loads_many(text or "{}" for text in texts)
    return pd.DataFrame.from_records(metrics, index=index).astype(float)


def _split_runs(queue_id: int, split: str | None,
                combos: list[tuple[int, int, Any]]) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, pd.DataFrame]:
    """Combination indexes, predictor ids, a float column per metric of a queue's runs on ``split``, in run
    order, and their ``fold_index``/``repeat_index``: one query of three tables (the combination's index is looked
    up here, and the runs put in order here, which costs the database more than it costs numpy)."""
    runs = _read_runs(queue_id, split) if split is not None else _RunColumns.empty()
    order = np.argsort(runs.run_indexes, kind="stable")
    known = pd.Index([combo_id for combo_id, _, _ in combos])
    combo_indexes = np.asarray([index for _, index, _ in combos], dtype=np.int64)[
        known.get_indexer(runs.combo_ids)]
    values = runs.metrics.iloc[order].reset_index(drop=True)
    values = values[[name for name in values.columns if name not in ID_COLUMNS + RUN_COLUMNS]]
    pairs = pd.DataFrame({"fold_index": pd.arrays.IntegerArray(runs.folds[order], runs.no_fold[order]),
                          "repeat_index": runs.repeats[order]})
    return combo_indexes[order], runs.predictor_ids[order], values, pairs


class _RunColumns(NamedTuple):
    """:func:`assay.db.queries.results.split_metric_run_chunks`' rows as columns, row for row: ``fold_index`` as its
    values (0 where missing) and ``no_fold`` (where it is missing), the metrics as :func:`metric_columns`."""

    combo_ids: np.ndarray
    run_indexes: np.ndarray
    predictor_ids: np.ndarray
    folds: np.ndarray
    no_fold: np.ndarray
    repeats: np.ndarray
    metrics: pd.DataFrame

    @classmethod
    def of(cls, rows: Sequence[tuple[Any, ...]], start: int) -> _RunColumns:
        """The columns of ``rows``, the ``start``-th row read first (the metric frame's index)."""
        combo_ids, run_indexes, predictor_ids, texts, folds, repeats = zip(*rows, strict=True)
        no_fold = np.fromiter((fold is None for fold in folds), dtype=bool, count=len(folds))
        fold_values = (np.zeros(len(folds), dtype=np.int64) if no_fold.all()
                       else np.asarray([0 if fold is None else fold for fold in folds], dtype=np.int64))
        return cls(np.asarray(combo_ids, dtype=np.int64), np.asarray(run_indexes, dtype=np.int64),
                   np.asarray(predictor_ids, dtype=np.int64), fold_values, no_fold,
                   np.asarray(repeats, dtype=np.int64), metric_columns(texts, pd.RangeIndex(start, start + len(rows))))

    @classmethod
    def empty(cls) -> _RunColumns:
        none = np.zeros(0, dtype=np.int64)
        return cls(none, none, none, none, np.zeros(0, dtype=bool), none, metric_columns((), pd.RangeIndex(0)))

    @classmethod
    def concat(cls, parts: list[_RunColumns]) -> _RunColumns:
        if len(parts) == 1:
            return parts[0]
        # a metric missing from a chunk is NaN there, as within one; columns in the order their names first appear
        return cls(*(np.concatenate([getattr(part, name) for part in parts]) for name in cls._fields[:-1]),
                   pd.concat([part.metrics for part in parts], sort=False))


def _read_runs(queue_id: int, split: str) -> _RunColumns:
    """:func:`assay.db.queries.results.split_metric_run_chunks`' rows as columns (:class:`_RunColumns`).

    The rows are read in chunks of :data:`READ_CHUNK`, and each chunk turned into columns on a thread while the
    next is read, so no list of every row is kept. Only SQLite's stepping and pyarrow's parse run without the GIL;
    the driver's tuples and the columns need it, so at 100,000 runs this takes 10 - 20 ms less than one after the
    other (330 against 340 ms), not half.
    """
    parsed: list[Future] = []
    read = 0
    chunk: list[tuple[Any, ...]] = []
    with queries.collector_paused(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="assay-metrics") as parsing:
        for chunk in queries.split_metric_run_chunks(queue_id, split, READ_CHUNK):
            parsed.append(parsing.submit(_RunColumns.of, chunk, read))
            read += len(chunk)
        del chunk  # the rows are dropped before the collector resumes (see collector_paused)
    return _RunColumns.concat([future.result() for future in parsed]) if parsed else _RunColumns.empty()


def _combo_hyperparameters(combos: list[tuple[int, int, Any]], names: list[str]) -> pd.DataFrame:
    """One row per combination (indexed by combo_index), one column per hyperparameter as metrics tables name it."""
    columns = hyperparameter_columns(names)
    return pd.DataFrame([{columns[name]: _hashable((values or {}).get(name)) for name in names}
                         for _, _, values in combos], columns=list(columns.values()),
                        index=pd.Index([index for _, index, _ in combos], name="combo_index"))


#: ``leaderboard(significance=DEFERRED)``: p-values that need stored predictions are left to :func:`with_significance`
DEFERRED = "deferred"


def leaderboard(queue_id: int, split: str | None = None, metric: str | None = None,
                significance: bool | str = True) -> pd.DataFrame:
    """One row per hyperparameter combination, aggregated over its repeats and folds, best first.

    Args:
        queue_id: the queue whose trained models are ranked.
        split: the split the models are compared on. Default: the split of the queue's objective
            (``Experiment.make(objective=...)``), which is the evaluation split ("validation" when evaluated, else
            "test", else "train") unless the objective names another.
        metric: the metric that ranks them. Default: the queue's objective on that split, in the objective's
            direction, so ``best_predictor_id`` is the best model the search was after; the objective defaults to
            the analysis type's main metric (accuracy for classification, r2 for regression), in its own direction
            (see :func:`higher_is_better`).
        significance: compute ``p_value_vs_best`` (``False`` leaves it NA and ``tied_with_best`` on rank 1 only).
            ``"deferred"``: compute it now only where it needs no stored predictions (with folds, from the
            metrics); with one split it is left as ``False`` leaves it and ``frame.attrs["significance_pending"]``
            is ``True``: :func:`with_significance` completes the frame (what the dashboard shows meanwhile).

    Returns:
        A DataFrame with ``rank``, ``combo_index``, the hyperparameters, ``run_count`` (models aggregated),
        ``best_predictor_id`` (the combination's best model on ``metric``), then ``<metric>_mean``,
        ``_std`` (sample standard deviation, NaN for a single run), ``_min`` and ``_max`` for the ranking
        metric first and every other metric after it, then ``pruned``: a run of the combination was stopped
        early by the queue's pruner; such rows come after all others, without a rank, and are never the best.
        Last ``p_value_vs_best`` (the two-sided p-value of ``queue.compare(combo, best)``: the corrected resampled
        t-test with folds, the paired bootstrap of the stored predictions with one split; NA on rank 1 and where
        not computed) and ``tied_with_best``: rank 1, and every combination not significantly different from it at
        the 0.05 level (``p_value_vs_best >= 0.05``). See :mod:`assay.evaluation.significance`.
        ``frame.attrs`` holds ``queue_id``, ``split``, ``metric``, ``higher_is_better``, ``analysis_type``,
        ``significance_note`` (what was not computed, or ``None``), ``significance_pending`` (see
        ``significance``) and ``warning``: set when the ranking split is
        the test split (no validation split, no folds), because the chosen model's test score is then optimistic.
        Empty (with these columns) while no job has succeeded.

    Raises:
        assay.errors.ValidationError: ``split`` or ``metric`` does not exist in this queue's results, or
            ``significance`` is not ``True``, ``False`` or ``"deferred"``.
    """
    valid = significance == DEFERRED if isinstance(significance, str) else isinstance(significance, (bool, np.bool_))
    if not valid:
        raise errors.ValidationError("significance", f"must be True, False or {DEFERRED!r}, got {significance!r}")
    # the search's objective ranks by default: its split, and its metric and direction on that split
    objective = (queries.queue_objective(queue_id) if split is None or metric is None else None) or {}
    if split is None and objective.get("split") and queries.split_evaluated(queue_id, objective["split"]):
        split = objective["split"]
    # Choose the split first, so only its rows are read: one query of three columns.
    split = _queue_split(queue_id, split)
    analysis_type, grid, hyperparamset_id = queries.queue_analysis_type_and_grid(queue_id)
    hp_columns = list(hyperparameter_columns(list(grid)).values())
    combos = queries.combos(hyperparamset_id)
    combo_indexes, predictor_ids, values, pairs = _split_runs(queue_id, split, combos)
    by_objective = metric is None and split == objective.get("split") and objective.get("metric") in values.columns
    metric, ordered_metrics = _choose_metric(values, analysis_type, split, objective["metric"] if by_objective
                                             else metric)
    direction = objective.get("direction") if by_objective else None
    better_high = direction == "maximize" if direction else higher_is_better(metric, analysis_type)

    front = ["rank", "combo_index", *hp_columns, "run_count", "best_predictor_id"]
    stat_columns = [f"{name}_{stat}" for name in ordered_metrics for stat in STATISTICS] + [
        "pruned", "p_value_vs_best", "tied_with_best"]
    note, pending = None, False
    if not len(combo_indexes):
        board = pd.DataFrame(columns=front + stat_columns)
    else:
        values = values.reindex(columns=ordered_metrics)
        grouped = values.groupby(combo_indexes, sort=True)
        # one call per statistic over every metric column (a list of statistics in .agg loops per column)
        stats = {stat: getattr(grouped, stat)() for stat in STATISTICS}
        board = pd.DataFrame({f"{name}_{stat}": stats[stat][name] for name in ordered_metrics for stat in STATISTICS})
        board.index.name = "combo_index"
        board.insert(0, "run_count", grouped.size())
        # each combination's best model: its runs sorted by the metric (missing values last, ties in run order)
        order = values[metric].sort_values(ascending=not better_high, na_position="last",
                                           kind="stable").index.to_numpy()
        best = pd.Series(predictor_ids[order], index=combo_indexes[order]).groupby(level=0, sort=True).first()
        board.insert(1, "best_predictor_id", best)
        hyperparameters = _combo_hyperparameters(combos, list(grid)).reindex(board.index)
        board = pd.concat([hyperparameters, board], axis=1).reset_index()
        board["pruned"] = board["combo_index"].isin(search_queries.pruned_combo_indexes(queue_id))
        # a pruned combination stopped early: it is listed after every other one and never ranked best
        board = board.sort_values(
            ["pruned", f"{metric}_mean", f"{metric}_std", "combo_index"],
            ascending=[True, not better_high, True, True], na_position="last", kind="stable",
        ).reset_index(drop=True)
        ranks = np.arange(1, len(board) + 1)
        board.insert(0, "rank", pd.array(np.where(board["pruned"], 0, ranks), dtype="Int64")
                     if board["pruned"].any() else ranks)
        if board["pruned"].any():
            board.loc[board["pruned"], "rank"] = pd.NA
        fold_runs = _fold_runs(combo_indexes, values[metric], pairs, metric)
        pending = significance == DEFERRED and comparing.reads_predictions(board, metric, fold_runs)
        board["p_value_vs_best"], note = (
            comparing.versus_best(queue_id, board, split, metric, better_high, fold_runs)
            if significance and not pending else (pd.Series(np.nan, index=board.index), None))
        _mark_tied(board)
        board = board[front + stat_columns]
    board.attrs.update(queue_id=queue_id, split=split, metric=metric, higher_is_better=better_high,
                       analysis_type=analysis_type, significance_note=note, significance_pending=pending,
                       warning=optimistic_warning(split))
    return board


def with_significance(board: pd.DataFrame) -> pd.DataFrame:
    """A leaderboard made with ``significance="deferred"``, completed: ``p_value_vs_best`` and ``tied_with_best``
    as :func:`leaderboard` with ``significance=True`` gives them (the same bootstrap of the same stored
    predictions); the frame itself when nothing was pending.

    This is the part that reads stored predictions (the best-ranked combinations' runs, up to
    :data:`assay.evaluation.significance.BULK_RUNS`), so a caller can show the ranking first and this after.
    """
    if not board.attrs.get("significance_pending"):
        return board
    done = board.copy()
    attrs = board.attrs
    done["p_value_vs_best"], note = comparing.versus_best(attrs["queue_id"], done, attrs["split"], attrs["metric"],
                                                          attrs["higher_is_better"], None)
    _mark_tied(done)
    done.attrs.update(attrs, significance_note=note, significance_pending=False)
    return done


def _mark_tied(board: pd.DataFrame) -> None:
    """``tied_with_best`` from ``p_value_vs_best`` (in place); a pruned combination's p-value is dropped first."""
    board.loc[board["pruned"].to_numpy(bool), "p_value_vs_best"] = np.nan  # stopped early: not comparable
    board["tied_with_best"] = (board["rank"] == 1).fillna(False).to_numpy(bool) | (
        board["p_value_vs_best"] >= comparing.ALPHA).to_numpy(bool)


def _fold_runs(combo_indexes: np.ndarray, scores: pd.Series, pairs: pd.DataFrame,
               metric: str) -> pd.DataFrame | None:
    """The runs as :func:`assay.evaluation.significance.versus_best` pairs them with folds, or ``None`` without."""
    if not pairs["fold_index"].notna().any():
        return None
    return pd.DataFrame({"combo_index": combo_indexes, "fold_index": pairs["fold_index"].to_numpy(),
                         "repeat_index": pairs["repeat_index"].to_numpy(), metric: scores.to_numpy(float)})


def optimistic_warning(split: str | None) -> str | None:
    """The warning a leaderboard ranked on the test split carries: the best model's test score is optimistic."""
    if split != "test":
        return None
    return ("models are ranked on the test split (with no validation split and no folds), so the chosen model's "
            "test score is optimistic: it was picked for doing well on those rows. Hold out a validation split "
            "(size_validation=...) or use folds (fold_count=...) to keep the test score unbiased.")
