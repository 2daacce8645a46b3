"""The backend contract suite itself: a correct backend passes it, and each kind of broken backend fails it.

The backends here are tiny numpy ones (the ``numpy_linear`` model of the third-party test plugin) registered
in-process inside a pytester run, so these tests need neither Keras nor torch. The fresh-process test is left
out: a child process only sees plugins installed through entry points.
"""

from __future__ import annotations

import pytest

pytest.importorskip("assay_dummy", reason="pip install ./tests/thirdparty_plugin (nox -s tests installs it)")

# imported here so that the in-process pytester runs find them loaded: their C extensions cannot be imported
# twice in one process, and pytester drops modules first imported by an inner run
import numpy  # noqa: F401

import assay.testing  # noqa: F401
import assay_dummy.model  # noqa: F401

pytest_plugins = ["pytester"]

TEST_MODULE = '''
import numpy as np

from assay import errors, plugins
from assay.contracts import TrainResult
from assay.hookspecs import hookimpl
from assay.testing import BackendContractSuite
from assay_dummy import model as linear

DEFECT = {defect!r}
MULTI_INPUT = {multi_input!r}
LIBRARY = "contract_linear"


class ContractLinearPlugin:
    """numpy_linear behind the hooks, following the contract unless DEFECT names one rule to break."""

    @hookimpl
    def assay_libraries(self):
        return [LIBRARY]

    @hookimpl
    def assay_default_loss(self, library, analysis_type):
        return linear.MeanSquaredError() if library == LIBRARY else None

    @hookimpl
    def assay_default_optimizer(self, library, analysis_type, model):
        return linear.GradientDescent(0.1) if library == LIBRARY else None

    @hookimpl
    def assay_prepare_samples(self, library, analysis_type, samples):
        if library != LIBRARY:
            return None
        features = samples["features"]
        if isinstance(features, list):  # several inputs: each a matrix, the list kept in input order
            features = [linear.as_matrix(part) for part in features]
            if DEFECT == "input_order":
                features = features[::-1]
        else:
            features = linear.as_matrix(features)
        return {{"features": features, "labels": linear.as_matrix(samples["labels"])}}

    @hookimpl
    def assay_train(self, library, fn_train, model, loser, optimizer, samples_train, samples_evaluate,
                    hyperparameters):
        if library != LIBRARY:
            return None
        returned = fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hyperparameters)
        if returned is None:
            raise errors.ExperimentError("fn_train", "returned None; return the model")
        trained, history = returned if isinstance(returned, tuple) else (returned, returned.history)
        history = {{name: [float(value) for value in values] for name, values in history.items()}}
        if DEFECT == "history":
            history = {{name: values[:1] for name, values in history.items()}}
        return TrainResult(trained, history)

    @hookimpl
    def assay_default_predict(self, library, analysis_type, model, samples):
        if library != LIBRARY:
            return None
        outputs = model(samples["features"])
        if analysis_type == "classification_binary":
            probabilities = np.clip(outputs[:, 0], 0.0, 1.0)
            positive = probabilities < 0.5 if DEFECT == "threshold" else probabilities > 0.5
            return positive.astype(int), probabilities
        if analysis_type == "classification_multi":
            scores = np.clip(outputs, 1e-7, None)
            probabilities = scores / scores.sum(axis=1, keepdims=True)
            return probabilities.argmax(axis=1), probabilities
        return outputs[:, 0], None

    @hookimpl
    def assay_evaluate_loss(self, library, model, loser, samples):
        return loser(samples["labels"], model(samples["features"])) if library == LIBRARY else None

    @hookimpl
    def assay_model_to_bytes(self, library, model):
        return model.to_bytes() if library == LIBRARY else None

    @hookimpl
    def assay_model_from_bytes(self, library, data, fn_build, features_shape, label_shape, hyperparameters):
        if library != LIBRARY:
            return None
        model = fn_build(features_shape, label_shape, **hyperparameters)
        model.load_bytes(data)
        return model

    @hookimpl
    def assay_seed(self, library, seed):
        if library != LIBRARY:
            return None
        if DEFECT != "seed":
            linear.seed(seed)
        return True

    @hookimpl
    def assay_clear_session(self, library):
        if library != LIBRARY:
            return None
        linear.forget_seed()
        return True

    @hookimpl
    def assay_library_versions(self, library):
        return {{LIBRARY: "1.0", "numpy": np.__version__}} if library == LIBRARY else None


plugins.get_plugin_manager().register(ContractLinearPlugin(), name=LIBRARY)


def fn_build(features_shape, label_shape, **hyperparameters):
    return linear.LinearModel(features_shape, label_shape)


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hyperparameters):
    return linear.fit(model, loser, optimizer, samples_train, samples_evaluate, hyperparameters["epoch_count"])


def joined(features):
    """Several inputs side by side, each flattened: one matrix a linear model can take."""
    return np.hstack([linear.as_matrix(part) for part in features]) if isinstance(features, list) else features


class JoinedLinear(linear.LinearModel):
    """numpy_linear on several inputs."""

    def __init__(self, features_shape, label_shape):
        super().__init__((sum(int(np.prod(shape)) for shape in features_shape),), label_shape)

    def __call__(self, features):
        return super().__call__(joined(features))


def fn_build_multi_input(features_shape, label_shape, **hyperparameters):
    return JoinedLinear(features_shape, label_shape)


def fn_train_multi_input(model, loser, optimizer, samples_train, samples_evaluate, **hyperparameters):
    samples_train, samples_evaluate = ({{"features": joined(samples["features"]), "labels": samples["labels"]}}
                                       for samples in (samples_train, samples_evaluate))
    return linear.fit(model, loser, optimizer, samples_train, samples_evaluate, hyperparameters["epoch_count"])


class TestContractLinear(BackendContractSuite):
    library = LIBRARY
    fn_build = fn_build
    fn_train = fn_train
    fn_build_multi_input = fn_build_multi_input if MULTI_INPUT else None
    fn_train_multi_input = fn_train_multi_input
'''


