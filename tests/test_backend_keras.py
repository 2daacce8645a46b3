"""The Keras backend: the backend contract suite, then what is particular to Keras."""

from __future__ import annotations

import subprocess
import sys
from typing import ClassVar

import numpy as np
import pytest

pytest.importorskip("keras")
pytest.importorskip("assay_keras")

import keras

from assay import errors, plugins
from assay.testing import BackendContractSuite, make_samples


def _dense_model(features_shape, units, activation, neuron_count):
    return keras.Sequential([
        keras.Input(shape=features_shape),
        keras.layers.Dense(neuron_count, activation="relu"),
        keras.layers.Dense(units, activation=activation),
    ])


def build_regression(features_shape, label_shape, **hp):
    return _dense_model(features_shape, label_shape[0], None, hp["neuron_count"])


def build_binary(features_shape, label_shape, **hp):
    return _dense_model(features_shape, 1, "sigmoid", hp["neuron_count"])


def build_multi(features_shape, label_shape, **hp):
    return _dense_model(features_shape, label_shape[0], "softmax", hp["neuron_count"])


def _multi_input_model(features_shape, units, activation, neuron_count):
    """A functional model with one ``Input`` per shape (a table and a sequence), flattened and joined."""
    inputs = [keras.Input(shape=shape) for shape in features_shape]
    joined = keras.layers.Concatenate()([keras.layers.Flatten()(tensor) for tensor in inputs])
    hidden = keras.layers.Dense(neuron_count, activation="relu")(joined)
    return keras.Model(inputs, keras.layers.Dense(units, activation=activation)(hidden))


def build_multi_input_regression(features_shape, label_shape, **hp):
    return _multi_input_model(features_shape, label_shape[0], None, hp["neuron_count"])


def build_multi_input_binary(features_shape, label_shape, **hp):
    return _multi_input_model(features_shape, 1, "sigmoid", hp["neuron_count"])


def build_multi_input_multi(features_shape, label_shape, **hp):
    return _multi_input_model(features_shape, label_shape[0], "softmax", hp["neuron_count"])


def train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    model.compile(loss=loser, optimizer=optimizer)
    model.fit(samples_train["features"], samples_train["labels"],
              validation_data=(samples_evaluate["features"], samples_evaluate["labels"]),
              batch_size=16, epochs=hp["epoch_count"], verbose=0)
    return model


class TestKerasBackendContract(BackendContractSuite):
    library = "keras"
    fn_build: ClassVar = {"regression": build_regression, "classification_binary": build_binary,
                          "classification_multi": build_multi}
    fn_train = train
    fn_build_multi_input: ClassVar = {"regression": build_multi_input_regression,
                                      "classification_binary": build_multi_input_binary,
                                      "classification_multi": build_multi_input_multi}
    hyperparameters: ClassVar = {"neuron_count": 6}

    def model_outputs(self, model, samples):
        return np.asarray(model(samples["features"], training=False))


# ------------------------------------------------------------------------------------------------------------
# Keras specifics
# ------------------------------------------------------------------------------------------------------------


@pytest.fixture
def backend():
    yield plugins.backend("keras")
    keras.backend.clear_session(free_memory=False)  # the full collection is slow and these tests are tiny


def _fit(backend, analysis_type, fn_build, fn_lose=None, labels=None, epochs=1):
    samples = make_samples(analysis_type, "train")
    if labels is not None:
        samples["labels"] = labels
    prepared = backend.prepare_samples(analysis_type, samples)
    model = fn_build(samples["features"].shape[1:], samples["labels"].shape[1:], neuron_count=4)
    loser = fn_lose() if fn_lose else backend.default_loss(analysis_type)
    return backend.train(analysis_type, train, model, loser, backend.default_optimizer(analysis_type, model),
                         prepared, prepared, {"epoch_count": epochs})


def test_default_losses_follow_the_analysis_type_and_the_optimizer_is_adamax(backend):
    assert isinstance(backend.default_loss("regression"), keras.losses.MeanAbsoluteError)
    assert isinstance(backend.default_loss("classification_binary"), keras.losses.BinaryCrossentropy)
    assert isinstance(backend.default_loss("classification_multi"), keras.losses.CategoricalCrossentropy)
    assert isinstance(backend.default_optimizer("regression", model=None), keras.optimizers.Adamax)


def test_an_analysis_type_without_a_keras_default_asks_for_fn_lose(backend):
    with pytest.raises(errors.ExperimentError, match="pass fn_lose") as raised:
        backend.default_loss("survival")
    assert raised.value.parameter == "fn_lose"


