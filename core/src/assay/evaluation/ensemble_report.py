"""What pages show of an ensemble: its summary (metrics per split, members, weights), the selection curve, and
its feature importance (the members', weighted). Used by ``_repr_html_``, ``queue.report`` and the dashboard."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from assay.db.models import EnsembleRow
from assay.db.queries import data as data_queries
from assay.db.queries import ensembles as queries
from assay.db.queries import experiments as experiment_queries
from assay.evaluation import importance
from assay.evaluation.ensemble import ordered_splits

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def feature_importance(members: dict[int, float], split: str, permutation_count: int, refresh: bool,
                       sample_rows: int | str | None) -> pd.DataFrame:
    """The members' permutation importances averaged with their weights (see ``Ensemble.feature_importance``)."""
    tables = {pid: importance.feature_importance(pid, split=split, permutation_count=permutation_count,
                                                 refresh=refresh, sample_rows=sample_rows).set_index("feature")
              for pid in members}
    features = list(next(iter(tables.values())).index)
    weights = np.array(list(members.values()))
    means = np.array([[tables[pid].loc[feature, "importance_mean"] for feature in features] for pid in members])
    mean = weights @ means
    spread = np.sqrt(np.maximum(weights @ (means - mean) ** 2, 0.0))
    frame = pd.DataFrame({"feature": features, "importance_mean": mean, "importance_std": spread,
                          "importance_min": means.min(axis=0), "importance_max": means.max(axis=0)})
    frame = frame.sort_values("importance_mean", ascending=False, kind="stable").reset_index(drop=True)
    first = next(iter(tables.values()))
    frame.attrs.update(split=split, permutation_count=permutation_count, metric=first.attrs.get("metric"),
                       higher_is_better=first.attrs.get("higher_is_better"), members=len(members))
    return frame


def plot_selection_curve(ensemble_id: int) -> Figure:
    """The selection split's score after each iteration; the kept iteration marked."""
    from matplotlib.figure import Figure

    row = data_queries.row(EnsembleRow, ensemble_id, "Ensemble")
    figure = Figure(figsize=(6, 3.2), layout="constrained")
    axes = figure.add_subplot()
    iterations = np.arange(1, len(row.curve) + 1)
    axes.plot(iterations, row.curve, marker="o", markersize=3, color="#3b6ea5")
    axes.axvline(row.best_iteration, color="#c0504d", linestyle="--",
                 label=f"kept: iteration {row.best_iteration}")
    axes.set_xlabel("iteration (models picked)" if row.method == "caruana" else "best candidates averaged")
    axes.set_ylabel(f"{row.metric} on {row.split}")
    axes.set_title(f"Ensemble {ensemble_id}: {row.method} selection")
    axes.legend(loc="best")
    return figure


def summary(ensemble_id: int) -> dict[str, Any]:
    """Plain data of one ensemble for pages: metrics per split with notes, member combinations and models."""
    row = data_queries.row(EnsembleRow, ensemble_id, "Ensemble")
    members = queries.member_rows(ensemble_id)
    predictions = {prediction.split: prediction for prediction in queries.prediction_rows(ensemble_id)}
    splits = ordered_splits(list(predictions))
    names: list[str] = []
    for split in splits:
        names += [name for name in predictions[split].metrics if name not in names]
    combos: dict[int, dict[str, Any]] = {}
    for member in members:
        entry = combos.setdefault(member.combo_index, {"combo_index": member.combo_index, "weight": 0.0,
                                                       "predictor_ids": []})
        entry["weight"] += member.weight
        entry["predictor_ids"].append(member.predictor_id)
    hyperparameters = {}
    for entry in combos.values():
        context = experiment_queries.predictor_context(entry["predictor_ids"][0])
        hyperparameters[entry["combo_index"]] = dict(context[2].hyperparameters or {})
    for entry in combos.values():
        entry["hyperparameters"] = hyperparameters[entry["combo_index"]]
    return {
        "id": ensemble_id, "queue_id": row.queue_id, "method": row.method, "metric": row.metric,
        "split": row.split, "size": row.size, "candidate_count": row.candidate_count,
        "best_iteration": row.best_iteration, "out_of_fold": row.out_of_fold, "curve": list(row.curve),
        "metric_names": names,
        "splits": [{"split": split, "rows": predictions[split].row_count, "note": predictions[split].note,
                    "metrics": {name: predictions[split].metrics.get(name, math.nan) for name in names}}
                   for split in splits],
        "combinations": sorted(combos.values(), key=lambda entry: -entry["weight"]),
        "model_count": len(members),
    }
