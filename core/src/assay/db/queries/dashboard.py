"""The queries behind the web dashboard (:mod:`assay.dashboard`) and the notebook displays.

Every function is named for what it returns and reads only small columns: never a model, a dataset or a
prediction's arrays, so a page over a queue of ten thousand runs costs a few milliseconds of SQL. Results are
plain dicts and lists, detached from any session.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select, text

from assay.db.engine import session_scope
from assay.db.models import (
    JOB_UNFINISHED,
    AlgorithmRow,
    DatasetRow,
    FeatureRow,
    FoldRow,
    HyperparamcomboRow,
    HyperparamsetRow,
    JobRow,
    LabelRow,
    PredictionRow,
    PredictorRow,
    QueueRow,
    SplitsetRow,
)

#: job states in the order pages show them; a state a newer engine adds (e.g. "pruned") is shown after them
JOB_STATES = ("succeeded", "failed", "running", "queued")

# The queue page's queries select table columns (SQLAlchemy Core), not ORM attributes: the rows are plain either
# way, and Core statements compile and run with less overhead (a queue page opened first costs all of them).
_job, _combo, _queue = JobRow.__table__.c, HyperparamcomboRow.__table__.c, QueueRow.__table__.c
_algorithm, _hyperparamset = AlgorithmRow.__table__.c, HyperparamsetRow.__table__.c
_splitset, _dataset, _label = SplitsetRow.__table__.c, DatasetRow.__table__.c, LabelRow.__table__.c
_prediction = PredictionRow.__table__.c


def _core_rows(statement: Any) -> list[Any]:
    with session_scope() as session:
        return session.connection().execute(statement).all()


def _counts(rows: Any) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(JOB_STATES, 0))
    for queue_id, status, count in rows:
        counts[queue_id][status] = counts[queue_id].get(status, 0) + count
    return counts


def job_counts_by_queue(queue_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """Queue id → job state → how many jobs are in it (every state of :data:`JOB_STATES` present, maybe 0).

    One grouped query over the ``(queue_id, status)`` index; ``queue_ids=None`` counts every queue.
    """
    query = select(_job.queue_id, _job.status, func.count()).group_by(_job.queue_id, _job.status)
    if queue_ids is not None:
        query = query.where(_job.queue_id.in_(queue_ids))
    counts = _counts(_core_rows(query))
    return {queue_id: dict(counts[queue_id]) for queue_id in (queue_ids if queue_ids is not None else counts)}


def last_finished_by_queue(queue_ids: list[int] | None = None) -> dict[int, dt.datetime | None]:
    """Queue id → when its most recent job finished (``None`` before any finished)."""
    # one max per queue, each read from the end of ix_job_queue_id_finished_at: a GROUP BY over the job table
    # would read every job of the queue (100,000 rows for a big queue, on every view of its page)
    last = (select(func.max(_job.finished_at)).where(_job.queue_id == QueueRow.__table__.c.id)
            .correlate(QueueRow.__table__).scalar_subquery())
    query = select(QueueRow.__table__.c.id, last)
    if queue_ids is not None:
        query = query.where(QueueRow.__table__.c.id.in_(queue_ids))
    return {queue_id: finished for queue_id, finished in _core_rows(query) if finished is not None}


def queue_summaries() -> list[dict[str, Any]]:
    """Every queue, newest first: id, created_at, library, analysis_type, repeat_count, job_count,
    splitset_id, dataset_id, dataset_name, label_column, grid (the hyperparameter grid), ``counts`` (see
    :func:`job_counts_by_queue`) and ``last_finished_at``."""
    with session_scope() as session:
        rows = session.execute(
            select(QueueRow.id, QueueRow.created_at, QueueRow.repeat_count, QueueRow.job_count,
                   QueueRow.splitset_id, AlgorithmRow.library, AlgorithmRow.analysis_type, HyperparamsetRow.grid,
                   DatasetRow.id.label("dataset_id"), DatasetRow.name.label("dataset_name"),
                   LabelRow.column.label("label_column"))
            .join(AlgorithmRow, AlgorithmRow.id == QueueRow.algorithm_id)
            .join(HyperparamsetRow, HyperparamsetRow.id == QueueRow.hyperparamset_id)
            .join(SplitsetRow, SplitsetRow.id == QueueRow.splitset_id)
            .join(DatasetRow, DatasetRow.id == SplitsetRow.dataset_id)
            .outerjoin(LabelRow, LabelRow.id == SplitsetRow.label_id)
            .order_by(QueueRow.id.desc())
        ).all()
    counts = job_counts_by_queue()
    finished = last_finished_by_queue()
    return [{**row._asdict(), "counts": counts.get(row.id, dict.fromkeys(JOB_STATES, 0)),
             "last_finished_at": finished.get(row.id)} for row in rows]


def queue_summary(queue_id: int) -> dict[str, Any] | None:
    """One queue as in :func:`queue_summaries` plus seed, hide_test, max_attempts, the search settings
    (``search``: grid, random or an adaptive strategy; ``search_count``, ``search_percent``,
    ``combination_count``, ``objective``) and the algorithm's function ``sources``;
    ``None`` when no queue has that id."""
    rows = _core_rows(
        select(_queue.id, _queue.created_at, _queue.repeat_count, _queue.job_count, _queue.seed,
               _queue.hide_test, _queue.max_attempts, _queue.splitset_id, _queue.algorithm_id,
               _queue.hyperparamset_id, _algorithm.library, _algorithm.analysis_type,
               _algorithm.sources, _hyperparamset.grid, _hyperparamset.search_count,
               _hyperparamset.search_percent, _hyperparamset.combination_count, _hyperparamset.search,
               _hyperparamset.objective,
               _dataset.id.label("dataset_id"), _dataset.name.label("dataset_name"),
               _label.column.label("label_column"))
        .select_from(QueueRow.__table__)
        .join(AlgorithmRow.__table__, _algorithm.id == _queue.algorithm_id)
        .join(HyperparamsetRow.__table__, _hyperparamset.id == _queue.hyperparamset_id)
        .join(SplitsetRow.__table__, _splitset.id == _queue.splitset_id)
        .join(DatasetRow.__table__, _dataset.id == _splitset.dataset_id)
        .outerjoin(LabelRow.__table__, _label.id == _splitset.label_id)
        .where(_queue.id == queue_id)
    )
    if not rows:
        return None
    row = rows[0]
    return {**row._asdict(), "counts": job_counts_by_queue([queue_id])[queue_id],
            "last_finished_at": last_finished_by_queue([queue_id]).get(queue_id)}


def _job_dicts(rows: Any) -> list[dict[str, Any]]:
    return [row._asdict() for row in rows]


def failed_jobs(queue_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The most recently finished failed jobs of a queue (at most ``limit``): id, run_index, combo_index,
    hyperparameters, fold_index, repeat_index, attempts, worker, error, traceback, finished_at."""
    return _job_dicts(_core_rows(
        select(_job.id, _job.run_index, _combo.combo_index, _combo.hyperparameters, _job.fold_index,
               _job.repeat_index, _job.attempts, _job.worker, _job.error, _job.traceback, _job.finished_at)
        .select_from(JobRow.__table__.join(HyperparamcomboRow.__table__, _combo.id == _job.hyperparamcombo_id))
        .where(_job.queue_id == queue_id, _job.status == "failed")
        # an expression, not the column: SQLite would otherwise walk the queue's every job in finish order through
        # ix_job_queue_id_finished_at (20 ms at 100,000 jobs) instead of looking up the failed ones by status
        .order_by(func.coalesce(_job.finished_at, _job.finished_at).desc(), _job.run_index)
        .limit(limit)
    ))


