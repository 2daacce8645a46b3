"""Inference with Keras models: stored predictors predict new raw rows, and so do exported bundles.

One small queue per analysis type is trained once for the module (a few epochs on tiny data): multi-class
iris, binary sonar with folds (the predictor of fold 1, whose encoders differ from the splitset's), and
regression on exoplanets (a scaled label and an integer column no encoder touches).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from sqlalchemy import func, select
from trained_models import train_per_analysis_type

import assay
from assay import datum, errors
from assay.db.engine import session_scope
from assay.db.models import DatasetRow, PredictionRow

pytest.importorskip("assay_keras")


def fn_build(features_shape, label_shape, **hp):
    from keras import Input, Sequential
    from keras.layers import Dense

    model = Sequential([Input(shape=features_shape), Dense(6, activation="relu")])
    if hp["kind"] == "multi":
        model.add(Dense(label_shape[0], activation="softmax"))
    else:
        model.add(Dense(1, activation="sigmoid" if hp["kind"] == "binary" else None))
    return model


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    model.compile(loss=loser, optimizer=optimizer)
    model.fit(samples_train["features"], samples_train["labels"], verbose=0, batch_size=32, epochs=2)
    return model


def iris_with_ids() -> pd.DataFrame:
    df = datum.to_pandas("iris.tsv")
    df.insert(0, "plant_id", [f"p{i}" for i in range(len(df))])  # excluded from the features
    return df


def sonar() -> pd.DataFrame:
    return datum.to_pandas("sonar.csv")


def planets() -> pd.DataFrame:
    return datum.to_pandas("exoplanets.parquet").dropna().reset_index(drop=True)


CASES = {
    "classification_multi": dict(
        data=iris_with_ids, kind="multi",
        splitset=dict(label_column="species", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
                      feature_cols_excluded=["species", "plant_id"], size_test=0.3, size_validation=0.2),
    ),
    "classification_binary": dict(
        data=sonar, kind="binary",
        splitset=dict(label_column="object", label_encoder=dict(sklearn_preprocess=OrdinalEncoder()),
                      size_test=0.25, size_validation=None, fold_count=2),
    ),
    "regression": dict(
        data=planets, kind="regression",
        splitset=dict(label_column="SurfaceTempK", label_encoder=dict(sklearn_preprocess=StandardScaler()),
                      size_test=0.25, size_validation=0.2),
    ),
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The database URL and, per analysis type, the id of one trained predictor (the last fold's with folds)."""
    return train_per_analysis_type(tmp_path_factory.mktemp("inference-keras"), "keras", CASES, fn_build, fn_train,
                                   seed=3)


@pytest.fixture
def predictors(trained):
    url, predictor_ids = trained
    assay.setup(url)
    return {analysis_type: assay.Predictor.get(id) for analysis_type, id in predictor_ids.items()}


def test_rows_of_a_split_get_the_predictions_stored_for_them_during_training(predictors):
    for analysis_type, predictor in predictors.items():
        stored = predictor.predictions["test"]
        raw = CASES[analysis_type]["data"]().iloc[stored.row_indices]

        inferred = predictor.infer(raw)

        assert list(inferred.index) == list(raw.index)
        if analysis_type == "regression":
            np.testing.assert_allclose(inferred["prediction"].to_numpy(dtype=float), stored.predictions, rtol=1e-6)
            assert list(inferred.columns) == ["prediction"]
        else:
            assert inferred["prediction"].astype(str).tolist() == stored.predictions.tolist()
            columns = [f"probability_{value}" for value in stored.classes]
            assert list(inferred.columns) == ["prediction", *columns]
            expected = stored.probabilities
            if expected.ndim == 1:  # binary: the positive class is the second one
                expected = np.column_stack([1 - expected, expected])
            np.testing.assert_allclose(inferred[columns].to_numpy(), expected, atol=1e-6)
        # the same rows with their labels give the same metrics as the stored split
        for name, value in stored.metrics.items():
            assert inferred.attrs["metrics"][name] == pytest.approx(value, rel=1e-5, abs=1e-6), name


def test_an_inference_is_stored_as_a_prediction_of_the_predictor_with_its_data(predictors, tmp_path):
    predictor = predictors["classification_multi"]
    raw = iris_with_ids().sample(12, random_state=0)

    with_labels = predictor.infer(raw)
    path = tmp_path / "new.csv"
    raw.drop(columns=["species", "plant_id"]).to_csv(path, index=False)
    without_labels = predictor.infer(str(path))

    first, second = predictor.inferences[-2:]
    assert (first.id, second.id) == (with_labels.attrs["prediction_id"], without_labels.attrs["prediction_id"])
    assert first.split == second.split == "inference"
    assert first.row_count == 12
    assert first.predictions.tolist() == with_labels["prediction"].tolist()
    assert first.labels.tolist() == raw["species"].tolist()
    assert {"accuracy", "f1", "roc_auc", "loss"} <= set(first.metrics)
    assert second.metrics == {}
    assert second.labels is None
    assert second.predictions.tolist() == first.predictions.tolist()
    with session_scope() as session:
        stored = session.get(DatasetRow, second.dataset_id)
        assert stored.row_count == 12
        assert stored.name == "new.csv"
    assert "inference" not in predictor.refresh().metrics  # the training splits stay as they were


def test_a_predictor_trained_on_a_fold_uses_that_folds_encoders(predictors):
    predictor = predictors["classification_binary"]
    assert predictor.fold_index == 1
    splitset = predictor.queue.splitset
    rows = predictor.predictions["validation"].row_indices
    raw = sonar().iloc[rows]
    fold_features = splitset.samples_for("validation", fold_index=1)["features"]
    splitset_features = splitset.encoders(None).encode_features(raw.reset_index(drop=True))
    assert not np.allclose(fold_features, splitset_features)  # the fold's scaler was fitted on other rows

    inferred = predictor.infer(raw)

    assert inferred["prediction"].tolist() == predictor.predictions["validation"].predictions.tolist()


