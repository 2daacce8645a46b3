"""The public ensemble: a stored selection of a queue's trained models that predicts like one model.

``queue.ensemble(...)`` makes one (see :mod:`assay.evaluation.ensemble` for how it is selected);
``queue.ensembles`` and ``assay.Ensemble.get(id)`` read them back.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING, Any

import numpy as np

from assay import errors, plugins
from assay.db.models import EnsemblePredictionRow, EnsembleRow
from assay.db.queries import ensembles as queries
from assay.db.queries import results as result_queries
from assay.experiment import arrays
from assay.objects.base import Persisted, PredictionArrays, column

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure



class Ensemble(Persisted):
    """A weighted average of a queue's trained models (Caruana's ensemble selection, or the best k averaged).

    Everything a :class:`~assay.Predictor` offers for using a model, an ensemble offers too: ``predictions`` and
    ``metrics`` per split, :meth:`infer`, :meth:`export` (one bundle that ``assay predict`` reads),
    :meth:`feature_importance` and a notebook display.
    """

    _row_type = EnsembleRow

    queue_id = column[int]("the :class:`~assay.Queue` whose models it averages")
    method = column[str]("``caruana`` (greedy selection with replacement) or ``mean`` (the best k equally)")
    size = column[int]("the selection's iterations (``caruana``) or the most candidates averaged (``mean``)")
    candidate_count = column[int]("how many combinations it was selected from")
    metric = column[str]("the metric the selection optimised")
    split = column[str]("the split it was selected on (out-of-fold ``validation`` with folds)")
    higher_is_better = column[bool]("whether a larger :attr:`metric` is better")
    best_iteration = column[int]("the iteration kept: how many picks (caruana) or candidates (mean) it holds")
    curve = column["list[float]"]("the selection split's score after each iteration (the selection curve)")
    candidates = column["list[dict[str, Any]]"](
        "each candidate combination: ``combo_index``, ``weight`` (0: not kept), ``picks``, leaderboard ``score`` "
        "and its number of ``models``")
    out_of_fold = column[bool]("whether the queue has folds, so the selection used out-of-fold predictions")
    created_at = column[dt.datetime]("when it was stored (UTC)")

    @functools.cached_property
    def _members(self) -> list[Any]:
        return queries.member_rows(self.id)

    @property
    def members(self) -> dict[int, float]:
        """``{predictor_id: weight}`` of every model it averages (weights > 0, summing to 1). A member combination's
        weight is spread evenly over its models (its repeats, and with folds its fold models)."""
        return {row.predictor_id: row.weight for row in self._members}

    @property
    def combinations(self) -> dict[int, float]:
        """``{combo_index: weight}`` of the member combinations (summing to 1)."""
        weights: dict[int, float] = {}
        for row in self._members:
            weights[row.combo_index] = weights.get(row.combo_index, 0.0) + row.weight
        return weights

    @property
    def analysis_type(self) -> str:
        """The analysis type of its queue (``assay.Queue.get(ensemble.queue_id)``)."""
        return result_queries.queue_analysis_type_and_grid(self.queue_id)[0]

    @property
    def library(self) -> str:
        """The library of its members."""
        return queries.queue_library(self.queue_id)

    @functools.cached_property
    def predictions(self) -> dict[str, EnsemblePrediction]:
        """Split → its :class:`EnsemblePrediction`, computed from the members' stored predictions."""
        return {row.split: EnsemblePrediction(row) for row in queries.prediction_rows(self.id)}

    @property
    def metrics(self) -> dict[str, dict[str, float]]:
        """Split → metric → value (see :attr:`notes` for what a split's numbers mean)."""
        return {split: dict(prediction.metrics) for split, prediction in self.predictions.items()}

    @property
    def notes(self) -> dict[str, str]:
        """Split → why its numbers are optimistic, where they are: the selection split (the ensemble was chosen
        on it) and, with folds, the in-sample train split."""
        return {split: prediction.note for split, prediction in self.predictions.items() if prediction.note}

    @property
    def inferences(self) -> list[EnsemblePrediction]:
        """Predictions made by :meth:`infer` on new data, oldest first."""
        return [EnsemblePrediction(row) for row in queries.prediction_rows(self.id, inference=True)]

    def run_scores(self, split: str | None = None, metric: str | None = None) -> pd.DataFrame:
        """The ensemble's score per (fold, repeat) on ``split`` (default: the selection split), as a
        combination's runs are scored, for paired comparisons (see
        :func:`assay.evaluation.ensemble.run_scores`)."""
        from assay.evaluation import ensemble

        return ensemble.run_scores(self.id, split=split, metric=metric)

    def infer(self, df_or_path: Any, label_df_or_path: Any = None) -> pd.DataFrame:
        """Predict new raw data as :meth:`assay.Predictor.infer` does (a table, sequence or image samples, or a
        list/dict of each input's data for a multi-input model); every member predicts through its own
        encoders, the outputs are weighted and summed. The result is stored (:attr:`inferences`).

        Returns:
            ``prediction`` and, for classification, ``probability_<class>`` per class; ``attrs["metrics"]`` when
            the labels are known, ``attrs["prediction_id"]``.
        """
        from assay.inference import ensemble_infer

        members = self._inferences()
        return ensemble_infer.infer(self.id, members, df_or_path, label_df_or_path)

    def _inferences(self) -> list[Any]:
        cached = self.__dict__.get("_loaded")
        if cached is None:
            from assay.inference import ensemble_infer

            cached = self.__dict__["_loaded"] = ensemble_infer.member_inferences(self.members)
        return cached

    def export(self, path: str) -> str:
        """Write one bundle holding every member model's bundle and the weights; ``assay.load_bundle(path)`` and
        ``assay predict`` read it without the database. Returns its path."""
        from assay.inference import ensemble_export

        weights, combos = ensemble_export.member_rows_of(self.id)
        return ensemble_export.export(self._row, weights, combos, path)

    def feature_importance(self, split: str = "test", permutation_count: int = 5, refresh: bool = False,
                           sample_rows: int | str | None = "auto") -> pd.DataFrame:
        """The members' permutation importances (each computed once and stored with its model, see
        :meth:`assay.Predictor.feature_importance`), averaged with the ensemble's weights.

        Returns:
            One row per original feature column: ``importance_mean`` (the weighted mean of the members' mean
            drops), ``importance_std`` (the weighted spread of the members' means around it), ``importance_min``
            and ``importance_max`` (over the members' means), most important first.
        """
        from assay.evaluation import ensemble_report

        return ensemble_report.feature_importance(self.members, split, permutation_count, refresh, sample_rows)

    def plot_selection_curve(self) -> Figure:
        """The selection split's score after each iteration, the kept iteration marked."""
        from assay.evaluation import ensemble_report

        return ensemble_report.plot_selection_curve(self.id)

    def _repr_html_(self) -> str:
        """Jupyter's display: metrics per split, members and weights, the selection curve."""
        from assay.evaluation import report

        return report.ensemble_html(self.id)


