"""Models stored as ``state_dict`` bytes and rebuilt with ``fn_build``, loaded with torch's weights-only loader.

Only tensors are stored, never pickled code: ``torch.load(..., weights_only=True)`` refuses anything else, so
loading a stored model cannot run arbitrary code. The architecture comes back from the user's ``fn_build``
called with the shapes and hyperparameters the model was trained with.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from assay import errors


def to_bytes(model: Any) -> bytes:
    """The model's ``state_dict`` serialised with ``torch.save``."""
    _check_module(model, "fn_train")
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


def from_bytes(data: bytes, fn_build: Callable[..., Any], features_shape: tuple[int, ...],
               label_shape: tuple[int, ...], hyperparameters: dict[str, Any]) -> nn.Module:
    """Rebuild the model with ``fn_build`` and load the stored weights into it, on the CPU, in ``eval()`` mode.

    Raises:
        assay.errors.ModelLoadError: the bytes are not torch weights (damaged, or another library's model), or
            they do not fit the architecture ``fn_build`` makes.
    """
    try:
        # map_location: a model trained on a GPU loads on a machine without one
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError, EOFError...: whatever torch makes of bad bytes
        first_line = next(iter(str(exc).splitlines()), "")
        raise errors.ModelLoadError(
            f"the stored model is not torch weights ({type(exc).__name__}: {first_line}); it is damaged or was "
            "saved by another library"
        ) from exc
    if not isinstance(state, dict):
        raise errors.ModelLoadError(
            f"the stored model holds a {type(state).__name__}, not a torch state_dict; it was not saved by assay-torch"
        )
    model = fn_build(features_shape, label_shape, **(hyperparameters or {}))
    _check_module(model, "fn_build")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise errors.ModelLoadError(
            f"the stored weights do not fit the model fn_build makes with hyperparameters {hyperparameters!r}: "
            f"{exc}. fn_build must build the same architecture it built for training"
        ) from exc
    model.eval()
    return model


def _check_module(model: Any, parameter: str) -> None:
    if not isinstance(model, nn.Module):
        raise errors.ExperimentError(
            parameter, f"must give a torch.nn.Module, got {type(model).__name__}; return the model"
        )
