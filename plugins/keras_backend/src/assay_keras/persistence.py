"""Models as bytes in the Keras native ``.keras`` format (architecture, weights, configs; no pickled code)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import keras

from assay import errors


def model_to_bytes(model: Any) -> bytes:
    """The ``.keras`` archive of ``model``, as bytes."""
    with tempfile.TemporaryDirectory(prefix="assay-keras-") as folder:
        path = Path(folder, "model.keras")
        model.save(path)
        return path.read_bytes()


def model_from_bytes(data: bytes) -> keras.Model:
    """Load a ``.keras`` archive with ``safe_mode=True``, uncompiled: ready to predict.

    The model comes back without its optimizer and loss (``compile=False``), so loading never depends on the
    user's ``fn_lose``/``fn_optimize`` objects being deserialisable; call ``model.compile(...)`` to train on.

    Raises:
        assay.errors.ExperimentError: the archive names a layer Keras cannot rebuild (a custom class that is
            not registered, or a ``Lambda`` layer, which ``safe_mode`` refuses).
    """
    with tempfile.TemporaryDirectory(prefix="assay-keras-") as folder:
        path = Path(folder, "model.keras")
        path.write_bytes(data)
        try:
            return keras.models.load_model(path, compile=False, safe_mode=True)
        except (TypeError, ValueError) as exc:
            raise errors.ExperimentError(
                "fn_build", f"the stored Keras model cannot be loaded ({exc}); decorate custom layers and models "
                "with @keras.saving.register_keras_serializable() and import their module before loading, and "
                "replace Lambda layers (refused by safe_mode) with a registered custom layer"
            ) from exc
