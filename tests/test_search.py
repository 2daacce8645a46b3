"""Adaptive hyperparameter search (Optuna's samplers fed from assay's database) across workers.

Most jobs train the third-party test plugin's ``numpy_linear`` model, so worker processes start in about a second
and the tests measure the search; pruning is tested with the real torch and Keras backends.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sklearn.preprocessing import StandardScaler
from sqlalchemy import func, select

import assay
from assay import datum, errors
from assay.db.engine import session_scope
from assay.db.models import HyperparamcomboRow, HyperparamsetRow, JobRow, QueueRow
from assay.experiment import workers
from assay.experiment.search.strategies import sampler_seed

SPACE = {
    "learning_rate": assay.space.Float(1e-3, 0.3, log=True),
    "epoch_count": assay.space.Int(2, 12, step=2),
    "init": ["small", "zero"],
}


def fn_build(features_shape, label_shape, **hp):
    from assay_dummy.model import LinearModel

    model = LinearModel(features_shape, label_shape)
    if hp.get("init") == "zero":
        model.weights = model.weights * 0
    return model


def fn_optimize(**hp):
    from assay_dummy.model import GradientDescent

    return GradientDescent(hp["learning_rate"])


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    from assay_dummy.model import fit

    time.sleep(hp.get("sleep", 0.0))
    return fit(model, loser, optimizer, samples_train, samples_evaluate, epoch_count=hp["epoch_count"])


def fn_train_slow(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    time.sleep(0.4)  # long enough to be killed in the middle of a job
    return fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp)


def iris_regression_splitset(**kwargs):
    options = dict(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="petal_width",
        feature_cols_excluded=["species", "petal_width"],
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.2, size_validation=0.2, bin_count=3,
    )
    options.update(kwargs)
    return assay.Pipeline.Tabular.make(**options)


@pytest.fixture
def splitset(db, thirdparty_plugin):
    return iris_regression_splitset()


@pytest.fixture
def any_splitset(any_db, thirdparty_plugin):
    return iris_regression_splitset()


def make_search(splitset, **kwargs):
    options = dict(library="numpy_linear", analysis_type="regression", fn_build=fn_build, fn_train=fn_train,
                   fn_optimize=fn_optimize, hyperparameters=SPACE, search="tpe", search_count=10,
                   splitset_id=splitset.id, seed=11)
    options.update(kwargs)
    return assay.Experiment.make(**options)


def combinations(queue):
    with session_scope() as session:
        return [row.hyperparameters for row in session.scalars(
            select(HyperparamcomboRow).where(HyperparamcomboRow.hyperparamset_id == queue.hyperparamset_id)
            .order_by(HyperparamcomboRow.combo_index))]


def jobs_per_combination(queue):
    with session_scope() as session:
        return session.execute(
            select(HyperparamcomboRow.combo_index, func.count(JobRow.id), func.min(JobRow.status),
                   func.max(JobRow.status))
            .join(JobRow, JobRow.hyperparamcombo_id == HyperparamcomboRow.id)
            .where(JobRow.queue_id == queue.id).group_by(HyperparamcomboRow.combo_index)
            .order_by(HyperparamcomboRow.combo_index)
        ).all()


def assert_no_duplicate(queue, count, jobs_each=1):
    combos = combinations(queue)
    assert len(combos) == count
    assert len({json.dumps(c, sort_keys=True) for c in combos}) == count
    per_combo = jobs_per_combination(queue)
    assert [row[0] for row in per_combo] == list(range(count))
    assert {row[1] for row in per_combo} == {jobs_each}
    with session_scope() as session:
        run_indexes = session.scalars(select(JobRow.run_index).where(JobRow.queue_id == queue.id)).all()
    assert sorted(run_indexes) == list(range(count * jobs_each))


def table_counts():
    with session_scope() as session:
        return [session.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (QueueRow, HyperparamsetRow, HyperparamcomboRow, JobRow)]


# ---------------------------------------------------------------------------------------------------------------
# the space and bad input
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("make", "words"), [
    (lambda: assay.space.Int(5, 1), "low is greater than high"),
    (lambda: assay.space.Float(0.5, 0.1), "low is greater than high"),
    (lambda: assay.space.Float(0.0, 1.0, log=True), "log scale needs low > 0"),
    (lambda: assay.space.Int(0, 10, log=True), "log scale needs low >= 1"),
    (lambda: assay.space.Int(1, 10, step=4), "multiple of step; use high=9"),
    (lambda: assay.space.Int(1, 10, step=2, log=True), "cannot have a step"),
    (lambda: assay.space.Float(0.0, float("nan")), "high must be a finite number"),
    (lambda: assay.space.Int(1.5, 3), "low must be an int"),
])
def test_a_bad_range_is_refused_when_it_is_made_naming_the_fix(make, words):
    with pytest.raises(errors.ExperimentError, match="hyperparameters") as caught:
        make()
    assert words in str(caught.value)


@pytest.mark.parametrize(("options", "parameter", "words"), [
    (dict(hyperparameters={"epoch_count": []}), "hyperparameters", "empty list"),
    (dict(search="grid"), "search", "a grid needs lists"),
    (dict(search="annealing"), "search", "must be one of"),
    (dict(search_count=None), "search_count", "needs search_count"),
    (dict(hyperparameters={"epoch_count": [2, 4], "learning_rate": [0.1], "init": ["zero"]}, search_count=3),
     "search_count", "exceeds the 2 distinct combinations"),
    (dict(objective=("r2", "test"), hide_test=True), "objective", "split 'test' is not evaluated"),
    (dict(objective={"metric": "r2", "direction": "up"}), "objective", "direction must be"),
    (dict(pruner="patient"), "pruner", "must be one of"),
    (dict(pruner=object()), "pruner", "optuna.pruners"),
])
def test_bad_search_settings_are_refused_before_anything_is_written(splitset, options, parameter, words):
    before = table_counts()
    with pytest.raises(errors.ExperimentError) as caught:
        make_search(splitset, **options)
    assert caught.value.parameter == parameter
    assert words in str(caught.value)
    assert table_counts() == before


def test_lists_keep_their_grid_and_random_subset_behaviour(splitset):
    grid = make_search(splitset, hyperparameters={"epoch_count": [2, 4], "learning_rate": [0.1, 0.2],
                                                  "init": ["small"]}, search=None, search_count=None)
    assert len(combinations(grid)) == 4
    assert grid.search["search"] == "grid"
    subset = make_search(splitset, hyperparameters={"epoch_count": [2, 4], "learning_rate": [0.1, 0.2],
                                                    "init": ["small"]}, search=None, search_count=3)
    assert len(combinations(subset)) == 3
    assert subset.search["search"] == "random"


def test_random_search_samples_ranges_up_front_within_their_bounds(splitset):
    queue = make_search(splitset, search="random", search_count=12)
    combos = combinations(queue)
    assert len(combos) == 12
    assert queue.status()["queued"] == 12
    assert all(1e-3 <= c["learning_rate"] <= 0.3 and c["epoch_count"] in range(2, 13, 2) for c in combos)
    assert isinstance(combos[0]["epoch_count"], int)
    assert isinstance(combos[0]["learning_rate"], float)
    assert queue.hyperparameters["learning_rate"] == assay.space.Float(1e-3, 0.3, log=True)


# ---------------------------------------------------------------------------------------------------------------
# adaptive search
# ---------------------------------------------------------------------------------------------------------------


def test_tpe_creates_combinations_as_results_arrive_up_to_search_count(splitset):
    queue = make_search(splitset, search_count=14)
    assert queue.status()["planned"] == 14
    assert queue.status()["total"] == 14
    assert combinations(queue) == []  # nothing is chosen before a worker asks

    summary = queue.run_jobs(progress=False)

    assert summary.succeeded == 14
    assert queue.status()["succeeded"] == 14
    assert queue.status()["planned"] == 0
    assert_no_duplicate(queue, 14)
    history = queue.search_history()
    assert list(history["state"]) == ["complete"] * 14
    assert history.attrs == {"metric": "r2", "split": "validation", "direction": "maximize"}
    assert history["best_so_far"].is_monotonic_increasing
    assert history["best_so_far"].iloc[-1] == pytest.approx(queue.leaderboard()["r2_mean"].iloc[0])
    # TPE learnt from the random start: its later proposals score better on average than the random ones
    assert history["value"].iloc[7:].mean() > history["value"].iloc[:3].mean()
    importance = queue.hyperparameter_importance()
    assert set(importance.index) == {"learning_rate", "epoch_count", "init"}
    assert importance.sum() == pytest.approx(1.0)


def test_the_same_seed_gives_the_same_combinations_and_metrics(splitset):
    first, second = make_search(splitset, search_count=8), make_search(splitset, search_count=8)
    first.run_jobs(progress=False)
    second.run_jobs(progress=False)
    assert combinations(first) == combinations(second)
    assert list(first.search_history()["value"]) == list(second.search_history()["value"])
    other = make_search(splitset, search_count=8, seed=12)
    other.run_jobs(progress=False)
    assert combinations(other) != combinations(first)


@pytest.mark.parametrize("strategy", ["gp", "cmaes"])
def test_gp_and_cmaes_search_the_space_without_a_duplicate(splitset, strategy):
    queue = make_search(splitset, search=strategy, search_count=6,
                        hyperparameters={"learning_rate": SPACE["learning_rate"], "epoch_count": SPACE["epoch_count"]})
    queue.run_jobs(progress=False)
    assert_no_duplicate(queue, 6)
    assert queue.status()["succeeded"] == 6


def test_a_finite_space_smaller_than_the_search_is_searched_whole_without_repeats(splitset):
    queue = make_search(splitset, hyperparameters={"epoch_count": assay.space.Int(2, 6, step=2),
                                                   "learning_rate": [0.05, 0.1], "init": ["small"]},
                        search_count=6)
    queue.run_jobs(progress=False)
    assert_no_duplicate(queue, 6)


def test_folds_and_repeats_give_each_combination_all_its_jobs_and_the_value_is_their_mean(db, thirdparty_plugin):
    splitset = iris_regression_splitset(size_validation=None, fold_count=2)
    queue = make_search(splitset, search_count=4, repeat_count=2)
    queue.run_jobs(progress=False)
    assert_no_duplicate(queue, 4, jobs_each=4)
    runs = queue.metrics_to_pandas()
    means = runs[runs["split"] == "validation"].groupby("combo_index")["r2"].mean()
    assert list(queue.search_history()["value"]) == pytest.approx(list(means))


def test_the_leaderboard_ranks_by_the_objective_the_search_optimised(splitset):
    queue = make_search(splitset, objective=("mae", "validation"), search_count=4)
    queue.run_jobs(progress=False)

    board = queue.leaderboard()

    assert (board.attrs["metric"], board.attrs["split"], board.attrs["higher_is_better"]) == ("mae", "validation",
                                                                                              False)
    assert list(board["mae_mean"]) == sorted(board["mae_mean"])  # smallest error first
    best = assay.Predictor.get(int(board["best_predictor_id"].iloc[0]))
    assert best.metrics["validation"]["mae"] == min(p.metrics["validation"]["mae"] for p in queue.predictors)
    # asked for explicitly, the analysis type's own metric still ranks
    assert queue.leaderboard(metric="r2").attrs["higher_is_better"] is True
    maximised = make_search(splitset, objective={"metric": "mae", "direction": "maximize"}, search_count=2)
    maximised.run_jobs(progress=False)
    assert list(maximised.leaderboard()["mae_mean"]) == sorted(maximised.leaderboard()["mae_mean"], reverse=True)


def test_a_misspelt_objective_stops_the_search_naming_the_metrics_there_are(splitset):
    queue = make_search(splitset, objective="accuracy", search_count=5)
    with pytest.raises(errors.ExperimentError, match=r"'accuracy' is not a metric of split 'validation'.*r2"):
        queue.run_jobs(progress=False)


def test_the_sampler_is_seeded_from_the_queue_seed_and_the_combination():
    assert sampler_seed(1, 0) == sampler_seed(1, 0)
    assert len({sampler_seed(1, 0), sampler_seed(1, 1), sampler_seed(2, 0), sampler_seed(1, 0, 1)}) == 4


# ---------------------------------------------------------------------------------------------------------------
# several workers, crashes
# ---------------------------------------------------------------------------------------------------------------


def test_two_workers_share_one_adaptive_search_without_a_duplicate_combination(any_splitset):
    queue = make_search(any_splitset, search_count=10, hyperparameters={**SPACE, "sleep": [0.2]})
    summary = queue.run_jobs(workers=2, progress=False, lease_seconds=20)
    assert summary.succeeded == 10
    assert_no_duplicate(queue, 10)
    with session_scope() as session:
        names = set(session.scalars(select(JobRow.worker).where(JobRow.queue_id == queue.id)))
    assert len({name.split(":")[1] for name in names}) == 2  # both workers ran jobs


def test_a_dask_cluster_grows_an_adaptive_search_without_a_duplicate_combination(splitset):
    distributed = pytest.importorskip("distributed")
    queue = make_search(splitset, search_count=6, hyperparameters={**SPACE, "sleep": [0.1]})
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        summary = queue.run_jobs(executor=client, progress=False)
    assert summary.succeeded == 6
    assert_no_duplicate(queue, 6)


def test_a_search_killed_with_sigkill_resumes_without_a_duplicate_combination(splitset, db):
    queue = make_search(splitset, fn_train=fn_train_slow, search_count=8)
    command = workers.worker_command(queue.id, threads=1, lease_seconds=30)
    process = subprocess.Popen([*command, "--url", db, "--quiet"], env={**os.environ})
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status = queue.status()
            if status["succeeded"] >= 3 and status["running"] == 1:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the worker did not get going: {queue.status()}")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert queue.status()["running"] == 1  # it died holding a job, without a word

    queue.run_jobs(progress=False)  # this host sees the dead worker's process is gone and takes its job again

    assert queue.status()["succeeded"] == 8
    assert_no_duplicate(queue, 8)


SECOND_WORKER = """
import sys
import assay
from assay.experiment.workers import loop