def running_jobs(queue_id: int) -> list[dict[str, Any]]:
    """The jobs of a queue being run now, by run index: id, run_index, combo_index, hyperparameters,
    fold_index, repeat_index, attempts, worker, started_at, lease_expires_at."""
    return _job_dicts(_core_rows(
        select(_job.id, _job.run_index, _combo.combo_index, _combo.hyperparameters, _job.fold_index,
               _job.repeat_index, _job.attempts, _job.worker, _job.started_at, _job.lease_expires_at)
        .select_from(JobRow.__table__.join(HyperparamcomboRow.__table__, _combo.id == _job.hyperparamcombo_id))
        # the partial index's condition word for word: only unfinished jobs are looked at, not the whole queue
        .where(_job.queue_id == queue_id, text(f"job.{JOB_UNFINISHED}"), _job.status == "running")
        .order_by(_job.run_index)
    ))


def job_timeline(queue_id: int) -> list[dict[str, Any]]:
    """Every finished job of a queue in the order it finished: run_index, combo_index, status, started_at,
    finished_at, predictor_id (``None`` unless it succeeded). What a search-history plot draws."""
    with session_scope() as session:
        rows = session.execute(
            select(JobRow.run_index, HyperparamcomboRow.combo_index, JobRow.status, JobRow.started_at,
                   JobRow.finished_at, PredictorRow.id.label("predictor_id"))
            .join(HyperparamcomboRow, HyperparamcomboRow.id == JobRow.hyperparamcombo_id)
            .outerjoin(PredictorRow, PredictorRow.job_id == JobRow.id)
            .where(JobRow.queue_id == queue_id, JobRow.finished_at.is_not(None))
            .order_by(JobRow.finished_at, JobRow.run_index)
        ).all()
    return _job_dicts(rows)


