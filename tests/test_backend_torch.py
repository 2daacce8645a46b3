"""The torch backend through ``assay.plugins.backend("torch")``: defaults, labels, training, persistence, seeding.

Real torch training on tiny synthetic data; no mocks.
"""

from __future__ import annotations

import subprocess
import sys
from typing import ClassVar

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from sklearn.datasets import make_blobs  # noqa: E402
from torch import nn  # noqa: E402

import assay_torch  # noqa: E402
from assay import errors, plugins  # noqa: E402
from assay.testing import BackendContractSuite  # noqa: E402
from assay_torch import hooks  # noqa: E402

torch.set_num_threads(1)  # two cores are shared by the whole test run

REGRESSION, BINARY, MULTI = "regression", "classification_binary", "classification_multi"


def fn_build(features_shape, label_shape, **hp):
    """Two dense layers ending in a sigmoid (``sigmoid=True``), a softmax (``softmax=True``) or linear outputs."""
    layers = [nn.Linear(features_shape[0], hp["neuron_count"]), nn.ReLU(),
              nn.Linear(hp["neuron_count"], label_shape[0])]
    if hp.get("sigmoid"):
        layers.append(nn.Sigmoid())
    if hp.get("softmax"):
        layers.append(nn.Softmax(dim=1))
    return nn.Sequential(*layers)


def fn_build_binary(features_shape, label_shape, **hp):
    return fn_build(features_shape, label_shape, sigmoid=True, **hp)


class MultiInputNet(nn.Module):
    """One tensor per input (a table and a sequence), flattened, joined and passed through two dense layers."""

    def __init__(self, features_shape, label_shape, neuron_count, sigmoid=False):
        super().__init__()
        width = sum(int(np.prod(shape)) for shape in features_shape)
        layers = [nn.Linear(width, neuron_count), nn.ReLU(), nn.Linear(neuron_count, label_shape[0])]
        self.layers = nn.Sequential(*layers, *([nn.Sigmoid()] if sigmoid else []))

    def forward(self, table, sequence):
        return self.layers(torch.cat([table.flatten(1), sequence.flatten(1)], dim=1))


def fn_build_multi_input(features_shape, label_shape, **hp):
    return MultiInputNet(features_shape, label_shape, hp["neuron_count"])


def fn_build_multi_input_binary(features_shape, label_shape, **hp):
    return MultiInputNet(features_shape, label_shape, hp["neuron_count"], sigmoid=True)


@pytest.fixture(autouse=True)
def _one_thread_in_child_processes(monkeypatch):
    """Fresh processes started by these tests (model loading) use one torch thread too."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.fixture
def torch_backend():
    return plugins.backend("torch")


def blobs(classes: int, rows: int = 90, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Well separated Gaussian blobs: features (rows, 4) and integer classes (rows,)."""
    features, classes_ = make_blobs(n_samples=rows, centers=classes, n_features=4, cluster_std=1.0, random_state=seed)
    return features.astype(np.float32), classes_


def one_hot(classes: np.ndarray, count: int) -> np.ndarray:
    return np.eye(count, dtype=np.float64)[classes]


def split(features, labels, train_rows: int = 60):
    return ({"features": features[:train_rows], "labels": labels[:train_rows]},
            {"features": features[train_rows:], "labels": labels[train_rows:]})


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate,
                                  epochs=hp["epoch_count"], batch_size=hp["batch_size"])


def train(backend, analysis_type, features, labels, seed=7, **hp):
    """Seed, build, prepare, train with the defaults: the steps a job runs. Returns (result, prepared splits)."""
    hp = {"neuron_count": 12, "epoch_count": 15, "batch_size": 8, **hp}
    raw_train, raw_evaluate = split(features, labels)
    backend.seed(seed)
    label_shape = raw_train["labels"].shape[1:] or (1,)
    model = fn_build(raw_train["features"].shape[1:], label_shape, **hp)
    loser = backend.default_loss(analysis_type)
    optimizer = backend.default_optimizer(analysis_type, model)
    samples_train = backend.prepare_samples(analysis_type, raw_train)
    samples_evaluate = backend.prepare_samples(analysis_type, raw_evaluate)
    result = backend.train(analysis_type, fn_train, model, loser, optimizer, samples_train, samples_evaluate, hp)
    return result, loser, samples_train, samples_evaluate


