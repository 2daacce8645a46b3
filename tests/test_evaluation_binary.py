"""Evaluation of a binary queue: metrics of the positive class against scikit-learn, and the ROC and
precision-recall curves of that class.

One real queue per module: two iris species, a tiny torch network ending in a sigmoid, one run.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import assay
from assay import datum

torch = pytest.importorskip("torch")
torch.set_num_threads(1)


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], 4), nn.ReLU(), nn.Linear(4, 1), nn.Sigmoid())


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=4, batch_size=8)


@pytest.fixture(scope="module")
def queue_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('evaluation-binary') / 'assay.sqlite3'}"
    assay.setup(url)
    iris = datum.to_pandas("iris.tsv")
    two_species = iris[iris["species"] != "setosa"].reset_index(drop=True)  # the two that overlap a little
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=two_species, label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder(sparse_output=False, drop="first")),
        feature_cols_excluded="species",
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])], size_test=0.3,
    )
    queue = assay.Experiment.make(library="torch", analysis_type="classification_binary", fn_build=fn_build,
                                  fn_train=fn_train, splitset_id=splitset.id, seed=1)
    assert queue.run_jobs(progress=False).succeeded == 1
    return url, queue.id


@pytest.fixture
def prediction(queue_url):
    url, queue_id = queue_url
    assay.setup(url)
    return assay.Queue.get(queue_id).predictors[0].predictions["test"]


def test_binary_metrics_score_the_positive_class_like_scikit_learn(prediction):
    positive = prediction.classes[1]
    assert prediction.classes == ["versicolor", "virginica"]
    truth = prediction.labels == positive
    predicted = prediction.predictions == positive
    probability = np.asarray(prediction.probabilities).ravel()
    expected = {
        "accuracy": skm.accuracy_score(truth, predicted),
        "precision": skm.precision_score(truth, predicted, zero_division=0),
        "recall": skm.recall_score(truth, predicted, zero_division=0),
        "f1": skm.f1_score(truth, predicted, zero_division=0),
        "roc_auc": skm.roc_auc_score(truth, probability),
        "log_loss": skm.log_loss(truth, probability),
    }
    for name, value in expected.items():
        assert prediction.metrics[name] == pytest.approx(value, rel=1e-4), name


def test_roc_curve_of_a_binary_model_is_one_curve_for_the_positive_class(prediction):
    axis = prediction.plot_roc_curve().axes[0]
    curve, chance = axis.get_lines()
    truth = prediction.labels == "virginica"
    fpr, tpr, _ = skm.roc_curve(truth, np.asarray(prediction.probabilities).ravel())
    np.testing.assert_allclose(curve.get_xdata(), fpr)
    np.testing.assert_allclose(curve.get_ydata(), tpr)
    assert curve.get_label() == f"positive class virginica (AUC {prediction.metrics['roc_auc']:.3f})"
    assert chance.get_label() == "chance"
    assert axis.get_title() == "ROC curve, test split"


def test_precision_recall_of_a_binary_model_shows_the_chance_level(prediction):
    axis = prediction.plot_precision_recall().axes[0]
    curve, chance = axis.get_lines()
    share = float(np.mean(prediction.labels == "virginica"))
    np.testing.assert_allclose(chance.get_ydata(), [share, share])
    assert chance.get_label() == f"chance ({share:.2f})"
    assert curve.get_label().startswith("positive class virginica (AP ")