def predictor_summary(predictor_id: int) -> dict[str, Any] | None:
    """A trained model without its bytes: id, job_id, model_format, history, features_shape, label_shape,
    versions, seconds_train, seconds_total, feature_importance, created_at, and its job's queue_id,
    run_index, fold_index, repeat_index, combo_index, hyperparameters, plus the queue's library,
    analysis_type and splitset_id. ``None`` when no predictor has that id."""
    with session_scope() as session:
        row = session.execute(
            select(PredictorRow.id, PredictorRow.job_id, PredictorRow.model_format, PredictorRow.history,
                   PredictorRow.features_shape, PredictorRow.label_shape, PredictorRow.versions,
                   PredictorRow.seconds_train, PredictorRow.seconds_total, PredictorRow.feature_importance,
                   PredictorRow.created_at, JobRow.queue_id, JobRow.run_index, JobRow.fold_index,
                   JobRow.repeat_index, HyperparamcomboRow.combo_index, HyperparamcomboRow.hyperparameters,
                   AlgorithmRow.library, AlgorithmRow.analysis_type, QueueRow.splitset_id)
            .join(JobRow, JobRow.id == PredictorRow.job_id)
            .join(HyperparamcomboRow, HyperparamcomboRow.id == JobRow.hyperparamcombo_id)
            .join(QueueRow, QueueRow.id == JobRow.queue_id)
            .join(AlgorithmRow, AlgorithmRow.id == QueueRow.algorithm_id)
            .where(PredictorRow.id == predictor_id)
        ).one_or_none()
    return None if row is None else row._asdict()


def metrics_by_split(predictor_id: int) -> dict[str, dict[str, float]]:
    """Split → metric → value of one predictor (the splits evaluated after training, in the order stored)."""
    rows = _core_rows(
        select(_prediction.split, _prediction.metrics)
        .where(_prediction.predictor_id == predictor_id, _prediction.split != "inference")
        .order_by(_prediction.id)
    )
    return {split: dict(metrics or {}) for split, metrics in rows}


def prediction_ids_by_split(predictor_id: int) -> dict[str, int]:
    """Split → the id of the predictor's Prediction on it (inferences on new data excluded)."""
    with session_scope() as session:
        rows = session.execute(
            select(PredictionRow.split, PredictionRow.id)
            .where(PredictionRow.predictor_id == predictor_id, PredictionRow.split != "inference")
            .order_by(PredictionRow.id)
        ).all()
    return dict(rows)


def existing_predictor_ids(predictor_ids: list[int]) -> list[int]:
    """Those of ``predictor_ids`` that name a stored predictor, in the order given."""
    with session_scope() as session:
        found = set(session.scalars(select(PredictorRow.id).where(PredictorRow.id.in_(predictor_ids))).all())
    return [predictor_id for predictor_id in predictor_ids if predictor_id in found]


