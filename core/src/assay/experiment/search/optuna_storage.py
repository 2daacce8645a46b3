"""The one place assay reaches into Optuna's private attributes: its in-memory storage.

Why at all: a process keeps an adaptive queue's Optuna study (:mod:`~assay.experiment.search.study`) and a
pruning study per fold (:mod:`~assay.experiment.search.pruning`) between proposals, reading only what changed in
the database. Keeping them right needs three things Optuna's public API does not offer:

* finishing a trial the study holds as running exactly as a study rebuilt from the database would hold it: its
  state and value, and for a pruned run the intermediate value it stopped at, without calling the sampler's
  ``after_trial`` (a rebuilt study never calls it: its trials are added finished);
* the storage id of a trial just added, which that needs;
* forgetting the trials a proposal asked for itself, so the study holds only stored results (in-memory storage
  cannot delete a trial).

Each function fails soft where it can: :func:`drop_trials_from` returns ``False`` when Optuna lays its storage
out otherwise, and the caller then rebuilds its study from the database (slower, never wrong).
``tests/test_optuna_storage.py`` exercises every function against the installed Optuna, so an Optuna release that
changes these internals fails that test rather than slowing searches down unnoticed; another test checks that no
other module of assay touches a private attribute of Optuna.
"""

from __future__ import annotations

from typing import Any


def last_trial_id(study: Any) -> int:
    """The storage id of the trial added last (what :func:`finish_trial` takes)."""
    return study._storage.get_all_trials(study._study_id, deepcopy=False)[-1]._trial_id


def finish_trial(study: Any, trial_id: int, state: str, value: float | None,
                 intermediate: dict[int, float] | None = None) -> None:
    """Mark a running trial ``complete`` (with its value), ``pruned`` (with the intermediate values it stopped
    at) or ``failed``, straight in the storage."""
    from optuna.trial import TrialState

    storage = study._storage
    if state == "complete":
        storage.set_trial_state_values(trial_id, TrialState.COMPLETE, [value])
    elif state == "pruned":
        for step, stopped in (intermediate or {}).items():
            storage.set_trial_intermediate_value(trial_id, step, stopped)
        storage.set_trial_state_values(trial_id, TrialState.PRUNED)
    else:
        storage.set_trial_state_values(trial_id, TrialState.FAIL)


def drop_trials_from(study: Any, number: int) -> bool:
    """Forget an in-memory study's trials numbered ``number`` and above; ``False`` if that failed."""
    storage = study._storage
    try:
        trials = storage._studies[study._study_id].trials
        for trial in trials[number:]:
            del storage._trial_id_to_study_id_and_number[trial._trial_id]
        del trials[number:]
        study._thread_local.cached_all_trials = None
        return len(storage.get_all_trials(study._study_id, deepcopy=False)) == number
    except (AttributeError, KeyError, TypeError):
        return False
