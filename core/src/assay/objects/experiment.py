"""The persisted objects of an experiment: Algorithm, Queue, Job, Predictor, Prediction.

They wrap detached rows (see :class:`~assay.objects.base.Persisted`): columns are plain attributes, related
objects come from explicit queries, so everything stays usable after its session closed and in other processes.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from assay import errors
from assay.db.models import AlgorithmRow, HyperparamsetRow, JobRow, PredictionRow, PredictorRow, QueueRow
from assay.db.queries import comparison as comparison_queries
from assay.db.queries import data as data_queries
from assay.db.queries import experiments as queries
from assay.db.queries import steps as step_queries
from assay.evaluation import leaderboard
from assay.experiment import arrays, definition, truth
from assay.experiment.functions import load_functions
from assay.experiment.trained import Trained
from assay.experiment.workers import run_in_process, run_parallel
from assay.objects.base import Persisted, PredictionArrays, column
from assay.objects.data import Splitset
from assay.objects.ensemble import Ensemble

# plots, reports, feature importance and inference load matplotlib or a model library: each method imports its
# module on first use, so ``assay.Queue`` stays cheap to import (worker processes import it too)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from assay.evaluation.comparison import Comparison
    from assay.experiment.outcomes import RunSummary
    from assay.inference.mlflow_export import ExportSummary


class Algorithm(Persisted):
    """A library, an analysis type and the user's five functions (serialised, with their source kept)."""

    _row_type = AlgorithmRow

    library = column[str]("the ML library of the functions (``keras``, ``torch``, or one a plugin provides)")
    analysis_type = column[str]("``regression``, ``classification_binary``, ``classification_multi`` or a plugin's")
    sources = column["dict[str, str | None]"]("each function's source code, for display (``None`` if unknown)")
    created_at = column[dt.datetime]("when it was stored (UTC)")

    @property
    def functions(self) -> dict[str, Any]:
        """``{"fn_build": ..., "fn_train": ..., "fn_lose": ..., "fn_optimize": ..., "fn_predict": ...}``."""
        return load_functions(self.id)

    def get_code(self, function: str | None = None) -> str | dict[str, str | None]:
        """The source of the user's functions as stored with the algorithm (AIQC 6's ``get_code``).

        Args:
            function: ``"fn_build"``, ``"fn_train"``, ... for one function's source; ``None`` for all of them,
                ``{name: source}`` (``None`` where the default was used or the source was unavailable).

        Raises:
            assay.errors.ValidationError: an unknown function name, or a function with no stored source.
        """
        sources = dict(self.sources or {})
        if function is None:
            return sources
        if function not in sources:
            raise errors.ValidationError("function", f"{function!r} is not one of {sorted(sources)}")
        if sources[function] is None:
            raise errors.ValidationError("function", f"algorithm {self.id} stored no source for {function} (the "
                                         "default was used, or its source was not available)")
        return sources[function]

    @classmethod
    def make(cls, library: str, analysis_type: str, fn_build: Callable[..., Any], fn_train: Callable[..., Any],
             fn_predict: Callable[..., Any] | None = None, fn_lose: Callable[..., Any] | None = None,
             fn_optimize: Callable[..., Any] | None = None, description: str | None = None) -> Algorithm:
        """Store a library, an analysis type and the five functions (step-by-step API; the first part of
        ``Experiment.make``, checked the same way). ``description`` is accepted for AIQC scripts.

        Raises:
            assay.errors.AssayError: an unknown library or analysis type, or a function that cannot be called
                as the runner calls it; nothing is stored then.
        """
        functions = {"fn_build": fn_build, "fn_train": fn_train, "fn_lose": fn_lose, "fn_optimize": fn_optimize,
                     "fn_predict": fn_predict}
        fields = definition.algorithm_fields(library, analysis_type, functions, None)
        return cls(step_queries.store_algorithm(fields))

    def make_hyperparamset(self, hyperparameters: dict[str, list[Any]], search_count: int | None = None,
                           search_percent: float | None = None, seed: int | None = None,
                           description: str | None = None) -> Hyperparamset:
        """Store a hyperparameter grid for this algorithm: every combination, or a seeded random subset of
        ``search_count`` of them (or ``search_percent``), as ``Experiment.make`` chooses them with its ``seed``.

        Raises:
            assay.errors.ExperimentError: a grid that is not a dict of non-empty lists of JSON values, or a
                function that cannot take its keys; nothing is stored then.
        """
        grid = definition.check_grid(hyperparameters)
        functions = self.functions
        for name in definition.SIGNATURES:
            definition.check_function(name, functions.get(name), list(grid))
        seed = definition.check_seed(seed)
        strategy, combos = definition.combinations(grid, search_count, search_percent, seed)
        return Hyperparamset(step_queries.store_hyperparamset(
            dict(grid=grid, search_count=search_count, search_percent=search_percent, search=strategy,
                 algorithm_id=self.id), combos
        ))

    def make_queue(self, splitset_id: int, foldset_id: int | None = None, hyperparamset_id: int | None = None,
                   repeat_count: int = 1, permute_count: int = 0, hide_test: bool = False, seed: int | None = None,
                   max_attempts: int = 3) -> Queue:
        """A queue of jobs training this algorithm on a splitset (step-by-step API; the last part of
        ``Experiment.make``, checked and stored the same way).

        A splitset from ``Splitset.make`` is encoded first (its labelcoder and featurecoders fitted).

        Args:
            splitset_id: the splitset to train on.
            foldset_id: its foldset (``splitset.make_foldset``), required when it has folds.
            hyperparamset_id: a hyperparameter set of this algorithm; ``None``: one run without hyperparameters.
            repeat_count, permute_count, hide_test, seed, max_attempts: as in ``Experiment.make``.
        """
        seed = definition.check_seed(seed)
        splitset, pending_encoding = definition.queue_splitset(splitset_id, self.analysis_type)
        queue = definition.queue_fields(splitset.id, repeat_count, hide_test, seed, max_attempts, permute_count)
        definition.check_foldset(splitset.id, foldset_id, required=True)
        new_hyperparamset, combination_ids = None, []
        if hyperparamset_id is None:  # one run without hyperparameters: stored with the queue
            strategy, combos = definition.combinations({}, None, None, seed)
            new_hyperparamset = (dict(grid={}, search_count=None, search_percent=None, search=strategy,
                                      algorithm_id=self.id), combos)
        else:
            hyperparamset = Hyperparamset.get(hyperparamset_id)
            if hyperparamset.algorithm_id != self.id:
                raise errors.ExperimentError(
                    "hyperparamset_id", f"hyperparamset {hyperparamset_id} was made by algorithm "
                    f"{hyperparamset.algorithm_id}, not {self.id}: use algorithm.make_hyperparamset"
                )
            combination_ids = step_queries.combination_ids(hyperparamset.id)
        # the splitset's encoders (when made step by step), a hyperparameter set if none was given, the queue
        # and its jobs: one transaction, after every check
        row = queries.store_queue_for(
            self.id, hyperparamset_id, combination_ids, data_queries.fold_ids(splitset.id) or [(None, None)], queue,
            encoding=None if pending_encoding is None else pending_encoding.rows, hyperparamset=new_hyperparamset,
        )
        return Queue(row)