def splitset_summary(splitset_id: int) -> dict[str, Any] | None:
    """A splitset without its row indices: id, created_at, size_test, size_validation, fold_count, bin_count,
    seed, split_sizes, features_shape, label_shape, feature_names, the dataset's id, name, kind, row_count,
    column_count, columns and dtypes, the label's column, dtype, is_categorical, classes and class_counts
    (``None`` each when unsupervised), the feature columns and excluded columns, and ``queue_ids`` (the
    queues run on it). ``None`` when no splitset has that id."""
    with session_scope() as session:
        row = session.execute(
            select(SplitsetRow.id, SplitsetRow.created_at, SplitsetRow.size_test, SplitsetRow.size_validation,
                   SplitsetRow.fold_count, SplitsetRow.bin_count, SplitsetRow.seed, SplitsetRow.split_sizes,
                   SplitsetRow.features_shape, SplitsetRow.label_shape, SplitsetRow.feature_names,
                   DatasetRow.id.label("dataset_id"), DatasetRow.name.label("dataset_name"),
                   DatasetRow.kind.label("dataset_kind"), DatasetRow.row_count, DatasetRow.column_count,
                   DatasetRow.columns.label("dataset_columns"), DatasetRow.dtypes.label("dataset_dtypes"),
                   LabelRow.column.label("label_column"), LabelRow.dtype.label("label_dtype"),
                   LabelRow.is_categorical.label("label_is_categorical"), LabelRow.classes.label("label_classes"),
                   LabelRow.class_counts.label("label_class_counts"), FeatureRow.columns.label("feature_columns"),
                   FeatureRow.columns_excluded.label("feature_columns_excluded"))
            .join(DatasetRow, DatasetRow.id == SplitsetRow.dataset_id)
            .join(FeatureRow, FeatureRow.id == SplitsetRow.feature_id)
            .outerjoin(LabelRow, LabelRow.id == SplitsetRow.label_id)
            .where(SplitsetRow.id == splitset_id)
        ).one_or_none()
        if row is None:
            return None
        queue_ids = session.scalars(
            select(QueueRow.id).where(QueueRow.splitset_id == splitset_id).order_by(QueueRow.id)
        ).all()
    return {**row._asdict(), "queue_ids": list(queue_ids)}


def fold_samples(splitset_id: int) -> list[dict[str, Any]]:
    """The folds of a splitset by fold index: ``{"fold_index": i, "samples": {"train": [...], ...}}``."""
    with session_scope() as session:
        rows = session.execute(
            select(FoldRow.fold_index, FoldRow.samples).where(FoldRow.splitset_id == splitset_id)
            .order_by(FoldRow.fold_index)
        ).all()
    return [{"fold_index": index, "samples": samples} for index, samples in rows]


def dataset_summary(dataset_id: int) -> dict[str, Any] | None:
    """A dataset without its bytes: id, name, kind, sha256, file_format, row_count, column_count, columns,
    dtypes, statistics, created_at. ``None`` when no dataset has that id."""
    with session_scope() as session:
        row = session.execute(
            select(DatasetRow.id, DatasetRow.name, DatasetRow.kind, DatasetRow.sha256, DatasetRow.file_format,
                   DatasetRow.row_count, DatasetRow.column_count, DatasetRow.columns, DatasetRow.dtypes,
                   DatasetRow.statistics, DatasetRow.created_at)
            .where(DatasetRow.id == dataset_id)
        ).one_or_none()
    return None if row is None else row._asdict()


def label_of_dataset(dataset_id: int) -> dict[str, Any] | None:
    """The most recent label defined on a dataset: column, dtype, is_categorical, classes, class_counts."""
    with session_scope() as session:
        row = session.execute(
            select(LabelRow.column, LabelRow.dtype, LabelRow.is_categorical, LabelRow.classes, LabelRow.class_counts)
            .where(LabelRow.dataset_id == dataset_id).order_by(LabelRow.id.desc()).limit(1)
        ).one_or_none()
    return None if row is None else row._asdict()



def runs_of_combination(queue_id: int, combo_index: int, split: str) -> list[dict[str, Any]]:
    """Every trained model of one hyperparameter combination of a queue (its repeats and folds), by run index:
    predictor_id, run_index, fold_index, repeat_index and its ``metrics`` on ``split`` (empty when not
    evaluated there)."""
    with session_scope() as session:
        rows = session.execute(
            select(PredictorRow.id, JobRow.run_index, JobRow.fold_index, JobRow.repeat_index, PredictionRow.metrics)
            .select_from(JobRow)
            .join(HyperparamcomboRow, HyperparamcomboRow.id == JobRow.hyperparamcombo_id)
            .join(PredictorRow, PredictorRow.job_id == JobRow.id)
            .outerjoin(PredictionRow, (PredictionRow.predictor_id == PredictorRow.id) & (PredictionRow.split == split))
            .where(JobRow.queue_id == queue_id, HyperparamcomboRow.combo_index == combo_index)
            .order_by(JobRow.run_index)
        ).all()
    return [{"predictor_id": predictor_id, "run_index": run_index, "fold_index": fold_index,
             "repeat_index": repeat_index, "metrics": dict(metrics or {})}
            for predictor_id, run_index, fold_index, repeat_index, metrics in rows]
