"""assay: object-oriented MLOps for Keras, PyTorch and scikit-learn.

``import assay`` is cheap: it loads no SQLAlchemy, pandas, scikit-learn or ML library. Every public name below
loads its module on first access, and so does every submodule (``assay.space``, ``assay.plugins``...).
Type checkers and IDEs read the names from ``__init__.pyi``.
"""

from __future__ import annotations

import importlib
from typing import Any

from assay import errors, lazy
from assay.environment import apply_plugin_defaults

__version__ = "0.1.0"

# before the user imports an ML library, which may read its settings from the environment only then
apply_plugin_defaults()

# public name -> module that defines it; imported on first access
_LAZY = {
    "setup": "assay.db.engine",
    "space": "assay.space",
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
    "Ensemble": "assay.objects.ensemble",
    "load_bundle": "assay.inference.ensemble_bundle",
    "TrainingCallback": "assay.callbacks",
}

__all__ = [  # noqa: RUF022  (grouped as in the docs, not sorted)
    "__version__", "errors", "setup", "space", "datum", "Pipeline", "Dataset", "Splitset", "Fold", "Experiment",
    "Algorithm", "Queue", "Job", "Predictor", "Prediction", "Ensemble", "load_bundle",
    # the step-by-step API (AIQC's low-level objects) and AIQC's callbacks
    "Label", "Feature", "Encoderset", "Coder", "Foldset", "Hyperparamset", "TrainingCallback",
]

_submodule = lazy.submodules(__name__)


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        return _submodule(name)  # assay.plugins, assay.utils, assay.testing...: documented modules, loaded lazily
    module = importlib.import_module(module_name)
    value = module if module_name == f"assay.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
