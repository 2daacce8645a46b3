"""Queues exported to MLflow, read back from real local tracking stores (a file store and a SQLite one).

Trained once for the module: a torch queue and a Keras queue on iris (two combinations each, three epochs, models
ending in a softmax, so MLflow's copy of a model outputs exactly the probabilities assay stored).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import assay
from assay import datum, errors
from assay.db import engine as db_engine
from assay.inference import mlflow_export

mlflow = pytest.importorskip("mlflow")
pytest.importorskip("assay_torch")

# MLflow's own warnings, raised once per process by whichever call first imports the module (the export filters
# them the same way; a test's own MLflow call may come first): its SQLAlchemy store's deprecated `noload`
# option, and mlflow.pyfunc's schema of its own `Any` type hints
pytestmark = [
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning"),
]


def fn_build_torch(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], hp["neurons"]), nn.ReLU(), nn.Linear(hp["neurons"], 3),
                         nn.Softmax(dim=1))


def fn_train_torch(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    if str(hp["neurons"]) == os.environ.get("ASSAY_TEST_FAIL_NEURONS"):
        raise RuntimeError("this combination fails until the variable is unset")
    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=3,
                                  batch_size=16, seed=0)


def fn_build_keras(features_shape, label_shape, **hp):
    from keras import Input, Sequential
    from keras.layers import Dense

    return Sequential([Input(shape=features_shape), Dense(hp["neurons"], activation="relu"),
                       Dense(label_shape[0], activation="softmax")])


def fn_train_keras(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    model.compile(loss=loser, optimizer=optimizer, metrics=["accuracy"])
    model.fit(samples_train["features"], samples_train["labels"], verbose=0, batch_size=16, epochs=3,
              validation_data=(samples_evaluate["features"], samples_evaluate["labels"]))
    return model


def iris_splitset():
    return assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.3, size_validation=0.2,
    )


def make_queue(library: str, splitset_id: int):
    build, train = (fn_build_torch, fn_train_torch) if library == "torch" else (fn_build_keras, fn_train_keras)
    return assay.Experiment.make(library=library, analysis_type="classification_multi", fn_build=build,
                                 fn_train=train, hyperparameters={"neurons": [4, 6]}, splitset_id=splitset_id,
                                 seed=3)


@pytest.fixture(autouse=True)
def _quiet_mlflow(monkeypatch, tmp_path):
    # no usage reports from MLflow (no network in tests); a file store is refused unless allowed (MLflow 3.x);
    # anything written to MLflow's default store, and the artifacts of a SQLite store (./mlruns by default), land
    # in the test's folder, not the working directory
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'default-mlflow.db'}")


@contextlib.contextmanager
def tracking(uri: str):
    """MLflow's fluent API (search_runs, pyfunc.load_model, models:/ URIs) pointed at ``uri`` for the block."""
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(None)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The database URL and the ids of a finished torch queue and a finished Keras queue."""
    pytest.importorskip("assay_keras")
    url = f"sqlite:///{tmp_path_factory.mktemp('mlflow-queues') / 'assay.sqlite3'}"
    assay.setup(url)
    splitset = iris_splitset()
    ids = {}
    for library in ("torch", "keras"):
        queue = make_queue(library, splitset.id)
        assert queue.run_jobs(progress=False).failed == 0
        ids[library] = queue.id
    db_engine.dispose()
    return url, ids


@pytest.fixture
def queues(trained):
    url, ids = trained
    assay.setup(url)
    return {library: assay.Queue.get(queue_id) for library, queue_id in ids.items()}


@pytest.fixture(params=["file", "sqlite"])
def tracking_uri(request, tmp_path) -> str:
    if request.param == "file":
        return (tmp_path / "mlruns").as_uri()
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def runs_of(uri: str, experiment: str):
    """(the parent run, the child runs by predictor id) as ``mlflow.search_runs`` reads them back."""
    with tracking(uri):
        frame = mlflow.search_runs(experiment_names=[experiment])
    parents = frame[frame["tags.assay.kind"] == "queue"]
    children = frame[frame["tags.assay.kind"] == "predictor"]
    assert len(parents) == 1
    return parents.iloc[0], {int(row["tags.assay.predictor_id"]): row for _, row in children.iterrows()}


def test_a_queue_becomes_a_parent_run_with_a_nested_run_per_predictor_holding_params_metrics_and_curves(
        queues, tracking_uri):
    queue = queues["torch"]

    summary = queue.to_mlflow(tracking_uri=tracking_uri, experiment_name="iris", models=False)

    parent, children = runs_of(tracking_uri, "iris")
    assert parent["run_id"] == summary.parent_run_id
    assert parent["tags.assay.queue_id"] == str(queue.id)
    assert parent["tags.assay.splitset_id"] == str(queue.splitset_id)
    assert parent["tags.assay.library"] == "torch"
    assert parent["tags.assay.analysis_type"] == "classification_multi"
    assert parent["tags.assay.version"] == assay.__version__
    assert parent["tags.assay.database"] == db_engine.current_url()
    assert parent["metrics.jobs_succeeded"] == 2
    assert parent["status"] == "FINISHED"
    predictors = queue.predictors
    assert sorted(children) == sorted(p.id for p in predictors) == sorted(summary.predictor_runs)
    client = mlflow.MlflowClient(tracking_uri)
    for predictor in predictors:
        child = children[predictor.id]
        assert child["tags.mlflow.parentRunId"] == summary.parent_run_id
        assert child["status"] == "FINISHED"
        assert child["params.neurons"] == str(predictor.hyperparameters["neurons"])
        assert child["params.repeat"] == "0"
        for split, metrics in predictor.metrics.items():
            for name, value in metrics.items():
                assert child[f"metrics.{split}_{name}"] == pytest.approx(value, rel=1e-12), (split, name)
        for key, values in predictor.history.items():
            history = client.get_metric_history(child["run_id"], key)
            assert [point.step for point in history] == list(range(1, len(values) + 1))
            assert [point.value for point in history] == pytest.approx(values, rel=1e-12)
        files = {item.path for item in client.list_artifacts(child["run_id"], "plots")}
        assert {"plots/learning_curve.png", "plots/test_confusion_matrix.png", "plots/validation_roc_curve.png",
                "plots/train_precision_recall.png"} <= files
    # the bundle artifact predicts the stored test predictions from raw rows, with no database
    predictor = predictors[0]
    bundle = client.download_artifacts(children[predictor.id]["run_id"], f"bundle/predictor{predictor.id}.assay")
    stored = predictor.predictions["test"]
    raw = datum.to_pandas("iris.tsv").iloc[stored.row_indices]
    np.testing.assert_array_equal(assay.load_bundle(bundle).predict(raw)["prediction"].to_numpy(),
                                  stored.predictions)


def assert_pyfunc_predicts_as_assay(uri: str, run_id: str, predictor) -> None:
    """MLflow's copy of the model, given the encoded test rows, returns the probabilities assay stored."""
    samples = predictor.queue.splitset.samples_for("test", fold_index=predictor.fold_index)
    with tracking(uri):
        model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
        output = np.asarray(model.predict(samples["features"]))
    stored = predictor.predictions["test"]
    np.testing.assert_allclose(output, stored.probabilities, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(stored.classes)[output.argmax(axis=1)], stored.predictions)


