"""Ensembles of a queue's trained models (``queue.ensemble``): Caruana selection checked against a loop written
out here, predictions from the members' stored ones, inference, bundles in a fresh process, folds, bad input.

Trained once for the module: a torch multi-class queue on iris (one split, four combinations) and a Keras
regression queue with folds and repeats (two combinations); sequence and two-input torch queues in their own
databases.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import assay
from assay import datum, errors
from assay.db import engine as db_engine
from assay.evaluation import ensemble as selection

pytest.importorskip("assay_torch")


def torch_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], hp["units"]), nn.ReLU(), nn.Linear(hp["units"], 3),
                         nn.Softmax(dim=1))


def torch_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=hp["epochs"],
                                  batch_size=16, seed=0)


def keras_build(features_shape, label_shape, **hp):
    from keras import Input, Sequential
    from keras.layers import Dense

    return Sequential([Input(shape=features_shape), Dense(hp["units"], activation="relu"), Dense(1)])


def keras_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    model.compile(loss=loser, optimizer=optimizer)
    model.fit(samples_train["features"], samples_train["labels"], epochs=3, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ensembles")
    url = f"sqlite:///{folder / 'assay.sqlite3'}"
    assay.setup(url)
    iris = datum.to_pandas("iris.tsv")
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=iris, label_column="species", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.3, size_validation=0.2,
    )
    torch_queue = assay.Experiment.make(
        library="torch", analysis_type="classification_multi", fn_build=torch_build, fn_train=torch_train,
        hyperparameters={"units": [3, 12], "epochs": [2, 8]}, splitset_id=splitset.id, seed=1,
    )
    assert torch_queue.run_jobs(progress=False).failed == 0
    planets = datum.to_pandas("exoplanets.parquet").dropna().reset_index(drop=True)
    folds = assay.Pipeline.Tabular.make(
        df_or_path=planets, label_column="SurfaceTempK", label_encoder=dict(sklearn_preprocess=StandardScaler()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.25, size_validation=None, fold_count=2, bin_count=3,
    )
    keras_queue = assay.Experiment.make(
        library="keras", analysis_type="regression", fn_build=keras_build, fn_train=keras_train,
        hyperparameters={"units": [4, 16]}, splitset_id=folds.id, repeat_count=2, seed=2,
    )
    assert keras_queue.run_jobs(progress=False).failed == 0
    # the ensemble the inference, export, importance and report tests use, whichever of them runs alone
    ensemble = torch_queue.ensemble(size=10, candidates=4)
    return {"url": url, "folder": folder, "iris": iris, "planets": planets, "torch": torch_queue.id,
            "keras": keras_queue.id, "ensemble": ensemble.id}


@pytest.fixture
def fresh_db(tmp_path):
    assay.setup(f"sqlite:///{tmp_path / 'assay.sqlite3'}")
    yield
    db_engine.dispose()


@pytest.fixture
def db(trained):
    assay.setup(trained["url"])
    yield trained
    db_engine.dispose()


# -- selection, against independent implementations ---------------------------------------------------------


def test_caruana_selection_matches_a_greedy_loop_written_with_scikit_learn():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 60)
    outputs = rng.dirichlet(np.ones(3), size=(6, 60))
    outputs[2] = 0.6 * np.eye(3)[truth] + 0.4 * outputs[2]  # one good candidate
    chosen = selection.caruana(lambda trial: np.array([skm.accuracy_score(truth, t.argmax(axis=1)) for t in trial]),
                               outputs, 10, True)
    total, picks, curve = np.zeros((60, 3)), [], []
    for i in range(1, 11):
        values = [skm.accuracy_score(truth, ((total + outputs[k]) / i).argmax(axis=1)) for k in range(6)]
        best = int(np.argmax(values))
        picks.append(best)
        curve.append(values[best])
        total += outputs[best]
    kept = int(np.argmax(curve)) + 1
    assert chosen.curve == pytest.approx(curve)
    assert chosen.best_iteration == kept
    assert chosen.weights == pytest.approx(np.bincount(picks[:kept], minlength=6) / kept)


def test_combining_averages_each_row_over_the_models_that_predicted_it_and_keeps_whole_labels():
    combined = selection.combine([
        (np.array([3, 1]), np.array(["setosa", "setosa"]), np.array([[1.0, 0.0], [0.0, 1.0]])),
        (np.array([1, 5]), np.array(["setosa", "versicolor"]), np.array([[1.0, 0.0], [0.2, 0.8]])),
    ])
    assert list(combined.rows) == [1, 3, 5]
    assert list(combined.labels) == ["setosa", "setosa", "versicolor"]  # never cut to the first part's width
    assert combined.values.tolist() == [[0.5, 0.5], [1.0, 0.0], [0.2, 0.8]]


@pytest.mark.parametrize("metric", ["accuracy", "log_loss"])
def test_the_vectorised_classification_scores_equal_scikit_learns(metric):
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 3, 50)
    trial = rng.dirichlet(np.ones(3), size=(4, 50))
    fast = selection._fast_scores(metric, truth, trial, ["a", "b", "c"])
    expected = [skm.accuracy_score(truth, t.argmax(axis=1)) if metric == "accuracy"
                else skm.log_loss(truth, t, labels=[0, 1, 2]) for t in trial]
    assert fast == pytest.approx(expected)


@pytest.mark.parametrize("metric", ["r2", "mse", "rmse", "mae"])
def test_the_vectorised_regression_scores_equal_scikit_learns(metric):
    rng = np.random.default_rng(2)
    truth = rng.normal(size=40)
    trial = truth[None] + rng.normal(scale=0.5, size=(5, 40))
    functions = {"r2": skm.r2_score, "mse": skm.mean_squared_error, "mae": skm.mean_absolute_error,
                 "rmse": lambda a, b: np.sqrt(skm.mean_squared_error(a, b))}
    assert selection._fast_scores(metric, truth, trial, []) == pytest.approx(
        [functions[metric](truth, t) for t in trial])


# -- a torch classification ensemble ----------------------------------------------------------------------------


def test_an_ensemble_of_torch_models_is_the_weighted_average_of_its_members_stored_probabilities(db):
    queue = assay.Queue.get(db["torch"])
    ensemble = queue.ensemble(size=10, candidates=4)
    members = ensemble.members
    assert all(weight > 0 for weight in members.values())
    assert sum(members.values()) == pytest.approx(1.0)
    assert set(members) <= {p.id for p in queue.predictors}
    test = ensemble.predictions["test"]
    total = sum(weight * assay.Predictor.get(pid).predictions["test"].probabilities for pid, weight in members.items())
    assert test.probabilities == pytest.approx(total)
    classes = test.classes
    assert list(test.predictions) == [classes[i] for i in total.argmax(axis=1)]
    assert ensemble.metrics["test"]["accuracy"] == pytest.approx(skm.accuracy_score(test.labels, test.predictions))
    assert ensemble.notes["validation"] == selection.SELECTION_NOTE
    assert ensemble.curve[ensemble.best_iteration - 1] == pytest.approx(ensemble.metrics["validation"]["accuracy"])
    assert queue.ensembles[-1] == ensemble == assay.Ensemble.get(ensemble.id)
    assert "Ensemble" in ensemble._repr_html_()


def test_the_ensemble_never_selects_worse_on_its_split_than_its_best_candidate(db):
    queue = assay.Queue.get(db["torch"])
    ensemble = queue.ensemble(size=5, candidates=4, metric="log_loss")
    singles = [assay.Predictor.get(pid).metrics["validation"]["log_loss"] for pid in
               (p.id for p in queue.predictors)]
    assert ensemble.metrics["validation"]["log_loss"] <= min(singles) + 1e-9
    assert ensemble.higher_is_better is False


def test_mean_averages_the_best_k_equally(db):
    ensemble = assay.Queue.get(db["torch"]).ensemble(size=3, candidates=4, method="mean")
    weights = sorted(set(np.round(list(ensemble.combinations.values()), 9)))
    assert len(weights) == 1
    assert ensemble.best_iteration == len(ensemble.combinations) <= 3


def test_infer_on_the_test_rows_gives_the_stored_test_predictions_and_stores_itself(db):
    ensemble = assay.Ensemble.get(db["ensemble"])
    rows = ensemble.predictions["test"].row_indices
    frame = ensemble.infer(db["iris"].iloc[rows])
    assert list(frame["prediction"]) == list(ensemble.predictions["test"].predictions)
    probabilities = frame[[f"probability_{c}" for c in ensemble.predictions["test"].classes]].to_numpy()
    assert probabilities == pytest.approx(ensemble.predictions["test"].probabilities, abs=1e-5)
    assert frame.attrs["metrics"]["accuracy"] == pytest.approx(ensemble.metrics["test"]["accuracy"])
    assert ensemble.inferences[-1].id == frame.attrs["prediction_id"]


def test_an_exported_ensemble_predicts_in_a_fresh_process_without_a_database(db, tmp_path):
    ensemble = assay.Ensemble.get(db["ensemble"])
    path = ensemble.export(str(tmp_path / "iris.assay"))
    rows = db["iris"].iloc[ensemble.predictions["test"].row_indices].drop(columns="species")
    rows.to_csv(tmp_path / "rows.csv", index=False)
    script = textwrap.dedent(f"""
        import assay
        bundle = assay.load_bundle({path!r})
        print(type(bundle).__name__, len(bundle.members))
        bundle.predict({str(tmp_path / 'rows.csv')!r}).to_csv({str(tmp_path / 'out.csv')!r}, index=False)
    """)
    env = {**os.environ, "ASSAY_DATABASE_URL": f"sqlite:///{tmp_path / 'absent' / 'none.sqlite3'}"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["EnsembleBundle", str(len(ensemble.members))]
    assert not (tmp_path / "absent").exists()
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out["prediction"]) == list(ensemble.predictions["test"].predictions)
    command = "import sys; from assay.cli import main; sys.exit(main(sys.argv[1:]))"
    cli = subprocess.run([sys.executable, "-c", command, "predict", path, str(tmp_path / "rows.csv"), "-o",
                          str(tmp_path / "cli.csv")], capture_output=True, text=True, env=env, timeout=300)
    assert cli.returncode == 0, cli.stderr
    assert list(pd.read_csv(tmp_path / "cli.csv")["prediction"]) == list(out["prediction"])


def test_ensemble_feature_importance_is_the_members_importance_weighted(db):
    ensemble = assay.Ensemble.get(db["ensemble"])
    table = ensemble.feature_importance(split="test", permutation_count=2)
    expected = sum(weight * assay.Predictor.get(pid).feature_importance(split="test", permutation_count=2)
                   .set_index("feature")["importance_mean"] for pid, weight in ensemble.members.items())
    assert table.set_index("feature")["importance_mean"].to_dict() == pytest.approx(expected.to_dict())


# -- folds -------------------------------------------------------------------------------------------------------


def test_with_folds_selection_is_out_of_fold_and_members_are_combinations_of_fold_models(db):
    queue = assay.Queue.get(db["keras"])
    ensemble = queue.ensemble(size=6, candidates=2)
    assert ensemble.out_of_fold
    assert ensemble.split == "validation"
    validation = ensemble.predictions["validation"]
    train_rows = np.sort(np.asarray(queue.splitset.samples["train"]))
    assert np.array_equal(validation.row_indices, train_rows)  # every train row once, predicted out of fold
    assert ensemble.notes["train"] == selection.IN_SAMPLE_NOTE
    per_combo = {}
    for pid, weight in ensemble.members.items():
        per_combo.setdefault(assay.Predictor.get(pid).job.hyperparamcombo_id, []).append(weight)
    for weights in per_combo.values():
        assert len(weights) == 4  # 2 folds x 2 repeats, spread evenly
        assert len(set(np.round(weights, 12))) == 1
    # the out-of-fold prediction of a row: its fold's models, averaged over repeats, weighted by combination
    row = validation.row_indices[0]
    expected = 0.0
    for pid, weight in ensemble.members.items():
        stored = assay.Predictor.get(pid).predictions["validation"]
        hit = np.flatnonzero(stored.row_indices == row)
        if len(hit):
            expected += weight * 2 * float(stored.predictions[hit[0]])  # 1 of the 2 folds predicts the row
    assert validation.predictions[0] == pytest.approx(expected)
    scores = ensemble.run_scores()
    assert len(scores) == 4
    assert scores["fold_index"].notna().all()
    assert ensemble.metrics["test"]["r2"] == pytest.approx(skm.r2_score(ensemble.predictions["test"].labels,
                                                                        ensemble.predictions["test"].predictions))


def test_selecting_on_the_in_sample_train_split_with_folds_is_refused(db):
    with pytest.raises(errors.ValidationError, match="in-sample"):
        assay.Queue.get(db["keras"]).ensemble(split="train")


# -- bad input ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("arguments", "parameter"), [
    (dict(size=0), "size"), (dict(candidates=1), "candidates"), (dict(method="stacking"), "method"),
    (dict(metric="nonsense"), "metric"), (dict(metric="loss"), "metric"), (dict(split="holdout"), "split"),
    (dict(metric="r2"), "metric"),
])
def test_bad_arguments_are_refused_naming_the_parameter_and_nothing_is_stored(db, arguments, parameter):
    before = len(assay.Ensemble.all())
    with pytest.raises(errors.ValidationError) as caught:
        assay.Queue.get(db["torch"]).ensemble(**arguments)
    assert caught.value.parameter == parameter
    assert len(assay.Ensemble.all()) == before


def test_a_queue_with_jobs_still_to_run_or_one_complete_combination_is_refused(db):
    splitset = assay.Queue.get(db["torch"]).splitset
    waiting = assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=torch_build,
                                    fn_train=torch_train, hyperparameters={"units": [3, 4], "epochs": [1]},
                                    splitset_id=splitset.id)
    with pytest.raises(errors.ValidationError, match="still has 2 job"):
        waiting.ensemble()
    single = assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=torch_build,
                                   fn_train=torch_train, hyperparameters={"units": [3], "epochs": [1]},
                                   splitset_id=splitset.id)
    single.run_jobs(progress=False)
    with pytest.raises(errors.ValidationError, match="at least 2"):
        single.ensemble()
    assert single.ensembles == []
    assert waiting.ensembles == []


# -- pages -------------------------------------------------------------------------------------------------------


def test_the_report_and_the_dashboard_show_the_ensembles_with_members_weights_and_curve(db, tmp_path):
    from starlette.testclient import TestClient

    from assay.dashboard import create_app

    queue = assay.Queue.get(db["torch"])
    ensemble = assay.Ensemble.get(db["ensemble"])
    page = Path(queue.report(str(tmp_path / "report.html"))).read_text(encoding="utf-8")
    section = page[page.index(f'id="ensemble-{ensemble.id}"'):]
    assert "data:image/png;base64" in section[:section.index("</section>")]  # the selection curve
    client = TestClient(create_app(db["url"]), base_url="http://127.0.0.1")
    queue_page = client.get(f"/queues/{queue.id}")
    assert queue_page.status_code == 200
    assert f'href="/ensembles/{ensemble.id}"' in queue_page.text
    own = client.get(f"/ensembles/{ensemble.id}")
    assert own.status_code == 200
    for combo_index in ensemble.combinations:
        assert f"<td>{combo_index}</td>" in own.text
    assert client.get(f"/ensembles/{ensemble.id}/curve.svg").headers["content-type"].startswith("image/svg")
    bundle = client.get(f"/ensembles/{ensemble.id}/bundle")
    assert bundle.status_code == 200
    (tmp_path / "downloaded.assay").write_bytes(bundle.content)
    assert len(assay.load_bundle(tmp_path / "downloaded.assay").members) == len(ensemble.members)
    assert client.get("/ensembles/99999").status_code == 404


# -- sequences ---------------------------------------------------------------------------------------------------


def lstm_build(features_shape, label_shape, **hp):
    import torch
    from torch import nn

    class LastStep(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(features_shape[-1], hp["units"], batch_first=True)
            self.out = nn.Linear(hp["units"], label_shape[0])

        def forward(self, x):
            return torch.sigmoid(self.out(self.lstm(x)[0][:, -1]))

    return LastStep()


def lstm_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=2, batch_size=8)


def test_sequence_models_ensemble_infer_and_bundle_the_same_way(fresh_db, tmp_path):
    rng = np.random.default_rng(3)
    array = rng.normal(size=(48, 6, 2))
    label = pd.DataFrame({"high": (array[:, :, 0].mean(axis=1) > 0).astype(int)})
    splitset = assay.Pipeline.Sequence.make(array, label_df_or_path=label, size_test=0.25, size_validation=0.25)
    queue = assay.Experiment.make(library="torch", analysis_type="classification_binary", fn_build=lstm_build,
                                  fn_train=lstm_train, hyperparameters={"units": [2, 3, 4]}, splitset_id=splitset.id)
    assert queue.run_jobs(progress=False).failed == 0
    ensemble = queue.ensemble(size=5, candidates=3, metric="log_loss")
    test = ensemble.predictions["test"]
    total = sum(weight * np.ravel(assay.Predictor.get(pid).predictions["test"].probabilities)
                for pid, weight in ensemble.members.items())
    assert np.ravel(test.probabilities) == pytest.approx(total)
    rows = test.row_indices
    frame = ensemble.infer(array[rows], label_df_or_path=label.iloc[rows])
    assert list(frame["prediction"]) == list(test.predictions)
    assert frame["probability_1"].to_numpy() == pytest.approx(np.ravel(test.probabilities), abs=1e-5)
    assert frame.attrs["metrics"]["log_loss"] == pytest.approx(ensemble.metrics["test"]["log_loss"], abs=1e-5)
    bundle = assay.load_bundle(ensemble.export(str(tmp_path / "sequences.assay")))
    assert list(bundle.predict(array[rows])["prediction"]) == list(test.predictions)


# -- several inputs ----------------------------------------------------------------------------------------------


def two_input_build(features_shape, label_shape, **hp):
    import torch
    from torch import nn

    table_shape, series_shape = features_shape

    class TableAndSeries(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(table_shape[0] + series_shape[0] * series_shape[1], hp["units"])
            self.out = nn.Linear(hp["units"], 1)

        def forward(self, x_table, x_series):
            joined = torch.cat([x_table, x_series.flatten(1)], dim=1)
            return torch.sigmoid(self.out(torch.relu(self.hidden(joined))))

    return TableAndSeries()


def test_multi_input_models_ensemble_infer_and_bundle_the_same_way(fresh_db, tmp_path):
    rng = np.random.default_rng(4)
    series = rng.normal(size=(40, 5, 2))
    table = pd.DataFrame({"level": rng.normal(size=40)})
    label = pd.DataFrame({"high": ((series[:, :, 0].mean(axis=1) + table["level"]) > 0).astype(int)})
    splitset = assay.Pipeline.make(
        inputs=[dict(name="table", df_or_path=table,
                     feature_encoders=[dict(sklearn_preprocess=StandardScaler(), columns=["level"])]),
                dict(name="series", feature_ndarray3D_or_npyPath=series,
                     feature_encoders=[dict(sklearn_preprocess=StandardScaler())])],
        label_df_or_path=label, label_column="high", size_test=0.25, size_validation=0.25)
    queue = assay.Experiment.make(library="torch", analysis_type="classification_binary", fn_build=two_input_build,
                                  fn_train=lstm_train, hyperparameters={"units": [2, 4, 8]}, splitset_id=splitset.id)
    assert queue.run_jobs(progress=False).failed == 0
    ensemble = queue.ensemble(size=5, candidates=3, metric="log_loss")
    test = ensemble.predictions["test"]
    rows = test.row_indices
    data = {"table": table.iloc[rows].reset_index(drop=True), "series": series[rows]}
    frame = ensemble.infer(data, label_df_or_path=label.iloc[rows])
    assert frame["probability_1"].to_numpy() == pytest.approx(np.ravel(test.probabilities), abs=1e-5)
    assert frame.attrs["metrics"]["accuracy"] == pytest.approx(ensemble.metrics["test"]["accuracy"])
    bundle = assay.load_bundle(ensemble.export(str(tmp_path / "two_inputs.assay")))
    assert list(bundle.predict([data["table"], data["series"]])["prediction"]) == list(test.predictions)


# -- any database; members of two splitsets ----------------------------------------------------------------------


def iris_queue(test_size: float, units: list[int]) -> assay.Queue:
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=test_size, size_validation=0.2)
    queue = assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=torch_build,
                                  fn_train=torch_train, hyperparameters={"units": units, "epochs": [1]},
                                  splitset_id=splitset.id)
    assert queue.run_jobs(progress=False).failed == 0
    return queue


def test_an_ensemble_is_stored_and_read_back_whole_on_sqlite_and_postgresql(any_db):
    queue = iris_queue(0.3, [3, 6])
    made = queue.ensemble(size=4, candidates=2, method="mean")
    again = assay.Ensemble.get(made.id)
    assert again.members == made.members
    assert again.candidates == made.candidates
    assert again.curve == pytest.approx(made.curve)
    assert again.metrics == made.metrics
    assert list(again.predictions["test"].predictions) == list(made.predictions["test"].predictions)
    assert [e.id for e in queue.ensembles] == [made.id]


def test_candidates_whose_predictions_cover_other_rows_are_refused_as_different_splitsets(fresh_db):
    first, second = iris_queue(0.3, [3]), iris_queue(0.2, [3])
    candidates = [selection.Candidate(0, [p.id for p in queue.predictors], [(None, 0)], 0.0)
                  for queue in (first, second)]
    with pytest.raises(errors.ValidationError, match="one splitset") as caught:
        selection.combined_split(candidates, "test", list(first.splitset.label_classes))
    assert caught.value.parameter == "candidates"


def predict_without_probabilities(model, samples):
    import torch

    with torch.no_grad():
        return model(samples["features"]).argmax(dim=1).numpy(), None


def test_classification_models_without_probabilities_are_refused_and_nothing_is_stored(fresh_db):
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()), size_test=0.3, size_validation=0.2)
    queue = assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=torch_build,
                                  fn_train=torch_train, fn_predict=predict_without_probabilities,
                                  hyperparameters={"units": [3, 4], "epochs": [1]}, splitset_id=splitset.id)
    assert queue.run_jobs(progress=False).failed == 0
    with pytest.raises(errors.ValidationError, match="stored no probabilities"):
        queue.ensemble()
    assert assay.Ensemble.all() == []