assay.setup()  # ASSAY_DATABASE_URL
done = []
loop.work(int(sys.argv[1]), wait=False, should_stop=lambda: len(done) >= int(sys.argv[2]), on_job=done.append)
"""


def test_a_workers_kept_study_sees_every_run_another_worker_process_finished(any_splitset, any_db):
    from optuna.trial import TrialState

    from assay.db.queries import search as search_queries
    from assay.experiment import claiming, runner
    from assay.experiment.search import adaptive, space_checks
    from assay.experiment.search.study import SearchStudy
    from assay.experiment.workers.local import worker_environment

    queue = make_search(any_splitset, search_count=12)
    worker = claiming.worker_name()
    for _ in range(3):  # this process's study holds combinations 0-2, complete
        runner.run_claimed_job(claiming.claim_next(queue.id, worker), worker)
    # it proposes combination 3 and claims it, then sees 3 running while it proposes 4
    held = [claiming.claim_next(queue.id, worker), claiming.claim_next(queue.id, worker)]
    # another process proposes and runs 5, 6 and 7 (with 3 and 4 pending)
    subprocess.run([sys.executable, "-c", SECOND_WORKER, str(queue.id), "3"], check=True, timeout=120,
                   env=worker_environment(any_db, threads=1))
    for job_id in held:  # 3 and 4 finish here
        runner.run_claimed_job(job_id, worker)
    assert queue.status()["succeeded"] == 8

    # what a study built from scratch (a fresh process) proposes next
    config = adaptive.settings(queue.id)
    trials = search_queries.combination_trials(queue.id, config.hyperparamset_id, "validation")
    fresh = SearchStudy(config.search, space_checks.loaded_space(config.space), config.objective, config.seed,
                        config.search_count)
    fresh.update(trials)
    expected, _ = fresh.propose()

    claiming.claim_next(queue.id, worker)  # this process's kept study proposes combination 8

    assert combinations(queue)[8] == expected
    kept = adaptive._STUDIES[adaptive._study_key(config)]
    complete = kept.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    assert [trial.number for trial in complete] == list(range(8))  # all eight runs, whichever process ran them
    assert len(kept.study.get_trials(deepcopy=False)) == 8  # the proposal's own attempts were dropped again
    assert_no_duplicate(queue, 9)


# ---------------------------------------------------------------------------------------------------------------
# pruning
# ---------------------------------------------------------------------------------------------------------------


def torch_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], 8), nn.ReLU(), nn.Linear(8, label_shape[0]))


def torch_optimize(model, **hp):
    import torch

    return torch.optim.Adam(model.parameters(), lr=hp["lr"])


def torch_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=8,
                                  batch_size=16)


def keras_optimize(**hp):
    import keras

    return keras.optimizers.SGD(learning_rate=hp["lr"])


def iris_species_splitset():
    from sklearn.preprocessing import OneHotEncoder

    return assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()), feature_cols_excluded="species",
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.2, size_validation=0.2,
    )


def median_pruner():
    import optuna

    # judge from the third epoch, once two runs finished
    return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=3)


def assert_the_bad_run_is_pruned_stored_and_never_best(queue, epochs):
    status = queue.status()
    assert (status["succeeded"], status["pruned"]) == (2, 1)
    pruned = [job for job in queue.jobs if job.status == "pruned"]
    assert [job.hyperparameters["lr"] for job in pruned] == [0.0]
    predictor = pruned[0].predictor
    assert 3 <= len(predictor.history["val_loss"]) < epochs  # stopped early, its history kept
    assert set(predictor.predictions) == {"train", "validation", "test"}
    board = queue.leaderboard()
    assert board.iloc[0]["rank"] == 1
    assert not board.iloc[0]["pruned"]
    assert board.iloc[-1]["pruned"]
    assert board["rank"].isna().iloc[-1]
    assert list(queue.search_history()["state"]) == ["complete", "complete", "pruned"]


def test_torch_fit_reports_every_epoch_and_a_bad_run_is_pruned(db):
    queue = assay.Experiment.make(
        library="torch", analysis_type="classification_multi", fn_build=torch_build, fn_train=torch_train,
        fn_optimize=torch_optimize, hyperparameters={"lr": [0.05, 0.04, 0.0]}, objective="loss",
        pruner=median_pruner(), splitset_id=iris_species_splitset().id, seed=1,
    )
    summary = queue.run_jobs(progress=False)
    assert (summary.succeeded, summary.pruned) == (2, 1)
    assert_the_bad_run_is_pruned_stored_and_never_best(queue, epochs=8)


def test_successive_halving_compares_a_run_with_what_the_finished_runs_had_at_each_rung(db):
    import optuna

    # rungs at epochs 2, 4, 8; at a rung a run must be the best of the values recorded there to go on
    pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=2, reduction_factor=2)
    queue = assay.Experiment.make(
        library="torch", analysis_type="classification_multi", fn_build=torch_build, fn_train=torch_train,
        fn_optimize=torch_optimize, hyperparameters={"lr": [0.05, 0.0]}, objective="loss", pruner=pruner,
        splitset_id=iris_species_splitset().id, seed=1,
    )
    summary = queue.run_jobs(progress=False)

    # the run that learns nothing is stopped at the first rung, against the finished run's loss there
    assert (summary.succeeded, summary.pruned) == (1, 1)
    (pruned,) = [job for job in queue.jobs if job.status == "pruned"]
    assert pruned.hyperparameters["lr"] == 0.0
    assert len(pruned.predictor.history["val_loss"]) < 8


def test_a_threads_kept_pruning_study_sees_the_runs_another_worker_process_finished(db):
    from assay.experiment import claiming, runner
    from assay.experiment.search import pruning
    from assay.experiment.workers.local import worker_environment

    queue = assay.Experiment.make(
        library="torch", analysis_type="classification_multi", fn_build=torch_build, fn_train=torch_train,
        fn_optimize=torch_optimize, hyperparameters={"lr": [0.05, 0.04, 0.0]}, objective="loss",
        pruner=median_pruner(), splitset_id=iris_species_splitset().id, seed=1,
    )
    worker = claiming.worker_name()
    assert runner.run_claimed_job(claiming.claim_next(queue.id, worker), worker).status == "succeeded"  # lr 0.05
    subprocess.run([sys.executable, "-c", SECOND_WORKER, str(queue.id), "1"], check=True, timeout=180,
                   env=worker_environment(db, threads=1))  # lr 0.04, in another process
    # the bad run is judged against both finished runs (the pruner waits for two): this thread's kept study
    # took in the other process's run
    assert runner.run_claimed_job(claiming.claim_next(queue.id, worker), worker).status == "pruned"
    assert_the_bad_run_is_pruned_stored_and_never_best(queue, epochs=8)
    (kept,) = [study for key, study in pruning._STUDIES.items() if key[0] == assay.db.engine.current_url()]
    assert kept.held == 2  # the two finished runs; the pruned run's own trial is dropped when the next run starts


def test_keras_gets_the_pruning_callback_attached_without_user_code(db):
    from experiment_helpers import fn_build as keras_build
    from experiment_helpers import fn_train as keras_train

    queue = assay.Experiment.make(
        library="keras", analysis_type="classification_multi", fn_build=keras_build, fn_train=keras_train,
        fn_optimize=keras_optimize, hyperparameters={"lr": [0.3, 0.2, 0.0], "epoch_count": [8]},
        objective="loss", pruner=median_pruner(), splitset_id=iris_species_splitset().id, seed=1,
    )
    queue.run_jobs(progress=False)
    assert_the_bad_run_is_pruned_stored_and_never_best(queue, epochs=8)


def test_without_a_pruner_nothing_listens_to_the_epochs(db):
    queue = assay.Experiment.make(
        library="torch", analysis_type="classification_multi", fn_build=torch_build, fn_train=torch_train,
        fn_optimize=torch_optimize, hyperparameters={"lr": [0.05, 0.0]}, splitset_id=iris_species_splitset().id,
    )
    queue.run_jobs(progress=False)
    assert queue.status()["succeeded"] == 2
    assert {len(p.history["loss"]) for p in queue.predictors} == {8}


# ---------------------------------------------------------------------------------------------------------------
# plots, report, upgrades
# ---------------------------------------------------------------------------------------------------------------


def test_the_history_and_importance_plots_and_the_report_show_the_search(splitset, tmp_path):
    queue = make_search(splitset, search_count=8)
    queue.run_jobs(progress=False)
    history = queue.plot_search_history()
    assert "optimisation history" in history.axes[0].get_title()
    assert len(history.axes[0].lines) == 1  # the best-so-far line
    importance = queue.plot_hyperparameter_importance()
    assert [label.get_text() for label in importance.axes[0].get_yticklabels()]
    effects = queue.plot_performance()
    lr_axis = next(axis for axis in effects.axes if axis.get_xlabel() == "learning_rate")
    assert len(lr_axis.get_xticklabels()) == 8  # a sampled range is shown in bins, not one tick per value
    page = Path(queue.report(str(tmp_path / "report.html"))).read_text()
    assert "<h2>Search</h2>" in page
    assert "could not be drawn" not in page
    assert "search <b>tpe</b>" in page
    assert "learning_rate: float 0.001..0.3, log" in page


def test_a_queue_from_a_database_made_before_search_reads_back_as_a_grid(tmp_path):
    frozen = Path(__file__).parent / "data" / "assay_0001.sqlite3"
    copy = tmp_path / frozen.name
    shutil.copyfile(frozen, copy)
    assay.setup(f"sqlite:///{copy}")
    queue = assay.Queue.get(1)
    assert queue.search["search"] == "grid"
    assert queue.search["pruner"] is None
    assert queue.status()["pruned"] == 0
    assert queue.status()["planned"] == 0
    assert len(queue.search_history()) >= 1


@pytest.fixture(autouse=True)
def _tests_folder_importable(monkeypatch):
    # the Keras test reuses tests/experiment_helpers.py
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    _ = sys.path
