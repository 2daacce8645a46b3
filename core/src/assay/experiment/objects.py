"""The persisted objects of an experiment: Algorithm, Queue, Job, Predictor, Prediction.

They wrap detached rows (see :class:`~assay.db.persisted.Persisted`): columns are plain attributes, related
objects come from explicit queries, so everything stays usable after its session closed and in other processes.
"""

from __future__ import annotations

import functools
from collections import Counter
from typing import TYPE_CHECKING, Any

import cloudpickle
import numpy as np
from sqlalchemy import select, update

from assay.db.engine import current_url, session_scope
from assay.db.models import (
    AlgorithmRow,
    HyperparamcomboRow,
    HyperparamsetRow,
    JobRow,
    PredictionRow,
    PredictorRow,
    QueueRow,
)
from assay.db.persisted import Persisted
from assay.experiment import arrays

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from assay.data.objects import Splitset
    from assay.experiment.runner import RunSummary

FUNCTION_NAMES = ("fn_build", "fn_train", "fn_lose", "fn_optimize", "fn_predict")


@functools.lru_cache(maxsize=32)
def _functions(url: str | None, algorithm_id: int) -> dict[str, Any]:
    # Rows never change once written, so one unpickling per process and database is enough.
    with session_scope() as session:
        blob = session.execute(select(AlgorithmRow.functions).where(AlgorithmRow.id == algorithm_id)).scalar_one()
    return cloudpickle.loads(blob)


class Algorithm(Persisted):
    """A library, an analysis type and the user's five functions (serialised, with their source kept)."""

    _row_type = AlgorithmRow

    @property
    def functions(self) -> dict[str, Any]:
        """``{"fn_build": ..., "fn_train": ..., "fn_lose": ..., "fn_optimize": ..., "fn_predict": ...}``."""
        return _functions(current_url(), self.id)


