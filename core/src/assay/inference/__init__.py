"""Models inferred: predictions on new data, forecasts, and portable bundles."""

from assay import lazy

__getattr__ = lazy.submodules(__name__)  # submodules load on first access (assay.lazy)
