"""Data in: readers, encoders, splits and folds (the modules here), the splitsets they build (:mod:`assay.data.build`)
and what is read back of them (:mod:`assay.data.read`)."""

from assay import lazy

__getattr__ = lazy.submodules(__name__)  # submodules load on first access (assay.lazy)
