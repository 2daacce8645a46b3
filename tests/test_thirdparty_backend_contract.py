"""A backend from outside the repository passes the same contract suite as the Keras and torch plugins.

``numpy_linear`` comes from the separately installed ``assay-dummy-backend`` package (tests/thirdparty_plugin),
discovered through its ``assay.plugins`` entry point; nothing in assay's core knows about it.
"""

from __future__ import annotations

import pytest

from assay.testing import BackendContractSuite

pytest.importorskip("assay_dummy", reason="install tests/thirdparty_plugin (nox -s tests does)")


def build(features_shape, label_shape, **hp):
    from assay_dummy.model import LinearModel

    return LinearModel(features_shape, label_shape)


def train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    from assay_dummy.model import fit

    return fit(model, loser, optimizer, samples_train, samples_evaluate, hp["epoch_count"])


class TestThirdPartyBackendContract(BackendContractSuite):
    library = "numpy_linear"
    fn_build = build
    fn_train = train
    # no model_outputs(): a linear model's raw outputs are not probabilities (the plugin clips and normalises them)
    # no fn_build_multi_input: numpy_linear takes one feature matrix (its prepare_samples flattens `features` into
    # one array), so the multi-input tests skip; tests/test_testing_suite.py runs them on a numpy backend that
    # keeps a list of inputs
