"""SQLAlchemy 2 ORM tables of assay's object model.

These are the persisted rows. The user-facing classes (``assay.Splitset``, ``assay.Queue``, ...) subclass or
wrap them; relationships are navigated through explicit queries so objects stay usable after their session
closed. Large blobs are ``deferred`` and read only on request.

Schema changes go through a new alembic migration in ``assay/db/migrations/versions``; never edit an old one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from assay.db.jsontype import JSONValue
from assay.db.rowindices import RowIndices

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: every JSON column: stores NaN, inf, tuples and numpy values in a form SQLite and PostgreSQL both accept
JSONType = JSONValue
Blob = LargeBinary


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _legacy_samples() -> Any:
    """The ``samples`` column of revisions up to 0012: row indices as JSON lists. Revision 0013 moved them to
    ``sample_rows`` (bytes, :mod:`assay.db.rowindices`) and writes JSON ``null`` here; the column stays because
    SQLite before 3.35 cannot drop a column, nor any SQLite lift its NOT NULL, without copying the table."""
    return mapped_column("samples", JSONType, deferred=True, nullable=False, default=text("'null'"),
                         info={"legacy": "revision 0013 moved the row indices to sample_rows"})


def _fk(target: str, *, nullable: bool = False, ondelete: str = "CASCADE") -> Any:
    return mapped_column(ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True)


class DatasetRow(Base):
    """Ingested data, stored once per content (sha256)."""

    __tablename__ = "dataset"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), default="tabular")
    name: Mapped[str | None] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    file_format: Mapped[str] = mapped_column(String(32), default="parquet")
    blob: Mapped[bytes] = mapped_column(Blob, deferred=True)
    row_count: Mapped[int] = mapped_column(BigInteger)
    column_count: Mapped[int] = mapped_column(Integer)
    columns: Mapped[list[str]] = mapped_column(JSONType)
    dtypes: Mapped[dict[str, str]] = mapped_column(JSONType)
    statistics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # the whole array's shape for sequence (samples, timesteps, features) and image (samples, channels, height,
    # width) datasets, whose bytes live in DatasetChunkRow; None for tabular data
    shape: Mapped[list[int] | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # datasets versioned by name (AIQC 6): 1, 2, ... per name, in order of storing; None without a name
    version: Mapped[int | None] = mapped_column(Integer)


class DatasetChunkRow(Base):
    """Compressed samples ``row_start .. row_start + row_count - 1`` of a sequence or image dataset."""

    __tablename__ = "datasetchunk"
    __table_args__ = (UniqueConstraint("dataset_id", "chunk_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = _fk("dataset.id")
    chunk_index: Mapped[int] = mapped_column(Integer)
    row_start: Mapped[int] = mapped_column(BigInteger)
    row_count: Mapped[int] = mapped_column(Integer)
    codec: Mapped[str] = mapped_column(String(16))
    raw_size: Mapped[int] = mapped_column(BigInteger)
    blob: Mapped[bytes] = mapped_column(Blob, deferred=True)


class LabelRow(Base):
    """The label column of a dataset, its raw classes and whether it is categorical."""

    __tablename__ = "label"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = _fk("dataset.id")
    column: Mapped[str] = mapped_column(String(255))
    dtype: Mapped[str] = mapped_column(String(64))
    is_categorical: Mapped[bool] = mapped_column(Boolean)
    classes: Mapped[list[Any] | None] = mapped_column(JSONType)
    class_counts: Mapped[dict[str, int] | None] = mapped_column(JSONType)
    # the ``label_interpolater`` spec of a label made step by step (``label.make_labelinterpolater``)
    interpolater: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class FeatureRow(Base):
    """The feature columns of a dataset used by a splitset."""

    __tablename__ = "feature"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = _fk("dataset.id")
    columns: Mapped[list[str]] = mapped_column(JSONType)
    columns_excluded: Mapped[list[str]] = mapped_column(JSONType, default=list)
    dtypes: Mapped[dict[str, str]] = mapped_column(JSONType)
    # "tabular", "sequence" or "image"; for arrays ``columns`` are the feature (sequence) or channel (image) names
    kind: Mapped[str] = mapped_column(String(32), default="tabular", server_default="tabular")
    # arrays only: one sample's shape as stored, the shape samples_for gives after encoding and reshaping, the
    # user's feature_reshape_indices, and the axis layout of that shape ("timesteps_features", "channels_first"
    # or "reshaped") that backends convert to what their layers expect
    sample_shape: Mapped[list[int] | None] = mapped_column(JSONType)
    reshape_indices: Mapped[list[Any] | None] = mapped_column(JSONType)
    layout: Mapped[str | None] = mapped_column(String(32))
    # made step by step (tables): the ``feature_interpolaters`` specs and the ``feature_window`` spec a splitset of
    # this feature is encoded with (AIQC's Interpolaterset and Window)
    interpolaters: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    window: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class SplitsetRow(Base):
    """Row indices per split (train/validation/test), stratified on the label."""

    __tablename__ = "splitset"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = _fk("dataset.id")
    label_id: Mapped[int | None] = _fk("label.id", nullable=True)
    feature_id: Mapped[int] = _fk("feature.id")
    size_test: Mapped[float | None] = mapped_column(Float)
    size_validation: Mapped[float | None] = mapped_column(Float)
    fold_count: Mapped[int | None] = mapped_column(Integer)
    bin_count: Mapped[int | None] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    # row indices per split as bytes (assay.db.rowindices); nullable only because revision 0013 added the column
    samples: Mapped[dict[str, list[int]]] = mapped_column("sample_rows", RowIndices, deferred=True, nullable=True)
    samples_json: Mapped[Any] = _legacy_samples()
    split_sizes: Mapped[dict[str, int]] = mapped_column(JSONType)
    features_shape: Mapped[list[int]] = mapped_column(JSONType)
    label_shape: Mapped[list[int] | None] = mapped_column(JSONType)
    feature_names: Mapped[list[str]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # feature and label interpolation steps (assay.data.interpolation), applied again whenever rows are encoded
    interpolaters: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    # forecasting windows (assay.data.windows): size_window, size_shift, record_shifted, split order
    window: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # False while a splitset made step by step (``Splitset.make``) waits for its encoders to be fitted
    is_encoded: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # multi-input splitsets (``Pipeline.make(inputs=[...])``): the inputs in order, ``[{"name", "splitset_id"}]``,
    # each an unsupervised splitset with the same samples and folds holding that input's feature and encoders
    inputs: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)


class FoldsetRow(Base):
    """The cross-validation folds of a splitset, as one object (AIQC's Foldset); at most one per splitset."""

    __tablename__ = "foldset"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    splitset_id: Mapped[int] = mapped_column(ForeignKey("splitset.id", ondelete="CASCADE"), unique=True)
    fold_count: Mapped[int] = mapped_column(Integer)
    bin_count: Mapped[int | None] = mapped_column(Integer)


class EncodersetRow(Base):
    """An ordered set of feature encoder specifications made for a feature (AIQC's Encoderset)."""

    __tablename__ = "encoderset"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feature_id: Mapped[int] = _fk("feature.id")


class FoldRow(Base):
    """One cross-validation fold made on a splitset's train split."""

    __tablename__ = "fold"
    __table_args__ = (UniqueConstraint("splitset_id", "fold_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    splitset_id: Mapped[int] = _fk("splitset.id")
    fold_index: Mapped[int] = mapped_column(Integer)
    samples: Mapped[dict[str, list[int]]] = mapped_column("sample_rows", RowIndices, deferred=True, nullable=True)
    samples_json: Mapped[Any] = _legacy_samples()


class CoderRow(Base):
    """An encoder specification made step by step: a label's labelcoder (``label_id``) or one featurecoder of
    an encoderset (``encoderset_id``). Encoding a splitset copies it into an :class:`EncoderSpecRow`."""

    __tablename__ = "coder"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label_id: Mapped[int | None] = _fk("label.id", nullable=True)
    encoderset_id: Mapped[int | None] = _fk("encoderset.id", nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    family: Mapped[str] = mapped_column(String(64))
    class_name: Mapped[str] = mapped_column(String(255))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    dtypes: Mapped[list[str] | None] = mapped_column(JSONType)
    columns_selected: Mapped[list[str] | None] = mapped_column(JSONType)
    include: Mapped[bool] = mapped_column(Boolean, default=True)
    is_categorical: Mapped[bool] = mapped_column(Boolean)
    blob: Mapped[bytes] = mapped_column(Blob, deferred=True)
    # image featurecoders: the 2-D view the encoder sees ("channel" or "pixel", as EncoderSpecRow.axis)
    axis: Mapped[str | None] = mapped_column(String(16))


class EncoderSpecRow(Base):
    """A user's unfitted encoder: for the label or one step of the feature encoders."""

    __tablename__ = "encoderspec"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    splitset_id: Mapped[int] = _fk("splitset.id")
    # False: the step encoded the columns that do *not* match dtypes/columns (AIQC's include=False)
    include: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    role: Mapped[str] = mapped_column(String(16))  # "label" | "feature"
    position: Mapped[int] = mapped_column(Integer, default=0)
    family: Mapped[str] = mapped_column(String(64))
    class_name: Mapped[str] = mapped_column(String(255))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    dtypes: Mapped[list[str] | None] = mapped_column(JSONType)
    columns_selected: Mapped[list[str] | None] = mapped_column(JSONType)
    columns_matched: Mapped[list[str]] = mapped_column(JSONType, default=list)
    is_categorical: Mapped[bool] = mapped_column(Boolean)
    blob: Mapped[bytes] = mapped_column(Blob, deferred=True)
    # arrays only: what one row of the encoder's 2-D input is ("feature": a timestep's features; "channel": a
    # pixel's channels; "pixel": a whole image's pixels)
    axis: Mapped[str | None] = mapped_column(String(16))


class FittedEncoderRow(Base):
    """An encoder fitted for a splitset (``fold_id`` null) or for one fold's train rows."""

    __tablename__ = "fittedencoder"
    __table_args__ = (UniqueConstraint("encoderspec_id", "fold_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encoderspec_id: Mapped[int] = _fk("encoderspec.id")
    fold_id: Mapped[int | None] = _fk("fold.id", nullable=True)
    output_names: Mapped[list[str]] = mapped_column(JSONType)
    blob: Mapped[bytes] = mapped_column(Blob, deferred=True)


class AlgorithmRow(Base):
    """A library, an analysis type and the user's five functions, serialised and with their source."""

    __tablename__ = "algorithm"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library: Mapped[str] = mapped_column(String(64))
    analysis_type: Mapped[str] = mapped_column(String(64))
    functions: Mapped[bytes] = mapped_column(Blob, deferred=True)  # cloudpickle of {name: function}
    sources: Mapped[dict[str, str | None]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class HyperparamsetRow(Base):
    """A hyperparameter space (lists, and ranges stored as ``assay.space`` JSON) and how it is searched.

    ``search`` is ``grid`` or ``random`` (every combination made up front) or an adaptive strategy (``tpe``,
    ``gp``, ``cmaes``) whose combinations are added as results arrive, up to ``search_count``. ``objective`` is
    ``{"metric", "split", "direction"}``; ``pruner`` the pickled Optuna pruner that stops bad runs early.
    """

    __tablename__ = "hyperparamset"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grid: Mapped[dict[str, Any]] = mapped_column(JSONType)
    search_count: Mapped[int | None] = mapped_column(Integer)
    search_percent: Mapped[float | None] = mapped_column(Float)
    combination_count: Mapped[int] = mapped_column(Integer)
    search: Mapped[str] = mapped_column(String(32), default="grid", server_default="grid")
    objective: Mapped[dict[str, str] | None] = mapped_column(JSONType)
    pruner: Mapped[bytes | None] = mapped_column(Blob, deferred=True)
    # the algorithm whose make_hyperparamset made it (checked by make_queue); a plain column, so SQLite can add
    # it without rebuilding a table that others reference
    algorithm_id: Mapped[int | None] = mapped_column(Integer)


class HyperparamcomboRow(Base):
    """One combination of hyperparameter values taken from a grid."""

    __tablename__ = "hyperparamcombo"
    __table_args__ = (UniqueConstraint("hyperparamset_id", "combo_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hyperparamset_id: Mapped[int] = _fk("hyperparamset.id")
    combo_index: Mapped[int] = mapped_column(Integer)
    hyperparameters: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # the sampler's own state for this trial (Optuna system attrs, e.g. CMA-ES's optimizer), so an adaptive
    # search rebuilt from the database continues exactly where it was
    sampler_attrs: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=utcnow)


class QueueRow(Base):
    """An experiment: an algorithm run over a splitset for every combination, fold and repeat."""

    __tablename__ = "queue"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    algorithm_id: Mapped[int] = _fk("algorithm.id")
    splitset_id: Mapped[int] = _fk("splitset.id")
    hyperparamset_id: Mapped[int] = _fk("hyperparamset.id")
    repeat_count: Mapped[int] = mapped_column(Integer, default=1)
    hide_test: Mapped[bool] = mapped_column(Boolean, default=False)
    seed: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    job_count: Mapped[int] = mapped_column(Integer)
    permute_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # revision 0009: ``Experiment.make(conformal_alpha=...)`` ({"alpha", "split", "method"}: every model calibrated
    # after training) and ``Experiment.make(rope=...)`` (the rope of ``queue.compare``); NULL: none, the default
    conformal: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    rope: Mapped[float | None] = mapped_column(Float)


#: the condition of ``ix_job_claimable``, which the claim queries repeat word for word (planners match it as text)
JOB_UNFINISHED = "status IN ('queued', 'running')"


class JobRow(Base):
    """One training run: a combination on one fold (or none), one repeat; with its state and lease."""

    __tablename__ = "job"
    __table_args__ = (
        UniqueConstraint("queue_id", "run_index"),
        Index("ix_job_queue_id_status", "queue_id", "status"),
        # the jobs left to claim, in run order: a claim's cost stays flat however many jobs finished (0012)
        Index("ix_job_claimable", "queue_id", "run_index", sqlite_where=text(JOB_UNFINISHED),
              postgresql_where=text(JOB_UNFINISHED)),
        # when a queue's last job finished (the dashboard's "has anything changed"), without reading every job
        Index("ix_job_queue_id_finished_at", "queue_id", "finished_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = _fk("queue.id")
    run_index: Mapped[int] = mapped_column(Integer)
    hyperparamcombo_id: Mapped[int] = _fk("hyperparamcombo.id")
    fold_id: Mapped[int | None] = _fk("fold.id", nullable=True)
    fold_index: Mapped[int | None] = mapped_column(Integer)
    repeat_index: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|running|succeeded|failed|pruned
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class PredictorRow(Base):
    """A trained model (bytes in the library's own safe format), its history and the shapes it expects."""

    __tablename__ = "predictor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"), unique=True)
    model_format: Mapped[str] = mapped_column(String(64))
    model_blob: Mapped[bytes] = mapped_column(Blob, deferred=True)
    history: Mapped[dict[str, list[float]]] = mapped_column(JSONType, default=dict)
    features_shape: Mapped[list[int]] = mapped_column(JSONType)
    label_shape: Mapped[list[int] | None] = mapped_column(JSONType)
    versions: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    seconds_train: Mapped[float] = mapped_column(Float)
    seconds_total: Mapped[float] = mapped_column(Float)
    feature_importance: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # AIQC 6's star: starred predictors come first in the leaderboard and the dashboard
    is_starred: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # split-conformal calibration (``predictor.calibrate``, revision 0009): alpha, method, split, thresholds
    calibration: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class PredictionRow(Base):
    """Predictions of one predictor on one split (or on new data at inference), with metrics."""

    __tablename__ = "prediction"
    # a predictor's split, with its metrics in the index itself: a leaderboard of 100,000 runs reads the metrics
    # from the index instead of from 100,000 wide rows (their arrays beside them) spread over the table (0012)
    __table_args__ = (
        Index("ix_prediction_metrics", "predictor_id", "split", "metrics").ddl_if(dialect="sqlite"),
        Index("ix_prediction_metrics", "predictor_id", "split", postgresql_include=["metrics"])
        .ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    predictor_id: Mapped[int] = mapped_column(ForeignKey("predictor.id", ondelete="CASCADE"), index=True)
    split: Mapped[str] = mapped_column(String(32))  # train|validation|test|inference
    dataset_id: Mapped[int | None] = _fk("dataset.id", nullable=True)
    row_count: Mapped[int] = mapped_column(Integer)
    arrays: Mapped[bytes] = mapped_column(Blob, deferred=True)  # npz: row_indices, predictions, probabilities, ...
    metrics: Mapped[dict[str, float]] = mapped_column(JSONType, default=dict)
    plot_data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EnsembleRow(Base):
    """An ensemble of a queue's trained models (``queue.ensemble``): how it was selected and its selection curve.

    Its members (predictors and weights) are :class:`EnsembleMemberRow`; its predictions per split, computed from
    the members' stored predictions, and on new data are :class:`EnsemblePredictionRow`.
    """

    __tablename__ = "ensemble"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = _fk("queue.id")
    method: Mapped[str] = mapped_column(String(32))  # "caruana" | "mean"
    size: Mapped[int] = mapped_column(Integer)
    candidate_count: Mapped[int] = mapped_column(Integer)
    metric: Mapped[str] = mapped_column(String(64))
    split: Mapped[str] = mapped_column(String(32))
    higher_is_better: Mapped[bool] = mapped_column(Boolean)
    # the iteration kept (1-based: how many picks the ensemble holds) and the selection split's score after each
    best_iteration: Mapped[int] = mapped_column(Integer)
    curve: Mapped[list[float]] = mapped_column(JSONType, default=list)
    # {"combo_index", "weight", "picks", "score"} per candidate combination, in candidate order (weight 0: not kept)
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    # whether the queue has folds: the selection then used out-of-fold predictions
    out_of_fold: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EnsembleMemberRow(Base):
    """One trained model of an ensemble and its weight (weights of an ensemble sum to 1)."""

    __tablename__ = "ensemblemember"
    __table_args__ = (UniqueConstraint("ensemble_id", "predictor_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ensemble_id: Mapped[int] = _fk("ensemble.id")
    predictor_id: Mapped[int] = _fk("predictor.id")
    combo_index: Mapped[int] = mapped_column(Integer)
    weight: Mapped[float] = mapped_column(Float)


class EnsemblePredictionRow(Base):
    """An ensemble's predictions on one split (from its members' stored predictions) or on new data."""

    __tablename__ = "ensembleprediction"
    __table_args__ = (Index("ix_ensembleprediction_ensemble_id_split", "ensemble_id", "split"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ensemble_id: Mapped[int] = mapped_column(ForeignKey("ensemble.id", ondelete="CASCADE"), index=True)
    split: Mapped[str] = mapped_column(String(32))  # train|validation|test|inference
    row_count: Mapped[int] = mapped_column(Integer)
    arrays: Mapped[bytes] = mapped_column(Blob, deferred=True)  # npz: row_indices, predictions, probabilities, ...
    metrics: Mapped[dict[str, float]] = mapped_column(JSONType, default=dict)
    # what the split's numbers mean (e.g. the in-sample train split of an ensemble of fold models)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PredictionDatasetRow(Base):
    """Every dataset a prediction read, in input order: a multi-input model's inference reads one per input."""

    __tablename__ = "prediction_dataset"
    __table_args__ = (UniqueConstraint("prediction_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prediction_id: Mapped[int] = _fk("prediction.id")
    dataset_id: Mapped[int] = _fk("dataset.id")
    position: Mapped[int] = mapped_column(Integer)
