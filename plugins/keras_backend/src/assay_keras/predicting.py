"""Default predictions of a trained Keras model: thresholded, argmax or raw, with probabilities."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import keras
import numpy as np

from assay import errors
from assay_keras.samples import BINARY, MULTI, REGRESSION

#: rows per forward pass; large enough that tabular splits take one call, small enough to bound memory
BATCH_SIZE = 4096


def _to_numpy(outputs: Any) -> np.ndarray:
    if isinstance(outputs, (list, tuple, dict)):
        raise errors.ExperimentError(
            "fn_predict", "the model has several outputs; pass fn_predict returning (predictions, probabilities)"
        )
    return tensor_to_numpy(outputs)


def tensor_to_numpy(value: Any) -> np.ndarray:
    """A backend tensor as an ndarray.

    A TensorFlow tensor's own ``.numpy()`` is used first: ``keras.ops.convert_to_numpy`` calls ``np.array(x)``,
    and TensorFlow's ``__array__`` lacks numpy 2's ``copy`` keyword, which raises a DeprecationWarning per call.
    """
    if hasattr(value, "numpy"):
        return np.asarray(value.numpy())
    return np.asarray(keras.ops.convert_to_numpy(value))


def _has_recurrent_layer(model: Any) -> bool:
    """Whether the model (or a model nested in it) holds a recurrent layer (LSTM, GRU, SimpleRNN, ConvLSTM, or
    one wrapped in Bidirectional)."""
    pending = list(getattr(model, "layers", []))
    while pending:
        layer = pending.pop()
        if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional)):
            return True
        pending.extend(getattr(layer, "layers", []))
    return False


def _forward(model: Any) -> Any:
    """The call that runs ``model`` forward on one batch in inference mode.

    A direct call ``model(x, training=False)`` for most models: for the small arrays of tabular work it is many
    times faster than ``model.predict`` (no tf.data pipeline, no callbacks, nothing to trace). A recurrent model
    runs its time loop op by op in eager mode (a Python step per time step: 0.34 s for 250 rows of a 178-step
    LSTM(8)), so it goes through Keras' compiled predict function instead (``predict_on_batch``: 9 ms after a
    one-off trace of about 0.1 s).
    """
    if _has_recurrent_layer(model):
        return model.predict_on_batch
    return lambda batch: model(batch, training=False)


def forward_batches(model: Any, features: Any) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(first_row, outputs)`` of the model in inference mode, batch by batch (see :func:`_forward`)."""
    if isinstance(features, list) and all(isinstance(part, np.ndarray) for part in features):
        # several inputs (a multi-input splitset): every input sliced alike, one call per batch
        forward = _forward(model)
        rows = len(features[0]) if features else 0
        for start in range(0, max(rows, 1), BATCH_SIZE):
            yield start, _to_numpy(forward([part[start:start + BATCH_SIZE] for part in features]))
        return
    if not isinstance(features, np.ndarray):  # another structure (a dict of inputs): let Keras batch it
        yield 0, _to_numpy(model.predict(features, verbose=0, batch_size=BATCH_SIZE))
        return
    forward = _forward(model)
    if len(features) == 0:
        yield 0, _to_numpy(model(features, training=False))
        return
    for start in range(0, len(features), BATCH_SIZE):
        yield start, _to_numpy(forward(features[start:start + BATCH_SIZE]))


def model_outputs(model: Any, features: Any) -> np.ndarray:
    """The model's outputs on all ``features``, as one numpy array."""
    return np.concatenate([outputs for _, outputs in forward_batches(model, features)])


def _check_probabilities(outputs: np.ndarray, analysis_type: str, last_layer: str) -> None:
    if outputs.size and (outputs.min() < -1e-6 or outputs.max() > 1 + 1e-6):
        raise errors.ExperimentError(
            "fn_build", f"{analysis_type!r} needs probabilities from the model, but it outputs values outside "
            f"[0, 1] (logits?); end fn_build with a {last_layer} layer, or pass fn_predict"
        )


def default_predict(analysis_type: str, model: Any, samples: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """``(predictions, probabilities)`` for one split.

    * binary: one sigmoid output thresholded at 0.5 (``p > 0.5`` is class 1, as Keras' binary accuracy counts),
      or two softmax outputs and their argmax; probabilities are the positive class's.
    * multi: the argmax of the softmax outputs; probabilities are the outputs, one column per class.
    * regression: the raw outputs, flattened when the model has one output column; probabilities ``None``.
    """
    outputs = model_outputs(model, samples["features"])
    if analysis_type == REGRESSION:
        if outputs.ndim == 2 and outputs.shape[1] == 1:
            outputs = outputs[:, 0]
        return outputs, None
    if analysis_type == BINARY:
        _check_probabilities(outputs, analysis_type, "Dense(1, activation='sigmoid')")
        if outputs.ndim == 2 and outputs.shape[1] == 2:
            return outputs.argmax(axis=1), outputs[:, 1]
        probabilities = outputs.reshape(len(outputs), -1)
        if probabilities.shape[1] != 1:
            raise errors.ExperimentError(
                "fn_build", f"'classification_binary' needs 1 (sigmoid) or 2 (softmax) outputs per sample, the "
                f"model has {probabilities.shape[1]}"
            )
        probabilities = probabilities[:, 0]
        return (probabilities > 0.5).astype(np.int64), probabilities
    if analysis_type == MULTI:
        _check_probabilities(outputs, analysis_type, "Dense(label_shape[0], activation='softmax')")
        if outputs.ndim != 2 or outputs.shape[1] < 2:
            raise errors.ExperimentError(
                "fn_build", f"'classification_multi' needs one softmax output per class, the model outputs shape "
                f"{outputs.shape[1:]}; end fn_build with Dense(label_shape[0], activation='softmax')"
            )
        return outputs.argmax(axis=1).astype(np.int64), outputs
    raise errors.ExperimentError(
        "fn_predict", f"assay-keras has no default prediction for analysis_type={analysis_type!r}; pass fn_predict"
    )
