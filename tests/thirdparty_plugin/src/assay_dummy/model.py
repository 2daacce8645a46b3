"""The ``numpy_linear`` library: a linear model trained by gradient descent on the mean squared error.

Everything a real deep-learning library offers a backend is here in miniature: a model object, a loss, an
optimizer, a training loop that records a per-epoch history, a seedable random generator and a safe
serialisation format (``.npz`` without pickle).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

# The library's only global state, like a framework's global RNG: seeded by ``seed``, forgotten by ``forget_seed``.
_rng = np.random.default_rng()


def seed(value: int) -> None:
    """Make the next models' initial weights reproducible."""
    global _rng
    _rng = np.random.default_rng(value)


def forget_seed() -> None:
    """Drop the seeded generator so nothing of one job carries into the next."""
    global _rng
    _rng = np.random.default_rng()


def as_matrix(values: Any) -> np.ndarray:
    """Samples as a 2-D float array: one row per sample, every other axis flattened."""
    array = np.asarray(values, dtype=np.float64)
    return array.reshape(len(array), -1)


class LinearModel:
    """``outputs = features @ weights + bias``, with small random initial weights."""

    def __init__(self, features_shape: tuple[int, ...], label_shape: tuple[int, ...] | None):
        inputs = int(np.prod(features_shape))
        outputs = int(np.prod(label_shape)) if label_shape else 1
        self.weights = _rng.normal(0.0, 0.01, size=(inputs, outputs))
        self.bias = np.zeros(outputs)
        self.history: dict[str, list[float]] = {}

    def __call__(self, features: Any) -> np.ndarray:
        return as_matrix(features) @ self.weights + self.bias

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, weights=self.weights, bias=self.bias)
        return buffer.getvalue()

    def load_bytes(self, data: bytes) -> None:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            if arrays["weights"].shape != self.weights.shape:
                raise ValueError(
                    f"stored weights have shape {arrays['weights'].shape}, the built model {self.weights.shape}"
                )
            self.weights = arrays["weights"]
            self.bias = arrays["bias"]


class MeanSquaredError:
    """The least-squares loss and its gradient with respect to the outputs."""

    def __call__(self, labels: Any, outputs: np.ndarray) -> float:
        return float(np.mean((as_matrix(outputs) - as_matrix(labels)) ** 2))

    def gradient(self, labels: Any, outputs: np.ndarray) -> np.ndarray:
        outputs = as_matrix(outputs)
        return 2.0 * (outputs - as_matrix(labels)) / outputs.size


class GradientDescent:
    """Full-batch gradient descent."""

    def __init__(self, learning_rate: float = 0.1):
        self.learning_rate = learning_rate

    def step(self, model: LinearModel, loss: MeanSquaredError, features: Any, labels: Any) -> None:
        features = as_matrix(features)
        grad_outputs = loss.gradient(labels, model(features))
        model.weights = model.weights - self.learning_rate * features.T @ grad_outputs
        model.bias = model.bias - self.learning_rate * grad_outputs.sum(axis=0)


def fit(model: LinearModel, loser: MeanSquaredError, optimizer: GradientDescent, samples_train: dict[str, Any],
        samples_evaluate: dict[str, Any] | None, epoch_count: int) -> LinearModel:
    """The training loop a user's ``fn_train`` calls; records ``loss`` (and ``val_loss``) per epoch."""
    model.history = {"loss": []} if samples_evaluate is None else {"loss": [], "val_loss": []}
    for _ in range(epoch_count):
        optimizer.step(model, loser, samples_train["features"], samples_train["labels"])
        model.history["loss"].append(loser(samples_train["labels"], model(samples_train["features"])))
        if samples_evaluate is not None:
            model.history["val_loss"].append(loser(samples_evaluate["labels"], model(samples_evaluate["features"])))
    return model
