"""AIQC spellings that assay accepts: include=False selectors, library="pytorch", grid keys that are not
identifiers, permute_count, Keras' MetricCutoff, and multi-class fn_build sized by the class count."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, PowerTransformer, StandardScaler
from sqlalchemy import select

import assay
from assay import datum, errors
from assay.contracts import ClassCount, build_label_shape
from assay.db import session_scope
from assay.db.models import AlgorithmRow, EncoderSpecRow


def houses_splitset(**extra):
    return assay.Pipeline.Tabular.make(
        datum.to_pandas("houses.csv"), label_column="price",
        label_encoder=dict(sklearn_preprocess=PowerTransformer(method="box-cox", copy=False)),
        feature_encoders=[
            dict(include=False, dtypes=["int64"], sklearn_preprocess=MinMaxScaler(copy=False)),
            # both selectors None: every remaining column, as nothing is excluded
            dict(include=False, dtypes=None, columns=None, sklearn_preprocess=OrdinalEncoder()),
        ],
        size_test=0.18, size_validation=0.14, bin_count=3, **extra,
    )


def test_include_false_encodes_the_columns_that_do_not_match(db):
    splitset = houses_splitset()

    first, second = splitset.encoders().features
    floats = [c for c, t in datum.to_pandas("houses.csv").dtypes.items() if c != "price" and t == "float64"]
    assert first.columns == floats  # every column except the int64 ones
    assert second.columns == ["chas", "rad", "tax"]  # the int64 columns the first left
    with session_scope() as session:
        assert session.scalars(select(EncoderSpecRow.include).order_by(EncoderSpecRow.position)
                               .where(EncoderSpecRow.role == "feature")).all() == [False, False]
    scaled = splitset.samples_for("train")["features"][:, :len(floats)]
    assert scaled.min() == pytest.approx(0)
    assert scaled.max() == pytest.approx(1)


def test_include_false_with_columns_and_a_bad_include_value(db):
    df = datum.to_pandas("iris.tsv")
    splitset = assay.Pipeline.Tabular.make(
        df, label_column="species", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), columns=["petal_width"], include=False)],
        size_test=0.2,
    )
    assert splitset.encoders().features[0].columns == ["sepal_length", "sepal_width", "petal_length"]
    assert splitset.encoders().passthrough == ["petal_width"]
    with pytest.raises(errors.EncoderError, match=r"feature_encoders\[0\]\.include.*True.*False"):
        assay.Pipeline.Tabular.make(df, label_column="species",
                                    feature_encoders=[dict(sklearn_preprocess=StandardScaler(), include="no")])
    with pytest.raises(errors.EncoderError, match=r"selects no column: every remaining column matches"):
        assay.Pipeline.Tabular.make(df, label_column="species",
                                    feature_encoders=[dict(sklearn_preprocess=StandardScaler(), include=False,
                                                           dtypes="float64")])


def fn_build_ordinal(features_shape, num_classes, **hp):
    from torch import nn

    # AIQC's pytorch multi-class scenario: the class count is an int
    return nn.Sequential(nn.Linear(features_shape[0], hp["2nd_dense_neurons"]), nn.ReLU(),
                         nn.Linear(hp["2nd_dense_neurons"], num_classes))


def fn_train_torch(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=2,
                                  batch_size=16, seed=0)


def test_pytorch_ordinal_multiclass_gets_the_class_count_and_non_identifier_grid_keys(db):
    pytest.importorskip("assay_torch")
    splitset = assay.Pipeline.Tabular.make(
        datum.to_pandas("iris.tsv"), label_column="species", label_encoder=dict(sklearn_preprocess=OrdinalEncoder()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(copy=False), dtypes=["float64"])], size_test=0.2,
        fold_count=2,
    )
    assert splitset.label_shape == (1,)

    queue = assay.Experiment.make(
        library="pytorch", analysis_type="classification_multi", fn_build=fn_build_ordinal, fn_train=fn_train_torch,
        hyperparameters={"2nd_dense_neurons": [5, 6]}, splitset_id=splitset.id, seed=1,
    )
    summary = queue.run_jobs(progress=False)

    assert summary.failed == 0, queue.status()["errors"]
    with session_scope() as session:
        assert session.scalars(select(AlgorithmRow.library)).all() == ["torch"]
    predictor = queue.predictors[0]
    assert predictor.hyperparameters == {"2nd_dense_neurons": 5}
    assert predictor.get_model()[-1].out_features == 3  # reloaded through the same class count
    inferred = predictor.infer(datum.to_pandas("iris.tsv").drop(columns="species").head(4))
    assert set(inferred.columns) == {"prediction", *(f"probability_{c}" for c in splitset.label_classes)}


def test_the_class_count_reads_as_an_int_and_as_the_one_tuple():
    count = build_label_shape((1,), "classification_multi", 3)
    assert isinstance(count, ClassCount)
    assert isinstance(count, int)
    assert count == 3
    assert count == (3,)
    assert count[0] == 3
    assert tuple(count) == (3,)
    assert len(count) == 1
    assert list(count) == [3]
    assert count != (1,)
    assert build_label_shape([3], "classification_multi", 3) == (3,)  # one-hot labels read the same
    assert build_label_shape([1], "classification_binary", 2) == (1,)
    assert build_label_shape([1], "regression", 0) == (1,)
    assert build_label_shape(None, "classification_multi", 3) is None


def test_permute_count_stores_train_importance_after_run_jobs(db):
    pytest.importorskip("assay_torch")
    splitset = houses_splitset()

    with pytest.raises(errors.ExperimentError, match="permute_count"):
        assay.Experiment.make(library="torch", analysis_type="regression", fn_build=fn_build_regression,
                              fn_train=fn_train_torch, splitset_id=splitset.id, permute_count=-1)
    queue = assay.Experiment.make(
        library="torch", analysis_type="regression", fn_build=fn_build_regression, fn_train=fn_train_torch,
        splitset_id=splitset.id, permute_count=2, repeat_count=2, seed=4,
    )
    assert queue.permute_count == 2
    assert queue.run_jobs(progress=False).failed == 0, queue.status()["errors"]

    for predictor in queue.predictors:
        stored = predictor._column("feature_importance")
        assert list(stored) == ["train"]
        assert list(stored["train"]) == ["2"]
        assert len(stored["train"]["2"]["drops"]) == 12
        assert all(len(drops) == 2 for drops in stored["train"]["2"]["drops"].values())
    none = assay.Experiment.make(library="torch", analysis_type="regression", fn_build=fn_build_regression,
                                 fn_train=fn_train_torch, splitset_id=splitset.id, seed=4)
    none.run_jobs(progress=False)
    assert none.predictors[0]._column("feature_importance") is None


def fn_build_regression(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], 4), nn.ReLU(), nn.Linear(4, label_shape[0]))


def fn_build_keras(features_shape, label_shape, **hp):
    from keras import Input, Sequential
    from keras.layers import Dense

    return Sequential([Input(shape=features_shape), Dense(8, activation="relu"),
                       Dense(units=label_shape[0], activation="softmax")])


def fn_train_cutoff(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    model.compile(loss=loser, optimizer=optimizer, metrics=["accuracy"])
    cutoffs = assay.TrainingCallback.Keras.MetricCutoff(hp["thresholds"])
    model.fit(samples_train["features"], samples_train["labels"],
              validation_data=(samples_evaluate["features"], samples_evaluate["labels"]),
              verbose=0, batch_size=16, epochs=6, callbacks=[cutoffs])
    return model


def test_metric_cutoff_stops_keras_training_once_every_threshold_passes(db):
    pytest.importorskip("assay_keras")
    splitset = assay.Pipeline.Tabular.make(
        datum.to_pandas("iris.tsv"), label_column="species", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.2, size_validation=0.2,
    )
    always = [{"metric": "val_loss", "cutoff": 1e9, "above_or_below": "below"},
              {"metric": "accuracy", "cutoff": 0.0, "above_or_below": "above"}]
    never = [{"metric": "val_loss", "cutoff": 1e9, "above_or_below": "below"},
             {"metric": "accuracy", "cutoff": 1.5, "above_or_below": "above"}]
    missing = [{"metric": "val_auc", "cutoff": 0.5, "above_or_below": "above"}]
    queue = assay.Experiment.make(
        library="keras", analysis_type="classification_multi", fn_build=fn_build_keras, fn_train=fn_train_cutoff,
        hyperparameters={"thresholds": [always, never, missing]}, splitset_id=splitset.id, seed=2,
    )
    queue.run_jobs(progress=False)

    stopped, full = [p.history for p in queue.predictors]
    assert len(stopped["loss"]) == 1  # all thresholds met after the first epoch
    assert len(full["loss"]) == 6  # one threshold can never be met
    failed = [job for job in queue.jobs if job.status == "failed"]
    assert len(failed) == 1
    assert "'val_auc' is not in this epoch's logs" in failed[0].error


def test_metric_cutoff_rejects_malformed_thresholds():
    pytest.importorskip("assay_keras")
    with pytest.raises(errors.ValidationError, match=r"thresholds\[0\]\.above_or_below"):
        assay.TrainingCallback.Keras.MetricCutoff([{"metric": "loss", "cutoff": 1, "above_or_below": "under"}])
    with pytest.raises(errors.ValidationError, match=r"thresholds\[0\]: must be a dict with exactly the keys"):
        assay.TrainingCallback.Keras.MetricCutoff([{"metric": "loss", "cutoff": 1}])
    with pytest.raises(errors.ValidationError, match=r"thresholds\[0\]\.cutoff"):
        assay.TrainingCallback.Keras.MetricCutoff([{"metric": "loss", "cutoff": np.nan, "above_or_below": "below"}])
