"""Default loss and optimizer, running the user's ``fn_train``, and the loss of a trained model on one split."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import keras
import numpy as np

from assay import errors
from assay.contracts import TrainResult
from assay_keras.predicting import forward_batches, tensor_to_numpy
from assay_keras.samples import BINARY, MULTI, REGRESSION, _loss_kind, check_labels_fit_loss

_DEFAULT_LOSSES: dict[str, Callable[[], keras.losses.Loss]] = {
    REGRESSION: keras.losses.MeanAbsoluteError,
    BINARY: keras.losses.BinaryCrossentropy,
    MULTI: keras.losses.CategoricalCrossentropy,
}


def default_loss(analysis_type: str) -> keras.losses.Loss:
    """Mean absolute error, binary cross-entropy or categorical cross-entropy (one-hot labels)."""
    make = _DEFAULT_LOSSES.get(analysis_type)
    if make is None:
        raise errors.ExperimentError(
            "fn_lose", f"assay-keras has no default loss for analysis_type={analysis_type!r}; pass fn_lose "
            "returning a keras loss"
        )
    return make()


def default_optimizer() -> keras.optimizers.Optimizer:
    """Adamax with Keras' default learning rate: robust on small tabular data without tuning."""
    return keras.optimizers.Adamax()


def history_to_dict(history: Any) -> dict[str, list[float]]:
    """A Keras ``History`` (or a plain dict of lists) as ``{name: [float per epoch]}`` with plain floats."""
    if history is None:
        return {}
    if isinstance(history, keras.callbacks.History):
        history = history.history
    if not isinstance(history, Mapping):
        raise errors.ExperimentError(
            "fn_train", f"returned a history of type {type(history).__name__}; return (model, history) with a "
            "keras History or a dict of per-epoch lists, or just the model"
        )
    return {str(name): [float(value) for value in np.ravel(values)] for name, values in history.items()}


def _check_output_width(model: keras.Model, labels: np.ndarray | None, analysis_type: str, loser: Any) -> None:
    """Catch a last layer whose width does not match the labels before Keras fails deep inside ``fit``."""
    outputs = getattr(model, "outputs", None)
    if labels is None or labels.ndim != 2 or not outputs or len(outputs) != 1:
        return
    width = outputs[0].shape[-1]
    # class indices against softmax units: a sparse categorical loss (or the user's own multi-class loss) takes
    # them; binary cross-entropy (the binary default) and the regression losses do not
    kind = _loss_kind(loser)
    sparse = labels.shape[1] == 1 and width is not None and width > 1 and (
        kind == "sparse" or (analysis_type == MULTI and kind is None))
    if width is not None and width != labels.shape[1] and not sparse:
        hint = " (Dense(1, activation='sigmoid') for these 0/1 labels)" if (
            analysis_type == BINARY and labels.shape[1] == 1) else ""
        raise errors.ExperimentError(
            "fn_build", f"the model outputs {width} values per sample but the labels have {labels.shape[1]} "
            f"columns; end fn_build with a layer of units=label_shape[0]{hint}"
        )


def refuse_lambda_layers(model: Any) -> None:
    """A model holding a ``Lambda`` layer trains, but Keras' ``safe_mode`` refuses to load it back: its predictor
    could never be loaded for inference, bundles or importance. Refused before training, not found out later.

    Raises:
        assay.errors.ExperimentError: naming ``fn_build`` and the layer.
    """
    pending = list(getattr(model, "layers", []))
    while pending:
        layer = pending.pop()
        if isinstance(layer, keras.layers.Lambda):
            raise errors.ExperimentError(
                "fn_build", f"the model holds a Lambda layer ({layer.name!r}); assay stores Keras models in the "
                ".keras format and loads them with safe_mode, which refuses Lambda layers (their code is "
                "pickled), so the trained model could never be loaded back: write a small custom layer decorated "
                "with @keras.saving.register_keras_serializable() instead, or use a built-in layer")
        pending.extend(getattr(layer, "layers", []))
        wrapped = getattr(layer, "layer", None)  # TimeDistributed, Bidirectional...
        if isinstance(wrapped, keras.layers.Layer):
            pending.append(wrapped)


