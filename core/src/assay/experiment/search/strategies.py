"""Search strategies: which combinations of hyperparameters a queue runs, chosen by a grid or by Optuna's samplers.

``grid`` and ``random`` make every combination up front. ``tpe``, ``gp`` and ``cmaes`` are adaptive: a worker
that finds nothing queued asks the sampler for the next combination (:mod:`assay.experiment.search.adaptive`).

Optuna is used as a library only. assay's database stays the one store: an in-memory Optuna study holds the
stored combinations (finished ones with their objective value, pruned ones with the value they stopped at,
running ones as pending; each process keeps it and reads only what changed, :mod:`assay.experiment.search.study`),
and the sampler, seeded from the queue's seed and the combination's index, proposes the next. The sampler's own
per-trial state (Optuna's system attrs, such as CMA-ES's optimizer) is stored with the combination, so a search
rebuilt after a crash continues exactly.
"""

from __future__ import annotations

import itertools
import math
import random
import warnings
from typing import Any

import numpy as np

from assay import errors, plugins, space
from assay.db.queries.search import CombinationTrial
from assay.experiment.search import space_checks

STRATEGIES = ("grid", "random", "tpe", "gp", "cmaes")
ADAPTIVE = frozenset({"tpe", "gp", "cmaes"})
#: metrics of the built-in analysis types where smaller is better (besides names ending in loss or error)
LOWER_IS_BETTER = frozenset({"loss", "log_loss", "mse", "rmse", "mae", "mape", "rmsle", "msle"})
#: how often the sampler is asked in all while it proposes combinations that already exist; then a finite
#: space's unused combination nearest to its proposal is taken
DUPLICATE_RETRIES = 3
#: finite spaces up to this size are enumerated to find an unused combination when the sampler keeps repeating
ENUMERABLE = 200_000


# --------------------------------------------------------------------------------------------------------------
# the strategy
# --------------------------------------------------------------------------------------------------------------


def check_strategy(search: Any, checked: dict[str, Any], search_count: Any, search_percent: Any) -> str:
    """The strategy a queue uses, with ``search_count`` / ``search_percent`` checked against it.

    ``None`` means ``grid`` for lists (a random subset with ``search_count`` or ``search_percent``, as before
    ranges existed) and ``tpe`` once a range is given.
    """
    if search is None:
        search = "tpe" if space_checks.has_ranges(checked) else ("random" if search_count or search_percent else "grid")
    if not isinstance(search, str) or search not in STRATEGIES:
        raise errors.ExperimentError("search", f"must be one of {', '.join(map(repr, STRATEGIES))}, got {search!r}")
    if search_count is not None and (not isinstance(search_count, int) or isinstance(search_count, bool)
                                     or search_count < 1):
        raise errors.ExperimentError("search_count", f"must be a positive int, got {search_count!r}")
    if search_percent is not None:
        if search_count is not None:
            raise errors.ExperimentError("search_count", "give search_count or search_percent, not both")
        if not isinstance(search_percent, (int, float)) or isinstance(search_percent, bool) \
                or not 0 < search_percent <= 1:
            raise errors.ExperimentError("search_percent", f"must be in (0, 1], got {search_percent!r}")
    size = space_checks.space_size(checked)
    if search == "grid" and space_checks.has_ranges(checked):
        ranged = ", ".join(repr(name) for name, values in checked.items() if space.is_range(values))
        raise errors.ExperimentError(
            "search", f"a grid needs lists, but {ranged} {'is a range' if ',' not in ranged else 'are ranges'}; "
            "use search='random', 'tpe', 'gp' or 'cmaes' with search_count=N, or give a list of values"
        )
    if search != "grid" and search_count is None and (search_percent is None or math.isinf(size)):
        raise errors.ExperimentError(
            "search_count", f"search={search!r} needs search_count=N, the number of combinations to try"
        )
    if search in ADAPTIVE and search_percent is not None:
        search_count = max(1, round(size * search_percent))
    if search_count is not None and search_count > size:
        raise errors.ExperimentError(
            "search_count", f"{search_count} exceeds the {int(size)} distinct combinations of the space; lower "
            "search_count or widen the space"
        )
    if search == "gp":
        _require("torch", "gp")
        _require("scipy", "gp")
    if search == "cmaes":
        _require("cmaes", "cmaes")
    return search


