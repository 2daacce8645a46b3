"""Plugin discovery and the typed layer in front of the hooks (assay.plugins).

The third-party plugin ``assay-dummy-backend`` (tests/thirdparty_plugin) is installed for real and found
through its ``assay.plugins`` entry point; small in-process plugin objects test the merging rules.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from assay import errors, plugins
from assay.contracts import AnalysisType, EncoderFamily
from assay.hookspecs import hookimpl

BACKEND_HOOKS = [
    "assay_default_loss",
    "assay_default_optimizer",
    "assay_prepare_samples",
    "assay_train",
    "assay_default_predict",
    "assay_evaluate_loss",
    "assay_model_to_bytes",
    "assay_model_from_bytes",
    "assay_seed",
    "assay_clear_session",
    "assay_library_versions",
]


@pytest.fixture
def register():
    """Register in-process plugin objects on the current manager; unregistered after the test."""
    pm = plugins.get_plugin_manager()
    names: list[str] = []

    def _register(plugin: object, name: str) -> None:
        pm.register(plugin, name=name)
        names.append(name)

    yield _register
    for name in names:
        pm.unregister(name=name)


def blobs(seed: int, count: int = 90) -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated classes in four features; labels one-hot."""
    rng = np.random.default_rng(seed)
    classes = rng.integers(0, 3, size=count)
    centres = np.array([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 2.0, 0]])
    features = centres[classes] + rng.normal(0, 0.3, size=(count, 4))
    return features, np.eye(3)[classes]


# --------------------------------------------------------------------------------------------------------------
# Lazy loading
# --------------------------------------------------------------------------------------------------------------


