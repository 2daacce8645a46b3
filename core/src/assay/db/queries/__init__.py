"""Every SQL query of assay, in functions named for what they return.

Other layers never build a ``select`` or ``update`` themselves: they call these functions with ids and get rows
(detached, readable after the session closed), plain values or DataFrames back. One module per part of the
workflow: :mod:`~assay.db.queries.data` (datasets, splitsets, folds, encoders), :mod:`~assay.db.queries.experiments`
(algorithms, queues, jobs, predictors, predictions), :mod:`~assay.db.queries.claims` (claiming jobs across workers)
and :mod:`~assay.db.queries.results` (metrics and leaderboards).
"""