# 3 library tests + 17 tests for each of the 3 analysis types: 2 left out (fresh process, one and two inputs),
# 1 skipped (model_outputs is not defined), 14 passed (9 with one input, 5 with two)
PASSED = 3 + 3 * 14


def _run_suite(pytester, defect: str, multi_input: bool = True):
    pytester.makepyfile(test_contract=TEST_MODULE.format(defect=defect, multi_input=multi_input))
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:xdist", "-q", "-rfEs",
                                        "-k", "not fresh_process")


def test_a_backend_that_keeps_the_contract_passes_every_test_of_the_suite(pytester):
    result = _run_suite(pytester, defect="")
    result.assert_outcomes(passed=PASSED, skipped=3)


def test_without_fn_build_multi_input_the_multi_input_tests_skip_saying_how_to_enable_them(pytester):
    result = _run_suite(pytester, defect="", multi_input=False)
    result.assert_outcomes(passed=PASSED - 3 * 5, skipped=3 + 3 * 5)
    result.stdout.fnmatch_lines(["SKIPPED *TestContractLinear does not define fn_build_multi_input: set it to *"])


@pytest.mark.parametrize(("defect", "failing"), [
    ("threshold", ["test_default_predict_fits_the_analysis_type[[]classification_binary[]]",
                   "test_multi_input_default_predict_fits_the_analysis_type[[]classification_binary[]]"]),
    ("history", ["test_training_returns_a_train_result_with_one_history_value_per_epoch[[]*[]]"] * 3
                + ["test_train_accepts_a_model_and_history_pair_from_fn_train[[]*[]]"] * 3
                + ["test_multi_input_training_returns_a_train_result_with_one_history_value_per_epoch[[]*[]]"] * 3),
    ("seed", ["test_same_seed_gives_the_same_history_and_predictions_twice[[]*[]]"] * 3
             + ["test_multi_input_same_seed_gives_the_same_history_and_predictions_twice[[]*[]]"] * 3),
    ("input_order", ["test_multi_input_prepared_samples_keep_every_input_in_order_with_one_row_per_sample[[]*[]]"]
                    * 3),
])
def test_a_backend_that_breaks_one_rule_fails_the_test_for_that_rule(pytester, defect, failing):
    result = _run_suite(pytester, defect=defect)
    result.assert_outcomes(passed=PASSED - len(failing), failed=len(failing), skipped=3)
    for name in set(failing):
        result.stdout.fnmatch_lines([f"FAILED *{name}*"])
