"""assay: object-oriented MLOps for Keras, PyTorch and scikit-learn.

``import assay`` is cheap: the plugin manager and the heavier modules load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from assay import errors
from assay.db.engine import setup

__version__ = "0.1.0"

# public name -> module that defines it; imported on first access
_LAZY = {
    "datum": "assay.datum",
    "Pipeline": "assay.objects.pipeline",
    "Dataset": "assay.objects.data",
    "Splitset": "assay.objects.data",
    "Fold": "assay.objects.data",
    "Experiment": "assay.objects.make",
    "Algorithm": "assay.objects.experiment",
    "Queue": "assay.objects.experiment",
    "Job": "assay.objects.experiment",
    "Predictor": "assay.objects.experiment",
    "Prediction": "assay.objects.experiment",
    "load_bundle": "assay.inference.bundle",
}

__all__ = ["__version__", "errors", "setup", *_LAZY]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'assay' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name == f"assay.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
