"""Results evaluated: leaderboards, plots, reports, feature importance, search history."""

from assay import lazy

__getattr__ = lazy.submodules(__name__)  # submodules load on first access (assay.lazy)