def test_a_schema_mismatch_names_the_columns_and_nothing_is_stored(predictors):
    predictor = predictors["classification_multi"]
    raw = iris_with_ids().head(5)
    with session_scope() as session:
        before = session.execute(select(func.count()).select_from(PredictionRow)).scalar_one()

    with pytest.raises(errors.SchemaMismatchError, match=r"missing feature columns \['petal_width'\]"):
        predictor.infer(raw.drop(columns="petal_width"))
    with pytest.raises(errors.SchemaMismatchError, match=r"unexpected columns \['colour'\]"):
        predictor.infer(raw.assign(colour="blue"))
    with pytest.raises(errors.SchemaMismatchError, match=r"'sepal_length' holds text .* trained on float64"):
        predictor.infer(raw.assign(sepal_length=["1.2", "x", "3", "4", "5"]))
    with pytest.raises(errors.DataError, match="not among the model's classes"):
        predictor.infer(raw.assign(species="tulip"))

    with session_scope() as session:
        assert session.execute(select(func.count()).select_from(PredictionRow)).scalar_one() == before


def test_an_exported_bundle_predicts_what_the_predictor_predicts(predictors, tmp_path):
    for analysis_type, predictor in predictors.items():
        raw = CASES[analysis_type]["data"]().sample(10, random_state=1)
        path = predictor.export(tmp_path / f"{analysis_type}.assay")

        bundle = assay.load_bundle(path)
        from_bundle = bundle.predict(raw)

        pd.testing.assert_frame_equal(from_bundle, predictor.infer(raw), check_exact=False, atol=1e-6)
        assert bundle.library == "keras"
        assert bundle.analysis_type == analysis_type
        assert bundle.label_column == CASES[analysis_type]["splitset"]["label_column"]
        assert set(from_bundle.attrs["metrics"]) >= ({"r2"} if analysis_type == "regression" else {"accuracy"})


def test_a_bundle_describes_its_model_and_keeps_the_weights_in_the_keras_format(predictors, tmp_path):
    predictor = predictors["classification_multi"]
    path = predictor.export(tmp_path / "iris.assay")

    bundle = assay.load_bundle(path)

    assert bundle.feature_columns == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert bundle.feature_dtypes == dict.fromkeys(bundle.feature_columns, "float64")
    assert bundle.classes == ["setosa", "versicolor", "virginica"]
    assert bundle.schema.ignored_columns == ["plant_id"]
    assert bundle.hyperparameters == {"kind": "multi"}
    assert {"keras", "tensorflow", "assay", "python", "scikit-learn"} <= set(bundle.versions)
    assert bundle.manifest["source"]["predictor_id"] == predictor.id
    with zipfile.ZipFile(path) as archive:
        assert "model.keras" not in bundle.manifest["trusts"]  # weights are never unpickled
        archive.extract("model.keras", tmp_path)
    import keras

    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True, compile=False)
    assert reloaded.count_params() == bundle.model.count_params()


def test_a_bundle_refuses_other_files_and_names_mismatching_columns(predictors, tmp_path):
    not_a_bundle = tmp_path / "notes.assay"
    not_a_bundle.write_text("hello")
    with pytest.raises(errors.ValidationError, match="not an assay bundle"):
        assay.load_bundle(not_a_bundle)
    with pytest.raises(errors.ValidationError, match="not a file"):
        assay.load_bundle(tmp_path / "missing.assay")
    with pytest.raises(errors.ValidationError, match="does not exist"):
        predictors["regression"].export(tmp_path / "no-such-folder" / "model.assay")

    bundle = assay.load_bundle(predictors["regression"].export(tmp_path / "planets.assay"))
    with pytest.raises(errors.SchemaMismatchError, match=r"missing feature columns \['TypeFlag'\]"):
        bundle.predict(planets().drop(columns="TypeFlag"))


def test_assay_predict_runs_a_bundle_in_a_fresh_process_without_a_database(predictors, tmp_path):
    predictor = predictors["classification_binary"]
    bundle_path = predictor.export(tmp_path / "sonar.assay")
    raw = sonar().sample(15, random_state=2)
    raw.drop(columns="object").to_csv(tmp_path / "input.csv", index=False)
    expected = predictor.infer(raw).reset_index(drop=True)
    script = textwrap.dedent("""
        import sys
        import pandas as pd
        import assay
        import assay.cli.predict  # registers `assay predict` (a no-op once assay.cli imports it)
        from assay import cli

        bundle_path, input_path, output_path = sys.argv[1:]
        assay.load_bundle(bundle_path).predict(pd.read_csv(input_path)).to_csv(output_path + ".api.csv", index=False)
        sys.exit(cli.main(["predict", bundle_path, input_path, "-o", output_path]))
    """)
    # a database URL that cannot be reached: any use of the database would fail the command
    env = {**os.environ, "ASSAY_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/nowhere",
           "ASSAY_HOME": str(tmp_path / "empty-home")}
    output = tmp_path / "predictions.csv"

    completed = subprocess.run(
        [sys.executable, "-c", script, bundle_path, str(tmp_path / "input.csv"), str(output)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )

    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "15 predictions by a keras classification_binary model" in completed.stderr
    for written in (pd.read_csv(output), pd.read_csv(f"{output}.api.csv")):
        assert written["prediction"].tolist() == expected["prediction"].tolist()
        np.testing.assert_allclose(written[["probability_M", "probability_R"]].to_numpy(),
                                   expected[["probability_M", "probability_R"]].to_numpy(), atol=1e-6)
    assert not (tmp_path / "empty-home").exists()
