"""AIQC 3.1.1's evaluation tables over assay's metrics table: metric selection and sorting
(``queue.metrics_to_pandas(selected_metrics=..., sort_by=...)``), the per-model aggregate over splits
(``queue.metrics_aggregate_to_pandas()``) and the models ``queue.plot_performance(max_loss=..., min_accuracy=...,
min_r2=...)`` keeps.

Nothing here computes a metric: every function reads :func:`assay.evaluation.leaderboard.metrics_table` and
reshapes it, so the numbers are the ones the leaderboard and plots show.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from assay import errors, plugins
from assay.evaluation import leaderboard as tables

#: AIQC's statistics of a model's metric over its splits, in AIQC's names
AGGREGATE_STATS = ["mean", "median", "pstdev", "minimum", "maximum"]
#: the columns naming a model in :func:`metrics_aggregate`, before its hyperparameters
AGGREGATE_ID_COLUMNS = ["queue_id", "job_id", "predictor_id", "run_index", "combo_index"]
#: AIQC's performance thresholds and the metric each bounds
THRESHOLDS = {"max_loss": "loss", "min_accuracy": "accuracy", "min_r2": "r2"}


def _names(parameter: str, value: Any) -> list[str] | None:
    """``value`` as a list of names (AIQC's ``listify``: one string or a list), ``None`` kept."""
    if value is None:
        return None
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else None
    if not names or not all(isinstance(name, str) for name in names):
        raise errors.ValidationError(parameter, f"must be a name or a non-empty list of names, got {value!r}")
    return names


def _check_names(parameter: str, names: list[str] | None, available: list[str], what: str) -> None:
    unknown = [name for name in names or [] if name not in available]
    if unknown:
        raise errors.ValidationError(
            parameter, f"{', '.join(map(repr, unknown))} {'is' if len(unknown) == 1 else 'are'} not {what} of this "
            f"queue; use some of: {', '.join(available) or 'none (no model trained yet: run queue.run_jobs())'}"
        )


def _sort(frame: pd.DataFrame, sort_by: Any, ascending: bool) -> pd.DataFrame:
    names = _names("sort_by", sort_by)
    if names is None:
        return frame
    _check_names("sort_by", names, list(frame.columns), "a column")
    return frame.sort_values(names, ascending=ascending, kind="stable").reset_index(drop=True)


def metrics_to_pandas(queue_id: int, selected_metrics: Any = None, sort_by: Any = None,
                      ascending: bool = False) -> pd.DataFrame:
    """:func:`assay.evaluation.leaderboard.metrics_to_pandas` with AIQC's arguments.

    Args:
        queue_id: the queue.
        selected_metrics: a metric name or a list of them: only these metric columns are kept (in the table's
            order); the identity, hyperparameter and split columns always are. ``None``: every metric.
        sort_by: a column name or a list of them to sort the rows by (stable); ``None``: run order, splits as
            train, validation, test (the table unchanged).
        ascending: the direction of ``sort_by`` (AIQC's default: descending).

    Raises:
        assay.errors.ValidationError: a selected metric or sort column that the table does not hold; the
            message lists those it does.
    """
    frame, _, hp_columns = tables.metrics_table(queue_id)
    metrics = tables.metric_names(frame, hp_columns)
    selected = _names("selected_metrics", selected_metrics)
    if selected is not None:
        _check_names("selected_metrics", selected, metrics, "a metric")
        frame = frame[[name for name in frame.columns if name not in metrics or name in selected]]
    return _sort(frame, sort_by, ascending)


def metrics_aggregate(queue_id: int, ascending: bool = False, selected_metrics: Any = None,
                      selected_stats: Any = None, sort_by: Any = None) -> pd.DataFrame:
    """AIQC's ``metrics_aggregate``: each model's metrics summarised over the splits it was evaluated on.

    One row per trained model and metric, in run order and the metrics table's metric order: the model's
    identity (``queue_id, job_id, predictor_id, run_index, combo_index``, its hyperparameters, ``fold_index``,
    ``repeat_index``), ``metric``, then AIQC's statistics of that metric over the model's splits: ``mean``,
    ``median``, ``pstdev`` (population standard deviation, as AIQC's ``statistics.pstdev``), ``minimum`` and
    ``maximum``. A split lacking the metric (NaN) is skipped; a metric no split of the model holds gives no row.
    For the spread of a combination over its repeats and folds on one split, see ``queue.leaderboard()``.

    Args:
        queue_id: the queue.
        ascending: the direction of ``sort_by``.
        selected_metrics: a metric name or a list of them (rows of other metrics are dropped).
        selected_stats: some of ``mean, median, pstdev, minimum, maximum`` (the other columns are dropped).
        sort_by: a column name or a list of them to sort by; ``None``: run order.

    Raises:
        assay.errors.ValidationError: an unknown metric, statistic or sort column; the message lists the valid ones.
    """
    frame, _, hp_columns = tables.metrics_table(queue_id)
    metrics = tables.metric_names(frame, hp_columns)
    selected = _names("selected_metrics", selected_metrics)
    _check_names("selected_metrics", selected, metrics, "a metric")
    stats = _names("selected_stats", selected_stats)
    _check_names("selected_stats", stats, AGGREGATE_STATS, "a statistic")
    metrics = [name for name in metrics if selected is None or name in selected]
    identity = [*AGGREGATE_ID_COLUMNS, *hp_columns, "fold_index", "repeat_index"]

    long = frame.melt(id_vars=["predictor_id"], value_vars=metrics, var_name="metric").dropna(subset=["value"])
    grouped = long.groupby(["predictor_id", "metric"], sort=False)["value"]
    summary = pd.DataFrame({"mean": grouped.mean(), "median": grouped.median(), "pstdev": grouped.std(ddof=0),
                            "minimum": grouped.min(), "maximum": grouped.max()}).reset_index()
    models = frame.drop_duplicates("predictor_id")[identity]
    result = models.merge(summary, on="predictor_id", how="inner", sort=False)
    order = {name: i for i, name in enumerate(metrics)}
    result = result.assign(_metric_order=result["metric"].map(order)).sort_values(
        ["run_index", "_metric_order"], kind="stable").drop(columns="_metric_order").reset_index(drop=True)
    result = result[[*identity, "metric", *[stat for stat in AGGREGATE_STATS if stats is None or stat in stats]]]
    return _sort(result, sort_by, ascending)


def performance_predictor_ids(queue_id: int, max_loss: float | None = None, min_accuracy: float | None = None,
                              min_r2: float | None = None) -> list[int] | None:
    """The models AIQC's ``plot_performance`` thresholds keep; ``None`` when no threshold is given (every model).

    As AIQC decides: a model is left out when, on any of its evaluated splits, its ``loss`` is at least
    ``max_loss`` or its accuracy (classification) / r2 (regression) is at most ``min_accuracy`` / ``min_r2``.

    Raises:
        assay.errors.ValidationError: a threshold that does not fit the queue's analysis type (``min_r2`` for
            classification, ``min_accuracy`` for regression) or its metrics, one that is not a number, or
            thresholds that leave no model (naming them and the best values reached).
    """
    given = {name: value for name, value in
             {"max_loss": max_loss, "min_accuracy": min_accuracy, "min_r2": min_r2}.items() if value is not None}
    if not given:
        return None
    frame, analysis_type, hp_columns = tables.metrics_table(queue_id)
    is_classification = plugins.analysis_type(analysis_type).is_classification
    for name, value in given.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise errors.ValidationError(name, f"must be a number, got {value!r}")
        wrong = (name == "min_r2" and is_classification) or (name == "min_accuracy" and not is_classification)
        if wrong:
            fits = "min_accuracy" if is_classification else "min_r2"
            raise errors.ValidationError(
                name, f"does not apply to queue {queue_id}, a {analysis_type!r} queue: use max_loss and {fits}")
        if not frame.empty and THRESHOLDS[name] not in tables.metric_names(frame, hp_columns):
            raise errors.ValidationError(
                name, f"queue {queue_id}'s models have no {THRESHOLDS[name]!r} metric to compare it with; use some "
                f"of: {', '.join(tables.metric_names(frame, hp_columns))} through metrics_to_pandas()")
    if frame.empty:
        raise errors.ValidationError("queue", f"queue {queue_id} has no trained model yet; run queue.run_jobs() first")
    failed = pd.Series(False, index=frame.index)
    for name, value in given.items():
        column = frame[THRESHOLDS[name]]
        failed |= (column >= value) if name == "max_loss" else (column <= value)
    kept = frame.loc[~frame["predictor_id"].isin(frame.loc[failed, "predictor_id"]), "predictor_id"]
    if kept.empty:
        reached = ", ".join(
            f"{THRESHOLDS[name]} {'lowest' if name == 'max_loss' else 'highest'} worst-split value "
            f"{_best_worst(frame, THRESHOLDS[name], name == 'max_loss'):.4g}" for name in given)
        raise errors.ValidationError(
            ", ".join(given), f"no model of queue {queue_id} meets {', '.join(f'{k}={v}' for k, v in given.items())} "
            f"on every split ({reached}); loosen the threshold")
    return list(dict.fromkeys(kept.tolist()))


def _best_worst(frame: pd.DataFrame, metric: str, lower_is_better: bool) -> float:
    """The best over models of each model's worst split value of ``metric``."""
    worst = frame.groupby("predictor_id")[metric].max() if lower_is_better else \
        frame.groupby("predictor_id")[metric].min()
    return float(worst.min() if lower_is_better else worst.max())
