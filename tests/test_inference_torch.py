"""Inference with torch models: stored predictors and exported bundles, whose architecture comes back from the
bundled ``fn_build``.

Trained once for the module: multi-class iris with two folds (the predictor of fold 0), binary sonar with a
model ending in logits and the user's own ``fn_lose``/``fn_predict`` (both must travel with the model), and
regression on exoplanets.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from trained_models import train_per_analysis_type

import assay
from assay import datum

pytest.importorskip("assay_torch")


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    outputs = {"multi": 3, "binary": 1, "regression": 1}[hp["kind"]]
    layers = [nn.Linear(features_shape[0], 8), nn.ReLU(), nn.Linear(8, outputs)]
    return nn.Sequential(*layers)  # logits for both classifications: the losses and fn_predict handle them


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=3,
                                  batch_size=16, seed=0)


def fn_lose_logits(**hp):
    from torch import nn

    return nn.BCEWithLogitsLoss()


def fn_predict_logits(model, samples):
    import torch

    with torch.no_grad():
        probabilities = torch.sigmoid(model(samples["features"])).numpy().ravel()
    return (probabilities > 0.5).astype(int), probabilities


def iris() -> pd.DataFrame:
    return datum.to_pandas("iris.tsv")


def sonar() -> pd.DataFrame:
    return datum.to_pandas("sonar.csv")


def planets() -> pd.DataFrame:
    return datum.to_pandas("exoplanets.parquet").dropna().reset_index(drop=True)


CASES = {
    "classification_multi": dict(
        data=iris, kind="multi", functions={}, fold_index=0,
        splitset=dict(label_column="species", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
                      size_test=0.3, size_validation=None, fold_count=2),
    ),
    "classification_binary": dict(
        data=sonar, kind="binary", functions=dict(fn_lose=fn_lose_logits, fn_predict=fn_predict_logits),
        fold_index=None,
        splitset=dict(label_column="object", label_encoder=dict(sklearn_preprocess=OrdinalEncoder()),
                      size_test=0.25, size_validation=0.2),
    ),
    "regression": dict(
        data=planets, kind="regression", functions={}, fold_index=None,
        splitset=dict(label_column="SurfaceTempK", label_encoder=dict(sklearn_preprocess=StandardScaler()),
                      size_test=0.25, size_validation=0.2),
    ),
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The database URL and, per analysis type, the id of one trained predictor (the last fold's with folds)."""
    return train_per_analysis_type(tmp_path_factory.mktemp("inference-torch"), "torch", CASES, fn_build, fn_train,
                                   seed=5)


@pytest.fixture
def predictors(trained):
    url, predictor_ids = trained
    assay.setup(url)
    return {analysis_type: assay.Predictor.get(id) for analysis_type, id in predictor_ids.items()}


def expected_frame(prediction) -> pd.DataFrame:
    """What infer should return for the rows of a stored prediction."""
    frame = pd.DataFrame({"prediction": prediction.predictions})
    if prediction.classes:
        probabilities = prediction.probabilities
        if probabilities.ndim == 1:
            probabilities = np.column_stack([1 - probabilities, probabilities])
        for i, value in enumerate(prediction.classes):
            frame[f"probability_{value}"] = probabilities[:, i]
    return frame


def test_rows_of_a_split_get_the_predictions_stored_for_them_during_training(predictors):
    for analysis_type, predictor in predictors.items():
        stored = predictor.predictions["test"]
        raw = CASES[analysis_type]["data"]().iloc[stored.row_indices]

        inferred = predictor.infer(raw)

        expected = expected_frame(stored).set_axis(raw.index)
        if analysis_type != "regression":
            inferred["prediction"] = inferred["prediction"].astype(str)
        pd.testing.assert_frame_equal(inferred, expected, check_exact=False, rtol=1e-6, check_dtype=False)
        for name, value in stored.metrics.items():
            assert inferred.attrs["metrics"][name] == pytest.approx(value, rel=1e-5, abs=1e-6), name