def _shapes(features: Any) -> list[tuple[int, ...]]:
    return [tuple(np.shape(array)[1:]) for array in features]


def check_inputs(model: Any, features: Any) -> None:
    """A multi-input splitset's list of arrays needs a model with as many inputs, in the same order and shapes.

    Raises:
        assay.errors.ExperimentError: naming the inputs' shapes and the model's, before Keras fails inside ``fit``.
    """
    if not isinstance(features, list):
        return
    inputs = getattr(model, "inputs", None)
    try:
        count = len(inputs) if inputs else None
    except TypeError:
        count = None
    if count is None:  # a subclassed model not built yet: Keras reports at the first call
        return
    model_shapes = [tuple(getattr(tensor, "shape", ()))[1:] for tensor in inputs]
    shapes = _shapes(features)
    if count != len(features) or any(
            len(got) != len(want) or any(w is not None and w != g for w, g in zip(want, got, strict=True))
            for got, want in zip(shapes, model_shapes, strict=False)):
        raise errors.ExperimentError(
            "fn_build", f"the splitset has {len(features)} inputs of shapes {shapes} (samples['features'] is a list, "
            f"in input order), but the model takes {count} input(s) of shape(s) {model_shapes}; build one Input per "
            "entry of features_shape, e.g. keras.Model([keras.Input(shape) for shape in features_shape], outputs)")


def train(analysis_type: str, fn_train: Callable[..., Any], model: Any, loser: Any, optimizer: Any,
          samples_train: dict[str, Any], samples_evaluate: dict[str, Any] | None,
          hyperparameters: dict[str, Any]) -> TrainResult:
    """Call ``fn_train`` and return the trained model with its per-epoch history.

    The history is the one ``fn_train`` returns as ``(model, history)``, else the model's last ``fit``
    (``model.history``), else empty.
    """
    for samples in (samples_train, samples_evaluate):
        if samples is not None:
            check_labels_fit_loss(analysis_type, loser, samples.get("labels"))
    _check_output_width(model, samples_train.get("labels"), analysis_type, loser)
    check_inputs(model, samples_train.get("features"))
    refuse_lambda_layers(model)
    from assay_keras.pruning import attached

    with attached(model):  # a queue with a pruner hears every epoch of the model's fit
        returned = fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hyperparameters)
    if returned is None:
        raise errors.ExperimentError(
            "fn_train", "returned None; end fn_train with `return model` (or `return model, history`)"
        )
    history = None
    if isinstance(returned, tuple) and len(returned) == 2:
        returned, history = returned
    if isinstance(returned, keras.callbacks.History):
        raise errors.ExperimentError(
            "fn_train", "returned the History of model.fit; return the model instead (`return model`)"
        )
    if not isinstance(returned, keras.Model):
        raise errors.ExperimentError(
            "fn_train", f"returned {type(returned).__name__}; return the trained keras model (`return model`)"
        )
    if history is None:
        history = getattr(returned, "history", None)
    return TrainResult(model=returned, history=history_to_dict(history))


def evaluate_loss(analysis_type: str, model: Any, loser: Any, samples: dict[str, Any]) -> float:
    """The mean per-sample loss of ``model`` on ``samples`` (without regularisation terms)."""
    labels = samples.get("labels")
    if labels is None:
        raise errors.ExperimentError("samples", "the loss needs labels; this split has none")
    check_labels_fit_loss(analysis_type, loser, labels)
    loss_fn = keras.losses.get(loser) if isinstance(loser, str) else loser
    total, row_count = 0.0, len(labels)
    for start, outputs in forward_batches(model, samples["features"]):
        stop = start + len(outputs)
        value = np.asarray(tensor_to_numpy(loss_fn(labels[start:stop], outputs)), dtype=np.float64)
        if getattr(loss_fn, "reduction", None) == "sum":
            value = value / (stop - start)
        total += float(np.mean(value)) * (stop - start)  # weighted so uneven last batches count right
    return total / max(row_count, 1)
