"""Hyperparameter search: which combinations a queue runs and which runs stop early.

:mod:`~assay.experiment.search.space_checks` checks the space and converts it (stored JSON, Optuna distributions);
:mod:`~assay.experiment.search.strategies` checks the strategy and the objective and makes a grid's or a random
search's combinations up front; :mod:`~assay.experiment.search.study` keeps an adaptive queue's combinations as an
in-memory Optuna study; :mod:`~assay.experiment.search.adaptive` adds the next combination when a worker finds
nothing queued; :mod:`~assay.experiment.search.pruning` stops a run whose per-epoch objective falls behind;
:mod:`~assay.experiment.search.optuna_storage` is the one place that touches Optuna's private attributes. Their SQL
is :mod:`assay.db.queries.search`.
"""

from assay import lazy

__getattr__ = lazy.submodules(__name__)  # submodules load on first access (assay.lazy)
