"""Comparison and conformal prediction on real trained queues: Keras and torch, on SQLite and PostgreSQL.

A Keras classification queue with folds (``Experiment.make(conformal_alpha=...)`` calibrates every model after
``run_jobs``) and a torch regression queue with a validation split (calibrated by hand), tiny models and few
epochs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import assay
from assay import datum, errors


def keras_build(features_shape, label_shape, **hp):
    from keras import Input, Sequential
    from keras.layers import Dense

    model = Sequential([Input(shape=features_shape), Dense(hp["neurons"], activation="relu"),
                        Dense(label_shape[0], activation="softmax")])
    return model


def keras_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    model.compile(loss=loser, optimizer=optimizer, metrics=["accuracy"])
    model.fit(samples_train["features"], samples_train["labels"], verbose=0, batch_size=16, epochs=hp["epochs"])
    return model


def torch_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], hp["neurons"]), nn.ReLU(), nn.Linear(hp["neurons"], 1))


def torch_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=hp["epochs"],
                                  batch_size=16, seed=0)


def test_a_keras_queue_with_folds_is_compared_and_calibrated_on_either_database(any_db, tmp_path):
    pytest.importorskip("assay_keras")
    iris = datum.to_pandas("iris.tsv")
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=iris, label_column="species", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.2, size_validation=None, fold_count=3,
    )
    queue = assay.Experiment.make(library="keras", analysis_type="classification_multi", fn_build=keras_build,
                                  fn_train=keras_train, hyperparameters={"neurons": [3, 12], "epochs": [4]},
                                  splitset_id=splitset.id, seed=1, conformal_alpha=0.2)
    summary = queue.run_jobs(progress=False)
    assert summary.failed == 0, queue.status()["errors"]
    assert queue.conformal == {"alpha": 0.2, "split": "validation", "method": None}

    board = queue.leaderboard()
    assert board.loc[0, "tied_with_best"]
    assert pd.isna(board.loc[0, "p_value_vs_best"])
    assert board["p_value_vs_best"].iloc[1:].between(0, 1).all()
    best, second = int(board.loc[0, "combo_index"]), int(board.loc[1, "combo_index"])
    result = queue.compare(best, second)
    assert result.method == "corrected resampled t-test and Bayesian correlated t-test (3 folds)"
    assert result.n_pairs == 3
    assert result.p_value == pytest.approx(board.loc[1, "p_value_vs_best"])
    assert result.prob_better + result.prob_equivalent + result.prob_worse == pytest.approx(1)
    assert result.mean_difference == pytest.approx(board.loc[0, "accuracy_mean"] - board.loc[1, "accuracy_mean"])

    # every model was calibrated on its own fold's validation rows: 40 of them
    predictor = assay.Predictor.get(int(board.loc[0, "best_predictor_id"]))
    assert predictor.calibration["n"] == 40
    assert predictor.calibration["method"] == "lac"
    frame = predictor.infer(iris.drop(columns="species").head(12))
    assert all(set(chosen) <= set(iris["species"]) for chosen in frame["prediction_set"])
    assert all(isinstance(chosen, list) for chosen in frame["prediction_set"])
    coverage = predictor.coverage("test")
    assert coverage["n"] == 30
    assert coverage["alpha"] == 0.2
    assert 0 <= coverage["coverage"] <= 1
    assert "mean_set_size" in coverage
    # a bundle carries the calibration: the same sets without the database
    from assay.inference.bundle import load_bundle

    bundle = load_bundle(predictor.export(str(tmp_path / "model.assay")))
    assert bundle.manifest.conformal == predictor.calibration
    bundled = bundle.predict(iris.drop(columns="species").head(12))
    assert bundled["prediction_set"].tolist() == frame["prediction_set"].tolist()


def test_a_torch_regression_queue_is_compared_by_bootstrap_and_gives_intervals_on_either_database(any_db):
    pytest.importorskip("assay_torch")
    planets = datum.to_pandas("exoplanets.parquet").dropna().reset_index(drop=True)
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=planets, label_column="SurfaceTempK", label_encoder=dict(sklearn_preprocess=StandardScaler()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.25, size_validation=0.25,
    )
    queue = assay.Experiment.make(library="torch", analysis_type="regression", fn_build=torch_build,
                                  fn_train=torch_train, hyperparameters={"neurons": [2, 16], "epochs": [1, 30]},
                                  splitset_id=splitset.id, seed=3, repeat_count=2)
    assert queue.run_jobs(progress=False).failed == 0, queue.status()["errors"]
    board = queue.leaderboard()
    assert board.attrs["metric"] == "r2"
    assert board.attrs["warning"] is None
    best, worst = int(board.loc[0, "combo_index"]), int(board.iloc[-1]["combo_index"])
    result = queue.compare(worst, best)
    assert result.method.startswith("paired bootstrap over the validation rows")
    assert result.mean_difference < 0
    assert result.prob_worse > result.prob_better
    assert board.iloc[-1]["p_value_vs_best"] == pytest.approx(result.p_value)

    predictor = assay.Predictor.get(int(board.loc[0, "best_predictor_id"]))
    with pytest.raises(errors.ValidationError, match="use one of: absolute"):
        predictor.calibrate(method="lac")
    calibration = predictor.calibrate(alpha=0.1)
    assert calibration["kind"] == "regression"
    assert calibration["threshold"] > 0
    frame = predictor.infer(planets.drop(columns="SurfaceTempK").head(5))
    width = frame["interval_high"] - frame["interval_low"]
    assert np.allclose(width, 2 * calibration["threshold"])
    assert ((frame["interval_low"] <= frame["prediction"]) & (frame["prediction"] <= frame["interval_high"])).all()
    coverage = predictor.coverage("test")
    assert coverage["mean_interval_width"] == pytest.approx(2 * calibration["threshold"])
