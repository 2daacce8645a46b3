"""assay's hooks for ``library="torch"`` (entry point ``torch`` in the group ``assay.plugins``).

The backend is a :class:`assay.backend.LibraryBackend` subclass, as README tells third parties to write theirs:
the base class answers every backend hook for ``library == "torch"`` only and calls the methods below. torch is
imported inside the methods, never at module level: every process that loads assay's plugins imports this
module.

Defaults by analysis type:

================================  ==============================  ===========================================
analysis type                     default loss (``fn_lose=None``)  what the model must output
================================  ==============================  ===========================================
``regression``                    ``nn.L1Loss()``                 one column per label column
``classification_binary``         ``nn.BCELoss()``                one column, **ending in a sigmoid**
``classification_multi``          ``nn.CrossEntropyLoss()``       one column per class (logits or softmax)
================================  ==============================  ===========================================

A binary model may instead end in a two-unit ``nn.Softmax(dim=1)`` when the label is one-hot ``(n, 2)``
(``OneHotEncoder``); the probability of column 1 is the positive class's. The binary default expects
probabilities: a model that ends in a logit needs ``fn_lose`` returning
``nn.BCEWithLogitsLoss()`` *and* an ``fn_predict`` that applies ``torch.sigmoid``; the default predict refuses
outputs outside ``[0, 1]`` instead of thresholding logits at 0.5. The default optimizer is
``torch.optim.Adamax(model.parameters())`` for every analysis type.

Labels are converted for those losses by :func:`assay_prepare_samples` (see :mod:`assay_torch.samples`):
class indices for multi-class (one-hot rows are converted, anything else ambiguous is refused), ``(n, 1)`` 0/1
floats for binary, floats for regression. Models are stored as ``state_dict`` bytes and rebuilt with
``fn_build`` (:mod:`assay_torch.persistence`).
"""

from __future__ import annotations

import os
import random
from typing import Any

from assay import errors
from assay.backend import LibraryBackend
from assay.contracts import TrainResult

LIBRARY = "torch"
_DEFAULT_LOSSES = {
    "regression": "L1Loss",
    "classification_binary": "BCELoss",
    "classification_multi": "CrossEntropyLoss",
}