class EnsemblePrediction(PredictionArrays, Persisted):
    """An ensemble's predictions on one split (or on new data): decoded labels, probabilities and metrics."""

    _row_type = EnsemblePredictionRow

    ensemble_id = column[int]("the :class:`Ensemble` that made it")
    split = column[str]("``train``, ``validation``, ``test``, or ``inference`` for new data")
    row_count = column[int]("how many rows it covers")
    metrics = column["dict[str, float]"]("metric name -> value on these rows")
    note = column["str | None"]("why these numbers are optimistic, where they are")
    arrays = column[bytes]("the stored arrays (read through :attr:`predictions` and friends)")
    created_at = column[dt.datetime]("when it was stored (UTC)")

    @functools.cached_property
    def _arrays(self) -> dict[str, np.ndarray]:
        return arrays.loads(queries.prediction_arrays(self.id))

    def plot(self, name: str) -> Figure:
        """Draw one of the plots registered for the ensemble's analysis type (see ``assay_plots``)."""
        analysis_type = Ensemble.get(self.ensemble_id).analysis_type
        available = plugins.plots(analysis_type)
        if name not in available:
            raise errors.ValidationError("name", f"{name!r} is not a plot for {analysis_type!r} predictions; use one "
                                         f"of: {', '.join(sorted(available))}")
        return available[name](self)
