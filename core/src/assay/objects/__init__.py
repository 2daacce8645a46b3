"""The public objects (top layer): what ``assay.Dataset``, ``assay.Splitset``, ``assay.Queue``, ... are.

Each wraps one stored row and offers the convenience methods users call (``queue.run_jobs()``,
``queue.leaderboard()``, ``predictor.infer(df)``, ...), which hand ids and rows down to the layers below. Nothing
below this package imports it.
"""

from assay import lazy

__getattr__ = lazy.submodules(__name__)  # submodules load on first access (assay.lazy)