class Hyperparamset(Persisted):
    """A hyperparameter grid and the combinations chosen from it (``algorithm.make_hyperparamset``)."""

    _row_type = HyperparamsetRow

    grid = column["dict[str, list[Any]]"]("the grid: each hyperparameter's values")
    search_count = column["int | None"]("how many combinations were drawn at random (``None``: all)")
    search_percent = column["float | None"]("the share of combinations drawn at random (``None``: all)")
    combination_count = column[int]("how many combinations it holds")
    search = column[str]("``grid``, ``random`` (up front) or an adaptive strategy (``tpe``, ``gp``, ``cmaes``)")
    objective = column["dict[str, str] | None"]("``{\"metric\", \"split\", \"direction\"}`` the search optimises")
    pruner = column["bytes | None"]("the pickled Optuna pruner that stops bad runs early (``None``: none)")
    algorithm_id = column["int | None"]("the :class:`Algorithm` that made it (``None`` from Experiment.make)")


class Queue(Persisted):
    """An experiment: every hyperparameter combination, on every fold, repeated; run with :meth:`run_jobs`."""

    _row_type = QueueRow

    algorithm_id = column[int]("the :class:`Algorithm` it trains")
    splitset_id = column[int]("the :class:`~assay.Splitset` it trains on")
    hyperparamset_id = column[int]("the stored hyperparameter grid (see :attr:`hyperparameters`)")
    repeat_count = column[int]("how many times each combination is trained")
    hide_test = column[bool]("whether the test split is kept out of training and evaluation")
    seed = column[int]("seeds the search and every job")
    max_attempts = column[int]("how often a job whose worker died is tried before it is marked failed")
    job_count = column[int]("how many jobs it has (combinations x folds x repeats)")
    permute_count = column[int]("permutations of the train-split feature importance run_jobs stores (0: none)")
    conformal = column["dict[str, Any] | None"]("``{alpha, split, method}``: every model is calibrated after "
                                                "training (``Experiment.make(conformal_alpha=...)``), or ``None``")
    rope = column["float | None"]("the region of practical equivalence of :meth:`compare` set for this queue")
    created_at = column[dt.datetime]("when it was made (UTC)")

    # -- related objects -------------------------------------------------------------------------------------

    @property
    def algorithm(self) -> Algorithm:
        return Algorithm.get(self.algorithm_id)

    @property
    def splitset(self) -> Splitset:
        return Splitset.get(self.splitset_id)

    @property
    def library(self) -> str:
        return self.algorithm.library

    @property
    def analysis_type(self) -> str:
        return self.algorithm.analysis_type

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The space this queue was made from: name → list of values, or an ``assay.space`` range."""
        from assay import space

        return {name: space.from_json(values) for name, values in (queries.grid(self.hyperparamset_id) or {}).items()}

    @property
    def search(self) -> dict[str, Any]:
        """How the combinations are chosen: ``{"search", "search_count", "objective", "pruner"}``."""
        return queries.search_summary(self.hyperparamset_id)

    @property
    def jobs(self) -> list[Job]:
        """Every job, in run order (combination, fold, repeat)."""
        return [Job(row) for row in queries.job_rows(self.id)]

    @property
    def predictors(self) -> list[Predictor]:
        """The trained models of succeeded jobs, in run order."""
        return [Predictor(row) for row in queries.predictor_rows(self.id)]

    # -- running ---------------------------------------------------------------------------------------------

    def run_jobs(self, workers: int | None = None, executor: Any = None, progress: bool = True,
                 threads: int | None = None, lease_seconds: float | None = None) -> RunSummary:
        """Run every job not finished yet; interrupted and called again, it resumes where it stopped.

        Args:
            workers: run in this many local worker processes (default: in this process). They stay, with the
                library imported, for the next ``run_jobs`` (any queue, any database), so only the first call of
                a session waits for them to start; ``assay.experiment.workers.stop_workers()`` ends them.
            executor: a ``dask.distributed.Client`` to run workers on a Dask cluster.
            progress: show a progress bar over all runs.
            threads: BLAS/OpenMP/TensorFlow/torch threads per worker process (with ``workers`` or ``executor``).
            lease_seconds: how long a worker's claim on a job lasts without a heartbeat before another worker
                may take the job again (with ``workers`` or ``executor``; default ``ASSAY_LEASE_SECONDS`` or 60).

        Returns:
            The counts of succeeded and failed jobs (also printed).
        """
        if workers is not None or executor is not None:
            summary = run_parallel(self.id, workers=workers, executor=executor, progress=progress,
                                   threads=threads, lease_seconds=lease_seconds)
        else:
            summary = run_in_process(self.id, progress=progress)
        self._permute()
        self._calibrate()
        return summary

    def _calibrate(self) -> None:
        """With ``conformal_alpha``, the conformal calibration of every trained model that lacks it."""
        from assay.evaluation import conformal

        setting = self.conformal
        if not setting:
            return
        for predictor_id in comparison_queries.uncalibrated_predictor_ids(self.id):
            conformal.calibrate(predictor_id, self.analysis_type, alpha=setting["alpha"], split=setting["split"],
                                method=setting.get("method"))

    def compare(self, a: int | Ensemble, b: int | Ensemble, metric: str | None = None, split: str | None = None,
                rope: float | None = None, *, resamples: int = 2000, seed: int = 0) -> Comparison:
        """Is combination ``a`` really better than combination ``b``? A paired comparison of what is stored.

        With folds, the runs are paired by (fold, repeat): the Nadeau-Bengio corrected resampled t-test gives the
        p-value and the 95% interval, the Bayesian correlated t-test (rho = 1/k) the probabilities. With one split,
        a paired, seeded bootstrap over its rows of the two combinations' stored predictions (repeats averaged)
        gives all of them. See :func:`assay.evaluation.comparison.compare` and docs/evaluation.md.

        Either side may be an :class:`~assay.Ensemble` of this queue (``queue.compare(ensemble, 3)``; an
        ensemble's id reads as ``assay.Ensemble.get(id)``; a plain int is always a combination index): with folds
        its per-(fold, repeat) scores pair with the combination's runs, with one split its stored predictions enter
        the same bootstrap. Compared on the split it was selected on (by default the objective's split), its score
        is optimistic: the comparison's ``notes`` and display say so; pass ``split="test"`` for an honest one.

        Args:
            a, b: combination indexes (the leaderboard's ``combo_index``), or ensembles of this queue.
            metric, split: default: the leaderboard's (the queue's objective; with an ensemble and an objective on
                the training loss, the analysis type's main metric).
            rope: the region of practical equivalence in the metric's units; default: the queue's ``rope``, else
                0.01 for bounded scores (accuracy, F1, AUC, R²) and 1% of the better mean for losses and errors.
            resamples, seed: the bootstrap's resamples (at least 2,000) and seed, with one split.

        Returns:
            A :class:`~assay.evaluation.comparison.Comparison`: ``method``, ``n_pairs``, ``mean_difference``
            (a minus b), ``ci_low``/``ci_high``, ``p_value``, ``prob_better``/``prob_equivalent``/``prob_worse``
            (a better than b in the metric's direction), ``rope``, ``a_name``/``b_name`` ("combination 3",
            "ensemble 2"), ``notes`` (why a side is optimistic), ``plot()``.

        Raises:
            assay.errors.ValidationError: as :func:`~assay.evaluation.comparison.compare`; an ensemble of another
                queue (naming ``a`` or ``b``).
        """
        from assay.evaluation import comparison

        def side(value: Any) -> Any:
            return comparison.EnsembleSide(value.id) if isinstance(value, Ensemble) else value

        return comparison.compare(self.id, side(a), side(b), metric=metric, split=split, rope=rope,
                                  resamples=resamples, seed=seed)

    def _permute(self) -> None:
        """With ``permute_count``, the train-split feature importance of every model that lacks it (AIQC's
        importance after training). Already stored results are kept, so a resumed run computes only new ones."""
        permute_count = self.permute_count or 0
        if permute_count < 1 or self.splitset.label_column is None:
            return
        for predictor in self.predictors:
            if "train" in predictor.predictions:
                predictor.feature_importance(split="train", permutation_count=permute_count)

    def status(self) -> dict[str, Any]:
        """Counts of queued / running / succeeded / failed / pruned jobs, and the failed jobs' errors.

        ``planned`` counts the jobs an adaptive search has yet to create (its combinations are added as results
        arrive); ``total`` includes them.
        """
        return queries.queue_status(self.id)

    def _repr_html_(self) -> str:
        """Jupyter's display: progress per job state, the top of the leaderboard and the first failures."""
        from assay.objects import display

        return display.queue_html(self.id)

    def retry_failed(self) -> int:
        """Queue the failed jobs again; returns how many."""
        return queries.requeue_failed_jobs(self.id)

    # -- evaluation ------------------------------------------------------------------------------------------

    def metrics_to_pandas(self, selected_metrics: str | list[str] | None = None,
                          sort_by: str | list[str] | None = None, ascending: bool = False) -> pd.DataFrame:
        """One row per trained model and split: hyperparameters, fold, repeat and a column per metric.

        AIQC's arguments: ``selected_metrics`` keeps only these metric columns, ``sort_by`` sorts the rows by
        these columns (``ascending=False`` by default, as AIQC). Without them the table is in run order, splits
        as train, validation, test (see :func:`assay.evaluation.leaderboard.metrics_to_pandas`).

        Raises:
            assay.errors.ValidationError: an unknown metric (``selected_metrics``) or column (``sort_by``); the
                message lists the available ones.
        """
        if selected_metrics is None and sort_by is None:
            return leaderboard.metrics_to_pandas(self.id)
        from assay.evaluation import aiqc_tables

        return aiqc_tables.metrics_to_pandas(self.id, selected_metrics=selected_metrics, sort_by=sort_by,
                                             ascending=ascending)

    def metrics_aggregate_to_pandas(self, ascending: bool = False, selected_metrics: str | list[str] | None = None,
                                    selected_stats: str | list[str] | None = None,
                                    sort_by: str | list[str] | None = None) -> pd.DataFrame:
        """AIQC's aggregate: one row per model and metric, with its ``mean``, ``median``, ``pstdev``, ``minimum``
        and ``maximum`` over the splits the model was evaluated on (see
        :func:`assay.evaluation.aiqc_tables.metrics_aggregate`; :meth:`leaderboard` aggregates over repeats and
        folds instead). ``selected_metrics`` / ``selected_stats`` keep only those rows / columns; ``sort_by``
        sorts by these columns in the ``ascending`` direction.

        Raises:
            assay.errors.ValidationError: an unknown metric, statistic or sort column, naming the available ones.
        """
        from assay.evaluation import aiqc_tables

        return aiqc_tables.metrics_aggregate(self.id, ascending=ascending, selected_metrics=selected_metrics,
                                             selected_stats=selected_stats, sort_by=sort_by)

    def leaderboard(self, split: str | None = None, metric: str | None = None) -> pd.DataFrame:
        """One row per hyperparameter combination, mean and std over repeats and folds, best first; the last
        columns ``p_value_vs_best`` and ``tied_with_best`` (not significantly different from rank 1 at 0.05) say
        which combinations the data cannot tell from the best (see :meth:`compare`,
        :func:`assay.evaluation.leaderboard.leaderboard`). The combinations with a starred model
        (``predictor.flip_star()``) come first (``starred`` column), their ``rank`` unchanged."""
        from assay.evaluation import stars

        return stars.starred_first(leaderboard.leaderboard(self.id, split=split, metric=metric))

    def plot_performance(self, split: str | None = None, metric: str | None = None, max_loss: float | None = None,
                         min_accuracy: float | None = None, min_r2: float | None = None) -> Figure:
        """Every model compared: loss against the main score, and each hyperparameter's effect.

        AIQC's thresholds leave models out, as AIQC did: one whose ``loss`` is at least ``max_loss``, or whose
        accuracy (classification) / r2 (regression) is at most ``min_accuracy`` / ``min_r2``, on any split.

        Raises:
            assay.errors.ValidationError: no trained model yet, an unknown ``split``/``metric``, a threshold that
                does not fit the analysis type (``min_r2`` for classification, ``min_accuracy`` for regression), or
                thresholds that leave no model.
        """
        from assay.evaluation import aiqc_tables, plots

        kept = aiqc_tables.performance_predictor_ids(self.id, max_loss=max_loss, min_accuracy=min_accuracy,
                                                     min_r2=min_r2)
        return plots.plot_performance(self.id, split=split, metric=metric, predictor_ids=kept)

    def search_history(self) -> pd.DataFrame:
        """One row per combination in the order the search made them: its state, objective value, best so far."""
        from assay.evaluation import search_plots

        return search_plots.search_history(self.id)

    def plot_search_history(self) -> Figure:
        """The optimisation history: each combination's objective value and the best so far, against runs."""
        from assay.evaluation import search_plots

        return search_plots.plot_search_history(self.id)

    def hyperparameter_importance(self) -> pd.Series:
        """fANOVA importance of each hyperparameter for the objective (Optuna's evaluator on stored results)."""
        from assay.evaluation import search_plots

        return search_plots.hyperparameter_importance(self.id)

    def plot_hyperparameter_importance(self) -> Figure:
        """Bar chart of :meth:`hyperparameter_importance`."""
        from assay.evaluation import search_plots

        return search_plots.plot_hyperparameter_importance(self.id)

    def ensemble(self, size: int = 50, candidates: int = 20, metric: str | None = None, split: str | None = None,
                 method: str = "caruana") -> Ensemble:
        """An ensemble of this finished queue's trained models, selected from their stored predictions and stored
        (nothing is trained again; see :mod:`assay.evaluation.ensemble`).

        Args:
            size: Caruana's iterations (picks with replacement; the best iteration is kept), or with
                ``method="mean"`` the most candidates averaged.
            candidates: how many of the best combinations (by the queue's objective, as the leaderboard ranks
                them) it chooses from; pruned combinations and those with a failed run never count.
            metric: the metric the selection optimises (default: the queue's objective; the analysis type's main
                metric when the objective is the training loss).
            split: the split it is selected on (default: the objective's split; with folds the out-of-fold
                ``validation`` predictions).
            method: ``"caruana"`` (greedy selection with replacement) or ``"mean"`` (the best k averaged
                equally).

        Raises:
            assay.errors.ValidationError: ``size`` < 1, ``candidates`` < 2, an unknown method, a metric the
                analysis type lacks, a split the models were not evaluated on, fewer than 2 complete combinations,
                a queue with jobs still to run (ensembles are made of finished queues), or a forecasting queue.
                Nothing is stored then.
        """
        from assay.evaluation import ensemble

        return Ensemble.get(ensemble.build(self.id, size=size, candidates=candidates, metric=metric, split=split,
                                           method=method))

    @property
    def ensembles(self) -> list[Ensemble]:
        """This queue's ensembles (``queue.ensemble``), oldest first."""
        from assay.db.queries import ensembles as ensemble_queries

        return [Ensemble(row) for row in ensemble_queries.ensemble_rows(self.id)]

    def report(self, path: str) -> str:
        """Write one self-contained HTML report of this queue; returns its path."""
        from assay.evaluation import report

        return report.write_report(self.id, path)

    def to_mlflow(self, tracking_uri: str | None = None, experiment_name: str | None = None, *,
                  artifacts: bool = True, models: bool = True, progress: bool = False) -> ExportSummary:
        """Export this queue to MLflow: a parent run for the queue, a nested run per trained model (and per
        ensemble) with its hyperparameters, metrics per split, learning curve, plots, bundle and model.

        Exporting again completes the same runs (found by their ``assay.*`` tags) and adds runs only for models
        trained since. Needs ``pip install 'assay[mlflow]'``. See :func:`assay.inference.mlflow_export.export_queue`
        for what each run holds and for the arguments.

        Returns:
            An :class:`~assay.inference.mlflow_export.ExportSummary` (experiment, parent run, run id per predictor).
        """
        from assay.inference import mlflow_export

        return mlflow_export.export_queue(
            self.id, tracking_uri, experiment_name, artifacts=artifacts, models=models, progress=progress,
            ensembles=self.ensembles,
            export_bundle=lambda predictor_id, path: Predictor.get(predictor_id).export(path),
        )


class Job(Persisted):
    """One training run: one combination on one fold (or none), one repeat."""

    _row_type = JobRow

    queue_id = column[int]("its :class:`Queue`")
    run_index = column[int]("its place in the queue's run order")
    hyperparamcombo_id = column[int]("its stored hyperparameter combination (see :attr:`hyperparameters`)")
    fold_id = column["int | None"]("its fold's id, ``None`` without folds")
    fold_index = column["int | None"]("its fold's index, ``None`` without folds")
    repeat_index = column[int]("which repeat of its combination it is")
    status = column[str]("``queued``, ``running``, ``succeeded`` or ``failed``")
    attempts = column[int]("how many times a worker claimed it")
    worker = column["str | None"]("the worker running it (``host:pid:random``)")
    lease_expires_at = column["dt.datetime | None"]("when its worker's claim expires without a heartbeat")
    error = column["str | None"]("why it failed (one line)")
    traceback = column["str | None"]("the failing user function's traceback")
    started_at = column["dt.datetime | None"]("when its last attempt started (UTC)")
    finished_at = column["dt.datetime | None"]("when it finished (UTC)")

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return queries.combo_hyperparameters(self.hyperparamcombo_id)

    @property
    def queue(self) -> Queue:
        return Queue.get(self.queue_id)

    @property
    def predictor(self) -> Predictor | None:
        """The trained model, once the job succeeded."""
        row = queries.predictor_row_of_job(self.id)
        return None if row is None else Predictor(row)

    @property
    def predictors(self) -> list[Predictor]:
        """AIQC's spelling (``queue.jobs[0].predictors[0]``): ``[job.predictor]`` once the job succeeded, else
        ``[]``; a job trains one model."""
        predictor = self.predictor
        return [] if predictor is None else [predictor]


class Predictor(Persisted):
    """A trained model with its history, the shapes it expects and its predictions per split."""

    _row_type = PredictorRow

    job_id = column[int]("the :class:`Job` that trained it")
    model_format = column[str]("the format of :attr:`model_blob` (the library's own)")
    model_blob = column[bytes]("the trained model in its library's own safe format (read on request)")
    history = column["dict[str, list[float]]"]("per-epoch training history (``loss``, ``val_loss``, ...)")
    features_shape = column["list[int]"]("shape of one sample's encoded features")
    label_shape = column["list[int] | None"]("shape of one sample's encoded label")
    versions = column["dict[str, str]"]("library versions it was trained with")
    seconds_train = column[float]("seconds spent in training")
    seconds_total = column[float]("seconds for the whole job (training, prediction, metrics)")
    created_at = column[dt.datetime]("when it was stored (UTC)")
    is_starred = column[bool]("starred (:meth:`flip_star`): first in the leaderboard and the dashboard")

    def flip_star(self) -> bool:
        """Star this model, or unstar it when starred (AIQC 6); returns the new :attr:`is_starred`. Starred
        models come first in ``queue.leaderboard()`` and on the dashboard's queue page."""
        from assay.db.queries import lifecycle

        starred = lifecycle.flip_star(self.id)
        self.refresh()
        return starred

    @functools.cached_property
    def job(self) -> Job:
        return Job.get(self.job_id)

    @property
    def queue(self) -> Queue:
        return Queue.get(self.job.queue_id)

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return self.job.hyperparameters

    @property
    def repeat_index(self) -> int:
        return self.job.repeat_index

    @property
    def fold_index(self) -> int | None:
        return self.job.fold_index

    @functools.cached_property
    def predictions(self) -> dict[str, Prediction]:
        """Split name → its Prediction (the splits evaluated after training; inferences are not included).

        AIQC kept one Prediction of every split, ``predictor.predictions[0]``; here each split has its own, so a
        missing key (``0`` included) raises a KeyError naming the splits there are.
        """
        return _SplitPredictions({row.split: Prediction(row) for row in queries.prediction_rows(self.id)})

    @property
    def metrics(self) -> dict[str, dict[str, float]]:
        """Split → metric → value."""
        return {split: dict(prediction.metrics) for split, prediction in self.predictions.items()}

    @property
    def inferences(self) -> list[Prediction]:
        """Predictions made by :meth:`infer` on new data, oldest first."""
        return [Prediction(row) for row in queries.prediction_rows(self.id, inference=True)]

    def _repr_html_(self) -> str:
        """Jupyter's display: metrics per split and a learning-curve thumbnail."""
        from assay.objects import display

        return display.predictor_html(self.id)

    def get_model(self) -> Any:
        """The trained model, loaded back from its stored bytes with the library's own safe loader."""
        return Trained.load(self.id).model()

    def get_hyperparameters(self, as_pandas: bool = False) -> dict[str, Any] | pd.DataFrame:
        """AIQC's spelling of :attr:`hyperparameters`: the dict, or with ``as_pandas=True`` a DataFrame of one
        ``param``/``value`` row per hyperparameter."""
        hyperparameters = self.hyperparameters
        if not as_pandas:
            return hyperparameters
        import pandas as pd

        return pd.DataFrame({"param": list(hyperparameters), "value": list(hyperparameters.values())},
                            columns=["param", "value"])

    def export_model(self, file_path: str | None = None) -> str:
        """Write the trained model alone, in its library's own format (a Keras ``.keras`` archive: load it with
        ``keras.models.load_model``; torch ``state_dict``: ``model.load_state_dict(torch.load(path))`` into the
        model ``fn_build`` makes); returns the file's absolute path. ``file_path=None`` writes
        ``predictor<id>_model.keras|.pt`` in the current directory. :meth:`export` writes a bundle that also
        holds the encoders, to predict raw rows without the database. See
        :func:`assay.inference.model_file.export_model`."""
        from assay.inference import model_file

        return model_file.export_model(self.id, self.queue.library, file_path)

    def get_label_names(self) -> list[Any] | None:
        """The label's classes in encoded order (index i = probability column i), as AIQC listed them; ``None``
        for a continuous label (regression) or unsupervised data, as AIQC returned."""
        splitset = self.queue.splitset
        if splitset.label_column is None or not splitset.label_is_categorical:
            return None
        classes = splitset.encoders(self.fold_index).label_classes
        return [value.item() if isinstance(value, np.generic) else value for value in classes]

    # -- evaluation and inference ----------------------------------------------------------------------------

    def plot_learning_curve(self, metrics: list[str] | None = None, loss_skip_15pct: bool = False) -> Figure:
        """Per-epoch training history: each metric for train and evaluation data. ``loss_skip_15pct`` (AIQC's)
        leaves the first 15% of epochs out of the loss panel."""
        from assay.evaluation import plots

        return plots.plot_learning_curve(self.id, self.history, list(self.predictions), metrics=metrics,
                                         loss_skip_15pct=loss_skip_15pct)

    def feature_importance(
        self, split: str = "test", permutation_count: int = 5, refresh: bool = False,
        sample_rows: int | str | None = "auto",
    ) -> pd.DataFrame:
        """Permutation importance per original feature column (computed once, then stored). ``sample_rows``:
        rows permuted per round, ``"auto"`` bounding a round at about 20 prediction passes of the split on wide
        data, ``None`` every row (see :func:`assay.evaluation.importance.feature_importance`)."""
        from assay.evaluation import importance

        return importance.feature_importance(self.id, split=split, permutation_count=permutation_count,
                                             refresh=refresh, sample_rows=sample_rows)

    def plot_feature_importance(self, split: str = "test", permutation_count: int = 5, top_n: int = 20,
                                sample_rows: int | str | None = "auto") -> Figure:
        """Bar chart of :meth:`feature_importance`."""
        from assay.evaluation import plots

        return plots.plot_feature_importance(self.id, split=split, permutation_count=permutation_count, top_n=top_n,
                                             sample_rows=sample_rows)

    def infer(self, df_or_path: Any = None, label_df_or_path: Any = None,
              splitset_id: int | None = None) -> pd.DataFrame:
        """Predict new raw rows through this model's fitted encoders; the result is stored as a Prediction.

        For a model trained on sequences ``df_or_path`` is a 3-D array or ``.npy`` file, on images a folder or a
        list of image files, shaped like the training samples; ``label_df_or_path`` then optionally gives their
        labels for metrics. A multi-input model (``Pipeline.make(inputs=[...])``) takes a list with each input's
        raw data in input order, or a dict by input name. See :func:`assay.inference.infer.infer`.

        AIQC's spelling ``predictor.infer(splitset_id=...)`` (or the id as the only argument) infers the raw rows
        of a tabular splitset made step by step from new data (``Dataset.Tabular.from_pandas(new_df)``, its
        label and feature, ``Splitset.make``): its feature columns, and its label column for metrics when it has
        one. Its own encoders are not used: the model's fitted ones are, as always.

        Raises:
            assay.errors.ValidationError: both ``df_or_path`` and ``splitset_id``, neither, or a splitset of
                sequences or images (pass their arrays and ``label_df_or_path`` instead).
        """
        from assay.inference import infer

        if splitset_id is None and isinstance(df_or_path, int) and not isinstance(df_or_path, bool):
            df_or_path, splitset_id = None, df_or_path  # AIQC's positional Predictor.infer(id, splitset_id)
        if splitset_id is not None:
            if df_or_path is not None or label_df_or_path is not None:
                raise errors.ValidationError(
                    "splitset_id", "give new data (df_or_path) or a splitset made from it (splitset_id), not both")
            df_or_path = _splitset_rows(splitset_id)
        elif df_or_path is None:
            raise errors.ValidationError("df_or_path", "give the new raw rows (a DataFrame or file), or "
                                         "splitset_id= a splitset made from them")
        self._calibrate_for_queue()
        return infer.infer(self.id, df_or_path, label_df_or_path)

    # -- conformal prediction --------------------------------------------------------------------------------

    @property
    def calibration(self) -> dict[str, Any] | None:
        """The stored conformal calibration (``alpha``, ``method``, ``split``, ``n``, thresholds), or ``None``."""
        return comparison_queries.predictor_calibration(self.id) or None

    def calibrate(self, alpha: float = 0.1, split: str = "validation", method: str | None = None) -> dict[str, Any]:
        """Split-conformal calibration on the stored predictions of ``split``; nothing is trained again.

        Afterwards :meth:`infer` (and bundles, ``assay predict``) add ``prediction_set`` (classification: a list
        of original class values per row) or ``interval_low``/``interval_high`` (regression), which hold the true
        value on at least ``1 - alpha`` of new rows exchangeable with the calibration rows. Calibrating on the
        split early stopping watched is allowed, but that split helped choose the model, so coverage can be a
        little below ``1 - alpha``; see docs/evaluation.md.

        Args:
            alpha: the share of rows a set or interval may miss, strictly between 0 and 1.
            split: the calibration split (at least ``1/alpha`` rows); with folds, "validation" is this model's
                fold-validation rows.
            method: classification: ``"lac"`` (default; score 1 - p(true class)), ``"aps"`` (adaptive sets) or
                ``"mondrian"`` (a threshold per class); regression: ``"absolute"`` (absolute residuals).

        Returns:
            The stored calibration (plain JSON).

        Raises:
            assay.errors.ValidationError: a bad ``alpha`` or ``method``, an unknown ``split``, too few rows on it,
                a forecasting model; nothing is stored then.
        """
        from assay.evaluation import conformal

        return conformal.calibrate(self.id, self.queue.analysis_type, alpha=alpha, split=split, method=method)

    def coverage(self, split: str = "test") -> dict[str, Any]:
        """How the calibration does on ``split``'s stored predictions: ``coverage``, ``alpha``, ``n`` and
        ``mean_set_size`` or ``mean_interval_width`` (see :func:`assay.inference.coverage.coverage`)."""
        from assay.inference import coverage

        self._calibrate_for_queue()
        return coverage.coverage(self.id, split)

    def _calibrate_for_queue(self) -> None:
        """Calibrate now if the queue asks for it (``conformal_alpha``) and no worker did yet."""
        setting = self.queue.conformal
        if setting and not comparison_queries.predictor_calibration(self.id):
            self.calibrate(alpha=setting["alpha"], split=setting["split"], method=setting.get("method"))

    def export(self, path: str) -> str:
        """Write one file holding everything needed to predict without the database; returns its path."""
        from assay.inference import export as bundle

        return bundle.export(self.id, path)


class Prediction(PredictionArrays, Persisted):
    """A predictor's predictions on one split (or new data): decoded labels, probabilities and metrics."""

    _row_type = PredictionRow

    predictor_id = column[int]("the :class:`Predictor` that made it")
    split = column[str]("``train``, ``validation``, ``test``, or ``inference`` for new data")
    dataset_id = column["int | None"]("the stored new data (inference only)")
    row_count = column[int]("how many rows it covers")
    metrics = column["dict[str, float]"]("metric name -> value on these rows")
    plot_data = column["dict[str, Any] | None"]("data kept for plots, when a plugin stores some")
    arrays = column[bytes]("the stored arrays (npz bytes; read through :attr:`predictions` and friends)")
    created_at = column[dt.datetime]("when it was stored (UTC)")

    @functools.cached_property
    def _arrays(self) -> dict[str, np.ndarray]:
        if self.split == "inference":
            return arrays.loads(self._column("arrays"))
        # a run's split rows and true labels are read from its splitset (older rows carry their own)
        return truth.stored_arrays(self.id)

    @property
    def predictor(self) -> Predictor:
        return Predictor.get(self.predictor_id)

    @property
    def datasets(self) -> list[Any]:
        """The new data this prediction read, as :class:`~assay.Dataset` objects in input order: one per input of
        a multi-input model (``dataset_id`` is the first's), one for other models; ``[]`` for a split's
        prediction."""
        from assay.db.queries import predictions as prediction_queries
        from assay.objects.data import Dataset

        return [Dataset.get(dataset_id) for dataset_id in prediction_queries.dataset_ids(self.id)]

    def plot_feature_importance(self, top_n: int | None = None, height: int | None = None) -> Figure:
        """AIQC's spelling: the permutation importance of this prediction's split (stored by ``run_jobs`` for
        the train split when the queue has ``permute_count``; computed and stored once otherwise, with the
        queue's ``permute_count`` permutations or 5), as :meth:`Predictor.plot_feature_importance` draws it.

        Args:
            top_n: only the most important columns; ``None``: every column.
            height: the figure's height in pixels (AIQC's plotly height; at the figure's dpi).

        Raises:
            assay.errors.ValidationError: a prediction on new data (no split to permute), or a bad ``top_n``.
        """
        from assay.evaluation import plots

        predictor = self.predictor
        if self.split not in predictor.predictions:
            raise errors.ValidationError(
                "prediction", f"prediction {self.id} is on new data ({self.split}); feature importance is measured "
                "on a split the model was evaluated on, e.g. predictor.predictions['test']")
        if height is not None and (isinstance(height, bool) or not isinstance(height, (int, float)) or height <= 0):
            raise errors.ValidationError("height", f"must be a positive number of pixels, got {height!r}")
        figure = plots.plot_feature_importance(predictor.id, split=self.split,
                                               permutation_count=predictor.queue.permute_count or 5, top_n=top_n)
        if height is not None:
            figure.set_size_inches(figure.get_size_inches()[0], height / figure.dpi)
        return figure

    def plot(self, name: str) -> Figure:
        """Draw one of the plots registered for this analysis type (see ``assay_plots``)."""
        from assay.evaluation import plots

        return plots.plot_prediction(self, name)

    def plot_confusion_matrix(self) -> Figure:
        return self.plot("confusion_matrix")

    def plot_roc_curve(self) -> Figure:
        return self.plot("roc_curve")

    def plot_precision_recall(self) -> Figure:
        return self.plot("precision_recall")

    def plot_residuals(self) -> Figure:
        return self.plot("residuals")

    def plot_predicted_vs_actual(self) -> Figure:
        return self.plot("predicted_vs_actual")

    def plot_forecast(self, window: int = -1, columns: list[str] | None = None) -> Figure:
        """Forecast against actual values over the steps of one window (models trained on ``feature_window``)."""
        from assay.data import windows
        from assay.evaluation.forecast_plots import plot_forecast

        predictor = self.predictor
        splitset = predictor.queue.splitset
        names = windows.forecast_columns(splitset.encoders(predictor.fold_index))
        shift = None if splitset.window is None else splitset.window.size_shift
        return plot_forecast(self, names, shift, window, columns)


def _splitset_rows(splitset_id: int) -> pd.DataFrame:
    """The raw rows of a tabular splitset's dataset that inference reads: its feature columns, then its label
    column when it has one (for metrics)."""
    from assay.objects.data import Dataset

    splitset = Splitset.get(splitset_id)
    if splitset.kind != "tabular":
        raise errors.ValidationError(
            "splitset_id", f"splitset {splitset_id} holds {splitset.kind} data; infer sequences and images with "
            "predictor.infer(array_or_files, label_df_or_path=labels)")
    columns = [*splitset.feature_columns, *([splitset.label_column] if splitset.label_column is not None else [])]
    return Dataset.get(splitset.dataset_id).to_pandas()[columns]


class _SplitPredictions(dict):
    """Split → Prediction; a missing key says which splits exist (AIQC's ``predictions[0]`` included)."""

    def __missing__(self, key: Any) -> Prediction:
        hint = " (AIQC's predictions[0] held every split; assay keeps one Prediction per split)" \
            if isinstance(key, int) else ""
        raise KeyError(f"{key!r}: no prediction on that split{hint}; use one of: {', '.join(map(repr, self))}")