def test_the_users_fn_predict_decides_the_predictions_of_a_logit_model(predictors):
    predictor = predictors["classification_binary"]
    raw = sonar().head(20)

    inferred = predictor.infer(raw)

    # the model outputs logits; only fn_predict's sigmoid turns them into probabilities between 0 and 1
    probabilities = inferred[["probability_M", "probability_R"]].to_numpy()
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert set(inferred["prediction"]) <= {"M", "R"}
    assert "loss" in predictor.inferences[-1].metrics  # computed with the user's BCEWithLogitsLoss


def test_torch_bundles_predict_in_a_fresh_process_without_a_database(predictors, tmp_path):
    requests = []
    expected = {}
    for analysis_type, predictor in predictors.items():
        raw = CASES[analysis_type]["data"]().sample(12, random_state=3)
        input_path = tmp_path / f"{analysis_type}.parquet"
        raw.drop(columns=CASES[analysis_type]["splitset"]["label_column"]).to_parquet(input_path)
        bundle_path = predictor.export(tmp_path / f"{analysis_type}.assay")
        requests += [bundle_path, str(input_path), str(tmp_path / f"{analysis_type}.out.parquet")]
        expected[analysis_type] = predictor.infer(raw).reset_index(drop=True)
    script = textwrap.dedent("""
        import sys
        import assay

        arguments = sys.argv[1:]
        for bundle_path, input_path, output_path in zip(arguments[::3], arguments[1::3], arguments[2::3]):
            # only the binary model's fn_predict needs trust; the others are torch.export programs
            bundle = assay.load_bundle(bundle_path, trust="binary" in bundle_path)
            assert bundle.library == "torch", bundle.library
            bundle.predict(input_path).to_parquet(output_path)
    """)
    env = {**os.environ, "ASSAY_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/nowhere",
           "ASSAY_HOME": str(tmp_path / "empty-home")}

    completed = subprocess.run([sys.executable, "-c", script, *requests], capture_output=True, text=True,
                               env=env, timeout=300, check=False)

    assert completed.returncode == 0, completed.stderr[-3000:]
    for analysis_type, frame in expected.items():
        written = pd.read_parquet(tmp_path / f"{analysis_type}.out.parquet")
        pd.testing.assert_frame_equal(written, frame, check_exact=False, rtol=1e-6, check_dtype=False)
    assert not (tmp_path / "empty-home").exists()


def test_assay_predict_writes_predictions_and_reports_a_schema_mismatch_in_one_line(predictors, tmp_path, capsys):
    import assay.cli.predict  # noqa: F401  registers `assay predict` until assay.cli imports it itself
    from assay import cli

    bundle_path = predictors["regression"].export(tmp_path / "planets.assay")
    raw = planets().head(5)
    raw.to_csv(tmp_path / "input.csv", index=False)
    raw.drop(columns="TypeFlag").to_csv(tmp_path / "broken.csv", index=False)

    assert cli.main(["predict", bundle_path, str(tmp_path / "input.csv"), "--keep-columns"]) == cli.EXIT_OK
    printed = capsys.readouterr()
    written = pd.read_csv(io.StringIO(printed.out))
    assert list(written.columns) == [*raw.columns, "prediction"]
    np.testing.assert_allclose(written["prediction"], predictors["regression"].infer(raw)["prediction"], rtol=1e-6)
    assert "5 predictions by a torch regression model; explained_variance" in printed.err

    assert cli.main(["predict", bundle_path, str(tmp_path / "broken.csv"), "-o", str(tmp_path / "out.csv")]) == 1
    printed = capsys.readouterr()
    assert printed.err.startswith("assay: error: df: the data does not match")
    assert "missing feature columns ['TypeFlag']" in printed.err
    assert len(printed.err.strip().splitlines()) == 1
    assert not (tmp_path / "out.csv").exists()