class Queue(Persisted):
    """An experiment: every hyperparameter combination, on every fold, repeated; run with :meth:`run_jobs`."""

    _row_type = QueueRow

    # -- related objects -------------------------------------------------------------------------------------

    @property
    def algorithm(self) -> Algorithm:
        return Algorithm.get(self.algorithm_id)

    @property
    def splitset(self) -> Splitset:
        from assay.data.objects import Splitset

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

        with session_scope() as session:
            grid = session.get(HyperparamsetRow, self.hyperparamset_id).grid
        return {name: space.from_json(values) for name, values in (grid or {}).items()}

    @property
    def search(self) -> dict[str, Any]:
        """How the combinations are chosen: ``{"search", "search_count", "objective", "pruner"}``."""
        with session_scope() as session:
            row = session.get(HyperparamsetRow, self.hyperparamset_id)
            pruner = row.pruner
            return {"search": row.search, "search_count": row.search_count, "objective": row.objective,
                    "pruner": None if pruner is None else type(cloudpickle.loads(pruner)).__name__}

    @property
    def jobs(self) -> list[Job]:
        """Every job, in run order (combination, fold, repeat)."""
        with session_scope() as session:
            rows = session.scalars(select(JobRow).where(JobRow.queue_id == self.id).order_by(JobRow.run_index)).all()
        return [Job(row) for row in rows]

    @property
    def predictors(self) -> list[Predictor]:
        """The trained models of succeeded jobs, in run order."""
        with session_scope() as session:
            rows = session.scalars(
                select(PredictorRow)
                .join(JobRow, JobRow.id == PredictorRow.job_id)
                .where(JobRow.queue_id == self.id)
                .order_by(JobRow.run_index)
            ).all()
        return [Predictor(row) for row in rows]

    # -- running ---------------------------------------------------------------------------------------------

    def run_jobs(self, workers: int | None = None, executor: Any = None, progress: bool = True,
                 threads: int | None = None, lease_seconds: float | None = None) -> RunSummary:
        """Run every job not finished yet; interrupted and called again, it resumes where it stopped.

        Args:
            workers: run in this many local worker processes (default: in this process).
            executor: a ``dask.distributed.Client`` to run workers on a Dask cluster.
            progress: show a progress bar over all runs.
            threads: BLAS/OpenMP/TensorFlow/torch threads per worker process (with ``workers`` or ``executor``).
            lease_seconds: how long a worker's claim on a job lasts without a heartbeat before another worker
                may take the job again (with ``workers`` or ``executor``; default ``ASSAY_LEASE_SECONDS`` or 60).

        Returns:
            The counts of succeeded and failed jobs (also printed).
        """
        if workers is not None or executor is not None:
            from assay.experiment import workers as parallel

            summary = parallel.run_parallel(self, workers=workers, executor=executor, progress=progress,
                                            threads=threads, lease_seconds=lease_seconds)
        else:
            from assay.experiment.runner import run_queue

            summary = run_queue(self, progress=progress)
        self._permute()
        return summary

    def _permute(self) -> None:
        """With ``permute_count``, the train-split feature importance of every model that lacks it (AIQC's
        importance after training). Already stored results are kept, so a resumed run computes only new ones."""
        permute_count = getattr(self, "permute_count", 0) or 0
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
        with session_scope() as session:
            rows = session.execute(
                select(JobRow.id, JobRow.status, JobRow.error).where(JobRow.queue_id == self.id)
            ).all()
            job_count = session.execute(select(QueueRow.job_count).where(QueueRow.id == self.id)).scalar_one()
        counts = Counter(row.status for row in rows)
        planned = max(0, job_count - len(rows))
        return {
            **{state: counts.get(state, 0) for state in ("queued", "running", "succeeded", "failed", "pruned")},
            "planned": planned,
            "total": len(rows) + planned,
            "errors": {row.id: row.error for row in rows if row.status == "failed"},
        }

    def retry_failed(self) -> int:
        """Queue the failed jobs again; returns how many."""
        with session_scope() as session:
            result = session.execute(
                update(JobRow)
                .where(JobRow.queue_id == self.id, JobRow.status == "failed")
                .values(status="queued", attempts=0, error=None, traceback=None, worker=None,
                        lease_expires_at=None, started_at=None, finished_at=None)
            )
            return result.rowcount

    # -- evaluation ------------------------------------------------------------------------------------------

    def metrics_to_pandas(self) -> pd.DataFrame:
        """One row per trained model and split: hyperparameters, fold, repeat and a column per metric."""
        from assay.evaluation import leaderboard

        return leaderboard.metrics_to_pandas(self)

    def leaderboard(self, split: str | None = None, metric: str | None = None) -> pd.DataFrame:
        """One row per hyperparameter combination, mean and std over repeats and folds, best first."""
        from assay.evaluation import leaderboard

        return leaderboard.leaderboard(self, split=split, metric=metric)

    def plot_performance(self, split: str | None = None, metric: str | None = None) -> Figure:
        """Every model compared: loss against the main score, and each hyperparameter's effect."""
        from assay.evaluation import plots

        return plots.plot_performance(self, split=split, metric=metric)

    def search_history(self) -> pd.DataFrame:
        """One row per combination in the order the search made them: its state, objective value, best so far."""
        from assay.evaluation import search_plots

        return search_plots.search_history(self)

    def plot_search_history(self) -> Figure:
        """The optimisation history: each combination's objective value and the best so far, against runs."""
        from assay.evaluation import search_plots

        return search_plots.plot_search_history(self)

    def hyperparameter_importance(self) -> pd.Series:
        """fANOVA importance of each hyperparameter for the objective (Optuna's evaluator on stored results)."""
        from assay.evaluation import search_plots

        return search_plots.hyperparameter_importance(self)

    def plot_hyperparameter_importance(self) -> Figure:
        """Bar chart of :meth:`hyperparameter_importance`."""
        from assay.evaluation import search_plots

        return search_plots.plot_hyperparameter_importance(self)

    def report(self, path: str) -> str:
        """Write one self-contained HTML report of this queue; returns its path."""
        from assay.evaluation import report

        return report.write_report(self, path)


class Job(Persisted):
    """One training run: one combination on one fold (or none), one repeat."""

    _row_type = JobRow

    @property
    def hyperparameters(self) -> dict[str, Any]:
        with session_scope() as session:
            return session.get(HyperparamcomboRow, self.hyperparamcombo_id).hyperparameters

    @property
    def queue(self) -> Queue:
        return Queue.get(self.queue_id)

    @property
    def predictor(self) -> Predictor | None:
        """The trained model, once the job succeeded."""
        with session_scope() as session:
            row = session.scalars(select(PredictorRow).where(PredictorRow.job_id == self.id)).one_or_none()
        return None if row is None else Predictor(row)


