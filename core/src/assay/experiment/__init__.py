"""The experiment engine: queues defined, jobs claimed and run by workers, hyperparameter search."""

from assay import lazy

__getattr__ = lazy.submodules(__name__)  # submodules load on first access (assay.lazy)
