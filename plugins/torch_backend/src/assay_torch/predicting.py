"""Default predictions of a torch model, by analysis type, as numpy arrays.

* ``classification_binary``: the model must end in a sigmoid, so its single output column is the
  positive-class probability; predictions are that probability thresholded at 0.5 (``0``/``1`` ints). An
  output outside ``[0, 1]`` means the model ends in a logit: that is refused rather than thresholded wrongly.
  A model with two softmax units (trained on one-hot labels) gives the probability of column 1.
* ``classification_multi``: predictions are the argmax of the output; probabilities are the output itself when
  its rows already are probability distributions (a model ending in a softmax), the softmax of it otherwise
  (logits, the usual torch model for ``nn.CrossEntropyLoss``).
* ``regression`` (and analysis types the backend does not know): the raw output, ``(n,)`` for one output
  column; probabilities ``None``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from assay import errors
from assay_torch.samples import BINARY, MULTI
from assay_torch.training import EVALUATION_BATCH_SIZE, as_inputs, check_inputs, model_device

#: how far rows of a softmax output may sum from 1 (float32 rounding) and still count as probabilities
_SUM_TOLERANCE = 1e-4


def outputs(model: nn.Module, features: Any, batch_size: int = EVALUATION_BATCH_SIZE) -> np.ndarray:
    """The model's raw outputs for ``features`` (a tensor, or a list of tensors, one per input, passed as
    ``model(*inputs)``), in ``eval()`` mode and without gradients, as a numpy array."""
    model.eval()
    device = model_device(model)
    check_inputs(model, features)
    inputs = as_inputs(features)
    with torch.no_grad():
        chunks = [model(*[part[start:start + batch_size].to(device) for part in inputs]).detach().cpu()
                  for start in range(0, len(inputs[0]), batch_size)]
    return torch.cat(chunks).numpy() if chunks else np.empty((0,), dtype=np.float32)


def predict(analysis_type: str, model: nn.Module, samples: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """``(predictions, probabilities)`` for one split; see the module docstring for each analysis type."""
    raw = outputs(model, samples["features"])
    if analysis_type == BINARY:
        return _binary(raw)
    if analysis_type == MULTI:
        return _multi(raw)
    return (raw.reshape(-1) if raw.ndim == 2 and raw.shape[1] == 1 else raw), None


def _binary(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if raw.ndim == 2 and raw.shape[1] == 2:
        # a two-unit softmax (one-hot labels): column 1 is the positive class
        if not _is_distribution(raw.astype(np.float64)):
            raise errors.ExperimentError(
                "fn_build",
                "classification_binary with two output columns needs a softmax output (rows of probabilities "
                "summing to 1); end the model in nn.Softmax(dim=1), or use one sigmoid unit with 0/1 labels",
            )
        raw = raw[:, 1]
    if raw.ndim > 2 or (raw.ndim == 2 and raw.shape[1] != 1):
        raise errors.ExperimentError(
            "fn_build",
            f"classification_binary needs one output column (a sigmoid unit), the model outputs shape "
            f"{raw.shape}; end the model in nn.Linear(..., 1) followed by nn.Sigmoid()",
        )
    probabilities = raw.reshape(-1).astype(np.float64)
    if probabilities.size and (probabilities.min() < 0 or probabilities.max() > 1):
        raise errors.ExperimentError(
            "fn_build",
            f"classification_binary's default predict reads the model's output as a probability, but outputs "
            f"range from {probabilities.min():.3g} to {probabilities.max():.3g}: end the model in nn.Sigmoid() "
            "(with the default nn.BCELoss), or pass fn_predict that applies torch.sigmoid to logits",
        )
    return (probabilities >= 0.5).astype(np.int64), probabilities


def _multi(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if raw.ndim != 2 or raw.shape[1] < 2:
        raise errors.ExperimentError(
            "fn_build",
            f"classification_multi needs one output column per class, the model outputs shape {raw.shape}",
        )
    scores = raw.astype(np.float64)
    probabilities = scores if _is_distribution(scores) else _softmax(scores)
    return probabilities.argmax(axis=1).astype(np.int64), probabilities


def _is_distribution(scores: np.ndarray) -> bool:
    """Whether every row is already a probability distribution (the model ends in a softmax)."""
    return bool(np.all(scores >= 0) and np.allclose(scores.sum(axis=1), 1.0, rtol=0, atol=_SUM_TOLERANCE))


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))  # shifting by the row max avoids overflow
    return shifted / shifted.sum(axis=1, keepdims=True)
