"""Early pruning: stop a run whose per-epoch objective is worse than the other runs' at the same epoch.

A queue made with ``pruner=`` stores an Optuna pruner. While one of its jobs trains, a :class:`JobPruner` listens
to the epochs the backend reports (:mod:`assay.epochs`). At the first report it builds an in-memory Optuna study
from the database: every succeeded and pruned job of the queue on the same fold is a trial whose intermediate
values are its stored per-epoch history (each thread keeps that study for its next run, which reads only the
histories of runs finished since). Each epoch the running job is reported to that study's trial and the pruner
decides. A pruned job stops training; it is then evaluated and stored like any other, with status ``pruned``
(never ranked best).

Which history entry is judged: the objective's metric per epoch (``val_<metric>`` for the validation or test
split, ``<metric>`` for train) when the backend records it, else the loss on the same split, minimised.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Mapping
from typing import Any

import cloudpickle

from assay import errors
from assay.db.engine import current_url
from assay.db.queries import search as queries
from assay.experiment.search import optuna_storage

PRUNERS = ("median", "hyperband", "successive_halving")


def check_pruner(pruner: Any) -> bytes | None:
    """The pruner as stored: ``None``, a name (``"median"``, ``"hyperband"``, ``"successive_halving"``) or an
    Optuna pruner instance, pickled."""
    if pruner is None:
        return None
    import optuna

    if isinstance(pruner, str):
        if pruner not in PRUNERS:
            raise errors.ExperimentError(
                "pruner", f"must be one of {', '.join(map(repr, PRUNERS))}, an optuna pruner or None; got {pruner!r}"
            )
        pruner = {
            # a few runs before judging, and never in the first epoch: early epochs are noisy
            "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
            "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=1),
            "successive_halving": lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1),
        }[pruner]()
    if not isinstance(pruner, optuna.pruners.BasePruner):
        raise errors.ExperimentError(
            "pruner", f"must be 'median', 'hyperband', 'successive_halving' or an optuna.pruners pruner; got "
            f"{type(pruner).__name__}"
        )
    try:
        return cloudpickle.dumps(pruner)
    except Exception as exc:
        raise errors.ExperimentError("pruner", f"cannot be stored for other processes: {exc}") from exc


def history_keys(objective: Mapping[str, str]) -> list[tuple[str, str]]:
    """The history entries that can stand for the objective per epoch, best first, with their direction."""
    prefix = "" if objective["split"] == "train" else "val_"
    metric = objective["metric"]
    keys = [(f"{prefix}{metric}", objective["direction"])]
    if metric != "loss":
        keys.append((f"{prefix}loss", "minimize"))
    return keys


class JobPruner:
    """The :class:`assay.epochs.EpochReporter` of one job: reports each epoch to an Optuna pruner.

    ``pruned_at`` is the epoch training was told to stop at (``None`` while it runs on).
    """

    def __init__(self, pruner_blob: bytes, objective: Mapping[str, str], queue_id: int, job_id: int,
                 fold_index: int | None):
        self._pruner_blob = pruner_blob
        self._objective = objective
        self._queue_id, self._job_id, self._fold_index = queue_id, job_id, fold_index
        self._key: str | None = None
        self._trial: Any = None
        self.pruned_at: int | None = None

    def report(self, epoch: int, logs: Mapping[str, float]) -> bool:
        if self.pruned_at is not None:
            return True  # a loop that did not stop is told again
        if self._trial is None:
            chosen = next(((key, direction) for key, direction in history_keys(self._objective) if key in logs), None)
            if chosen is None:
                return False  # nothing comparable recorded: this run cannot be judged
            self._key = chosen[0]
            self._trial = self._start(*chosen)
        value = float(logs[self._key])
        import optuna

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._trial.report(value, epoch)
            if self._trial.should_prune():
                self.pruned_at = epoch
                return True
        return False

    def _start(self, key: str, direction: str) -> Any:
        """A study of the other finished jobs on this fold, and this job's running trial in it."""
        cache_key = (current_url(), threading.get_ident(), self._queue_id, self._fold_index, key, direction,
                     self._pruner_blob)
        held = _STUDIES.pop(cache_key, None)
        finished = [run for run in queries.finished_runs(self._queue_id, self._fold_index) if run[0] != self._job_id]
        if held is not None and not held.takes(finished):
            held = None
        if held is None:
            held = _FoldStudy.new(self._queue_id, self._fold_index, direction, self._pruner_blob)
        new = [run for run in finished if run[0] not in held.seen]
        histories = queries.run_histories([job_id for job_id, _, _ in new])
        held.add(new, histories, key)
        _STUDIES[cache_key] = held
        while len(_STUDIES) > _STUDIES_KEPT:
            del _STUDIES[next(iter(_STUDIES))]
        return held.study.ask()


