"""An adaptive queue's combinations as an in-memory Optuna study that a process keeps and brings up to date.

Rebuilding the study from every stored combination for each proposal cost more than a small run's training (all
trials re-added, each deep-copied and checked by Optuna). A :class:`SearchStudy` is built once per process and
queue; before each proposal it takes in only what changed in the database: the combinations added since (by this
worker or any other, including a dead worker's) and the ones it last saw running, now finished or still running.
The sampler therefore sees every stored combination exactly as a study rebuilt from scratch would: the same trials,
in the same order, with the same numbers (a proposal's own attempts are dropped again once it is made; its
combination comes back from the database at the next update). A fresh process builds the same study from the
whole queue, so a search resumed after a crash proposes what the uninterrupted one would have.
"""

from __future__ import annotations

import itertools
import math
import random
import warnings
from typing import Any

from assay import space
from assay.db.queries.search import CombinationTrial
from assay.experiment.search import optuna_storage, space_checks, strategies


class StaleStudy(Exception):
    """What was read does not continue what the study holds (the database was replaced): rebuild it."""


class SearchStudy:
    """The study of one adaptive queue, kept between proposals.

    ``count`` is how many combinations it has taken in (indexes ``0 .. count-1``); :meth:`open_indexes` are those
    it saw unfinished, which the next update reads again.
    """

    def __init__(self, settings_search: str, checked: dict[str, Any], objective: dict[str, str], queue_seed: int,
                 search_count: int):
        import optuna

        self._search, self._checked, self._objective = settings_search, checked, objective
        self._queue_seed, self._search_count = queue_seed, search_count
        self._dists = space_checks.distributions(checked)
        self._finite = not math.isinf(space_checks.space_size(checked))
        # the sampler is replaced, seeded per combination, before every proposal
        self.study = strategies.new_study(optuna.samplers.RandomSampler(seed=0), objective["direction"])
        self.count = 0
        self._open: dict[int, int] = {}  # combo index -> trial id of a combination seen unfinished
        self._used: set[str] = set()
        #: metric names the finished runs recorded, and whether any recorded the objective's
        self.measured: set[str] = set()
        self.metric_seen = False
        #: False once a proposal's trials could not be dropped: the caller then builds a new study next time
        self.reusable = True
        self._every: list[tuple[str, dict[str, Any], tuple[str, ...]]] | None = None

    def open_indexes(self) -> list[int]:
        return sorted(self._open)

    def update(self, trials: list[CombinationTrial]) -> None:
        """Take in combinations read from ``count`` on and those in :meth:`open_indexes`, in index order.

        Raises:
            StaleStudy: they do not continue what this study holds.
        """
        from optuna.trial import TrialState

        indexes = {trial.combo_index for trial in trials}
        if not indexes >= set(self._open):
            raise StaleStudy(f"combinations {sorted(set(self._open) - indexes)} are gone")
        frozen = []
        for trial in trials:
            self._measure(trial)
            if trial.combo_index in self._open:
                state, value = strategies.combination_value(trial, self._objective["metric"])
                if state != "running":
                    self._finish(self._open.pop(trial.combo_index), trial, state, value)
                continue
            if trial.combo_index != self.count + len(frozen):
                raise StaleStudy(f"combination {trial.combo_index} follows {self.count + len(frozen) - 1}")
            self._used.add(space_checks.combination_key(trial.hyperparameters))
            # None (outside the space): counted and never proposed again, unseen by the sampler
            frozen.append(strategies.frozen_trial(self._checked, self._dists, trial, self._objective["metric"]))
        for offset, trial in enumerate(frozen):
            if trial is None:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # Optuna's ExperimentalWarning for add_trial
                self.study.add_trial(trial)
            if trial.state == TrialState.RUNNING:
                self._open[self.count + offset] = optuna_storage.last_trial_id(self.study)
        self.count += len(frozen)

    def _measure(self, trial: CombinationTrial) -> None:
        for job in trial.jobs:
            if job.status in ("succeeded", "pruned") and job.metrics:
                self.measured.update(job.metrics)
                self.metric_seen = self.metric_seen or self._objective["metric"] in job.metrics

    def _finish(self, trial_id: int, trial: CombinationTrial, state: str, value: float | None) -> None:
        """A combination this study holds as running has finished: tell the study how."""
        optuna_storage.finish_trial(self.study, trial_id, state, value,
                                    strategies.pruned_at(trial, value) if state == "pruned" else None)

    def exhausted(self) -> bool:
        """Whether a finite space has no unused combination left."""
        return self._finite and len(self._used) >= space_checks.space_size(self._checked)

    def propose(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The next combination (index ``count``) and the sampler state to store with it.

        Returns ``None`` when a finite space has no unused combination left. The study is left as it was: the
        proposal's trials are dropped, and its combination is taken in from the database at the next update.
        """
        import optuna

        if self.exhausted():
            return None
        sampler = strategies.make_sampler(self._search, strategies.sampler_seed(self._queue_seed, self.count),
                                      self._search_count)
        self.study.sampler = sampler
        held = len(self.study.get_trials(deepcopy=False))
        try:
            # a repeated proposal stays in the study as running: TPE (constant liar) and GP take it as pending,
            # so the next ask moves away from it, as it would for another worker's running combination
            for _attempt in range(strategies.DUPLICATE_RETRIES):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    warnings.simplefilter("ignore", UserWarning)
                    trial = self.study.ask(self._dists)
                combo = space_checks.from_params(self._checked, trial.params)
                if space_checks.combination_key(combo) not in self._used:
                    return combo, dict(self.study.get_trials(deepcopy=False)[trial.number].system_attrs)
        finally:
            self.reusable = self.reusable and optuna_storage.drop_trials_from(self.study, held)
        # the sampler keeps proposing what was run (it has settled on a region of a discrete space): take an
        # unused combination next to its proposal, rather than asking on (each ask costs more than a small run's
        # storage, and a settled TPE rarely moves)
        if self._finite and space_checks.space_size(self._checked) <= strategies.ENUMERABLE:
            unused = self._nearest_unused(combo)
            return None if unused is None else (unused, {})
        return combo, {}

    def _nearest_unused(self, proposed: dict[str, Any]) -> dict[str, Any] | None:
        """An unused combination differing from ``proposed`` in the fewest hyperparameters (seeded among ties)."""
        if self._every is None:  # the whole (finite, small) space, each value's key, made once
            keys = list(self._checked)
            choices = [list(range(v.low, v.high + 1, v.step)) if isinstance(v, space.Int) else
                       ([v.low] if isinstance(v, space.Float) else v) for v in self._checked.values()]
            combos = (dict(zip(keys, values, strict=True)) for values in itertools.product(*choices))
            self._every = [(space_checks.combination_key(combo), combo, _parts(combo)) for combo in combos]
        target = _parts(proposed)
        unused = [(sum(a != b for a, b in zip(parts, target, strict=True)), combo)
                  for key, combo, parts in self._every if key not in self._used]
        if not unused:
            return None
        nearest = min(distance for distance, _ in unused)
        seed = strategies.sampler_seed(self._queue_seed, self.count, strategies.DUPLICATE_RETRIES)
        return random.Random(seed).choice([combo for distance, combo in unused if distance == nearest])


def _parts(combo: dict[str, Any]) -> tuple[str, ...]:
    return tuple(space_checks.combination_key({name: value}) for name, value in combo.items())
