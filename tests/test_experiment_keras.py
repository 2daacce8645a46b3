"""Experiments on Keras: queues of jobs over a hyperparameter grid, persisted, resumable and reproducible."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from experiment_helpers import fn_build, fn_build_binary, fn_build_regression, fn_train
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from sqlalchemy import func, select

import assay
from assay import datum, errors
from assay.db.engine import session_scope
from assay.db.models import Base, JobRow, PredictionRow, PredictorRow

pytest.importorskip("assay_keras")


def iris_splitset(**kwargs):
    options = dict(
        df_or_path=datum.to_pandas("iris.tsv"),
        label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_cols_excluded="species",
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.22, size_validation=0.12, fold_count=None, bin_count=None,
    )
    options.update(kwargs)
    return assay.Pipeline.Tabular.make(**options)


def make_queue(splitset, **kwargs):
    options = dict(
        library="keras", analysis_type="classification_multi", fn_build=fn_build, fn_train=fn_train,
        repeat_count=1, hyperparameters={"neuron_count": [4, 8]}, splitset_id=splitset.id, seed=7,
    )
    options.update(kwargs)
    return assay.Experiment.make(**options)


def row_counts() -> dict[str, int]:
    with session_scope() as session:
        return {table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
                for table in Base.metadata.sorted_tables}


@pytest.fixture
def splitset(db):
    return iris_splitset()


def test_a_queue_trains_every_combination_and_repeat_and_stores_a_predictor_each(splitset):
    queue = make_queue(splitset, repeat_count=2, hyperparameters={"neuron_count": [4, 8], "epoch_count": [2, 3]})
    summary = queue.run_jobs(progress=False)

    assert (summary.succeeded, summary.failed) == (8, 0)
    predictors = queue.predictors
    assert len(queue.jobs) == len(predictors) == 8
    combos = {(p.hyperparameters["neuron_count"], p.hyperparameters["epoch_count"], p.repeat_index)
              for p in predictors}
    assert len(combos) == 8
    predictor = predictors[0]
    assert predictor.fold_index is None
    assert len(predictor.history["loss"]) == predictor.hyperparameters["epoch_count"]
    assert set(predictor.metrics) == {"train", "validation", "test"}
    for metric in ("accuracy", "precision", "recall", "f1", "roc_auc", "loss"):
        assert predictor.metrics["test"][metric] >= 0 or metric == "loss"
    assert predictor.seconds_train > 0


def test_predictions_are_decoded_to_the_original_labels_for_the_split_rows(splitset):
    queue = make_queue(splitset, hyperparameters={"neuron_count": [8]})
    queue.run_jobs(progress=False)
    prediction = queue.predictors[0].predictions["test"]

    assert list(prediction.row_indices) == list(splitset.samples["test"])
    assert set(prediction.predictions) <= {"setosa", "versicolor", "virginica"}
    assert prediction.probabilities.shape == (len(splitset.samples["test"]), 3)
    np.testing.assert_allclose(prediction.probabilities.sum(axis=1), 1.0, rtol=1e-5)
    df = datum.to_pandas("iris.tsv")
    assert list(prediction.labels) == list(df["species"].iloc[prediction.row_indices])


def test_objects_load_back_by_id_and_stay_usable_after_their_session(splitset):
    queue = make_queue(splitset, hyperparameters={"neuron_count": [8]})
    queue.run_jobs(progress=False)
    predictor = assay.Predictor.get(queue.predictors[0].id)
    again = assay.Queue.get(queue.id)

    assert again.job_count == 1
    assert predictor.job.queue_id == queue.id
    assert assay.Splitset.get(splitset.id).id == splitset.id
    with pytest.raises(errors.NotFoundError, match="Queue id=999"):
        assay.Queue.get(999)


def test_a_stored_model_predicts_the_same_in_a_new_process(splitset, db, tmp_path):
    queue = make_queue(splitset, hyperparameters={"neuron_count": [8]})
    queue.run_jobs(progress=False)
    predictor = queue.predictors[0]
    features = splitset.samples_for("test")["features"]
    np.save(tmp_path / "features.npy", features)
    expected = np.asarray(predictor.get_model()(features))
    script = textwrap.dedent(f"""
        import numpy as np, assay
        assay.setup({db!r})
        model = assay.Predictor.get({predictor.id}).get_model()
        np.save({str(tmp_path / 'out.npy')!r}, np.asarray(model(np.load({str(tmp_path / 'features.npy')!r}))))
    """)
    subprocess.run([sys.executable, "-c", script], check=True, env={**os.environ})
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=1e-6)


def test_a_failing_user_function_fails_only_its_own_job(splitset):
    def fn_train_fails_for_4(model, loser, optimizer, samples_train, samples_evaluate, **hp):
        if hp["neuron_count"] == 4:
            raise RuntimeError("boom on purpose")
        return fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp)

    queue = make_queue(splitset, fn_train=fn_train_fails_for_4, hyperparameters={"neuron_count": [4, 8]})
    summary = queue.run_jobs(progress=False)

    assert (summary.succeeded, summary.failed) == (1, 1)
    failed = next(job for job in queue.jobs if job.status == "failed")
    assert "boom on purpose" in failed.error
    assert "fn_train_fails_for_4" in failed.traceback
    assert failed.predictor is None
    assert queue.status()["errors"] == {failed.id: failed.error}
    assert "1 succeeded, 1 failed" in str(summary)


def test_a_hyperparameter_missing_from_the_grid_is_reported_by_name_at_the_first_job(splitset):
    def fn_build_wants_units(features_shape, label_shape, **hp):
        units = hp["units"]
        return fn_build(features_shape, label_shape, neuron_count=units)

    queue = make_queue(splitset, fn_build=fn_build_wants_units, hyperparameters={"neuron_count": [4, 8]})
    with pytest.raises(errors.ExperimentError, match=r"'units'.*not in the grid"):
        queue.run_jobs(progress=False)
    status = queue.status()
    assert (status["failed"], status["queued"]) == (1, 1)


def test_a_hyperparameter_missing_from_the_grid_in_fn_train_is_named_too(splitset):
    def fn_train_wants_epochs(model, loser, optimizer, samples_train, samples_evaluate, **hp):
        epochs = hp["epochs"]
        return fn_train(model, loser, optimizer, samples_train, samples_evaluate, epoch_count=epochs)

    queue = make_queue(splitset, fn_train=fn_train_wants_epochs, hyperparameters={"neuron_count": [4]})
    with pytest.raises(errors.ExperimentError, match=r"fn_train uses hyperparameter 'epochs'"):
        queue.run_jobs(progress=False)


def test_a_key_error_inside_a_library_is_not_mistaken_for_a_missing_hyperparameter(splitset):
    def lookup(mapping, key):
        return mapping[key]

    def fn_build_uses_a_helper(features_shape, label_shape, **hp):
        lookup({}, "layers")
        return fn_build(features_shape, label_shape, **hp)

    queue = make_queue(splitset, fn_build=fn_build_uses_a_helper, hyperparameters={"neuron_count": [4]})
    summary = queue.run_jobs(progress=False)  # an ordinary failure: the job fails, nothing is raised
    assert summary.failed == 1
    assert queue.jobs[0].error == "KeyError: 'layers'"


@pytest.mark.parametrize(
    ("change", "parameter", "message"),
    [
        (dict(library="sklearn-nope"), "library", "no installed plugin provides it"),
        (dict(analysis_type="clustering"), "analysis_type", "unknown"),
        (dict(analysis_type="classification_binary"), "analysis_type", "exactly 2 classes"),
        (dict(analysis_type="regression"), "analysis_type", "numeric label"),
        (dict(fn_build=lambda features_shape: None), "fn_build", "def fn_build"),
        (dict(fn_train=lambda model, loser: model), "fn_train", "def fn_train"),
        (dict(fn_predict=lambda model: None), "fn_predict", "def fn_predict"),
        (dict(fn_train=None), "fn_train", "required"),
        (dict(hyperparameters={"neuron_count": []}), "hyperparameters", "empty list"),
        (dict(hyperparameters={"neuron_count": 4}), "hyperparameters", "list of values"),
        (dict(hyperparameters=[4, 8]), "hyperparameters", "dict of lists"),
        (dict(repeat_count=0), "repeat_count", ">= 1"),
        (dict(search_count=5), "search_count", "exceeds"),
        (dict(search_percent=1.5), "search_percent", "(0, 1]"),
        (dict(splitset_id=12345), "splitset_id", "does not exist"),
    ],
)
def test_bad_experiment_definitions_raise_a_clear_error_before_anything_is_stored(splitset, change, parameter,
                                                                                  message):
    before = row_counts()
    with pytest.raises(errors.AssayError, match=re.escape(message)) as caught:
        make_queue(splitset, **change)
    assert parameter in str(caught.value)
    assert row_counts() == before


def test_a_float_label_cannot_be_classified_and_a_categorical_label_encoder_cannot_regress(db):
    df = datum.to_pandas("exoplanets.parquet").dropna()
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=df, label_column="SurfaceTempK",
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.2,
    )
    with pytest.raises(errors.ExperimentError, match="continuous"):
        make_queue(splitset, analysis_type="classification_multi", hyperparameters=None)

    iris = iris_splitset(label_encoder=dict(sklearn_preprocess=OrdinalEncoder()))
    with pytest.raises(errors.ExperimentError, match=r"numeric label|categorical label encoder"):
        make_queue(iris, analysis_type="regression", hyperparameters=None)


@pytest.mark.parametrize("analysis_type", ["classification_binary", "classification_multi"])
def test_a_whole_float_label_without_a_categorical_encoder_is_refused_for_classification_before_storing(
        db, analysis_type):
    # 0.0/1.0 (2.0) floats are stored as a continuous label with no classes: a classifier trained on them would
    # infer without probability columns and decode to ints, so the definition is refused naming the fix
    df = datum.to_pandas("iris.tsv")
    classes = 2 if analysis_type == "classification_binary" else 3
    df["species"] = (np.arange(len(df)) % classes).astype(float)
    splitset = iris_splitset(df_or_path=df, label_encoder=None)
    before = row_counts()

    with pytest.raises(errors.ExperimentError, match=r"holds floats \[0\.0, 1\.0.*astype\(int\).*OrdinalEncoder"):
        make_queue(splitset, analysis_type=analysis_type)

    assert row_counts() == before
    encoded = iris_splitset(df_or_path=df, label_encoder=dict(sklearn_preprocess=OrdinalEncoder()))
    make_queue(encoded, analysis_type=analysis_type, fn_build=fn_build_binary if classes == 2 else fn_build)


def test_a_whole_number_label_without_an_encoder_is_refused_for_regression_before_storing(db):
    # whole numbers without a label encoder are stored as classes: regressing them decoded every output as a
    # class index (rounded, and wrapping below 0 to the last class), a silently wrong prediction
    df = datum.to_pandas("iris.tsv")
    df["petals"] = np.arange(len(df)) % 4  # whole numbers 0..3, every value common enough to stratify
    splitset = iris_splitset(df_or_path=df, label_column="petals", label_encoder=None,
                             feature_cols_excluded=["species", "petal_length"])
    before = row_counts()

    with pytest.raises(errors.ExperimentError, match=r"^label_encoder: 'regression' needs a continuous label.*"
                       r"as classes.*StandardScaler.*astype\(float\)"):
        make_queue(splitset, analysis_type="regression", fn_build=fn_build_regression)

    assert row_counts() == before
    scaled = iris_splitset(df_or_path=df, label_column="petals", feature_cols_excluded=["species", "petal_length"],
                           label_encoder=dict(sklearn_preprocess=StandardScaler()), size_validation=None, bin_count=3)
    make_queue(scaled, analysis_type="regression", fn_build=fn_build_regression)


def test_the_same_seed_gives_the_same_metrics_on_a_rerun(splitset):
    first = make_queue(splitset, hyperparameters={"neuron_count": [8]}, seed=3)
    second = make_queue(splitset, hyperparameters={"neuron_count": [8]}, seed=3)
    first.run_jobs(progress=False)
    second.run_jobs(progress=False)

    assert first.predictors[0].metrics == second.predictors[0].metrics


def test_repeats_train_differently_seeded_models(splitset):
    queue = make_queue(splitset, hyperparameters={"neuron_count": [8]}, repeat_count=2, seed=3)
    queue.run_jobs(progress=False)
    first, second = queue.predictors
    assert first.history["loss"] != second.history["loss"]


def test_with_folds_every_combination_runs_on_every_fold_and_evaluates_on_the_fold(db):
    splitset = iris_splitset(df_or_path=datum.to_pandas("iris_10x.tsv"), size_validation=None, fold_count=3)
    queue = make_queue(splitset, hyperparameters={"neuron_count": [4, 8]}, seed=1)
    queue.run_jobs(progress=False)

    runs = {(p.hyperparameters["neuron_count"], p.fold_index) for p in queue.predictors}
    assert runs == {(n, f) for n in (4, 8) for f in range(3)}
    predictor = queue.predictors[1]
    fold = splitset.folds[predictor.fold_index]
    assert list(predictor.predictions["validation"].row_indices) == list(fold.samples["validation"])
    assert list(predictor.predictions["train"].row_indices) == list(fold.samples["train"])
    assert "val_loss" in predictor.history


def test_hide_test_keeps_the_test_split_out_of_evaluation(splitset):
    queue = make_queue(splitset, hyperparameters={"neuron_count": [8]}, hide_test=True)
    queue.run_jobs(progress=False)
    assert set(queue.predictors[0].predictions) == {"train", "validation"}


def test_search_count_runs_a_seeded_random_subset_of_the_grid(splitset):
    grid = {"neuron_count": [2, 4, 6, 8], "epoch_count": [1, 2]}
    first = make_queue(splitset, hyperparameters=grid, search_count=3, seed=11)
    second = make_queue(splitset, hyperparameters=grid, search_count=3, seed=11)
    assert len(first.jobs) == 3
    assert [j.hyperparameters for j in first.jobs] == [j.hyperparameters for j in second.jobs]


def test_binary_and_regression_queues_use_the_keras_defaults(db):
    sonar = assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("sonar.csv"), label_column="object",
        label_encoder=dict(sklearn_preprocess=OrdinalEncoder()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.2, size_validation=0.2,
    )
    queue = make_queue(sonar, analysis_type="classification_binary", fn_build=fn_build_binary, hyperparameters=None)
    queue.run_jobs(progress=False)
    prediction = queue.predictors[0].predictions["test"]
    assert set(prediction.predictions) <= {"R", "M"}
    assert prediction.probabilities.ndim == 1
    assert {"accuracy", "roc_auc", "f1", "loss"} <= set(prediction.metrics)

    exo = datum.to_pandas("exoplanets.parquet").dropna()
    planets = assay.Pipeline.Tabular.make(
        df_or_path=exo, label_column="SurfaceTempK",
        label_encoder=dict(sklearn_preprocess=StandardScaler()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.2, size_validation=0.2,
    )
    queue = make_queue(planets, analysis_type="regression", fn_build=fn_build_regression, hyperparameters=None)
    queue.run_jobs(progress=False)
    prediction = queue.predictors[0].predictions["test"]
    assert {"r2", "mse", "mae", "explained_variance", "loss"} <= set(prediction.metrics)
    # decoded back to kelvin, not the scaled label the model was trained on
    assert np.median(prediction.predictions) > 50


def test_an_interrupted_queue_resumes_without_repeating_finished_runs(splitset, db):
    def fn_train_dies_once(model, loser, optimizer, samples_train, samples_evaluate, **hp):
        marker = Path(hp["marker"])
        if hp["neuron_count"] == 6 and not marker.exists():
            marker.write_text("died")
            os.kill(os.getpid(), signal.SIGKILL)  # a crash in the middle of a job
        return fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp)

    marker = Path(db.removeprefix("sqlite:///")).with_name("died.marker")
    queue = make_queue(splitset, fn_train=fn_train_dies_once,
                       hyperparameters={"neuron_count": [4, 5, 6, 7], "marker": [str(marker)]})
    script = f"import assay; assay.setup({db!r}); assay.Queue.get({queue.id}).run_jobs(progress=False)"
    crashed = subprocess.run([sys.executable, "-c", script], env={**os.environ}, cwd=Path(__file__).parent)
    assert crashed.returncode == -signal.SIGKILL
    finished_before = {p.job_id: p.id for p in queue.predictors}
    assert len(finished_before) == 2
    assert queue.status()["running"] == 1  # the killed job, half-done: nothing of it is stored

    summary = queue.run_jobs(progress=False)

    assert summary.succeeded == 2
    after = {p.job_id: p.id for p in queue.predictors}
    assert len(after) == 4
    assert all(after[job_id] == predictor_id for job_id, predictor_id in finished_before.items())
    with session_scope() as session:
        assert session.execute(select(func.count()).select_from(PredictorRow)).scalar_one() == 4
        orphans = session.execute(
            select(func.count()).select_from(PredictionRow)
            .where(~PredictionRow.predictor_id.in_(select(PredictorRow.id)))
        ).scalar_one()
        assert orphans == 0
        attempts = dict(session.execute(
            select(JobRow.run_index, JobRow.attempts).where(JobRow.queue_id == queue.id)
        ).all())
    assert attempts[2] == 2


def test_ctrl_c_stops_the_queue_and_the_interrupted_job_runs_again_later(splitset):
    state = {"interrupted": False}

    def fn_train_interrupted_once(model, loser, optimizer, samples_train, samples_evaluate, **hp):
        if hp["neuron_count"] == 8 and not state["interrupted"]:
            state["interrupted"] = True
            raise KeyboardInterrupt
        return fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp)

    queue = make_queue(splitset, fn_train=fn_train_interrupted_once, hyperparameters={"neuron_count": [4, 8]})
    with pytest.raises(KeyboardInterrupt):
        queue.run_jobs(progress=False)
    status = queue.status()
    assert (status["succeeded"], status["queued"], status["running"]) == (1, 1, 0)

    summary = queue.run_jobs(progress=False)
    assert (summary.succeeded, summary.failed) == (1, 0)
    assert len(queue.predictors) == 2