# ---------------------------------------------------------------------------------------------------------------
# the plugin as assay sees it
# ---------------------------------------------------------------------------------------------------------------


def test_loading_the_plugins_provides_torch_without_importing_torch():
    script = ("import sys; from assay import plugins; "
              "print('torch' in plugins.libraries(), 'torch' in sys.modules)")
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert completed.stdout.split() == ["True", "False"]


def test_every_backend_hook_stays_silent_for_another_library():
    silent = [
        hooks.assay_default_loss(library="keras", analysis_type=MULTI),
        hooks.assay_default_optimizer(library="keras", analysis_type=MULTI, model=None),
        hooks.assay_prepare_samples(library="keras", analysis_type=MULTI, samples={}),
        hooks.assay_train(library="keras", analysis_type=MULTI, fn_train=None, model=None, loser=None,
                          optimizer=None, samples_train=None, samples_evaluate=None, hyperparameters={}),
        hooks.assay_default_predict(library="keras", analysis_type=MULTI, model=None, samples={}),
        hooks.assay_evaluate_loss(library="keras", analysis_type=MULTI, model=None, loser=None, samples={}),
        hooks.assay_model_to_bytes(library="keras", model=None),
        hooks.assay_model_from_bytes(library="keras", data=b"", fn_build=None, features_shape=(1,),
                                     label_shape=(1,), hyperparameters={}),
        hooks.assay_seed(library="keras", seed=1),
        hooks.assay_clear_session(library="keras"),
        hooks.assay_library_versions(library="keras"),
    ]
    assert silent == [None] * len(silent)


def test_defaults_are_l1_bce_and_cross_entropy_with_adamax(torch_backend):
    assert isinstance(torch_backend.default_loss(REGRESSION), nn.L1Loss)
    assert isinstance(torch_backend.default_loss(BINARY), nn.BCELoss)
    assert isinstance(torch_backend.default_loss(MULTI), nn.CrossEntropyLoss)
    model = nn.Linear(4, 1)
    optimizer = torch_backend.default_optimizer(MULTI, model)
    assert isinstance(optimizer, torch.optim.Adamax)
    assert optimizer.param_groups[0]["params"] == list(model.parameters())
    assert torch_backend.versions() == {"torch": torch.__version__}


# ---------------------------------------------------------------------------------------------------------------
# labels fitted to each loss
# ---------------------------------------------------------------------------------------------------------------


def test_one_hot_multi_class_labels_become_class_indices(torch_backend):
    classes = np.array([2, 0, 1, 1])
    prepared = torch_backend.prepare_samples(MULTI, {"features": np.ones((4, 3)), "labels": one_hot(classes, 3)})
    assert prepared["features"].dtype == torch.float32
    assert prepared["labels"].dtype == torch.long
    assert prepared["labels"].tolist() == [2, 0, 1, 1]
    ordinal = torch_backend.prepare_samples(MULTI, {"features": np.ones((4, 3)), "labels": classes.reshape(-1, 1)})
    assert ordinal["labels"].tolist() == [2, 0, 1, 1]


def test_multi_class_labels_that_are_not_one_hot_are_rejected_naming_the_row(torch_backend):
    labels = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    with pytest.raises(errors.ExperimentError, match=r"label row 1 is \[0.5, 0.5, 0.0\].*OneHotEncoder"):
        torch_backend.prepare_samples(MULTI, {"features": np.ones((2, 3)), "labels": labels})
    with pytest.raises(errors.ExperimentError, match=r"class indices 0\.\.k-1"):
        torch_backend.prepare_samples(MULTI, {"features": np.ones((2, 3)), "labels": np.array([[0.3], [1.0]])})