def test_importing_assay_loads_no_plugin_and_loading_plugins_imports_no_framework():
    code = (
        "import json, sys, assay, assay.plugins\n"
        "lazy = assay.plugins._pm is None\n"
        "plugin_modules = sorted(m for m in sys.modules if m.startswith(('assay_keras', 'assay_torch', "
        "'assay_sklearn', 'assay_dummy')))\n"
        "assay.plugins.get_plugin_manager()\n"
        "frameworks = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'keras', 'tensorflow'})\n"
        "print(json.dumps([lazy, plugin_modules, frameworks]))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lazy, plugin_modules, frameworks = json.loads(completed.stdout.strip().splitlines()[-1])
    assert lazy, "import assay built the plugin manager"
    # only the import-free environment declarations (group assay.environment) and their packages, no hook module
    declared = {entry.value.split(":")[0] for entry in importlib.metadata.entry_points(group="assay.environment")}
    allowed = declared | {module.split(".")[0] for module in declared}
    assert set(plugin_modules) <= allowed, "import assay imported plugin modules"
    assert not any(module.endswith(".hooks") for module in plugin_modules)
    assert frameworks == [], "a plugin's hook module imports its framework at module level"


def test_a_fresh_manager_is_built_after_reset():
    first = plugins.get_plugin_manager()
    assert plugins.get_plugin_manager() is first
    plugins.reset_plugin_manager()
    assert plugins.get_plugin_manager() is not first


# --------------------------------------------------------------------------------------------------------------
# The third-party plugin, installed for real
# --------------------------------------------------------------------------------------------------------------


def test_third_party_backend_is_discovered_through_its_entry_point(thirdparty_plugin):
    (entry_point,) = importlib.metadata.entry_points(group=plugins.ENTRY_POINT_GROUP, name=thirdparty_plugin)
    assert entry_point.value == "assay_dummy.hooks"
    infos = {info.name: info for info in plugins.plugin_infos()}
    assert infos[thirdparty_plugin] == plugins.PluginInfo(thirdparty_plugin, "assay-dummy-backend", "0.1.0", True)
    assert plugins.libraries()[thirdparty_plugin] == thirdparty_plugin


@pytest.mark.parametrize("hook_name", BACKEND_HOOKS)
def test_third_party_plugin_implements_every_backend_hook(thirdparty_plugin, hook_name):
    hook = getattr(plugins.get_plugin_manager().hook, hook_name)
    assert thirdparty_plugin in [impl.plugin_name for impl in hook.get_hookimpls()]


def test_third_party_backend_trains_predicts_saves_and_loads_through_the_typed_layer(thirdparty_plugin):
    from assay_dummy.model import LinearModel, fit

    def fn_build(features_shape, label_shape, **hp):
        return LinearModel(features_shape, label_shape)

    def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
        return fit(model, loser, optimizer, samples_train, samples_evaluate, hp["epoch_count"])

    analysis = "classification_multi"
    backend = plugins.backend(thirdparty_plugin)
    backend.seed(0)
    model = fn_build((4,), (3,))
    features, labels = blobs(seed=1)
    train = backend.prepare_samples(analysis, {"features": features[:60], "labels": labels[:60]})
    evaluate = backend.prepare_samples(analysis, {"features": features[60:], "labels": labels[60:]})
    result = backend.train(
        analysis, fn_train, model, backend.default_loss(analysis), backend.default_optimizer(analysis, model),
        train, evaluate, {"epoch_count": 40},
    )

    assert len(result.history["loss"]) == len(result.history["val_loss"]) == 40
    assert result.history["loss"][-1] < result.history["loss"][0] / 2
    predictions, probabilities = backend.default_predict(analysis, result.model, evaluate)
    assert np.mean(predictions == labels[60:].argmax(axis=1)) > 0.9
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    loss = backend.evaluate_loss(analysis, result.model, backend.default_loss(analysis), evaluate)
    assert loss == pytest.approx(result.history["val_loss"][-1])

    stored = backend.model_to_bytes(result.model)
    assert isinstance(stored, bytes)
    loaded = backend.model_from_bytes(stored, fn_build, (4,), (3,), {"epoch_count": 40})
    np.testing.assert_array_equal(backend.default_predict(analysis, loaded, evaluate)[1], probabilities)
    assert backend.versions() == {"numpy_linear": "0.1.0", "numpy": np.__version__}


def test_third_party_backend_rejects_labels_that_do_not_fit_the_analysis_type(thirdparty_plugin):
    backend = plugins.backend(thirdparty_plugin)
    with pytest.raises(errors.ExperimentError, match="OneHotEncoder") as caught:
        backend.prepare_samples("classification_multi", {"features": np.ones((3, 2)), "labels": np.ones(3)})
    assert caught.value.parameter == "label_encoder"


def test_seeding_the_third_party_backend_makes_models_reproducible_until_the_session_is_cleared(thirdparty_plugin):
    from assay_dummy.model import LinearModel

    backend = plugins.backend(thirdparty_plugin)
    backend.seed(7)
    first = LinearModel((5,), (2,)).weights
    backend.seed(7)
    np.testing.assert_array_equal(LinearModel((5,), (2,)).weights, first)
    backend.seed(7)
    backend.clear_session()
    assert not np.array_equal(LinearModel((5,), (2,)).weights, first)


def test_third_party_plugin_adds_an_analysis_type_and_a_metric_to_the_core_ones(thirdparty_plugin):
    positive = plugins.analysis_type("regression_positive")
    assert (positive.main_metric, positive.higher_is_better) == ("rmsle", False)
    positive.check_labels(pd.Series([1.0, 2.5, 40.0]))
    with pytest.raises(errors.ExperimentError, match="greater than zero"):
        positive.check_labels(pd.Series([1.0, -2.0]))
    assert {"regression", "classification_binary", "classification_multi"} <= set(plugins.analysis_types())

    regression = plugins.metrics("regression", y_true=[1.0, 2.0, 3.0], y_pred=[1.0, 2.0, 5.0], probabilities=None,
                                 classes=[])
    assert regression["max_abs_error"] == 2.0  # from the plugin
    assert regression["mae"] == pytest.approx(2 / 3)  # from the core
    own = plugins.metrics("regression_positive", y_true=[1.0, 10.0], y_pred=[1.0, 10.0], probabilities=None,
                          classes=[])
    assert own == {"rmsle": 0.0, "mae": 0.0}


# --------------------------------------------------------------------------------------------------------------
# Blocking, broken plugins, missing libraries
# --------------------------------------------------------------------------------------------------------------


def test_blocking_a_plugin_hides_it_and_everything_it_provides(thirdparty_plugin, monkeypatch):
    monkeypatch.setenv(plugins.BLOCK_ENV, f"somethingelse, {thirdparty_plugin}")
    plugins.reset_plugin_manager()
    infos = {info.name: info for info in plugins.plugin_infos()}
    assert not infos[thirdparty_plugin].loaded
    assert infos[thirdparty_plugin].error == f"blocked by {plugins.BLOCK_ENV}"
    assert thirdparty_plugin not in plugins.libraries()
    assert "regression_positive" not in plugins.analysis_types()
    with pytest.raises(errors.LibraryNotFoundError, match="entry point providing 'numpy_linear'"):
        plugins.backend(thirdparty_plugin)


@pytest.mark.parametrize("library", ["keras", "torch"])
def test_asking_for_a_blocked_first_party_library_names_the_package_to_install(library, monkeypatch):
    monkeypatch.setenv(plugins.BLOCK_ENV, "keras,torch")
    plugins.reset_plugin_manager()
    with pytest.raises(errors.LibraryNotFoundError, match=f"pip install assay-{library} .*pip install "
                       f"./plugins/{library}_backend"):
        plugins.backend(library)


def test_asking_for_an_unknown_library_lists_the_installed_ones(thirdparty_plugin):
    with pytest.raises(errors.LibraryNotFoundError) as caught:
        plugins.backend("nope")
    message = str(caught.value)
    assert "library='nope'" in message
    assert f"installed libraries: {', '.join(sorted(plugins.libraries()))}" in message
    assert thirdparty_plugin in message


def test_a_plugin_that_fails_to_import_is_reported_by_name_and_skipped(thirdparty_plugin, broken_plugin_site,
                                                                     monkeypatch):
    monkeypatch.syspath_prepend(str(broken_plugin_site))
    with pytest.warns(RuntimeWarning, match=r"assay plugin 'broken' \(assay-broken\) failed to import"):
        infos = {info.name: info for info in plugins.plugin_infos()}
    assert not infos["broken"].loaded
    assert "frobnicate" in infos["broken"].error
    assert infos[thirdparty_plugin].loaded, "one broken plugin must not stop the others"
    assert thirdparty_plugin in plugins.libraries()


def test_strict_mode_raises_for_a_plugin_that_fails_to_import(broken_plugin_site, monkeypatch):
    monkeypatch.syspath_prepend(str(broken_plugin_site))
    monkeypatch.setenv(plugins.STRICT_ENV, "1")
    with pytest.raises(errors.PluginLoadError, match=r"plugin 'broken' \(assay-broken\) failed to import.*frobnicate"):
        plugins.get_plugin_manager()


def test_a_blocked_broken_plugin_is_neither_imported_nor_reported(broken_plugin_site, monkeypatch, recwarn):
    monkeypatch.syspath_prepend(str(broken_plugin_site))
    monkeypatch.setenv(plugins.STRICT_ENV, "1")
    monkeypatch.setenv(plugins.BLOCK_ENV, "broken")
    infos = {info.name: info for info in plugins.plugin_infos()}
    assert infos["broken"].error == f"blocked by {plugins.BLOCK_ENV}"
    assert not [w for w in recwarn if "broken" in str(w.message)]


# --------------------------------------------------------------------------------------------------------------
# Merging rules, with small in-process plugins
# --------------------------------------------------------------------------------------------------------------


def test_an_incomplete_backend_gets_an_error_naming_the_hook_it_lacks(register):
    class HalfBaked:
        @hookimpl
        def assay_libraries(self):
            return ["halfbaked"]

    register(HalfBaked(), "halfbaked")
    backend = plugins.backend("halfbaked")
    with pytest.raises(errors.PluginError, match="no plugin answered assay_default_loss for library 'halfbaked'"):
        backend.default_loss("regression")


def test_a_plugin_overrides_a_core_metric_and_keeps_the_others(register):
    class StrictAccuracy:
        @hookimpl
        def assay_metrics(self, analysis_type, y_true, y_pred):
            return {"accuracy": 0.0} if analysis_type == "classification_binary" else None

    register(StrictAccuracy(), "strict-accuracy")
    merged = plugins.metrics("classification_binary", [0, 1, 1, 0], [0, 1, 1, 0], None, [0, 1])
    assert merged["accuracy"] == 0.0
    assert merged["f1"] == 1.0


def test_a_plugin_replaces_a_core_analysis_type_of_the_same_name(register):
    class LowerIsBetter:
        @hookimpl
        def assay_analysis_types(self):
            return [AnalysisType("regression", False, "mae", False, lambda labels, categorical_encoder=False: None)]

    register(LowerIsBetter(), "lower-is-better")
    regression = plugins.analysis_type("regression")
    assert (regression.main_metric, regression.higher_is_better) == ("mae", False)
    assert plugins.analysis_type("classification_multi").main_metric == "accuracy"
    with pytest.raises(errors.AnalysisTypeNotFoundError, match="use one of: classification_binary"):
        plugins.analysis_type("clustering")


def test_plots_of_every_plugin_are_merged_per_analysis_type(register):
    def residual_histogram(prediction):
        raise AssertionError("only listed here, not drawn")

    class Plots:
        @hookimpl
        def assay_plots(self, analysis_type):
            return {"residual_histogram": residual_histogram} if analysis_type == "regression" else None

    register(Plots(), "plots")
    assert plugins.plots("regression")["residual_histogram"] is residual_histogram
    assert "residual_histogram" not in plugins.plots("classification_multi")


class Rounder:
    """A made-up encoder kind: rounds numbers to ``digits`` decimals."""

    def __init__(self, digits: int = 0):
        self.digits = digits


class RoundingFamily(EncoderFamily):
    name = "rounding"

    def accepts(self, encoder):
        return isinstance(encoder, Rounder) or encoder is Rounder

    def validate(self, encoder, parameter):
        if encoder is Rounder:
            raise errors.EncoderError(parameter, "pass an instance, Rounder(), not the class")

    def is_categorical(self, encoder):
        return False

    def fit(self, encoder, data):
        return Rounder(encoder.digits)

    def transform(self, fitted, data):
        return np.round(np.asarray(data, dtype=float), fitted.digits)

    def output_names(self, fitted, columns):
        return list(columns)

    def inverse_transform(self, fitted, encoded):
        return np.asarray(encoded).ravel()

    def dumps(self, encoder):
        return str(encoder.digits).encode()

    def loads(self, data):
        return Rounder(int(data))


def test_an_encoder_family_registered_by_a_plugin_handles_its_encoders(register):
    class Families:
        @hookimpl
        def assay_encoder_families(self):
            return [RoundingFamily()]

    register(Families(), "rounding")
    family = plugins.encoder_family_for(Rounder(1), "feature_encoders")
    assert family.name == "rounding"
    assert plugins.encoder_family_named("rounding") is not None
    fitted = family.loads(family.dumps(family.fit(Rounder(1), None)))
    np.testing.assert_array_equal(family.transform(fitted, [[1.26, 2.0]]), [[1.3, 2.0]])
    with pytest.raises(errors.EncoderError) as caught:
        plugins.encoder_family_for(object(), "label_encoder")
    assert caught.value.parameter == "label_encoder"
    assert "rounding" in str(caught.value)
