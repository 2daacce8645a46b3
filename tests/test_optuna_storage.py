"""assay's one adapter over Optuna's private in-memory storage works with the installed Optuna, and no other module
of assay touches a private attribute of Optuna. Should an Optuna release move these internals, these tests fail
(searches would otherwise rebuild their studies each time, or a kept study would drift from a rebuilt one)."""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from assay.experiment.search import optuna_storage, strategies

CORE = Path(__file__).resolve().parents[1] / "core/src/assay"
DISTRIBUTIONS = {"x": FloatDistribution(0.0, 1.0)}


@pytest.fixture
def study():
    study = strategies.new_study(optuna.samplers.RandomSampler(seed=0), "minimize")
    study.add_trial(create_trial(state=TrialState.COMPLETE, value=0.5, params={"x": 0.5},
                                 distributions=DISTRIBUTIONS))
    study.add_trial(create_trial(state=TrialState.RUNNING, params={"x": 0.25}, distributions=DISTRIBUTIONS))
    return study


def test_a_running_trial_is_finished_as_pruned_with_the_value_it_stopped_at(study):
    trial_id = optuna_storage.last_trial_id(study)
    optuna_storage.finish_trial(study, trial_id, "pruned", 0.7, {4: 0.7})
    pruned = study.get_trials(deepcopy=False)[1]
    assert pruned.state == TrialState.PRUNED
    assert pruned.intermediate_values == {4: 0.7}
    rebuilt = create_trial(state=TrialState.PRUNED, params={"x": 0.25}, distributions=DISTRIBUTIONS,
                           intermediate_values={4: 0.7})
    assert (pruned.state, pruned.value, pruned.intermediate_values) == \
        (rebuilt.state, rebuilt.value, rebuilt.intermediate_values)  # as a study rebuilt from the database holds it


@pytest.mark.parametrize(("state", "value", "expected"), [("complete", 0.1, TrialState.COMPLETE),
                                                          ("failed", None, TrialState.FAIL)])
def test_a_running_trial_is_finished_complete_or_failed(study, state, value, expected):
    optuna_storage.finish_trial(study, optuna_storage.last_trial_id(study), state, value)
    finished = study.get_trials(deepcopy=False)[1]
    assert finished.state == expected
    assert finished.value == value
    assert study.best_value == (0.1 if state == "complete" else 0.5)


def test_the_trials_a_proposal_asked_for_are_forgotten_and_numbering_continues(study):
    for _ in range(3):
        study.ask(DISTRIBUTIONS)
    assert len(study.get_trials(deepcopy=False)) == 5
    assert optuna_storage.drop_trials_from(study, 2) is True
    assert [trial.number for trial in study.get_trials(deepcopy=False)] == [0, 1]
    assert study.ask(DISTRIBUTIONS).number == 2  # the next trial takes the dropped number, as a rebuilt study would


def test_no_other_module_of_assay_touches_a_private_attribute_of_optuna():
    private = re.compile(r"\._(storage|study_id|trial_id|thread_local|studies|trial_id_to_study_id_and_number)\b")
    offenders = [f"{path.relative_to(CORE)}:{number}" for path in CORE.rglob("*.py") if path.name != "optuna_storage.py"
                 for number, line in enumerate(path.read_text().splitlines(), 1) if private.search(line)]
    assert offenders == []
