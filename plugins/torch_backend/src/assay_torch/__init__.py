"""assay-torch: the PyTorch backend of assay.

Installed beside ``assay``, it is found through the ``assay.plugins`` entry point ``torch`` (the module
:mod:`assay_torch.hooks`) and makes ``library="torch"`` available to ``assay.Experiment.make``.

Torch has no ``fit``, so the package ships one: :func:`assay_torch.fit` trains a model over batches and epochs,
evaluates it after each epoch and returns a Keras-style history. A typical ``fn_train`` is one line::

    def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
        return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate,
                                      epochs=hp["epoch_count"], batch_size=hp["batch_size"])

What the backend expects of a model, by analysis type (see :mod:`assay_torch.hooks` for the details):

* ``regression``: any output; default loss ``nn.L1Loss``.
* ``classification_binary``: **the model must end in a sigmoid** (one output column holding the positive-class
  probability); default loss ``nn.BCELoss``, labels are 0/1 floats of shape ``(n, 1)``. With a one-hot label
  ``(n, 2)`` the model ends in a two-unit ``nn.Softmax(dim=1)`` instead.
* ``classification_multi``: the model outputs one column per class, as logits (the usual torch way) or already
  softmaxed; default loss ``nn.CrossEntropyLoss``, labels are class indices (one-hot labels are converted).

Importing this package does not import torch: every process that loads assay's plugins imports it.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# imported on first access so that ``import assay_torch.hooks`` (done by every process loading plugins) stays light
_LAZY = {"fit": "assay_torch.training", "evaluate": "assay_torch.training"}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'assay_torch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
