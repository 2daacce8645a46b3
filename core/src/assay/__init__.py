"""assay: object-oriented MLOps for Keras, PyTorch and scikit-learn.

``import assay`` is cheap: the plugin manager and the heavier modules load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from assay import errors
from assay.environment import apply_plugin_defaults

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time each name loads on first access (below)
    from assay import datum
    from assay.callbacks import TrainingCallback
    from assay.db.engine import setup
    from assay.inference.bundle import load_bundle
    from assay.objects.data import Dataset, Fold, Splitset
    from assay.objects.experiment import Algorithm, Hyperparamset, Job, Prediction, Predictor, Queue
    from assay.objects.make import Experiment
    from assay.objects.pipeline import Pipeline
    from assay.objects.steps import Coder, Encoderset, Feature, Foldset, Label

__version__ = "0.1.0"

# before the user imports an ML library, which may read its settings from the environment only then
apply_plugin_defaults()

# public name -> module that defines it; imported on first access
_LAZY = {
    "setup": "assay.db.engine",  # SQLAlchemy loads with it: `assay predict` of a bundle never needs a database
    "datum": "assay.datum",
    "Pipeline": "assay.objects.pipeline",
    "Dataset": "assay.objects.data",
    "Splitset": "assay.objects.data",
    "Fold": "assay.objects.data",
    "Label": "assay.objects.steps",
    "Feature": "assay.objects.steps",
    "Encoderset": "assay.objects.steps",
    "Coder": "assay.objects.steps",
    "Foldset": "assay.objects.steps",
    "Hyperparamset": "assay.objects.experiment",
    "Experiment": "assay.objects.make",
    "Algorithm": "assay.objects.experiment",
    "Queue": "assay.objects.experiment",
    "Job": "assay.objects.experiment",
    "Predictor": "assay.objects.experiment",
    "Prediction": "assay.objects.experiment",
    "load_bundle": "assay.inference.bundle",
    "TrainingCallback": "assay.callbacks",
}

__all__ = [  # noqa: RUF022  (grouped as in the docs, not sorted)
    "__version__", "errors", "setup", "datum", "Pipeline", "Dataset", "Splitset", "Fold", "Experiment", "Algorithm",
    "Queue", "Job", "Predictor", "Prediction", "load_bundle",
    # the step-by-step API (AIQC's low-level objects) and AIQC's callbacks
    "Label", "Feature", "Encoderset", "Coder", "Foldset", "Hyperparamset", "TrainingCallback",
]


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