def test_binary_labels_must_be_a_zero_one_column_or_two_one_hot_columns(torch_backend):
    prepared = torch_backend.prepare_samples(BINARY, {"features": np.ones((3, 2)), "labels": np.array([0, 1, 1])})
    assert prepared["labels"].shape == (3, 1)
    assert prepared["labels"].dtype == torch.float32
    with pytest.raises(errors.ExperimentError, match=r"one 0/1 label column .* got labels of shape \(3, 3\)"):
        torch_backend.prepare_samples(BINARY, {"features": np.ones((3, 2)), "labels": one_hot(np.array([0, 1, 2]), 3)})
    with pytest.raises(errors.ExperimentError, match=r"needs one-hot rows, but label row 0 is \[1.0, 1.0\]"):
        torch_backend.prepare_samples(BINARY, {"features": np.ones((1, 2)), "labels": np.array([[1.0, 1.0]])})
    with pytest.raises(errors.ExperimentError, match=r"labels 0 and 1.*\[1, 2\]"):
        torch_backend.prepare_samples(BINARY, {"features": np.ones((3, 2)), "labels": np.array([1, 2, 2])})


def test_a_label_row_count_that_differs_from_the_features_is_rejected(torch_backend):
    with pytest.raises(errors.DataError, match="2 labels for 3 feature rows"):
        torch_backend.prepare_samples(REGRESSION, {"features": np.ones((3, 2)), "labels": np.ones(2)})


def test_regression_labels_become_a_float_column_and_unlabelled_samples_pass(torch_backend):
    prepared = torch_backend.prepare_samples(REGRESSION, {"features": np.ones((3, 2)), "labels": np.arange(3)})
    assert prepared["labels"].shape == (3, 1)
    assert prepared["labels"].dtype == torch.float32
    unlabelled = torch_backend.prepare_samples(REGRESSION, {"features": np.ones((3, 2)), "labels": None})
    assert unlabelled["labels"] is None
    assert unlabelled["features"].shape == (3, 2)


# ---------------------------------------------------------------------------------------------------------------
# training and prediction
# ---------------------------------------------------------------------------------------------------------------


