"""assay: object-oriented MLOps for Keras, PyTorch and scikit-learn.

``import assay`` is cheap: the plugin manager and the heavier modules load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from assay import errors
from assay.db.engine import setup
from assay.environment import apply_plugin_defaults

__version__ = "0.1.0"

# before the user imports an ML library, which may read its settings from the environment only then
apply_plugin_defaults()

# public name -> module that defines it; imported on first access
_LAZY = {
    "datum": "assay.datum",
    "Pipeline": "assay.data.pipeline",
    "Dataset": "assay.data.objects",
    "Splitset": "assay.data.objects",
    "Fold": "assay.data.objects",
    "Experiment": "assay.experiment.make",
    "Algorithm": "assay.experiment.objects",
    "Queue": "assay.experiment.objects",
    "Job": "assay.experiment.objects",
    "Predictor": "assay.experiment.objects",
    "Prediction": "assay.experiment.objects",
    "load_bundle": "assay.inference.bundle",
    "TrainingCallback": "assay.callbacks",
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
