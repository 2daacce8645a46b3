"""Data in: ingestion, encoders, stratified splits and folds, and the persisted Splitset."""

from assay import lazy

__getattr__ = lazy.submodules(__name__)  # submodules load on first access (assay.lazy)
