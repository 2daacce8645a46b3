"""The assay plugin of ``assay-dummy-backend``: every backend hook for the library ``numpy_linear``.

Like every assay plugin's hook module it imports its framework (here :mod:`assay_dummy.model`, which needs
numpy) only inside the hooks, so loading the plugin costs nothing until the library is used.
"""

from __future__ import annotations

import importlib.metadata

from assay import errors
from assay.contracts import AnalysisType, TrainResult
from assay.hookspecs import hookimpl
from assay_dummy import LIBRARY


@hookimpl
def assay_libraries():
    return [LIBRARY]


@hookimpl
def assay_default_loss(library, analysis_type):
    if library != LIBRARY:
        return None
    from assay_dummy.model import MeanSquaredError

    return MeanSquaredError()  # least squares for every analysis type (one-hot labels for classes)


@hookimpl
def assay_default_optimizer(library, analysis_type, model):
    if library != LIBRARY:
        return None
    from assay_dummy.model import GradientDescent

    return GradientDescent(learning_rate=0.1)


@hookimpl
def assay_prepare_samples(library, analysis_type, samples):
    if library != LIBRARY:
        return None
    from assay_dummy.model import as_matrix

    labels = samples.get("labels")
    prepared = {"features": as_matrix(samples["features"]), "labels": None if labels is None else as_matrix(labels)}
    if analysis_type == "classification_multi" and labels is not None and prepared["labels"].shape[1] < 2:
        raise errors.ExperimentError(
            "label_encoder",
            "numpy_linear needs one-hot labels for 'classification_multi'; use OneHotEncoder() as label encoder",
        )
    return prepared


@hookimpl
def assay_train(library, analysis_type, fn_train, model, loser, optimizer, samples_train, samples_evaluate,
                hyperparameters):
    if library != LIBRARY:
        return None
    from assay_dummy.model import LinearModel

    result = fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hyperparameters)
    trained, history = result if isinstance(result, tuple) else (result, getattr(result, "history", {}))
    if not isinstance(trained, LinearModel):
        raise errors.ExperimentError(
            "fn_train", f"must return the trained numpy_linear model, it returned {type(trained).__name__}"
        )
    return TrainResult(trained, {name: [float(value) for value in values] for name, values in history.items()})


@hookimpl
def assay_default_predict(library, analysis_type, model, samples):
    if library != LIBRARY:
        return None
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


@hookimpl
def assay_evaluate_loss(library, analysis_type, model, loser, samples):
    if library != LIBRARY:
        return None
    return loser(samples["labels"], model(samples["features"]))


@hookimpl
def assay_model_to_bytes(library, model):
    if library != LIBRARY:
        return None
    return model.to_bytes()


@hookimpl
def assay_model_from_bytes(library, data, fn_build, features_shape, label_shape, hyperparameters):
    if library != LIBRARY:
        return None
    model = fn_build(tuple(features_shape), None if label_shape is None else tuple(label_shape), **hyperparameters)
    model.load_bytes(data)  # weights only, like a torch state_dict: the architecture comes from fn_build
    return model


@hookimpl
def assay_seed(library, seed):
    if library != LIBRARY:
        return None
    from assay_dummy import model

    model.seed(seed)
    return True


@hookimpl
def assay_clear_session(library):
    if library != LIBRARY:
        return None
    from assay_dummy import model

    model.forget_seed()
    return True


@hookimpl
def assay_library_versions(library):
    if library != LIBRARY:
        return None
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