class Predictor(Persisted):
    """A trained model with its history, the shapes it expects and its predictions per split."""

    _row_type = PredictorRow

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
        """Split name → its Prediction (the splits evaluated after training; inferences are not included)."""
        with session_scope() as session:
            rows = session.scalars(
                select(PredictionRow)
                .where(PredictionRow.predictor_id == self.id, PredictionRow.split != "inference")
                .order_by(PredictionRow.id)
            ).all()
        return {row.split: Prediction(row) for row in rows}

    @property
    def metrics(self) -> dict[str, dict[str, float]]:
        """Split → metric → value."""
        return {split: dict(prediction.metrics) for split, prediction in self.predictions.items()}

    @property
    def inferences(self) -> list[Prediction]:
        """Predictions made by :meth:`infer` on new data, oldest first."""
        with session_scope() as session:
            rows = session.scalars(
                select(PredictionRow)
                .where(PredictionRow.predictor_id == self.id, PredictionRow.split == "inference")
                .order_by(PredictionRow.id)
            ).all()
        return [Prediction(row) for row in rows]

    def get_model(self) -> Any:
        """The trained model, loaded back from its stored bytes with the library's own safe loader."""
        from assay import contracts, plugins

        job = self.job
        queue = Queue.get(job.queue_id)
        algorithm = queue.algorithm
        return plugins.backend(algorithm.library).model_from_bytes(
            self._column("model_blob"),
            fn_build=algorithm.functions["fn_build"],
            features_shape=tuple(self.features_shape),
            label_shape=contracts.build_label_shape(self.label_shape, algorithm.analysis_type,
                                                    len(queue.splitset.label_classes)),
            hyperparameters=job.hyperparameters,
        )

    # -- evaluation and inference ----------------------------------------------------------------------------

    def plot_learning_curve(self, metrics: list[str] | None = None) -> Figure:
        """Per-epoch training history: each metric for train and evaluation data."""
        from assay.evaluation import plots

        return plots.plot_learning_curve(self, metrics=metrics)

    def feature_importance(
        self, split: str = "test", permutation_count: int = 5, refresh: bool = False, sample_rows: int | None = None
    ) -> pd.DataFrame:
        """Permutation importance per original feature column (computed once, then stored); ``sample_rows``
        bounds the cost on large splits (see :func:`assay.evaluation.importance.feature_importance`)."""
        from assay.evaluation import importance

        return importance.feature_importance(self, split=split, permutation_count=permutation_count,
                                            refresh=refresh, sample_rows=sample_rows)

    def plot_feature_importance(self, split: str = "test", permutation_count: int = 5, top_n: int = 20) -> Figure:
        """Bar chart of :meth:`feature_importance`."""
        from assay.evaluation import plots

        return plots.plot_feature_importance(self, split=split, permutation_count=permutation_count, top_n=top_n)

    def infer(self, df_or_path: Any, label_df_or_path: Any = None) -> pd.DataFrame:
        """Predict new raw rows through this model's fitted encoders; the result is stored as a Prediction.

        For a model trained on sequences ``df_or_path`` is a 3-D array or ``.npy`` file, on images a folder or a
        list of image files, shaped like the training samples; ``label_df_or_path`` then optionally gives their
        labels for metrics. See :func:`assay.inference.infer.infer`.
        """
        from assay.inference import infer

        return infer.infer(self, df_or_path, label_df_or_path)

    def export(self, path: str) -> str:
        """Write one file holding everything needed to predict without the database; returns its path."""
        from assay.inference import bundle

        return bundle.export(self, path)


class Prediction(Persisted):
    """A predictor's predictions on one split (or new data): decoded labels, probabilities and metrics."""

    _row_type = PredictionRow

    @functools.cached_property
    def _arrays(self) -> dict[str, np.ndarray]:
        return arrays.loads(self._column("arrays"))

    @property
    def predictor(self) -> Predictor:
        return Predictor.get(self.predictor_id)

    @property
    def row_indices(self) -> np.ndarray | None:
        """The dataset rows this prediction covers, in order (``None`` for new data)."""
        return self._arrays.get("row_indices")

    @property
    def predictions(self) -> np.ndarray:
        """Predictions decoded to the original label values."""
        return self._arrays["predictions"]

    @property
    def probabilities(self) -> np.ndarray | None:
        """Positive-class probability (binary), one column per class (multi), ``None`` for regression."""
        return self._arrays.get("probabilities")

    @property
    def labels(self) -> np.ndarray | None:
        """The true label values of these rows, when known."""
        return self._arrays.get("labels")

    @property
    def classes(self) -> list[Any]:
        """Original class values, index-aligned with probability columns (empty for regression)."""
        classes = self._arrays.get("classes")
        return [] if classes is None else classes.tolist()

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
        from assay.evaluation.forecast_plots import plot_forecast

        return plot_forecast(self, window, columns)

