"""The assay plugin of ``assay-dummy-backend``: every backend hook for the library ``numpy_linear``.

The backend is a :class:`assay.backend.LibraryBackend` subclass: plain methods, no ``if library != ...: return
None`` guard in each hook. Its analysis type and metrics are ordinary hook functions.

Like every assay plugin's hook module it imports its framework (here :mod:`assay_dummy.model`, which needs
numpy) only inside the hooks, so loading the plugin costs nothing until the library is used.
"""

from __future__ import annotations

import importlib.metadata

from assay import errors
from assay.backend import LibraryBackend
from assay.contracts import AnalysisType
from assay.hookspecs import hookimpl
from assay_dummy import LIBRARY


class NumpyLinear(LibraryBackend):
    """The ``numpy_linear`` backend: no ``if library != ...`` guard anywhere, the base class answers for it."""

    library = LIBRARY

    def default_loss(self, analysis_type):
        from assay_dummy.model import MeanSquaredError

        return MeanSquaredError()  # least squares for every analysis type (one-hot labels for classes)

    def default_optimizer(self, analysis_type, model):
        from assay_dummy.model import GradientDescent

        return GradientDescent(learning_rate=0.1)

    def prepare_samples(self, analysis_type, samples):
        from assay_dummy.model import as_matrix

        labels = samples.get("labels")
        prepared = {"features": as_matrix(samples["features"]),
                    "labels": None if labels is None else as_matrix(labels)}
        if analysis_type == "classification_multi" and labels is not None and prepared["labels"].shape[1] < 2:
            raise errors.ExperimentError(
                "label_encoder",
                "numpy_linear needs one-hot labels for 'classification_multi'; use OneHotEncoder() as label encoder",
            )
        return prepared

    def train(self, analysis_type, fn_train, model, loser, optimizer, samples_train, samples_evaluate,
              hyperparameters):
        from assay_dummy.model import LinearModel

        result = super().train(analysis_type, fn_train, model, loser, optimizer, samples_train, samples_evaluate,
                               hyperparameters)
        if not isinstance(result.model, LinearModel):
            raise errors.ExperimentError(
                "fn_train", f"must return the trained numpy_linear model, it returned {type(result.model).__name__}"
            )
        return result

    def default_predict(self, analysis_type, model, samples):
        import numpy as np

        outputs = model(samples["features"])
        if analysis_type == "classification_binary":
            probabilities = np.clip(outputs[:, -1], 0.0, 1.0)
            return (probabilities >= 0.5).astype(int), probabilities
        if analysis_type == "classification_multi":
            # a linear model's outputs are not probabilities: clip and normalise them, which keeps the argmax
            scores = np.clip(outputs, 1e-7, None)
            probabilities = scores / scores.sum(axis=1, keepdims=True)
            return probabilities.argmax(axis=1), probabilities
        return (outputs[:, 0] if outputs.shape[1] == 1 else outputs), None

    def evaluate_loss(self, analysis_type, model, loser, samples):
        return loser(samples["labels"], model(samples["features"]))

    def model_to_bytes(self, model):
        return model.to_bytes()

    def model_from_bytes(self, data, fn_build, features_shape, label_shape, hyperparameters):
        model = fn_build(tuple(features_shape), None if label_shape is None else tuple(label_shape),
                         **hyperparameters)
        model.load_bytes(data)  # weights only, like a torch state_dict: the architecture comes from fn_build
        return model

    def seed(self, seed):
        from assay_dummy import model

        model.seed(seed)

    def clear_session(self):
        from assay_dummy import model

        model.forget_seed()

    def library_versions(self):
        import numpy as np

        return {LIBRARY: importlib.metadata.version("assay-dummy-backend"), "numpy": np.__version__}


@hookimpl
def assay_analysis_types():
    from assay_dummy import analysis

    return [
        AnalysisType(analysis.NAME, is_classification=False, main_metric="rmsle", higher_is_better=False,
                     check_labels=analysis.check_labels, description="regression of a label greater than zero")
    ]


@hookimpl
def assay_metrics(analysis_type, y_true, y_pred):
    # fewer arguments than the spec: pluggy passes only those an implementation names
    from assay_dummy import analysis

    if analysis_type == analysis.NAME:
        return analysis.positive_regression_metrics(y_true, y_pred)
    if analysis_type == "regression":
        return {"max_abs_error": analysis.max_abs_error(y_true, y_pred)}
    return None


#: the backend; an entry point may name it directly ("assay_dummy.hooks:plugin")
plugin = NumpyLinear()
# This package's entry point names the module, so pluggy registers the module: make the backend's hook
# implementations the module's own, next to the analysis-type hooks above.
globals().update(plugin.hookimpls())
