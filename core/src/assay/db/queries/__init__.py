"""Every SQL query of assay, in functions named for what they return.

Other layers never build a ``select`` or ``update`` themselves: they call these functions with ids and get rows
(detached, readable after the session closed), plain values or DataFrames back. One module per part of the
workflow: :mod:`~assay.db.queries.data` (datasets, splitsets, folds, encoders), :mod:`~assay.db.queries.experiments`
(algorithms, queues, jobs, predictors, predictions), :mod:`~assay.db.queries.claims` (claiming jobs across workers)
:mod:`~assay.db.queries.results` (metrics and leaderboards) and :mod:`~assay.db.queries.dashboard` (the small
summaries the web dashboard and the notebook displays show).
"""

from assay import lazy

__getattr__ = lazy.submodules(__name__)  # submodules load on first access (assay.lazy)
