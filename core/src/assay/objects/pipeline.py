"""``assay.Pipeline.Tabular.make``: from a DataFrame or file to a persisted, encoded, split :class:`Splitset`.

Everything is checked, split and fitted in memory first; only then one transaction writes the dataset, label,
features, splitset, folds and encoders. Bad input therefore never leaves rows behind.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import pandas as pd

from assay import errors
from assay.data import encoding, finite, ingest, interpolation, splitting, windows
from assay.data.build import arrays as build_arrays
from assay.data.build import multi_input as build_multi_input
from assay.data.build import step_by_step
from assay.data.build.common import (
    Fit,
    as_lists,
    check_label_values,
    encoder_rows,
    fit_step,
    label_is_categorical,
)
from assay.data.encoding import EncoderStep
from assay.data.interpolation import Interpolater
from assay.data.read.splitsets import SplitsetData
from assay.db.models import DatasetRow, FeatureRow, LabelRow, SplitsetRow
from assay.db.queries import data as data_queries
from assay.db.queries import steps as step_queries
from assay.experiment import definition
from assay.objects.data import Splitset


def _check_columns(df: pd.DataFrame, label_column: Any, excluded: Any) -> tuple[list[str], list[str]]:
    if label_column is not None and (not isinstance(label_column, str) or label_column not in df.columns):
        raise errors.DataError("label_column", f"{label_column!r} is not a column; columns: {list(df.columns)}")
    excluded = encoding.as_list(excluded) or []
    unknown = [column for column in excluded if column not in df.columns]
    if unknown:
        raise errors.DataError("feature_cols_excluded", f"{unknown} are not columns; columns: {list(df.columns)}")
    features = [c for c in df.columns if c != label_column and c not in excluded]
    if not features:
        raise errors.DataError("feature_cols_excluded", "excludes every column: no feature column is left")
    return features, [c for c in excluded if c != label_column]


def _fit_step(step: EncoderStep, parts: _Parts, columns: list[str], nan_columns: list[str]) -> Fit:
    """Fit one step without leakage on the (interpolated) rows of ``parts``."""
    return fit_step(step, parts.all[columns], parts.train[columns], [part[columns] for part in parts.fold_trains],
                    nan_columns)


@attrs.frozen
class _Parts:
    """The rows encoders are fitted on: all rows, the train rows and each fold's train rows.

    With interpolaters, each split (and each fold's train part) is interpolated among its own rows, so what an
    encoder sees of a split never holds values borrowed from another split; ``all`` is the splits put together.
    """

    all: pd.DataFrame
    train: pd.DataFrame
    fold_trains: list[pd.DataFrame]


def _parts(frame: pd.DataFrame, steps: list[Interpolater], samples: dict[str, np.ndarray],
           folds: list[dict[str, np.ndarray]], window: windows.Window | None = None) -> _Parts:
    def rows_of(indices: np.ndarray) -> np.ndarray:  # with windows, samples are windows: the rows they touch
        return indices if window is None else window.rows(indices)

    def part(indices: np.ndarray, where: str) -> pd.DataFrame:
        data = interpolation.apply(steps, frame.iloc[rows_of(indices)])
        interpolation.check_filled([step for step in steps if step.role == "label"], data, where)
        return data

    if not steps:
        return _Parts(frame, frame.iloc[rows_of(samples["train"])],
                      [frame.iloc[rows_of(fold["train"])] for fold in folds])
    by_split = {split: part(rows, f"{split} split") for split, rows in samples.items()}
    fold_trains = [part(fold["train"], f"train part of fold {i}") for i, fold in enumerate(folds)]
    for index, fold in enumerate(folds):
        part(fold["validation"], f"validation part of fold {index}")  # a label gap left there fails now
    return _Parts(pd.concat(list(by_split.values())).sort_index(), by_split["train"], fold_trains)


class Pipeline:
    """Pipelines that turn raw data into a persisted :class:`~assay.Splitset`: ``Pipeline.Tabular``,
    ``Pipeline.Sequence`` (3-D samples), ``Pipeline.Image`` (4-D samples), and ``Pipeline.make`` for several
    inputs of those kinds at once (a multi-input splitset)."""

    @staticmethod
    def make(
        inputs: list[dict[str, Any]],
        label_df_or_path: Any = None,
        label_column: str | None = None,
        label_encoder: dict[str, Any] | None = None,
        size_test: float | None = None,
        size_validation: float | None = None,
        fold_count: int | None = None,
        bin_count: int | None = None,
        seed: int = splitting.DEFAULT_SEED,
        label_dtype: Any = None,
        key_column: str | None = None,
    ) -> Splitset:
        """A multi-input splitset: several feature inputs and one label, aligned by sample (row i of every input
        and of the label table is sample i).

        The splits and folds are made once, stratified on the label, and shared by every input; each input's
        encoders are fitted on those same train rows (and each fold's). ``splitset.samples_for(split)["features"]``
        is a list with one array per input, in order, ``features_shape`` a list of shapes (``fn_build`` receives
        it: build a model with one input per entry, e.g. a Keras functional model with several ``Input`` layers,
        or a torch module whose ``forward`` takes one tensor per input).

        Args:
            inputs: two or more dicts, one per input, in the order the model takes them. A table:
                ``dict(df_or_path=..., feature_cols_excluded=..., feature_encoders=[...])``; sequences:
                ``dict(feature_ndarray3D_or_npyPath=..., feature_dtype=..., feature_cols_excluded=...,
                feature_encoders=[...], feature_reshape_indices=...)``; images: ``dict(feature_folder_or_urls=...,
                feature_dtype=..., feature_encoders=[...], feature_reshape_indices=...)`` (the options mean what
                they mean in ``Pipeline.Tabular/Sequence/Image.make``). Each may add ``name=`` (default: its kind),
                used in importance and inference (``"<name>: <column>"``).
            label_df_or_path: a DataFrame or .csv/.tsv/.parquet file, one row per sample in sample order.
            label_column: its label column (may be omitted when the table has one column).
            label_encoder, size_test, size_validation, fold_count, bin_count, seed: as for
                :meth:`Pipeline.Tabular.make`.
            label_dtype: cast the label column to this dtype first.
            key_column: a column of sample ids in the label table and in every table input: each table's ids must
                equal the label table's row by row (checked before anything is written), and the column is no
                feature. Sequences and images carry no ids; they are aligned by position.

        Raises:
            assay.errors.ValidationError: (a subclass naming the parameter, e.g. ``inputs[1].feature_encoders``)
                inputs of different sample counts, labels of another count, a text column without an encoder...
                Nothing is written then.
        """
        return _public(build_multi_input.make(inputs, label_df_or_path, label_column, label_dtype, label_encoder,
                                           size_test, size_validation, fold_count, bin_count, seed, _tabular_input,
                                           key_column))

    class Tabular:
        """Tabular data: a DataFrame or a .csv/.tsv/.parquet file."""

        @staticmethod
        def make(
            df_or_path: Any,
            label_column: str | None = None,
            label_encoder: dict[str, Any] | None = None,
            feature_cols_excluded: str | list[str] | None = None,
            feature_encoders: list[dict[str, Any]] | None = None,
            size_test: float | None = None,
            size_validation: float | None = None,
            fold_count: int | None = None,
            bin_count: int | None = None,
            seed: int = splitting.DEFAULT_SEED,
            feature_interpolaters: list[dict[str, Any]] | None = None,
            label_interpolater: dict[str, Any] | None = None,
            feature_window: dict[str, Any] | None = None,
        ) -> Splitset:
            """Ingest, split, fit encoders and persist everything; returns the :class:`~assay.Splitset`.

            Args:
                df_or_path: a DataFrame, or the path of a ``.csv``, ``.tsv``, ``.parquet``/``.pq`` file.
                label_column: the column to predict; ``None`` for unsupervised data (no labels, no stratification).
                label_encoder: ``dict(sklearn_preprocess=OneHotEncoder())`` or another transformer. Categorical
                    encoders are fitted on all rows, others (scalers for regression) on the train rows only.
                feature_cols_excluded: column(s) that are not features; the label column never is one.
                feature_encoders: list of ``dict(sklearn_preprocess=..., dtypes=[...], columns=[...])``, applied
                    in order, each to the columns that match its dtypes and/or columns (all remaining columns when
                    neither is given) among those earlier encoders left. Remaining columns pass through as they
                    are and must be numeric. Non-categorical encoders are fitted on train rows only, and per fold.
                size_test: fraction of all rows held out for testing.
                size_validation: fraction of all rows for validation (needs ``size_test``; not with folds).
                fold_count: number of stratified cross-validation folds made on the train split.
                bin_count: quantile bins used to stratify a continuous label (default 4).
                seed: seed of the shuffling, so the same call gives the same splits.
                feature_interpolaters: list of ``dict(interpolate_kwargs=dict(method="linear", ...), dtypes=[...],
                    columns=[...])``: float feature columns whose gaps ``pandas.DataFrame.interpolate`` fills
                    (default arguments ``method="linear", limit_direction="both"``). Each split is interpolated
                    among its own rows, in dataset order, so no split borrows values from another; encoders are
                    fitted on the interpolated train rows, and inference interpolates the new rows the same way.
                label_interpolater: ``dict(interpolate_kwargs=...)`` for a float label column with gaps, applied
                    split by split like the feature interpolaters.
                feature_window: ``dict(size_window=..., size_shift=..., record_shifted=True, time_ordered=True)``
                    for forecasting: the rows (in order) of a time series become windows of ``size_window``
                    rows, the samples of the splitset, with features of shape ``(size_window, width)``; each
                    window's label is the window ``size_shift`` rows later (no ``label_column``). Splits are in
                    time order by default (test last, validation before it, a gap at each boundary so no
                    training window overlaps a window it is evaluated on); ``time_ordered=False`` shuffles
                    windows instead. See :mod:`assay.data.windows`.

            Raises:
                assay.errors.ValidationError: (a subclass naming the parameter) for unusable input; nothing is
                    written then.
            """
            plan = _plan(df_or_path, label_column, label_encoder, feature_cols_excluded, feature_encoders,
                         size_test, size_validation, fold_count, bin_count, seed, feature_interpolaters,
                         label_interpolater, feature_window)
            fits, label_fit = _fit_all(plan)
            return _write(plan, fits, label_fit)


    class Sequence:
        """Sequence data: samples x timesteps x features, as a numpy array or a ``.npy`` file."""

        @staticmethod
        def make(
            feature_ndarray3D_or_npyPath: Any,
            feature_dtype: Any = None,
            feature_cols_excluded: int | str | list[int | str] | None = None,
            feature_encoders: list[dict[str, Any]] | None = None,
            feature_reshape_indices: tuple[Any, ...] | None = None,
            label_df_or_path: Any = None,
            label_dtype: Any = None,
            label_column: str | None = None,
            label_encoder: dict[str, Any] | None = None,
            size_test: float | None = None,
            size_validation: float | None = None,
            fold_count: int | None = None,
            bin_count: int | None = None,
            seed: int = splitting.DEFAULT_SEED,
            feature_window: dict[str, Any] | None = None,
            feature_interpolaters: list[dict[str, Any]] | None = None,
        ) -> Splitset:
            """Store the samples, split them, fit encoders and persist everything; returns the Splitset.

            ``splitset.samples_for(split)["features"]`` is float32 samples x timesteps x features, as Keras
            ``LSTM``/``Conv1D`` and ``torch.nn.LSTM(batch_first=True)`` take them; ``fn_build`` receives
            ``features_shape = (timesteps, features)``.

            Args:
                feature_ndarray3D_or_npyPath: a 3-D numpy array (samples x timesteps x features) or the path of a
                    ``.npy`` file holding one (memory-mapped while stored). Never modified.
                feature_dtype: cast the samples to this numeric dtype before storing (e.g. ``"float32"``).
                feature_cols_excluded: feature indices (or names ``"feature_3"``) left out.
                feature_encoders: list of ``dict(sklearn_preprocess=...)`` applied in order. A transformer sees one
                    column per feature over every timestep (``(samples*timesteps, features)``); non-categorical
                    ones are fitted on train (and each fold's train) samples only, batch by batch when they have
                    ``partial_fit``. Samples holding NaNs need an imputer among them.
                feature_reshape_indices: reshape the encoded samples, AIQC's spelling: each item an axis index of
                    the encoded array (0 = samples, first), a size as a string (``"1"``), or a tuple of axis
                    indices whose sizes multiply. E.g. ``(0, 1, 2, "1")`` adds a trailing channel axis.
                label_df_or_path: a DataFrame or .csv/.tsv/.parquet file, one row per sample in sample order;
                    ``None`` for unsupervised data.
                label_dtype: cast the label column to this dtype first.
                label_column: the label column (may be omitted when the table has one column).
                label_encoder, size_test, size_validation, fold_count, bin_count, seed: as for
                    :meth:`Pipeline.Tabular.make`; splits are stratified on the label the same way.
                feature_window: ``dict(size_window=..., size_shift=..., record_shifted=True, time_ordered=True)``:
                    each sample is one time series; windows of ``size_window`` timesteps run along it (the same in
                    every series) and become the samples, labelled with the window ``size_shift`` timesteps later
                    (no labels given). Time-ordered splits take the last windows of every series for test, as for
                    :meth:`Pipeline.Tabular.make`; encoders must keep the features' number (scalers).
                feature_interpolaters: list of ``dict(interpolate_kwargs=dict(method="linear", ...),
                    columns=[...], dtypes=...)``: features whose gaps ``pandas.DataFrame.interpolate`` fills in each
                    sample along its own timesteps (default arguments ``method="linear", limit_direction="both"``),
                    before the encoders, as AIQC's FeatureInterpolater did. No sample borrows another's values, so
                    no split borrows another split's; inference and bundles interpolate new samples the same way.
                    ``columns`` choose features as ``feature_encoders`` do; ``dtypes`` must name the samples' own
                    float dtype (every feature has it); neither takes the features no earlier step took. Float
                    samples only; not with ``feature_window``. A feature with no value at all in a sample stays
                    missing there (impute it with an encoder, or the sample is refused).

            Raises:
                assay.errors.ValidationError: (a subclass naming the parameter) for unusable input: a 2-D or
                    ragged array, NaNs no encoder imputes, a label table whose row count differs from the sample
                    count, encoders that do not fit the shape... Nothing is written then.
            """
            return _public(build_arrays.make_sequence(
                feature_ndarray3D_or_npyPath, feature_dtype, feature_cols_excluded, feature_encoders,
                feature_reshape_indices, label_df_or_path, label_dtype, label_column, label_encoder, size_test,
                size_validation, fold_count, bin_count, seed, feature_window, feature_interpolaters))

    class Image:
        """Image data: a folder of image files (in natural order of file name) or a list of local image files, read
        with Pillow."""

        @staticmethod
        def make(
            feature_folder_or_urls: Any,
            feature_dtype: Any = None,
            feature_encoders: list[dict[str, Any]] | None = None,
            feature_reshape_indices: tuple[Any, ...] | None = None,
            label_df_or_path: Any = None,
            label_column: str | None = None,
            label_encoder: dict[str, Any] | None = None,
            size_test: float | None = None,
            size_validation: float | None = None,
            fold_count: int | None = None,
            bin_count: int | None = None,
            seed: int = splitting.DEFAULT_SEED,
        ) -> Splitset:
            """Read the images, store them, split them, fit encoders and persist everything; returns the Splitset.

            Images are samples x channels x height x width (grayscale: 1 channel, RGB: 3), channels first. That
            is what ``samples_for`` returns and what PyTorch's ``nn.Conv2d`` takes; the Keras backend moves the
            channels last (and gives ``fn_build`` ``features_shape = (height, width, channels)``), so neither
            user transposes by hand. ``feature_reshape_indices`` opts out: its shape reaches every library as is.

            Args:
                feature_folder_or_urls: a folder of image files (read in natural order of file name, ``img_2`` before
                    ``img_10``; hidden files skipped) or a list of local image file paths (in that order). URLs are
                    refused: nothing is downloaded. All images need one size and one mode; resize or convert them
                    first otherwise.
                feature_dtype: cast the pixels to this numeric dtype before storing (default: uint8 as read).
                feature_encoders: list of ``dict(sklearn_preprocess=..., axis="channel" | "pixel")``: per channel
                    a transformer sees ``(samples*height*width, channels)``, per pixel ``(samples,
                    channels*height*width)``. Fitted on train (and each fold's train) samples only.
                feature_reshape_indices: reshape the encoded samples (see :meth:`Pipeline.Sequence.make`), e.g.
                    ``(0, 2, 3)`` drops the channel axis of grayscale images.
                label_df_or_path: a DataFrame or .csv/.tsv/.parquet file, one row per image in sample order;
                    ``None`` for unsupervised data.
                label_column, label_encoder, size_test, size_validation, fold_count, bin_count, seed: as for
                    :meth:`Pipeline.Tabular.make`.

            Raises:
                assay.errors.ValidationError: (a subclass naming the parameter) for an empty folder, a non-image
                    file, images of mixed size or mode, a URL, a label table of the wrong length, encoders that
                    do not fit the shape... Nothing is written then.
            """
            return _public(build_arrays.make_image(
                feature_folder_or_urls, feature_dtype, feature_encoders, feature_reshape_indices, label_df_or_path,
                label_column, label_encoder, size_test, size_validation, fold_count, bin_count, seed))


@attrs.frozen
class _Plan:
    """Everything validated and decided before fitting: the data, the encoder steps, the splits and folds."""

    df: pd.DataFrame
    name: str | None
    feature_columns: list[str]
    excluded: list[str]
    label: pd.Series | None
    label_step: EncoderStep | None
    is_categorical: bool
    feature_steps: list[EncoderStep]
    passthrough: list[str]
    nan_columns: list[str]
    samples: dict[str, np.ndarray]
    folds: list[dict[str, np.ndarray]]
    settings: dict[str, Any]
    interpolaters: list[Interpolater]
    parts: _Parts
    window: windows.Window | None = None

    @property
    def features(self) -> pd.DataFrame:
        return self.df[self.feature_columns]


def _plan(df_or_path, label_column, label_encoder, feature_cols_excluded, feature_encoders, size_test,
          size_validation, fold_count, bin_count, seed, feature_interpolaters=None, label_interpolater=None,
          feature_window=None) -> _Plan:
    """Validate every parameter and make the splits; raises before anything is fitted or written."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise errors.SplitError("seed", f"must be an integer, got {seed!r}")
    splitting.check_sizes(size_test, size_validation, fold_count)
    df, name = ingest.read_tabular(df_or_path)
    window = windows.parse(feature_window, len(df), label_column)
    feature_columns, excluded = _check_columns(df, label_column, feature_cols_excluded)
    if window is not None:
        windows.check_forecastable(df[feature_columns], "feature_cols_excluded",
                                   "exclude them with feature_cols_excluded={columns!r}")
    if label_column is None and label_encoder is not None:
        raise errors.EncoderError("label_encoder", "needs a label_column; leave it None when unsupervised")
    label_step = None
    if label_encoder is not None:
        label_step = encoding.parse_spec(label_encoder, "label_encoder", "label", 0)
        label_step.columns = [label_column]
    feature_steps = encoding.parse_feature_encoders(feature_encoders)
    features = df[feature_columns]
    finite.refuse_infinity(features, feature_columns, "df_or_path")
    passthrough = encoding.select_columns(feature_steps, features, label_column)
    encoding.check_data(feature_steps, features)

    label = None if label_column is None else df[label_column]
    interpolaters = interpolation.parse_feature_interpolaters(feature_interpolaters, features)
    label_step_interpolater = interpolation.parse_label_interpolater(label_interpolater, label)
    if label_step_interpolater is not None:
        interpolaters.append(label_step_interpolater)
    is_categorical = label is not None and label_is_categorical(label, label_step)
    if label is not None and label_step_interpolater is None:
        check_label_values(label)
    strata_label = label
    if label_step_interpolater is not None:
        if label.isna().all():
            raise errors.DataError("label_column", f"{label.name!r} holds no value at all; nothing to interpolate")
        # strata only decide which split a row joins: a gap in the label is binned by its whole-series neighbours
        strata_label = label.interpolate(method="linear", limit_direction="both")
    strata = splitting.make_strata(strata_label, is_categorical, bin_count)
    if window is not None and window.time_ordered:
        samples, folds = windows.split_time_ordered(window, size_test, size_validation, fold_count), []
    else:  # rows, or shuffled windows (one stratum: windows have no class)
        count = len(df) if window is None else window.count
        samples = splitting.split_rows(strata, count, size_test, size_validation, int(seed))
        folds = splitting.fold_rows(strata, samples["train"], fold_count, int(seed)) if fold_count else []

    parts = _parts(df[feature_columns + ([label_column] if label is not None else [])], interpolaters, samples,
                   folds, window)
    nan_columns = [c for c, has_nan in parts.all[feature_columns].isna().any().items() if has_nan]
    nan_passthrough = [c for c in passthrough if c in nan_columns]
    if nan_passthrough:
        where = finite.describe(finite.missing_positions(parts.all[feature_columns], nan_passthrough), features.index)
        raise errors.DataError(
            "feature_encoders",
            f"columns {nan_passthrough} hold NaNs and no encoder imputes them: {where}; add "
            f"dict(sklearn_preprocess=SimpleImputer(), columns={nan_passthrough!r}) or drop those rows",
        )
    settings = dict(size_test=size_test, size_validation=size_validation, fold_count=fold_count,
                    bin_count=bin_count, seed=int(seed))
    return _Plan(df, name, feature_columns, excluded, label, label_step, is_categorical, feature_steps,
                 passthrough, nan_columns, samples, folds, settings, interpolaters, parts, window)


def _fit_all(plan: _Plan) -> tuple[list[Fit], Fit | None]:
    """Fit every feature encoder and the label encoder (without leakage) and check they leave no NaNs."""
    fits = []
    for step in plan.feature_steps:
        step_nan = [c for c in step.columns if c in plan.nan_columns]
        fits.append(_fit_step(step, plan.parts, step.columns, step_nan))
        encoding.check_nan_output(step, fits[-1].by_fold[None], plan.parts.all[step.columns], step_nan)
    _check_dense_size(fits, len(plan.passthrough), len(plan.df))
    label_fit = None
    if plan.label_step is not None:
        label_fit = _fit_step(plan.label_step, plan.parts, [plan.label.name], [])
    return fits, label_fit


#: an encoder this wide (a text vocabulary, hashed features) whose features of every row together take more than
#: MAX_FEATURE_BYTES as float32 is refused: the training arrays are dense, so its width must be bounded
WIDE_ENCODER_COLUMNS = 10_000
MAX_FEATURE_BYTES = 1 << 30


def _check_dense_size(fits: list[Fit], passthrough: int, rows: int) -> None:
    """Refuse an encoder whose unbounded width (a text vocabulary, most often) would not fit dense in memory."""
    width = sum(len(fit.names) for fit in fits) + passthrough
    widest = max(fits, key=lambda fit: len(fit.names), default=None)
    if widest is not None and len(widest.names) > WIDE_ENCODER_COLUMNS and rows * width * 4 > MAX_FEATURE_BYTES:
        raise errors.EncoderError(
            widest.step.parameter,
            f"{type(widest.step.encoder).__name__} gives {len(widest.names):,} columns: {rows:,} rows would take "
            f"{rows * width * 4 / 2**30:.1f} GiB as float32 features; bound its vocabulary, e.g. "
            "TfidfVectorizer(max_features=5000), HashingVectorizer(n_features=2**12)",
        )


def _check_window_encoders(fits: list[Fit]) -> None:
    """Forecasts are decoded back to the original scale: each feature encoder must map k columns to k."""
    for fit in fits:
        if len(fit.names) != len(fit.step.columns):
            raise errors.EncoderError(
                fit.step.parameter,
                f"{type(fit.step.encoder).__name__} turns {len(fit.step.columns)} column(s) into {len(fit.names)}; "
                "with feature_window the encoded features are also the label and are decoded back, so use "
                "column-wise encoders such as StandardScaler() or MinMaxScaler()",
            )


def _tabular_input(spec: build_multi_input.InputSpec, samples: dict[str, np.ndarray],
                   folds: list[dict[str, np.ndarray]], settings: dict[str, Any]) -> build_multi_input.InputRows:
    """A table of a multi-input splitset, planned and fitted as ``Pipeline.Tabular.make`` would, unsupervised and
    on the shared splits and folds."""
    options = spec.options
    plan = _plan(spec.data, None, None, options["feature_cols_excluded"], options["feature_encoders"], None, None,
                 None, None, settings["seed"])
    parts = _parts(plan.df[plan.feature_columns], [], samples, folds)
    plan = attrs.evolve(plan, samples=samples, folds=folds, settings=settings, parts=parts)
    fits, _ = _fit_all(plan)
    feature_names = [n for fit in fits for n in fit.names] + list(plan.passthrough)
    return build_multi_input.InputRows(
        name=spec.name, kind="tabular", dataset=("tabular", plan.df, plan.name),
        features=dict(columns=plan.feature_columns, columns_excluded=plan.excluded,
                      dtypes=ingest.dtype_names(plan.features)),
        splitset=dict(features_shape=[len(feature_names)], feature_names=feature_names),
        encoders=[encoder_rows(fit) for fit in fits],
    )


def _public(data: SplitsetData) -> Splitset:
    """The public Splitset of a splitset the data layer just stored."""
    return Splitset(data.row, data)


def _shapes(plan: _Plan, fits: list[Fit], label_shape: list[int] | None,
            ) -> tuple[list[str], list[int], list[int] | None]:
    """``(feature_names, features_shape, label_shape)`` of fitted encoders; with windows the samples are windows
    and, when recorded, so are the labels."""
    feature_names = [n for fit in fits for n in fit.names] + list(plan.passthrough)
    features_shape = [len(feature_names)]
    if plan.window is not None:
        _check_window_encoders(fits)
        features_shape = [plan.window.size_window, len(feature_names)]
        label_shape = list(features_shape) if plan.window.record_shifted else None
    return feature_names, features_shape, label_shape


def _write(plan: _Plan, fits: list[Fit], label_fit: Fit | None) -> Splitset:
    """Store dataset, label, features, splitset, folds and encoders in one transaction."""
    label = plan.label
    classes, label_shape = [], None
    if label is not None:
        fitted_label = label_fit.by_fold[None] if label_fit else None
        classes = encoding.label_classes(plan.label_step, fitted_label, label) if plan.is_categorical else []
        label_shape = [len(label_fit.names)] if label_fit else [1]
    feature_names, features_shape, label_shape = _shapes(plan, fits, label_shape)

    label_columns = None
    if label is not None:
        label_columns = dict(
            column=label.name, dtype=str(label.dtype),
            is_categorical=plan.is_categorical, classes=[encoding.json_safe(c) for c in classes],
            class_counts=({str(k): int(v) for k, v in label.value_counts(sort=False).items()}
                          if plan.is_categorical else None),
        )
    with ingest.serialize(plan.df) as serialized:
        splitset_row, label_row, feature_row = data_queries.store_splitset(
            serialized, ingest.dataset_fields(plan.df, plan.name), label_columns,
            features=dict(columns=plan.feature_columns, columns_excluded=plan.excluded,
                          dtypes=ingest.dtype_names(plan.features)),
            splitset=dict(
                samples=as_lists(plan.samples), split_sizes={split: len(rows) for split, rows in plan.samples.items()},
                features_shape=features_shape, label_shape=label_shape, feature_names=feature_names,
                interpolaters=[step.to_json() for step in plan.interpolaters] or None,
                window=None if plan.window is None else plan.window.to_json(), **plan.settings,
            ),
            folds=[as_lists(fold) for fold in plan.folds],
            encoders=[encoder_rows(fit) for fit in ([label_fit] if label_fit else []) + fits],
        )
    data = SplitsetData(splitset_row)
    # the data and related rows are in memory already: the first samples_for() need not read them back
    data.prime(plan.df, label_row, feature_row)
    return Splitset(splitset_row, data)


@attrs.frozen
class PendingEncoding:
    """The fitted encoders of a splitset made step by step, not stored yet.

    Attributes:
        rows: the keyword arguments of ``db.queries.steps.add_encoding`` (what is stored, in the queue's
            transaction).
        label_shape: the shape of one encoded label (``None`` without a label).
        categorical_encoder: whether the label encoder only maps categories.
        raw_labels: with forecasting windows, the original values the windows of some rows forecast (the
            stored splitset gives them only once encoded); ``None`` otherwise.
    """

    rows: dict[str, Any]
    label_shape: tuple[int, ...] | None
    categorical_encoder: bool
    raw_labels: Callable[[Any], np.ndarray] | None = None


def _label_updates(label: pd.Series, label_step: EncoderStep | None, label_fit: Fit | None,
                   is_categorical: bool) -> dict[str, Any]:
    """The LabelRow columns a step-by-step splitset's fitted labelcoder sets: its classes and their counts."""
    fitted = label_fit.by_fold[None] if label_fit else None
    classes = encoding.label_classes(label_step, fitted, label) if is_categorical else []
    return dict(
        is_categorical=is_categorical, classes=[encoding.json_safe(c) for c in classes],
        class_counts=({str(k): int(v) for k, v in label.value_counts(sort=False).items()} if is_categorical else None),
    )


def plan_encoding(splitset_id: int) -> PendingEncoding | None:
    """Fit the encoders of a splitset made step by step (its label's labelcoder, its feature's encoderset) with
    the planning and fitting code of :meth:`Pipeline.Tabular.make`, in memory; ``None`` when it is encoded."""
    splitset = data_queries.row(SplitsetRow, splitset_id, "Splitset")
    if splitset.is_encoded:
        return None
    if splitset.inputs:
        return _plan_inputs_encoding(splitset)
    feature = data_queries.row(FeatureRow, splitset.feature_id, "Feature")
    label_row = None if splitset.label_id is None else data_queries.row(LabelRow, splitset.label_id, "Label")
    if feature.kind not in (None, "tabular"):
        return _plan_array_encoding(splitset, feature, label_row)
    encodersets = step_queries.encodersets(feature.id)
    feature_steps = [step_by_step.coder_step(row) for row in step_queries.coders(encoderset_id=encodersets[0].id)] \
        if encodersets else []
    label_coders = [] if label_row is None else step_queries.coders(label_id=label_row.id)
    label_step = step_by_step.coder_step(label_coders[0]) if label_coders else None

    df = step_by_step.frame(splitset.dataset_id)
    label = None if label_row is None else df[label_row.column]
    if label_step is not None:
        label_step.columns = [label_row.column]
    samples = {split: np.asarray(rows, dtype=np.int64)
               for split, rows in data_queries.column_value(SplitsetRow, splitset.id, "samples").items()}
    folds = [{split: np.asarray(rows, dtype=np.int64) for split, rows in fold.samples.items()}
             for fold in data_queries.fold_rows(splitset.id)]
    features = df[feature.columns]
    passthrough = encoding.select_columns(feature_steps, features, None if label is None else label.name)
    encoding.check_data(feature_steps, features)
    interpolaters = interpolation.parse_feature_interpolaters(feature.interpolaters, features)
    if label_row is not None and label_row.interpolater is not None:  # label.make_labelinterpolater
        interpolaters.append(interpolation.parse_label_interpolater(label_row.interpolater, label))
    window = None if splitset.window is None else windows.Window.from_json(splitset.window)
    parts = _parts(df[feature.columns + ([label.name] if label is not None else [])], interpolaters, samples, folds,
                   window)
    nan_columns = [c for c, has_nan in parts.all[feature.columns].isna().any().items() if has_nan]
    nan_passthrough = [c for c in passthrough if c in nan_columns]
    if nan_passthrough:
        raise errors.DataError("encoderset", f"columns {nan_passthrough} hold NaNs and no featurecoder imputes them; "
                                             "add make_featurecoder(sklearn_preprocess=SimpleImputer(), columns=...)")
    settings = dict(size_test=splitset.size_test, size_validation=splitset.size_validation,
                    fold_count=splitset.fold_count, bin_count=splitset.bin_count, seed=splitset.seed)
    is_categorical = label is not None and label_is_categorical(label, label_step)
    plan = _Plan(df, None, list(feature.columns), list(feature.columns_excluded), label, label_step, is_categorical,
                 feature_steps, passthrough, nan_columns, samples, folds, settings, interpolaters, parts, window)
    fits, label_fit = _fit_all(plan)
    label_updates, label_shape = None, None
    if label is not None:
        label_updates = _label_updates(label, label_step, label_fit, is_categorical)
        label_shape = [len(label_fit.names)] if label_fit else [1]
    feature_names, features_shape, label_shape = _shapes(plan, fits, label_shape)
    shapes = dict(features_shape=features_shape, feature_names=feature_names,
                  interpolaters=[step.to_json() for step in interpolaters] or None)
    if label_shape is not None:
        shapes["label_shape"] = label_shape
    encoders = [encoder_rows(fit) for fit in ([label_fit] if label_fit else []) + fits]
    return PendingEncoding(
        rows=dict(splitset_id=splitset.id, splitset=shapes, label_id=splitset.label_id, label=label_updates,
                  encoders=encoders),
        label_shape=tuple(shapes["label_shape"]) if "label_shape" in shapes else None,
        categorical_encoder=bool(label_step is not None and label_step.is_categorical),
        raw_labels=None if window is None or not window.record_shifted else functools.partial(
            windows.raw_windows, [c for fit in fits for c in fit.step.columns] + list(passthrough), interpolaters,
            df, window),
    )


def _plan_array_encoding(splitset: SplitsetRow, feature: FeatureRow, label_row: LabelRow | None) -> PendingEncoding:
    """The encoders of a sequence or image splitset made step by step, planned and fitted by the code of
    ``Pipeline.Sequence/Image.make`` (the stored samples are read into memory to fit them)."""
    from assay.data.read.arrays import StoredArray

    dataset = data_queries.row(DatasetRow, splitset.dataset_id, "Dataset")
    stored = StoredArray.load(dataset.id, dataset.shape, dataset.dtypes, dataset.columns)
    array = stored.rows(np.arange(dataset.row_count))
    encodersets = step_queries.encodersets(feature.id)
    feature_steps = [step_by_step.array_coder_step(row, feature)
                     for row in step_queries.coders(encoderset_id=encodersets[0].id)] if encodersets else []
    labels = None
    if label_row is not None:
        label_coders = step_queries.coders(label_id=label_row.id)
        labels = build_arrays.stored_labels(step_by_step.frame(label_row.dataset_id), label_row.column,
                                              step_by_step.coder_step(label_coders[0]) if label_coders else None)
    samples = {split: np.asarray(rows, dtype=np.int64)
               for split, rows in data_queries.column_value(SplitsetRow, splitset.id, "samples").items()}
    folds = [{split: np.asarray(rows, dtype=np.int64) for split, rows in fold.samples.items()}
             for fold in data_queries.fold_rows(splitset.id)]
    names = list(dataset.columns)
    kept = [names.index(c) for c in feature.columns]
    settings = dict(size_test=splitset.size_test, size_validation=splitset.size_validation,
                    fold_count=splitset.fold_count, bin_count=splitset.bin_count, seed=splitset.seed)
    interpolaters = build_arrays.interpolaters_of(feature.kind, array, names, kept, feature.interpolaters)
    plan = build_arrays.stored_plan(feature.kind, array, names, kept, feature_steps, feature.reshape_indices, labels,
                                      samples, folds, settings, interpolaters)
    fitted = build_arrays.fit(plan)
    label_shape, _, encoders = build_arrays.encoded_rows(plan, fitted)
    label_updates = None
    if labels is not None:
        label_fit = fitted.label_fit
        label_updates = _label_updates(labels.series, labels.step, label_fit, labels.is_categorical)
    shapes = dict(features_shape=list(fitted.features_shape), feature_names=list(feature.columns),
                  interpolaters=[step.to_json() for step in interpolaters] or None)
    if label_shape is not None:
        shapes["label_shape"] = label_shape
    return PendingEncoding(
        rows=dict(splitset_id=splitset.id, splitset=shapes, label_id=splitset.label_id, label=label_updates,
                  encoders=encoders),
        label_shape=None if label_shape is None else tuple(label_shape),
        categorical_encoder=bool(labels is not None and labels.step is not None and labels.step.is_categorical),
    )


def _plan_inputs_encoding(splitset: SplitsetRow) -> PendingEncoding:
    """The encoders of a multi-input splitset made step by step: each input's encoderset fitted on the shared train
    rows (each input's splitset is encoded as a splitset of one feature), then the label's labelcoder; stored
    together (``rows["inputs"]``) in the queue's transaction."""
    input_rows, shapes_of = [], []
    for entry in splitset.inputs:
        pending = plan_encoding(entry["splitset_id"])
        if pending is not None:
            input_rows.append(pending.rows)
            shapes_of.append((entry["name"], pending.rows["splitset"]))
        else:
            row = data_queries.row(SplitsetRow, entry["splitset_id"], "Splitset")
            shapes_of.append((entry["name"], dict(features_shape=row.features_shape, feature_names=row.feature_names)))
    label_row = data_queries.row(LabelRow, splitset.label_id, "Label")
    label_coders = step_queries.coders(label_id=label_row.id)
    label_step = step_by_step.coder_step(label_coders[0]) if label_coders else None
    label = step_by_step.frame(splitset.dataset_id)[label_row.column]
    if label_step is not None:
        label_step.columns = [label_row.column]
    samples = data_queries.column_value(SplitsetRow, splitset.id, "samples")
    folds = [fold.samples for fold in data_queries.fold_rows(splitset.id)]
    label_fit = None
    if label_step is not None:
        frame = label.to_frame()
        label_fit = fit_step(label_step, frame, frame.iloc[samples["train"]],
                             [frame.iloc[fold["train"]] for fold in folds], [])
    is_categorical = label_is_categorical(label, label_step)
    label_updates = _label_updates(label, label_step, label_fit, is_categorical)
    shapes = dict(label_shape=[len(label_fit.names)] if label_fit else [1],
                  features_shape=[list(shape["features_shape"]) for _, shape in shapes_of],
                  feature_names=[f"{name}: {column}" for name, shape in shapes_of for column in shape["feature_names"]])
    return PendingEncoding(
        rows=dict(splitset_id=splitset.id, splitset=shapes, label_id=splitset.label_id, label=label_updates,
                  encoders=[encoder_rows(label_fit)] if label_fit else [], inputs=input_rows),
        label_shape=tuple(shapes["label_shape"]),
        categorical_encoder=bool(label_step is not None and label_step.is_categorical),
    )


def queue_splitset(splitset_id: Any, analysis_type: str) -> tuple[SplitsetData, PendingEncoding | None]:
    """The splitset a queue will train on, its labels checked; a splitset made step by step and not encoded yet
    comes with its encoders fitted in memory, for the queue to store in its own transaction (so a later check
    that fails leaves nothing written)."""
    if splitset_id is None:
        raise errors.ExperimentError("splitset_id", "pass the id of a splitset from assay.Pipeline.Tabular.make")
    try:
        splitset = SplitsetData.load(splitset_id)
    except errors.NotFoundError as exc:
        raise errors.ExperimentError("splitset_id", str(exc)) from None
    pending = None if splitset._row.is_encoded else plan_encoding(splitset.id)
    definition.check_labels(splitset, analysis_type, pending)
    return splitset, pending
