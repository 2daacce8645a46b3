"""Models as bytes in the Keras native ``.keras`` format (architecture, weights, configs; no pickled code)."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
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
        assay.errors.ModelLoadError: the bytes are not a ``.keras`` archive (corrupt, truncated, or another
            library's model) or the archive is damaged.
        assay.errors.ExperimentError: the archive names a layer Keras cannot rebuild (a custom class that is
            not registered, or a ``Lambda`` layer, which ``safe_mode`` refuses).
    """
    problem = _not_a_keras_archive(data)
    if problem:
        raise errors.ModelLoadError(
            f"the stored model is not a Keras .keras archive ({problem}): it is damaged or was saved by another "
            "library"
        )
    with tempfile.TemporaryDirectory(prefix="assay-keras-") as folder:
        path = Path(folder, "model.keras")
        path.write_bytes(data)
        try:
            return keras.models.load_model(path, compile=False, safe_mode=True)
        except (json.JSONDecodeError, KeyError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise errors.ModelLoadError(
                f"the stored Keras model cannot be read ({type(exc).__name__}: {exc}); the .keras archive is damaged"
            ) from exc
        except (TypeError, ValueError) as exc:
            raise errors.ExperimentError(
                "fn_build", f"the stored Keras model cannot be loaded ({exc}); decorate custom layers and models "
                "with @keras.saving.register_keras_serializable() and import their module before loading, and "
                "replace Lambda layers (refused by safe_mode) with a registered custom layer"
            ) from exc
        except Exception as exc:  # a damaged archive: missing config, truncated weights file, bad HDF5...
            raise errors.ModelLoadError(
                f"the stored Keras model cannot be read ({type(exc).__name__}: {exc}); the .keras archive is damaged"
            ) from exc


def _not_a_keras_archive(data: Any) -> str | None:
    """Why ``data`` cannot be a ``.keras`` archive, or ``None``. (torch weights are zip archives too.)"""
    if not isinstance(data, (bytes, bytearray)):
        return f"a {type(data).__name__}, not bytes"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        return f"{len(data)} bytes that are not a zip archive"
    if "config.json" not in names:
        return f"a zip archive without config.json, holding {sorted(names)[:3]}"
    return None
