"""A prediction of the wrong shape fails its job with an error naming ``fn_predict`` (or ``fn_build``), never a
silently wrong result: predictions that are not one class index per sample would decode to wrong classes, and
metrics computed from them were left out without a word. Real torch training on a tiny SQLite-stored splitset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import assay

pytest.importorskip("assay_torch")


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    model = nn.Sequential(nn.Linear(features_shape[0], 4), nn.ReLU(), nn.Linear(4, hp.get("outputs", 3)))
    model.output_kind = hp.get("kind")  # tells fn_predict which wrong output to give
    return model


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=1,
                                  batch_size=16, seed=0)


def fn_predict(model, samples):
    import torch

    with torch.no_grad():
        probabilities = torch.softmax(model(samples["features"]), dim=1).numpy()
    classes = probabilities.argmax(axis=1)
    return {
        "good": lambda: (classes, probabilities),
        "one short": lambda: (classes[:-1], probabilities[:-1]),
        "one-hot": lambda: (np.eye(3)[classes], probabilities),
        "fractional": lambda: (classes + 0.4, probabilities),
        "beyond the classes": lambda: (classes + 3, probabilities),
        "original labels": lambda: (np.array(["p", "q", "r"])[classes], probabilities),
        "narrow probabilities": lambda: (classes, probabilities[:, :2]),
        "flat probabilities": lambda: (classes, probabilities.max(axis=1)),
        "nan probabilities": lambda: (classes, np.where(np.arange(len(classes))[:, None] == 0, np.nan,
                                                        probabilities)),
        "one array": lambda: classes,
    }[model.output_kind]()


WRONG = {
    "one short": "gave predictions of shape",
    "one-hot": "one class index per sample",
    "fractional": "not class indices 0..2",
    "beyond the classes": "not class indices 0..2",
    "original labels": "not numbers",
    "narrow probabilities": "for 3 classes",
    "flat probabilities": "for 3 classes",
    "nan probabilities": "NaN",
    "one array": "(predictions, probabilities)",
}


@pytest.fixture
def splitset(db):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(45, 3)), columns=["a", "b", "c"])
    df["kind"] = np.array(["p", "q", "r"])[np.arange(45) % 3]
    return assay.Pipeline.Tabular.make(
        df_or_path=df, label_column="kind", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler())], size_test=0.2, size_validation=0.2)


def test_a_wrong_shaped_fn_predict_output_fails_its_job_naming_fn_predict_and_the_fix(splitset):
    queue = assay.Experiment.make(
        library="torch", analysis_type="classification_multi", fn_build=fn_build, fn_train=fn_train,
        fn_predict=fn_predict, hyperparameters={"kind": ["good", *WRONG]}, splitset_id=splitset.id)

    queue.run_jobs()

    by_kind = {job.hyperparameters["kind"]: job for job in queue.jobs}
    assert by_kind["good"].status == "succeeded"
    errors = queue.status()["errors"]
    for kind, fragment in WRONG.items():
        assert by_kind[kind].status == "failed", kind
        message = errors[by_kind[kind].id]
        assert message.startswith("ExperimentError: fn_predict:"), (kind, message)
        assert fragment in message, (kind, message)
    good = queue.predictors[0]
    assert {"accuracy", "roc_auc", "log_loss"} <= set(good.metrics["test"])


def test_a_model_with_more_outputs_than_classes_fails_naming_fn_build(splitset):
    queue = assay.Experiment.make(
        library="torch", analysis_type="classification_multi", fn_build=fn_build, fn_train=fn_train,
        hyperparameters={"outputs": [5]}, splitset_id=splitset.id)

    queue.run_jobs()

    (message,) = queue.status()["errors"].values()
    assert message.startswith("ExperimentError: fn_build:")
    assert "probabilities of shape (27, 5) for 3 classes" in message


def fn_train_diverging(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import torch

    import assay_torch

    with torch.no_grad():  # weights that overflow: every output is NaN, as after a diverged training
        model[0].weight.fill_(float("inf"))
    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=1,
                                  batch_size=16, seed=0)


def test_a_model_that_outputs_nan_fails_its_job_saying_the_training_diverged(splitset):
    # before: the job succeeded, every class predicted as the first, and the probability metrics left out
    queue = assay.Experiment.make(
        library="torch", analysis_type="classification_multi", fn_build=fn_build, fn_train=fn_train_diverging,
        hyperparameters=None, splitset_id=splitset.id)

    queue.run_jobs()

    (message,) = queue.status()["errors"].values()
    assert message.startswith("ExperimentError: fn_build: the model gave probabilities holding NaN")
    assert "the training diverged" in message
    assert queue.predictors == []


class InverseDroppingARow(StandardScaler):
    """A label encoder whose inverse_transform loses a row: decoded labels would no longer line up."""

    def inverse_transform(self, X, copy=None):
        return np.asarray(super().inverse_transform(X)).ravel()[:-1]


def test_a_label_encoder_that_decodes_another_number_of_rows_fails_the_job_naming_label_encoder(db):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"]).assign(target=rng.normal(size=40))
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=df, label_column="target", label_encoder=dict(sklearn_preprocess=InverseDroppingARow()),
        size_test=0.25, size_validation=0.25)
    queue = assay.Experiment.make(
        library="torch", analysis_type="regression", fn_build=fn_build, fn_train=fn_train,
        hyperparameters={"outputs": [1]}, splitset_id=splitset.id)

    queue.run_jobs()

    (message,) = queue.status()["errors"].values()
    assert message.startswith("EncoderError: label_encoder: InverseDroppingARow.inverse_transform returned shape "
                              "(19,) for 20 encoded labels")
