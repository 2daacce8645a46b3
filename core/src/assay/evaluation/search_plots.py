"""How a search went: the optimisation history (best so far against combinations run) and which hyperparameters
mattered (Optuna's fANOVA importance computed on assay's stored results).

Both read the queue's combinations in the order they were made, each with its objective value: the mean over its
folds and repeats of the queue's objective (see ``Experiment.make(objective=...)``). Pruned combinations are shown
but never count as the best so far.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from assay import errors
from assay.db.queries import search as queries
from assay.experiment.search import space_checks, strategies

COLORS = {"complete": "#1f77b4", "pruned": "#7f7f7f", "best": "#d62728"}


def _objective(queue_id: int, settings: queries.SearchSettings) -> dict[str, str]:
    if settings.objective:
        return dict(settings.objective)
    # a queue made before objectives were stored: the analysis type's main metric on its evaluation split
    from assay.evaluation import leaderboard as tables

    runs, analysis_type, _ = tables.metrics_table(queue_id)
    splits = sorted(set(runs["split"])) or ["train"]
    return strategies.check_objective(None, analysis_type, splits)


def search_history(queue_id: int) -> pd.DataFrame:
    """One row per combination in the order the search made them.

    Columns: ``combo_index``, the hyperparameters, ``state`` (``complete``, ``pruned``, ``running``,
    ``failed``), ``value`` (the objective: mean over folds and repeats; for a pruned combination, where it stopped),
    ``epochs`` (epochs trained by all its runs), and ``best_so_far`` (the best complete value up to this row).
    ``frame.attrs`` holds ``metric``, ``split`` and ``direction``.
    """
    settings = queries.search_settings(queue_id)
    objective = _objective(queue_id, settings)
    trials = queries.combination_trials(queue_id, settings.hyperparamset_id, objective["split"])
    names = list(settings.space)
    records = []
    for trial in trials:
        state, value = strategies.combination_value(trial, objective["metric"])
        records.append({"combo_index": trial.combo_index,
                        **{name: _plain(trial.hyperparameters.get(name)) for name in names},
                        "state": state, "value": value, "epochs": sum(job.epochs for job in trial.jobs)})
    frame = pd.DataFrame.from_records(records, columns=["combo_index", *names, "state", "value", "epochs"])
    frame["value"] = frame["value"].astype(float)
    complete = frame["value"].where(frame["state"] == "complete")
    maximise = objective["direction"] == "maximize"
    frame["best_so_far"] = (complete.cummax() if maximise else complete.cummin()).ffill()
    frame.attrs.update(objective)
    return frame


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, (list, dict)) else value


def plot_search_history(queue_id: int) -> Figure:
    """Each combination's objective value in the order the search ran them, and the best so far as a line.

    Raises:
        assay.errors.ValidationError: no combination has a value yet.
    """
    frame = search_history(queue_id)
    if frame["value"].notna().sum() == 0:
        raise errors.ValidationError("queue", f"queue {queue_id} has no finished combination yet; run "
                                              "queue.run_jobs() first")
    figure = Figure(figsize=(7.5, 4.2), layout="constrained")
    axis = figure.add_subplot()
    x = np.arange(1, len(frame) + 1)
    for state, marker in (("complete", "o"), ("pruned", "x")):
        chosen = frame["state"] == state
        if chosen.any():
            axis.scatter(x[chosen], frame.loc[chosen, "value"], marker=marker, s=26, alpha=0.75,
                         color=COLORS[state], label=f"{state} ({int(chosen.sum())})")
    axis.step(x, frame["best_so_far"], where="post", color=COLORS["best"], linewidth=2, label="best so far")
    metric, split = frame.attrs["metric"], frame.attrs["split"]
    axis.set_xlabel("combinations run")
    axis.set_ylabel(f"{metric} ({split}), mean over folds and repeats")
    axis.set_title(f"Queue {queue_id}: optimisation history ({frame.attrs['direction']} {metric})")
    axis.grid(True, color="#e6e6e6", linewidth=0.8)
    axis.legend(fontsize=9)
    return figure


def hyperparameter_importance(queue_id: int) -> pd.Series:
    """How much of the objective's variance each hyperparameter explains (fANOVA), summing to 1, largest first.

    Computed by Optuna's ``FanovaImportanceEvaluator`` (seeded from the queue's seed) on an in-memory study of
    the queue's complete combinations; hyperparameters with a single value are left out.

    Raises:
        assay.errors.ValidationError: fewer than two complete combinations, or no hyperparameter that varies.
    """
    import optuna

    settings = queries.search_settings(queue_id)
    objective = _objective(queue_id, settings)
    trials = queries.combination_trials(queue_id, settings.hyperparamset_id, objective["split"])
    checked = space_checks.loaded_space(settings.space)
    complete = [trial for trial in trials if strategies.combination_value(trial, objective["metric"])[0] == "complete"]
    varied = [name for name, values in checked.items()
              if len({space_checks.combination_key({name: t.hyperparameters.get(name)}) for t in complete}) > 1]
    if len(complete) < 2 or not varied:
        raise errors.ValidationError(
            "queue", f"queue {queue_id} needs at least two complete combinations that differ in a hyperparameter "
            f"to measure importance (it has {len(complete)})"
        )
    study = strategies.study_from_trials(checked, complete, objective, optuna.samplers.RandomSampler(seed=0))
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=settings.seed % (2**31 - 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        importances = optuna.importance.get_param_importances(study, evaluator=evaluator, params=varied,
                                                              normalize=True)
    series = pd.Series(importances, name="importance", dtype=float).sort_values(ascending=False)
    series.index.name = "hyperparameter"
    series.attrs.update(objective)
    return series


def plot_hyperparameter_importance(queue_id: int) -> Figure:
    """Bar chart of :func:`hyperparameter_importance`."""
    importance = hyperparameter_importance(queue_id)
    figure = Figure(figsize=(6.5, 0.6 + 0.45 * len(importance)), layout="constrained")
    axis = figure.add_subplot()
    names = list(importance.index)[::-1]
    axis.barh(names, importance.to_numpy()[::-1], color="#1f77b4")
    axis.set_xlabel(f"share of the variance of {importance.attrs['metric']} ({importance.attrs['split']})")
    axis.set_title(f"Queue {queue_id}: hyperparameter importance (fANOVA)")
    axis.set_xlim(0, 1)
    axis.grid(True, axis="x", color="#e6e6e6")
    return figure