class _FoldStudy:
    """The finished runs of one fold as an in-memory Optuna study, kept by a thread from one run to its next.

    It holds them in run order, as a study rebuilt from the database would; the running trial a run asked for is
    dropped when the thread's next run starts. A run that finished out of order makes it rebuild.
    """

    def __init__(self, study: Any):
        self.study = study
        self.seen: set[int] = set()  # job ids taken in (with or without a usable history)
        self.last_run = -1  # the largest run index taken in
        self.held = 0  # trials that are finished runs; any after them were asked by an earlier run

    @classmethod
    def new(cls, queue_id: int, fold_index: int | None, direction: str, pruner_blob: bytes) -> _FoldStudy:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        # a fixed name: Hyperband assigns brackets from the study name and trial number
        return cls(optuna.create_study(
            study_name=f"assay-queue-{queue_id}-fold-{fold_index}", direction=direction,
            pruner=cloudpickle.loads(pruner_blob), sampler=optuna.samplers.RandomSampler(seed=0),
        ))

    def takes(self, finished: list[tuple[int, int, str]]) -> bool:
        """Whether the runs finished since can be appended in run order, after the earlier run's trial is dropped."""
        new = [run_index for job_id, run_index, _ in finished if job_id not in self.seen]
        return (min(new, default=self.last_run + 1) > self.last_run
                and optuna_storage.drop_trials_from(self.study, self.held))

    def add(self, runs: list[tuple[int, int, str]], histories: dict[int, dict[str, list[float]]], key: str) -> None:
        from optuna.trial import TrialState, create_trial

        trials = []
        for job_id, run_index, status in runs:
            self.seen.add(job_id)
            self.last_run = max(self.last_run, run_index)
            values = {step: float(v) for step, v in enumerate(histories.get(job_id, {}).get(key) or [], start=1)
                      if v is not None and math.isfinite(v)}
            if not values:
                continue
            if _records_rungs(self.study.pruner):
                self._replay(values, status)
                continue
            if status == "succeeded":
                trials.append(create_trial(state=TrialState.COMPLETE, value=values[max(values)],
                                           intermediate_values=values))
            else:
                trials.append(create_trial(state=TrialState.PRUNED, intermediate_values=values))
        self.study.add_trials(trials)
        self.held += len(trials)

    def _replay(self, values: dict[int, float], status: str) -> None:
        """Add a finished run by reporting its epochs to the pruner again, as they were reported while it ran.

        Successive halving (and Hyperband, built of it) compares a run with the values the others had when they
        reached each rung, which the pruner records on their trials as they go; a trial made from the history
        alone carries none, so the run would be compared with nobody and never pruned.
        """
        from optuna.trial import TrialState

        trial = self.study.ask()
        for step in sorted(values):
            trial.report(values[step], step)
            trial.should_prune()  # records each rung the run reached; it did (or did not) stop there already
        if status == "succeeded":
            self.study.tell(trial, values[max(values)])
        else:
            self.study.tell(trial, state=TrialState.PRUNED)
        self.held += 1


def _records_rungs(pruner: Any) -> bool:
    """Whether the pruner (or the pruner it wraps, for ``PatientPruner``) keeps state on the trials it judges."""
    import optuna

    while pruner is not None:
        if isinstance(pruner, (optuna.pruners.SuccessiveHalvingPruner, optuna.pruners.HyperbandPruner)):
            return True
        pruner = getattr(pruner, "_wrapped_pruner", None)
    return False


#: each thread's fold studies per (database, thread, queue, fold, history key, direction, pruner); the most
#: recently used few, as a pooled worker serves one queue after another
_STUDIES: dict[tuple[Any, ...], _FoldStudy] = {}
_STUDIES_KEPT = 8


def job_pruner(queue_id: int, job_id: int, fold_index: int | None) -> JobPruner | None:
    """The pruner of a job of this queue, or ``None`` when the queue prunes nothing."""
    from assay.experiment.search import adaptive

    config = adaptive.settings(queue_id)
    if config.pruner is None or config.objective is None:
        return None
    return JobPruner(config.pruner, config.objective, queue_id, job_id, fold_index)