class TorchBackend(LibraryBackend):
    """``library="torch"``: ``torch.nn.Module`` models, stored as weights-only ``state_dict`` bytes."""

    library = LIBRARY

    def default_loss(self, analysis_type: str) -> Any:
        """``nn.L1Loss`` / ``nn.BCELoss`` (sigmoid output) / ``nn.CrossEntropyLoss`` (class-index labels).

        Answers ``None`` for analysis types other than the three built-in ones, so a plugin that adds one can
        give its own default.
        """
        if analysis_type not in _DEFAULT_LOSSES:
            return None
        from torch import nn

        return getattr(nn, _DEFAULT_LOSSES[analysis_type])()

    def default_optimizer(self, analysis_type: str, model: Any) -> Any:
        """``torch.optim.Adamax`` over the model's parameters, with torch's default learning rate."""
        import torch

        return torch.optim.Adamax(model.parameters())

    def prepare_samples(self, analysis_type: str, samples: dict[str, Any]) -> dict[str, Any]:
        """Features as float32 tensors, labels encoded for the default loss of the analysis type."""
        from assay_torch import samples as torch_samples

        return torch_samples.prepare(analysis_type, samples)

    def train(self, analysis_type, fn_train, model, loser, optimizer, samples_train, samples_evaluate,
              hyperparameters) -> TrainResult:
        """Call ``fn_train``; it returns the model (history from its last ``assay_torch.fit``) or
        ``(model, history)``."""
        from torch import nn

        from assay_torch import training

        result = fn_train(model, loser, optimizer, samples_train, samples_evaluate, **(hyperparameters or {}))
        if result is None:
            raise errors.ExperimentError(
                "fn_train",
                "returned None; end it with `return model` or `return model, history` (the history that "
                "assay_torch.fit returns)",
            )
        if isinstance(result, tuple):
            if len(result) != 2:
                raise errors.ExperimentError(
                    "fn_train", f"returned a tuple of {len(result)} items; return the model or (model, history)"
                )
            trained, history = result
            if isinstance(trained, nn.Module):
                training.last_history(trained, pop=True)
        else:
            trained = result
            history = training.last_history(trained, pop=True) if isinstance(trained, nn.Module) else None
        if not isinstance(trained, nn.Module):
            raise errors.ExperimentError(
                "fn_train",
                f"returned {type(trained).__name__} where the trained torch.nn.Module was expected; return the "
                "model or (model, history)",
            )
        return TrainResult(model=trained, history=_plain_history(history))

    def default_predict(self, analysis_type: str, model: Any, samples: dict[str, Any]) -> Any:
        """Binary: threshold the sigmoid output at 0.5; multi: argmax and softmax; regression: raw outputs.

        Answers ``None`` for analysis types other than the three built-in ones.
        """
        if analysis_type not in _DEFAULT_LOSSES:
            return None
        from assay_torch import predicting

        return predicting.predict(analysis_type, model, samples)

    def evaluate_loss(self, analysis_type: str, model: Any, loser: Any, samples: dict[str, Any]) -> float:
        """The mean loss over the split's rows, in ``eval()`` mode."""
        from assay_torch import training

        return training.evaluate(model, loser, samples)["loss"]

    def model_to_bytes(self, model: Any) -> bytes:
        """``torch.save(model.state_dict())``: weights only, no pickled code."""
        from assay_torch import persistence

        return persistence.to_bytes(model)

    def model_from_bytes(self, data, fn_build, features_shape, label_shape, hyperparameters):
        """``fn_build(features_shape, label_shape, **hyperparameters)`` then the weights-only ``state_dict``."""
        from assay_torch import persistence

        return persistence.from_bytes(data, fn_build, features_shape, label_shape, hyperparameters)

    def model_export(self, model: Any, example: Any) -> Any:
        """A ``torch.export`` program traced on the example's shapes with a free batch dimension."""
        from assay_torch import exporting

        return exporting.export(model, example)

    def model_from_export(self, data: bytes, format: str) -> Any:
        """The graph and weights, run by assay's reader (else ``torch.export.load``): no ``fn_build``, no pickle."""
        from assay_torch import exporting

        return exporting.load(data, format)

    def seed(self, seed: int) -> None:
        """Seed torch, numpy and ``random``, and make torch use deterministic algorithms (warning where it has
        none)."""
        import numpy as np
        import torch

        # cuBLAS is only deterministic with a fixed workspace; it must be set before the first CUDA matmul
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)

    def clear_session(self) -> None:
        """Nothing to release: torch keeps no graph or global state between models.

        A finished model is freed when its last reference goes; the few cycles a model may hold are left to the
        runner, which collects garbage when the process's memory grows (:mod:`assay.experiment.reclaim`). A full
        collection here, after every job, cost more than training a small model.
        """

    def channels_last(self) -> bool:
        return False  # torch.nn.Conv2d takes (batch, channels, height, width), as assay stores images

    def library_versions(self) -> dict[str, str]:
        import torch

        return {"torch": torch.__version__}


def _plain_history(history: Any) -> dict[str, list[float]]:
    """The history as ``{name: [float per epoch]}``; torch tensors and numpy numbers become floats."""
    if history is None:
        return {}
    if not isinstance(history, dict):
        raise errors.ExperimentError(
            "fn_train",
            f"returned (model, {type(history).__name__}); the second item must be the history dict "
            "({'loss': [...], ...}) that assay_torch.fit returns",
        )
    try:
        return {str(name): [float(value) for value in values] for name, values in history.items()}
    except (TypeError, ValueError) as exc:
        raise errors.ExperimentError(
            "fn_train", f"the history must map names to lists of numbers, one per epoch ({exc})"
        ) from exc


#: the backend; the entry point names this module, so its hook implementations become the module's own
plugin = TorchBackend()
globals().update(plugin.hookimpls())