def test_prepare_samples_casts_features_and_labels_to_float32(backend):
    samples = {"features": np.arange(6, dtype=np.int64).reshape(3, 2), "labels": np.array([[0], [1], [1]])}
    prepared = backend.prepare_samples("classification_binary", samples)
    assert prepared["features"].dtype == np.float32
    assert prepared["labels"].dtype == np.float32
    np.testing.assert_array_equal(prepared["features"], samples["features"])


def test_samples_without_labels_pass_through_for_inference(backend):
    prepared = backend.prepare_samples("classification_multi", {"features": np.zeros((2, 4)), "labels": None})
    assert prepared["labels"] is None
    assert prepared["features"].shape == (2, 4)


@pytest.mark.parametrize(("analysis_type", "labels", "message"), [
    ("classification_binary", np.array([[0.0], [2.0], [1.0]]), "encoded as 0 and 1"),
    ("classification_binary", np.eye(3), r"\(n, 1\) or one-hot \(n, 2\)"),
    ("classification_multi", np.array([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0]]), "not one-hot"),
    ("classification_multi", np.array([0.5, 1.0, 2.0]), "one-hot labels"),
])
def test_labels_that_do_not_fit_the_analysis_type_are_rejected_naming_the_label_encoder(
        backend, analysis_type, labels, message):
    with pytest.raises(errors.ExperimentError, match=message) as raised:
        backend.prepare_samples(analysis_type, {"features": np.zeros((3, 4)), "labels": labels})
    assert raised.value.parameter == "label_encoder"


def test_label_and_feature_row_counts_must_match(backend):
    with pytest.raises(errors.ExperimentError, match="2 labels for 3 feature rows"):
        backend.prepare_samples("regression", {"features": np.zeros((3, 4)), "labels": np.zeros((2, 1))})


def test_class_index_labels_with_the_default_categorical_loss_are_rejected_before_training(backend):
    samples = make_samples("classification_multi", "train")
    indices = samples["labels"].argmax(axis=1)[:, None]
    with pytest.raises(errors.ExperimentError, match="needs one-hot labels of width >= 2") as raised:
        _fit(backend, "classification_multi", build_multi, labels=indices)
    assert raised.value.parameter == "label_encoder"


def test_class_index_labels_train_with_a_sparse_categorical_loss(backend):
    samples = make_samples("classification_multi", "train")
    indices = samples["labels"].argmax(axis=1).astype(np.float32)
    result = _fit(backend, "classification_multi",
                  lambda features_shape, label_shape, **hp: build_multi(features_shape, (3,), **hp),
                  fn_lose=keras.losses.SparseCategoricalCrossentropy, labels=indices)
    loss = backend.evaluate_loss("classification_multi", result.model, "sparse_categorical_crossentropy",
                                 backend.prepare_samples("classification_multi", {**samples, "labels": indices}))
    assert np.isfinite(loss)
    assert len(result.history["loss"]) == 1


def test_a_last_layer_narrower_than_the_labels_is_reported_naming_fn_build(backend):
    def build_too_narrow(features_shape, label_shape, **hp):
        return _dense_model(features_shape, 2, "softmax", hp["neuron_count"])

    with pytest.raises(errors.ExperimentError, match="outputs 2 values per sample but the labels have 3") as raised:
        _fit(backend, "classification_multi", build_too_narrow)
    assert raised.value.parameter == "fn_build"


@pytest.mark.parametrize("analysis_type", ["classification_binary", "regression"])
def test_a_two_unit_model_on_one_label_column_is_reported_naming_fn_build_unless_the_loss_is_sparse(
        backend, analysis_type):
    # binary cross-entropy and the regression loss take no class indices: Keras would fail deep inside fit
    def build_two_units(features_shape, label_shape, **hp):
        return _dense_model(features_shape, 2, "softmax", hp["neuron_count"])

    with pytest.raises(errors.ExperimentError, match="outputs 2 values per sample but the labels have 1") as raised:
        _fit(backend, analysis_type, build_two_units)
    assert raised.value.parameter == "fn_build"
    if analysis_type == "classification_binary":
        assert "Dense(1, activation='sigmoid')" in str(raised.value)
        result = _fit(backend, analysis_type, build_two_units, fn_lose=keras.losses.SparseCategoricalCrossentropy)
        assert len(result.history["loss"]) == 1


def test_fn_train_returning_the_fit_history_instead_of_the_model_is_explained(backend):
    samples = backend.prepare_samples("regression", make_samples("regression", "train"))
    model = build_regression((4,), (1,), neuron_count=4)

    def fn_train_returning_history(model, loser, optimizer, samples_train, samples_evaluate, **hp):
        model.compile(loss=loser, optimizer=optimizer)
        return model.fit(samples_train["features"], samples_train["labels"], epochs=1, verbose=0)

    with pytest.raises(errors.ExperimentError, match="return the model instead") as raised:
        backend.train("regression", fn_train_returning_history, model, backend.default_loss("regression"),
                      backend.default_optimizer("regression", model), samples, None, {})
    assert raised.value.parameter == "fn_train"