def test_a_torch_model_is_logged_with_the_pytorch_flavour_a_signature_and_an_input_example(queues, tmp_path):
    tracking_uri = (tmp_path / "mlruns").as_uri()  # a file store here, a SQLite one for the Keras models
    queue = queues["torch"]

    summary = queue.to_mlflow(tracking_uri=tracking_uri, experiment_name="torch models", artifacts=False)

    for predictor in queue.predictors:
        run_id = summary.predictor_runs[predictor.id]
        assert_pyfunc_predicts_as_assay(tracking_uri, run_id, predictor)
    run_id = summary.predictor_runs[queue.predictors[0].id]
    with tracking(tracking_uri):
        info = mlflow.models.get_model_info(f"runs:/{run_id}/model")
    assert "pytorch" in info.flavors
    assert [spec.shape for spec in info.signature.inputs.inputs] == [(-1, 4)]
    assert [spec.shape for spec in info.signature.outputs.inputs] == [(-1, 3)]
    assert info.saved_input_example_info is not None


def test_a_keras_model_is_logged_with_the_keras_flavour_and_predicts_as_assay(queues, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    queue = queues["keras"]

    summary = queue.to_mlflow(tracking_uri=uri, experiment_name="keras models", artifacts=False)

    for predictor in queue.predictors:
        assert_pyfunc_predicts_as_assay(uri, summary.predictor_runs[predictor.id], predictor)
    model_uri = mlflow.MlflowClient(uri).get_run(summary.predictor_runs[queue.predictors[0].id]).data.tags[
        "assay.model"]
    assert model_uri.startswith("models:/")
    with tracking(uri):
        info = mlflow.models.get_model_info(model_uri)
    assert "keras" in info.flavors
    assert [spec.shape for spec in info.signature.inputs.inputs] == [(-1, 4)]
    assert info.saved_input_example_info is not None


def test_exporting_again_updates_the_same_runs_and_adds_only_the_predictors_trained_since(
        any_db_url, tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assay.setup(any_db_url)
    queue = make_queue("torch", iris_splitset().id)
    monkeypatch.setenv("ASSAY_TEST_FAIL_NEURONS", "6")
    assert queue.run_jobs(progress=False).failed == 1

    first = queue.to_mlflow(tracking_uri=uri, experiment_name="growing", artifacts=False, models=False)
    again = queue.to_mlflow(tracking_uri=uri, experiment_name="growing", artifacts=False, models=False)
    monkeypatch.delenv("ASSAY_TEST_FAIL_NEURONS")
    queue.retry_failed()
    assert queue.run_jobs(progress=False).failed == 0
    grown = queue.to_mlflow(tracking_uri=uri, experiment_name="growing", models=False)

    assert (first.created, again.created, again.updated) == (1, 0, 0)
    assert again.parent_run_id == first.parent_run_id == grown.parent_run_id
    assert again.predictor_runs == first.predictor_runs
    [old] = first.predictor_runs
    assert grown.created == 1  # the new model's run
    assert grown.updated == 1  # the old one gets its artifacts
    assert grown.predictor_runs[old] == first.predictor_runs[old]
    parent, children = runs_of(uri, "growing")
    assert parent["tags.assay.database"] == mlflow_export.database_url(any_db_url)
    assert sorted(children) == sorted(p.id for p in queue.predictors)
    assert parent["metrics.jobs_succeeded"] == 2
    assert parent["metrics.jobs_failed"] == 0
    client = mlflow.MlflowClient(uri)
    for predictor in queue.predictors:  # nothing logged twice: one point per epoch, one per final metric
        run_id = grown.predictor_runs[predictor.id]
        assert len(client.get_metric_history(run_id, "loss")) == len(predictor.history["loss"])
        assert len(client.get_metric_history(run_id, "test_accuracy")) == 1
        assert client.get_run(run_id).data.tags["assay.artifacts"] == "logged"
        assert f"bundle/predictor{predictor.id}.assay" in {
            item.path for item in client.list_artifacts(run_id, "bundle")}


def test_an_ensemble_becomes_a_run_of_its_own_beside_the_predictors(sqlite_url, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assay.setup(sqlite_url)
    queue = make_queue("torch", iris_splitset().id)
    assert queue.run_jobs(progress=False).failed == 0
    ensemble = queue.ensemble(size=4, candidates=2)

    summary = queue.to_mlflow(tracking_uri=uri, experiment_name="ensembles", models=False)

    client = mlflow.MlflowClient(uri)
    run = client.get_run(summary.ensemble_runs[ensemble.id])
    assert run.data.tags["mlflow.parentRunId"] == summary.parent_run_id
    assert run.data.tags["assay.kind"] == "ensemble"
    assert run.data.params["method"] == "caruana"
    assert run.data.params["member_count"] == str(len(ensemble.members))
    for split, metrics in ensemble.metrics.items():
        for name, value in metrics.items():
            assert run.data.metrics[f"{split}_{name}"] == pytest.approx(value, rel=1e-12), (split, name)
    history = client.get_metric_history(run.info.run_id, f"selection_{ensemble.metric}")
    assert [point.value for point in history] == pytest.approx(ensemble.curve, rel=1e-12)
    with open(client.download_artifacts(run.info.run_id, "members.json")) as file:
        assert {int(key): value for key, value in json.load(file).items()} == pytest.approx(ensemble.members)
    files = {item.path for item in client.list_artifacts(run.info.run_id, "bundle")}
    assert files == {f"bundle/ensemble{ensemble.id}.assay"}
    assert {item.path for item in client.list_artifacts(run.info.run_id, "plots")} == {"plots/selection_curve.png"}
    # the ensemble's bundle predicts what the ensemble stored, with no database
    bundle = client.download_artifacts(run.info.run_id, f"bundle/ensemble{ensemble.id}.assay")
    stored = ensemble.predictions["test"]
    raw = datum.to_pandas("iris.tsv").iloc[stored.row_indices]
    np.testing.assert_array_equal(assay.load_bundle(bundle).predict(raw)["prediction"].to_numpy(),
                                  stored.predictions)


def test_a_library_without_an_mlflow_flavour_gets_its_bundle_and_a_tag_saying_why_there_is_no_model(
        db, tmp_path, thirdparty_plugin):
    def build(features_shape, label_shape, **hp):
        from assay_dummy.model import LinearModel

        return LinearModel(features_shape, label_shape)

    def train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
        from assay_dummy.model import fit

        return fit(model, loser, optimizer, samples_train, samples_evaluate, 3)

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    queue = assay.Experiment.make(library=thirdparty_plugin, analysis_type="classification_multi", fn_build=build,
                                  fn_train=train, splitset_id=iris_splitset().id)
    assert queue.run_jobs(progress=False).failed == 0

    summary = queue.to_mlflow(tracking_uri=uri, experiment_name="third party")

    [(predictor_id, run_id)] = summary.predictor_runs.items()
    client = mlflow.MlflowClient(uri)
    tag = client.get_run(run_id).data.tags["assay.model"]
    assert tag.startswith("none: assay knows no MLflow flavour for library 'numpy_linear'")
    assert f"bundle/predictor{predictor_id}.assay" in {item.path for item in client.list_artifacts(run_id, "bundle")}


def test_the_command_exports_a_queue_and_prints_where(queues, tmp_path, capsys):
    from assay.cli import main

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    queue = queues["torch"]

    code = main(["--url", db_engine.current_url(), "export-mlflow", str(queue.id), "--tracking-uri", uri,
                 "--experiment", "from the command", "--no-artifacts", "--no-models", "--no-progress"])

    assert code == 0
    out = capsys.readouterr().out
    assert "exported 2 predictors to MLflow experiment 'from the command'" in out
    _, children = runs_of(uri, "from the command")
    assert sorted(children) == sorted(p.id for p in queue.predictors)


def test_a_tracking_uri_mlflow_cannot_use_is_refused_before_anything_is_written(queues):
    with pytest.raises(errors.ValidationError, match="tracking_uri") as raised:
        queues["torch"].to_mlflow(tracking_uri="nosuchscheme://somewhere")
    assert "nosuchscheme" in str(raised.value)


def test_the_database_tag_keeps_the_url_without_its_password():
    assert mlflow_export.database_url("postgresql+psycopg://ana:s3cret@db.example:5432/assay") == \
        "postgresql+psycopg://ana@db.example:5432/assay"
    assert mlflow_export.database_url("postgresql+psycopg://ana:***@db.example/assay") == \
        "postgresql+psycopg://ana@db.example/assay"  # as assay.setup() returns it
    assert mlflow_export.database_url("sqlite:////data/assay.sqlite3") == "sqlite:////data/assay.sqlite3"


def test_without_mlflow_the_export_and_the_command_say_what_to_install(queues):
    # a fresh process where `import mlflow` fails, as where the extra is not installed
    script = textwrap.dedent(f"""
        import sys
        sys.modules["mlflow"] = None
        import assay
        from assay import errors
        from assay.cli import main
        assay.setup({db_engine.current_url()!r})
        try:
            assay.Queue.get({queues["torch"].id}).to_mlflow()
        except errors.ConfigurationError as exc:
            print("ERROR:", exc)
        sys.exit(main(["--url", {db_engine.current_url()!r}, "export-mlflow", "{queues["torch"].id}"]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)

    assert done.returncode == 5, done.stderr  # the configuration exit code
    assert "ERROR: exporting to MLflow needs the mlflow package" in done.stdout
    assert "pip install 'assay[mlflow]'" in done.stdout
    assert "assay: error: exporting to MLflow needs the mlflow package" in done.stderr
    assert "pip install 'assay[mlflow]'" in done.stderr
