"""``assay.backend.LibraryBackend``: a backend written as plain methods answers only for its own library."""

from __future__ import annotations

import numpy as np
import pytest

from assay import errors, plugins
from assay.backend import LibraryBackend
from assay.contracts import TrainResult


class Constant(LibraryBackend):
    """Predicts the training mean; enough to exercise every hook."""

    library = "constant"

    def default_loss(self, analysis_type):
        return "squared"

    def default_optimizer(self, analysis_type, model):
        return None

    def default_predict(self, analysis_type, model, samples):
        return np.full(len(samples["features"]), model["mean"]), None

    def evaluate_loss(self, analysis_type, model, loser, samples):
        return float(np.mean((samples["labels"].ravel() - model["mean"]) ** 2))

    def model_to_bytes(self, model):
        return repr(model["mean"]).encode()

    def model_from_bytes(self, data, fn_build, features_shape, label_shape, hyperparameters):
        return {"mean": float(data.decode())}

    def seed(self, seed):
        self.seeded = seed


@pytest.fixture
def constant_backend():
    pm = plugins.build_plugin_manager(blocked={"keras", "torch", "numpy_linear"})
    backend = Constant()
    pm.register(backend, name="constant")
    plugins.reset_plugin_manager(pm)
    yield backend
    plugins.reset_plugin_manager()


def fit_mean(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    return {"mean": float(samples_train["labels"].mean())}, {"loss": [1.0, 0.5]}


def test_a_subclass_gets_every_backend_hook_answering_only_for_its_library(constant_backend):
    assert plugins.libraries()["constant"] == "constant"
    backend = plugins.backend("constant")
    samples = {"features": np.zeros((4, 1)), "labels": np.array([[1.0], [2.0], [3.0], [4.0]])}
    assert backend.prepare_samples("regression", samples) is samples  # the default leaves numpy alone
    result = backend.train("regression", fit_mean, None, "squared", None, samples, None, {})
    assert result == TrainResult({"mean": 2.5}, {"loss": [1.0, 0.5]})
    model = backend.model_from_bytes(backend.model_to_bytes(result.model), None, (1,), (1,), {})
    assert backend.default_predict("regression", model, samples)[0].tolist() == [2.5] * 4
    assert backend.evaluate_loss("regression", model, "squared", samples) == pytest.approx(1.25)
    backend.seed(7)
    assert constant_backend.seeded == 7
    backend.clear_session()  # the default has nothing to release, and still answers
    assert backend.versions() == {}  # no distribution called "constant" is installed

    pm = plugins.get_plugin_manager()
    assert pm.hook.assay_default_loss(library="another", analysis_type="regression") is None
    assert pm.hook.assay_seed(library="another", seed=1) is None


def test_a_missing_method_names_what_to_write(constant_backend):
    class Half(LibraryBackend):
        library = "half"

    with pytest.raises(NotImplementedError, match=r"Half \(library 'half'\) must define default_loss\(\)"):
        Half().assay_default_loss(library="half", analysis_type="regression")
    with pytest.raises(TypeError, match="must set the class attribute `library`"):
        LibraryBackend()


def test_hookimpls_lists_the_hook_methods_for_module_style_registration():
    names = set(Constant().hookimpls())
    assert {"assay_libraries", "assay_default_loss", "assay_train", "assay_library_versions"} <= names
    assert "default_loss" not in names
    with pytest.raises(errors.LibraryNotFoundError):
        plugins.backend("constant")  # not registered outside the fixture