def test_a_model_ending_in_logits_is_refused_as_probabilities(backend):
    samples = backend.prepare_samples("classification_binary", make_samples("classification_binary", "train"))
    model = _dense_model((4,), 1, None, 4)
    model.layers[-1].set_weights([np.full((4, 1), 5.0, np.float32), np.array([-3.0], np.float32)])
    with pytest.raises(errors.ExperimentError, match="outside \\[0, 1\\]") as raised:
        backend.default_predict("classification_binary", model, samples)
    assert raised.value.parameter == "fn_build"


def test_a_two_unit_softmax_binary_model_predicts_the_argmax_and_the_second_column(backend):
    samples = make_samples("classification_binary", "evaluate")
    model = _dense_model((4,), 2, "softmax", 4)
    predictions, probabilities = backend.default_predict(
        "classification_binary", model, backend.prepare_samples("classification_binary", samples))
    outputs = np.asarray(model(samples["features"]))
    np.testing.assert_allclose(probabilities, outputs[:, 1], rtol=1e-6)
    np.testing.assert_array_equal(predictions, outputs.argmax(axis=1))


def test_evaluate_loss_matches_keras_evaluate_on_the_same_split(backend):
    result = _fit(backend, "classification_multi", build_multi)
    samples = backend.prepare_samples("classification_multi", make_samples("classification_multi", "evaluate"))
    loser = keras.losses.CategoricalCrossentropy()
    ours = backend.evaluate_loss("classification_multi", result.model, loser, samples)
    result.model.compile(loss=loser)
    theirs = result.model.evaluate(samples["features"], samples["labels"], verbose=0, batch_size=len(samples["labels"]))
    assert ours == pytest.approx(theirs, rel=1e-5)


def test_a_lambda_layer_is_refused_by_safe_mode_loading_with_a_hint(backend):
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Lambda(lambda x: x * 2.0)])
    data = backend.model_to_bytes(model)
    with pytest.raises(errors.ExperimentError, match="Lambda layers") as raised:
        backend.model_from_bytes(data, fn_build=None, features_shape=(4,), label_shape=(1,), hyperparameters={})
    assert raised.value.parameter == "fn_build"


@pytest.mark.parametrize("wrap", [False, True])
def test_a_model_with_a_lambda_layer_fails_before_training_naming_fn_build(backend, wrap):
    # it would train and store, but safe_mode loading refuses it: the predictor could never be used again
    def build_with_lambda(features_shape, label_shape, **hp):
        scaled = keras.layers.Lambda(lambda x: x * 2.0)
        layer = keras.layers.TimeDistributed(scaled) if wrap else scaled
        inner = keras.Sequential([keras.Input(shape=features_shape), keras.layers.Reshape((*features_shape, 1)),
                                  layer, keras.layers.Flatten()])
        return keras.Sequential([keras.Input(shape=features_shape), inner, keras.layers.Dense(1)])

    with pytest.raises(errors.ExperimentError, match=r"Lambda layer.*register_keras_serializable") as raised:
        _fit(backend, "regression", build_with_lambda)
    assert raised.value.parameter == "fn_build"


def test_stored_bytes_are_a_keras_archive(backend):
    data = backend.model_to_bytes(build_regression((4,), (1,), neuron_count=3))
    assert data[:2] == b"PK"  # .keras is a zip archive


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, True])
def test_a_seed_outside_the_numpy_range_is_rejected(backend, seed):
    with pytest.raises(errors.ExperimentError, match="seed"):
        backend.seed(seed)


def test_versions_name_keras_and_tensorflow(backend):
    import tensorflow as tf

    assert backend.versions() == {"keras": keras.__version__, "tensorflow": tf.__version__}


def test_loading_the_plugins_does_not_import_keras():
    code = (
        "import sys; from assay import plugins; "
        "assert 'keras' in plugins.libraries(); "
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules, 'keras imported'"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr[-2000:]


def _live_graphs() -> int:
    import gc

    gc.collect()
    return sum(type(obj).__name__ == "FuncGraph" for obj in gc.get_objects())


def test_clearing_the_session_between_models_keeps_memory_flat(backend):
    # Graph-mode fit leaves each model's traced graphs alive through TensorFlow's custom-gradient registry
    # (about 4 MB a model) unless clear_session unregisters them: a 100-model queue would grow by 400 MB.
    def one_model():
        _fit(backend, "classification_multi", build_multi)
        backend.clear_session()

    one_model()
    before = _live_graphs()
    for _ in range(4):
        one_model()
    assert _live_graphs() <= before