def test_one_hot_multi_class_labels_train_an_accurate_classifier(torch_backend):
    features, classes = blobs(3)
    result, _, _, samples_evaluate = train(torch_backend, MULTI, features, one_hot(classes, 3), epoch_count=30)
    predictions, probabilities = torch_backend.default_predict(MULTI, result.model, samples_evaluate)
    assert isinstance(predictions, np.ndarray)
    assert predictions.dtype == np.int64
    assert (predictions == classes[60:]).mean() >= 0.9
    assert probabilities.shape == (30, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert result.history["val_accuracy"][-1] >= 0.9


def test_history_has_loss_and_accuracy_per_split_one_float_per_epoch(torch_backend):
    features, classes = blobs(3)
    result, loser, _, samples_evaluate = train(torch_backend, MULTI, features, one_hot(classes, 3), epoch_count=4)
    assert set(result.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 4 and all(type(v) is float for v in values) for values in result.history.values())
    assert result.history["loss"][-1] < result.history["loss"][0]
    # the stored loss metric is the loss of the last epoch's model on that split
    loss = torch_backend.evaluate_loss(MULTI, result.model, loser, samples_evaluate)
    assert loss == pytest.approx(result.history["val_loss"][-1], rel=1e-5)


def test_binary_classifier_with_a_sigmoid_predicts_zeros_and_ones_and_probabilities(torch_backend):
    features, classes = blobs(2)
    result, _, _, samples_evaluate = train(torch_backend, BINARY, features, classes.reshape(-1, 1), sigmoid=True)
    predictions, probabilities = torch_backend.default_predict(BINARY, result.model, samples_evaluate)
    assert predictions.dtype == np.int64
    assert set(np.unique(predictions)) <= {0, 1}
    assert probabilities.shape == (30,)
    assert probabilities.min() >= 0
    assert probabilities.max() <= 1
    assert (predictions == classes[60:]).mean() >= 0.9
    np.testing.assert_array_equal(predictions, (probabilities >= 0.5).astype(int))
    assert {"accuracy", "val_accuracy"} <= set(result.history)


def test_one_hot_binary_labels_train_a_two_unit_softmax_whose_second_column_is_the_positive_class(torch_backend):
    features, classes = blobs(2)
    result, _, _, samples_evaluate = train(torch_backend, BINARY, features, one_hot(classes, 2), softmax=True)
    predictions, probabilities = torch_backend.default_predict(BINARY, result.model, samples_evaluate)
    assert probabilities.shape == (30,)
    assert (predictions == classes[60:]).mean() >= 0.9
    with torch.no_grad():
        softmax = result.model(samples_evaluate["features"])
    np.testing.assert_allclose(probabilities, softmax[:, 1].numpy(), rtol=1e-6)


def test_binary_default_predict_refuses_a_model_without_a_sigmoid(torch_backend):
    features, _ = blobs(2)
    model = nn.Sequential(nn.Linear(4, 1))
    with torch.no_grad():
        model[0].bias.fill_(5.0)  # logits far outside [0, 1]
    samples = torch_backend.prepare_samples(BINARY, {"features": features, "labels": None})
    with pytest.raises(errors.ExperimentError, match=r"fn_build.*nn.Sigmoid\(\).*fn_predict"):
        torch_backend.default_predict(BINARY, model, samples)


def test_regression_trains_toward_the_target_and_predicts_a_flat_array(torch_backend):
    features, _ = blobs(2)
    target = features @ np.array([0.5, -1.0, 0.25, 2.0], dtype=np.float32)
    result, _, _, samples_evaluate = train(torch_backend, REGRESSION, features, target, epoch_count=30)
    predictions, probabilities = torch_backend.default_predict(REGRESSION, result.model, samples_evaluate)
    assert probabilities is None
    assert predictions.shape == (30,)
    assert result.history["mae"][-1] < result.history["mae"][0] / 2
    assert np.abs(predictions - target[60:]).mean() == pytest.approx(result.history["val_mae"][-1], rel=1e-4)


def test_a_one_dimensional_output_trains_against_column_labels_without_broadcasting():
    features, _ = blobs(2)
    target = torch.as_tensor(features.sum(axis=1, keepdims=True))
    model = nn.Sequential(nn.Linear(4, 1), nn.Flatten(0))  # outputs (n,), the labels are (n, 1)
    history = assay_torch.fit(model, nn.L1Loss(), torch.optim.Adamax(model.parameters(), lr=0.05),
                              {"features": torch.as_tensor(features), "labels": target}, epochs=40, batch_size=16)
    # broadcasting (n,) against (n, 1) would fit the mean of the target, leaving an error near its spread
    assert history["mae"][-1] < 0.25 * float((target - target.mean()).abs().mean())


def test_an_output_width_that_does_not_fit_the_labels_is_refused_before_training(torch_backend):
    features, classes = blobs(2)
    samples = torch_backend.prepare_samples(BINARY, {"features": features, "labels": classes})
    model = nn.Sequential(nn.Linear(4, 3), nn.Sigmoid())
    with pytest.raises(errors.ExperimentError, match=r"outputs shape \(8, 3\).*labels have shape \(8, 1\)"):
        assay_torch.fit(model, nn.BCELoss(), torch.optim.Adamax(model.parameters()), samples, batch_size=8)
    multi = torch_backend.prepare_samples(MULTI, {"features": features, "labels": one_hot(blobs(3)[1], 3)})
    narrow = nn.Linear(4, 2)
    with pytest.raises(errors.ExperimentError, match="outputs 2 columns but a label is class 2"):
        assay_torch.fit(narrow, nn.CrossEntropyLoss(), torch.optim.Adamax(narrow.parameters()), multi,
                        batch_size=90)


def test_fit_rejects_a_bad_epoch_count_naming_it():
    model = nn.Linear(4, 1)
    samples = {"features": np.ones((4, 4)), "labels": np.ones((4, 1))}
    with pytest.raises(errors.ExperimentError, match=r"epochs: must be a positive integer, got 0"):
        assay_torch.fit(model, nn.L1Loss(), torch.optim.Adamax(model.parameters()), samples, epochs=0)


def test_fn_train_returning_the_model_alone_keeps_the_history_of_its_fit(torch_backend):
    features, classes = blobs(3)
    samples_train, samples_evaluate = (torch_backend.prepare_samples(MULTI, s)
                                       for s in split(features, one_hot(classes, 3)))

    def fn_train_model_only(model, loser, optimizer, samples_train, samples_evaluate, **hp):
        assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=3)
        return model

    model = fn_build((4,), (3,), neuron_count=5)
    result = torch_backend.train(MULTI, fn_train_model_only, model, nn.CrossEntropyLoss(),
                                 torch.optim.Adamax(model.parameters()), samples_train, samples_evaluate, {})
    assert result.model is model
    assert len(result.history["val_loss"]) == 3