def _require(module: str, strategy: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise errors.ConfigurationError(
            f"search={strategy!r} needs the package {module!r}, which is not installed; pip install {module}"
        )


def adaptive_count(checked: dict[str, Any], search_count: int | None, search_percent: float | None) -> int:
    """How many combinations an adaptive search makes in all."""
    if search_count is not None:
        return search_count
    return max(1, round(space_checks.space_size(checked) * (search_percent or 1)))


def initial_combinations(search: str, checked: dict[str, Any], search_count: int | None,
                         search_percent: float | None, seed: int) -> list[dict[str, Any]]:
    """The combinations made up front: every one of a grid (or a seeded subset), or a random sample of the space.

    Adaptive strategies make none up front.
    """
    if search in ADAPTIVE:
        return []
    if not space_checks.has_ranges(checked):
        keys = list(checked)
        combos = [dict(zip(keys, values, strict=True)) for values in itertools.product(*checked.values())] or [{}]
        count = search_count if search_count is not None else (
            max(1, round(len(combos) * search_percent)) if search_percent is not None else None)
        if count is None:
            return combos
        chosen = sorted(random.Random(seed).sample(range(len(combos)), count))
        return [combos[i] for i in chosen]
    assert search_count is not None
    return _random_sample(checked, search_count, seed)


def _random_sample(checked: dict[str, Any], count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` distinct combinations drawn by Optuna's random sampler (ranges on their own scale)."""
    import optuna

    dists = space_checks.distributions(checked)
    study = new_study(optuna.samplers.RandomSampler(seed=seed), "maximize")
    seen: set[str] = set()
    combos: list[dict[str, Any]] = []
    finite = not math.isinf(space_checks.space_size(checked))
    while len(combos) < count:
        trial = study.ask(dists)
        combo = space_checks.from_params(checked, trial.params)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        if finite and space_checks.combination_key(combo) in seen:
            continue  # count <= size was checked, so distinct draws run out only after count of them
        seen.add(space_checks.combination_key(combo))
        combos.append(combo)
    return combos


def sampler_seed(queue_seed: int, combo_index: int, attempt: int = 0) -> int:
    """The seed of the sampler that proposes combination ``combo_index``: a rebuilt search asks the same way."""
    state = np.random.SeedSequence([queue_seed, combo_index, attempt]).generate_state(1)[0]
    return int(state % (2**31 - 1))


def make_sampler(search: str, seed: int, search_count: int) -> Any:
    """The Optuna sampler of an adaptive strategy, seeded.

    TPE sees running combinations as pending (``constant_liar``), so workers asking at once get different
    proposals. Its random start is the first 10 combinations as in Optuna, but at most a quarter of a small
    search, which would otherwise be random almost throughout.
    """
    import optuna

    startup = max(2, min(10, search_count // 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if search == "tpe":
            return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, constant_liar=True,
                                              multivariate=True)
        if search == "gp":
            return optuna.samplers.GPSampler(seed=seed, n_startup_trials=startup)
        if search == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=startup,
                                                warn_independent_sampling=False,
                                                independent_sampler=optuna.samplers.RandomSampler(seed=seed))
    raise errors.ExperimentError("search", f"{search!r} is not an adaptive strategy")


def new_study(sampler: Any, direction: str, pruner: Any = None) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(sampler=sampler, pruner=pruner or optuna.pruners.NopPruner(), direction=direction)


# --------------------------------------------------------------------------------------------------------------
# the objective
# --------------------------------------------------------------------------------------------------------------


def higher_is_better(metric: str, analysis_type: str) -> bool:
    """Whether a larger ``metric`` is better: the analysis type's rule for its main metric, else by name."""
    analysis = plugins.analysis_type(analysis_type)
    if metric == analysis.main_metric:
        return analysis.higher_is_better
    name = metric.lower()
    return not (name in LOWER_IS_BETTER or name.endswith(("loss", "error")))


def check_objective(objective: Any, analysis_type: str, splits: list[str]) -> dict[str, str]:
    """``{"metric", "split", "direction"}`` from ``objective``.

    Accepted: ``None`` (the analysis type's main metric on the evaluation split, in its own direction),
    ``"metric"``, ``("metric", "split")`` or ``{"metric": ..., "split": ..., "direction": "maximize" |
    "minimize"}``. The evaluation split is ``validation`` when the splitset has one (or folds), else ``test``,
    else ``train``.
    """
    default_split = next(name for name in ("validation", "test", "train") if name in splits or name == "train")
    spec: dict[str, Any]
    if objective is None:
        spec = {}
    elif isinstance(objective, str):
        spec = {"metric": objective}
    elif isinstance(objective, tuple) and len(objective) == 2:
        spec = {"metric": objective[0], "split": objective[1]}
    elif isinstance(objective, dict) and set(objective) <= {"metric", "split", "direction"}:
        spec = dict(objective)
    else:
        raise errors.ExperimentError(
            "objective", f"must be a metric name, (metric, split) or a dict with metric, split and direction; got "
            f"{objective!r}"
        )
    metric = spec.get("metric") or plugins.analysis_type(analysis_type).main_metric
    split = spec.get("split") or default_split
    if not isinstance(metric, str):
        raise errors.ExperimentError("objective", f"the metric must be a name such as 'accuracy', got {metric!r}")
    if split not in splits:
        raise errors.ExperimentError(
            "objective", f"split {split!r} is not evaluated in this queue; use one of {', '.join(splits)}"
        )
    direction = spec.get("direction") or ("maximize" if higher_is_better(metric, analysis_type) else "minimize")
    if direction not in ("maximize", "minimize"):
        raise errors.ExperimentError("objective", f"direction must be 'maximize' or 'minimize', got {direction!r}")
    return {"metric": metric, "split": split, "direction": direction}


def combination_value(trial: CombinationTrial, metric: str) -> tuple[str, float | None]:
    """A combination's state for a sampler and its value: the mean of ``metric`` over its folds and repeats.

    ``running`` while any job is unfinished, ``failed`` if any failed (or the metric is missing), ``pruned`` if
    any was pruned (value: the mean where it stopped), else ``complete``.
    """
    statuses = {job.status for job in trial.jobs}
    if not trial.jobs or statuses & {"queued", "running"}:
        return "running", None
    if "failed" in statuses:
        return "failed", None
    values = [job.metrics.get(metric) for job in trial.jobs if job.metrics]
    numbers = [float(v) for v in values if v is not None and np.isfinite(v)]
    value = float(np.mean(numbers)) if len(numbers) == len(trial.jobs) else None
    if "pruned" in statuses:
        return "pruned", value
    return ("complete", value) if value is not None else ("failed", None)


def frozen_trial(checked: dict[str, Any], dists: dict[str, Any], trial: CombinationTrial,
                 metric: str) -> Any | None:
    """A stored combination as an Optuna trial (see :func:`combination_value`); ``None`` outside the space.

    A pruned combination's value is its intermediate value at the last epoch its runs reached.
    """
    from optuna.trial import TrialState, create_trial

    params = space_checks.to_params(checked, trial.hyperparameters)
    if params is None:
        return None
    state, value = combination_value(trial, metric)
    attrs = dict(trial.sampler_attrs)
    if state == "complete":
        return create_trial(state=TrialState.COMPLETE, value=value, params=params, distributions=dists,
                            system_attrs=attrs)
    if state == "pruned":
        return create_trial(state=TrialState.PRUNED, params=params, distributions=dists,
                            intermediate_values=pruned_at(trial, value), system_attrs=attrs)
    return create_trial(state=TrialState.RUNNING if state == "running" else TrialState.FAIL, params=params,
                        distributions=dists, system_attrs=attrs)


def pruned_at(trial: CombinationTrial, value: float | None) -> dict[int, float] | None:
    """A pruned combination's value at the last epoch its runs reached, as Optuna's intermediate values."""
    steps = max((job.epochs for job in trial.jobs), default=0) or 1
    return {steps: value} if value is not None else None


def study_from_trials(checked: dict[str, Any], trials: list[CombinationTrial], objective: dict[str, str],
                      sampler: Any) -> Any:
    """An in-memory Optuna study holding every stored combination as a trial (see :func:`combination_value`)."""
    import optuna

    dists = space_checks.distributions(checked)
    study = new_study(sampler, objective["direction"])
    frozen = [frozen_trial(checked, dists, trial, objective["metric"]) for trial in trials]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.add_trials([trial for trial in frozen if trial is not None])
    return study