def test_fn_train_returning_nothing_or_something_else_is_a_clear_error(torch_backend):
    model = nn.Linear(4, 1)
    args = (model, nn.L1Loss(), torch.optim.Adamax(model.parameters()), {}, None, {})
    with pytest.raises(errors.ExperimentError, match="fn_train: returned None; end it with `return model`"):
        torch_backend.train(REGRESSION, lambda *a: None, *args)
    with pytest.raises(errors.ExperimentError, match=r"returned dict where the trained torch\.nn\.Module"):
        torch_backend.train(REGRESSION, lambda *a: {"loss": [1.0]}, *args)
    with pytest.raises(errors.ExperimentError, match="second item must be the history dict"):
        torch_backend.train(REGRESSION, lambda m, *a: (m, [1.0]), *args)


# ---------------------------------------------------------------------------------------------------------------
# persistence and reproducibility
# ---------------------------------------------------------------------------------------------------------------


def test_stored_weights_load_only_into_the_architecture_they_came_from(torch_backend):
    data = torch_backend.model_to_bytes(fn_build((4,), (3,), neuron_count=12))
    with pytest.raises(errors.ModelLoadError, match="fn_build must build the same architecture"):
        torch_backend.model_from_bytes(data, fn_build, (4,), (3,), {"neuron_count": 9})


def test_the_same_seed_gives_the_same_history_and_another_seed_does_not(torch_backend):
    features, classes = blobs(3)
    labels = one_hot(classes, 3)
    first = train(torch_backend, MULTI, features, labels, seed=11, epoch_count=3)[0].history
    again = train(torch_backend, MULTI, features, labels, seed=11, epoch_count=3)[0].history
    other = train(torch_backend, MULTI, features, labels, seed=12, epoch_count=3)[0].history
    assert first == again
    assert first["loss"] != other["loss"]
    assert torch.are_deterministic_algorithms_enabled()
    assert torch_backend.clear_session() is None  # handled: the Backend layer raises when no plugin answers


# ---------------------------------------------------------------------------------------------------------------
# the backend contract every backend passes
# ---------------------------------------------------------------------------------------------------------------


class TestTorchBackendContract(BackendContractSuite):
    """assay's backend contract suite, for torch: a sigmoid unit (binary), logits (multi), linear (regression)."""

    library = "torch"
    fn_build: ClassVar = {REGRESSION: fn_build, BINARY: fn_build_binary, MULTI: fn_build}
    fn_train = fn_train
    fn_build_multi_input: ClassVar = {REGRESSION: fn_build_multi_input, BINARY: fn_build_multi_input_binary,
                                      MULTI: fn_build_multi_input}
    hyperparameters: ClassVar = {"neuron_count": 8, "batch_size": 8}

    def model_outputs(self, model, samples):
        """Outputs computed with torch alone: the sigmoid's output, softmax of the logits, or the raw values."""
        model.eval()
        with torch.no_grad():
            outputs = model(samples["features"])
        if samples["labels"].dtype == torch.long:  # class indices: the multi-class model outputs logits
            outputs = torch.softmax(outputs, dim=1)
        return outputs.numpy()
