"""``Pipeline.Sequence.make`` and ``Pipeline.Image.make``: 3-D and 4-D samples to a persisted splitset.

Like the tabular pipeline, everything is read, checked, split and fitted first; one transaction then writes the
array dataset (compressed chunks, content-addressed), the label dataset (Parquet), the label, the feature, the
splitset, its folds and the encoders. Bad input never leaves rows behind, and the caller's array is never
modified. The samples are not encoded here: ``Splitset.samples_for`` reads and encodes a split when asked.

Channel convention: samples are stored and handed out as the data kind defines them, sequences as samples x
timesteps x features and images channels first (samples x channels x height x width, PyTorch's layout). A
backend whose layers expect channels last (Keras) receives images with channels moved last, and ``fn_build``
the matching ``features_shape``, without the user transposing anything. ``feature_reshape_indices`` opts out:
the shape it asks for is what every library receives.
"""

from __future__ import annotations

import contextlib
from typing import Any

import attrs
import numpy as np
import pandas as pd

from assay import errors
from assay.data import (
    array_encoding,
    arraystore,
    encoding,
    image_windows,
    images,
    ingest,
    interpolation,
    sequence,
    sequence_interpolation,
    splitting,
    windows,
)
from assay.data.array_encoding import ArrayStep
from assay.data.build import common
from assay.data.interpolation import Interpolater
from assay.data.read.splitsets import SplitsetData
from assay.db.queries import data as data_queries

NAN_PROBE_SAMPLES = 200
LAYOUTS = {"sequence": "timesteps_features", "image": "channels_first"}


@attrs.frozen
class _Labels:
    df: pd.DataFrame
    name: str | None
    column: str
    step: Any
    is_categorical: bool
    interpolater: Interpolater | None = None  # label_interpolater: gaps filled split by split

    @property
    def series(self) -> pd.Series:
        return self.df[self.column]

    @property
    def filled(self) -> pd.Series:
        """The label with its gaps filled over the whole series: what splits are stratified on (as tables are)."""
        series = self.series
        return series if self.interpolater is None else series.interpolate(method="linear", limit_direction="both")

    def rows(self, rows: Any) -> pd.DataFrame:
        """The label of these rows as a frame, gaps interpolated among them only (so no split borrows values)."""
        frame = self.series.to_frame().iloc[np.asarray(rows, dtype=np.int64)]
        if self.interpolater is None:
            return frame
        filled = interpolation.apply([self.interpolater], frame)
        interpolation.check_filled([self.interpolater], filled, "these rows")
        return filled


def read_labels(label_df_or_path: Any, label_column: Any, label_dtype: Any, label_encoder: Any,
                sample_count: int, label_interpolater: Any = None) -> _Labels | None:
    """The label table, one row per sample in sample order; ``None`` when unsupervised."""
    if label_df_or_path is None:
        for parameter, value in (("label_column", label_column), ("label_encoder", label_encoder),
                                 ("label_dtype", label_dtype), ("label_interpolater", label_interpolater)):
            if value is not None:
                raise errors.DataError(parameter, "needs label_df_or_path (the labels); leave it None when "
                                       "unsupervised")
        return None
    try:
        df, name = ingest.read_tabular(label_df_or_path)
    except errors.DataError as exc:
        raise exc.renamed("label_df_or_path") from exc
    if label_column is None:
        if df.shape[1] != 1:
            raise errors.DataError("label_column", f"the label table has columns {list(df.columns)}; name the one "
                                   "to predict")
        label_column = str(df.columns[0])
    if not isinstance(label_column, str) or label_column not in df.columns:
        raise errors.DataError("label_column", f"{label_column!r} is not a column of the label table; columns: "
                               f"{list(df.columns)}")
    if len(df) != sample_count:
        raise errors.DataError(
            "label_df_or_path", f"has {len(df)} rows but there are {sample_count} samples; give one label row per "
            "sample, in sample order")
    if label_dtype is not None:
        try:
            df = df.assign(**{label_column: df[label_column].astype(label_dtype)})
        except (TypeError, ValueError) as exc:
            raise errors.DataError("label_dtype", f"cannot cast {label_column!r} to {label_dtype!r}: {exc}") from exc
    step = None
    if label_encoder is not None:
        step = encoding.parse_spec(label_encoder, "label_encoder", "label", 0)
        step.columns = [label_column]
    label = df[label_column]
    interpolater = interpolation.parse_label_interpolater(label_interpolater, label)
    common.check_label_values(label if interpolater is None else
                            label.interpolate(method="linear", limit_direction="both"))
    return _Labels(df, name, label_column, step, common.label_is_categorical(label, step), interpolater)


@attrs.frozen
class _Plan:
    kind: str
    array: np.ndarray
    name: str | None
    names: list[str]
    kept: list[int]
    steps: list[ArrayStep]
    reshape_indices: list[Any] | None
    labels: _Labels | None
    samples: dict[str, np.ndarray]
    folds: list[dict[str, np.ndarray]]
    settings: common.SplitSettings
    window: windows.Window | None = None  # forecasting windows along each series' timesteps: samples are windows
    interpolaters: list[Interpolater] = attrs.field(factory=list)  # sequences: gaps filled along each sample

    @property
    def axis(self) -> int:
        return 2 if self.kind == "sequence" else 1

    @property
    def frames(self) -> bool:
        """Image forecasting: the images are the frames of one series, and windows of frames are the samples."""
        return self.kind == "image" and self.window is not None

    @property
    def series_count(self) -> int:
        return 1 if self.frames else len(self.array)

    @property
    def sample_count(self) -> int:
        return len(self.array) if self.window is None else self.series_count * self.window.count

    def fit_rows(self, ids: np.ndarray) -> np.ndarray:
        """The rows encoders are fitted on for these samples: the frames their windows touch, or the samples."""
        return image_windows.frames_of(self.window, ids) if self.frames else ids

    def fit_read(self, rows: np.ndarray) -> np.ndarray:
        return self._read_series(rows) if self.frames else self.read(rows)

    @property
    def fit_shape(self) -> tuple[int, ...]:
        return self.kept_shape[1:] if self.frames else self.kept_shape

    def encode(self, steps_fitted: list[Any], ids: np.ndarray) -> np.ndarray:
        """Encoded, reshaped samples of these ids (a probe of the encoders' output shape)."""
        if self.frames:
            frame_rows = image_windows.frames_of(self.window, ids)
            encoded = array_encoding.apply(self.steps, steps_fitted, self._read_series(frame_rows), self.kept_names)
            return image_windows.cut(self.window, encoded, frame_rows, ids, False, self.reshape_indices)
        encoded = array_encoding.apply(self.steps, steps_fitted, self.read(ids), self.kept_names)
        return array_encoding.reshape(encoded, self.reshape_indices)

    def raw_targets(self, ids: Any) -> np.ndarray:
        """The original values the windows of these ids forecast, as ``SplitsetData.raw_labels`` gives them."""
        if self.frames:
            raw = image_windows.gather(self.window, self._read_series, ids, shifted=True)
            return raw.reshape(len(raw), self.window.size_window, -1).astype(np.float64)
        raw = windows.gather_series(self.window, self._read_series, ids, shifted=True)
        if self.interpolaters:
            raw = sequence_interpolation.apply(self.interpolaters, raw, self.kept_names)
        return raw.astype(np.float64)

    def read(self, rows: np.ndarray) -> np.ndarray:
        """Raw samples of ``rows`` with only the kept features or channels (a copy: never the caller's array);
        with windows, ``rows`` are window ids and the samples are those windows."""
        if self.frames:
            return image_windows.gather(self.window, self._read_series, rows)
        if self.window is not None:  # each window's gaps from its own timesteps: no window borrows another's values
            samples = windows.gather_series(self.window, self._read_series, rows)
            return sequence_interpolation.apply(self.interpolaters, samples, self.kept_names) if self.interpolaters \
                else samples
        samples = self._read_series(rows)
        if self.interpolaters:  # each sample's gaps from its own timesteps: no sample (or split) borrows another's
            samples = sequence_interpolation.apply(self.interpolaters, samples, self.kept_names)
        return samples

    def _read_series(self, rows: np.ndarray) -> np.ndarray:
        samples = np.asarray(self.array[np.asarray(rows, dtype=np.int64)])
        if len(self.kept) != self.array.shape[self.axis]:
            samples = np.take(samples, self.kept, axis=self.axis)
        return samples

    @property
    def kept_names(self) -> list[str]:
        return [self.names[i] for i in self.kept]

    @property
    def kept_shape(self) -> tuple[int, ...]:
        shape = list(self.array.shape[1:])
        shape[self.axis - 1] = len(self.kept)
        if self.frames:
            return (self.window.size_window, *shape)
        if self.window is not None:
            shape[0] = self.window.size_window
        return tuple(shape)


def plan(kind: str, array: np.ndarray, name: str | None, names: list[str], kept: list[int], feature_encoders: Any,
         feature_reshape_indices: Any, labels: _Labels | None, size_test: Any, size_validation: Any,
         fold_count: Any, bin_count: Any, seed: Any, window: windows.Window | None = None,
         feature_interpolaters: Any = None) -> _Plan:
    steps = array_encoding.parse_array_encoders(feature_encoders, kind, [names[i] for i in kept], array.dtype)
    interpolaters = interpolaters_of(kind, array, names, kept, feature_interpolaters)
    reshape_indices = array_encoding.check_reshape_indices(feature_reshape_indices)
    if window is not None and reshape_indices is not None and kind != "image":
        raise errors.DataError("feature_reshape_indices", "with feature_window the forecast has the windows' shape "
                               "(size_window, features); leave feature_reshape_indices out")
    label = labels.filled if labels is not None else None
    strata = splitting.make_strata(label, labels is not None and labels.is_categorical, bin_count)
    series_count = 1 if kind == "image" else len(array)  # image windows: the images are one series' frames
    if window is not None and window.time_ordered:
        samples, folds = windows.series_split(window, series_count, size_test, size_validation, fold_count), []
    else:
        count = len(array) if window is None else series_count * window.count
        samples = splitting.split_rows(strata, count, size_test, size_validation, int(seed))
        folds = splitting.fold_rows(strata, samples["train"], fold_count, int(seed)) if fold_count else []
    settings = common.SplitSettings(size_test, size_validation, fold_count, bin_count, int(seed))
    return _Plan(kind, array, name, names, kept, steps, reshape_indices, labels, samples, folds, settings, window,
                 interpolaters)


def interpolaters_of(kind: str, array: np.ndarray, names: list[str], kept: list[int],
                     feature_interpolaters: Any) -> list[Interpolater]:
    """``feature_interpolaters`` of sequence samples, checked (and tried on the first sample); images have none."""
    if feature_interpolaters is None:
        return []
    if kind != "sequence":
        raise errors.DataError("feature_interpolaters", f"{kind} data has no interpolation (a pixel's neighbours are "
                               "no time series); fill gaps with an encoder, e.g. SimpleImputer()")
    probe = np.take(np.asarray(array[:1]), kept, axis=2)
    return sequence_interpolation.parse(feature_interpolaters, [names[i] for i in kept], array.dtype, probe)


@attrs.frozen
class _Fitted:
    by_fold: dict[int | None, list[Any]]  # None: the splitset's fit; i: fold i's
    features_shape: tuple[int, ...]
    statistics: dict[str, dict[str, Any]]
    label_fit: Any


def fit(plan: _Plan) -> _Fitted:
    """Fit the feature encoders (splitset and folds) and the label encoder; check shapes and NaNs."""
    all_rows = np.arange(plan.sample_count)
    names = plan.kept_names
    every = plan.fit_rows(all_rows)
    by_fold = {None: array_encoding.fit_steps(plan.steps, plan.fit_read, plan.fit_rows(plan.samples["train"]), every,
                                              plan.fit_shape, names)}
    if any(not step.is_categorical for step in plan.steps):
        for index, fold in enumerate(plan.folds):
            by_fold[index] = array_encoding.fit_steps(plan.steps, plan.fit_read, plan.fit_rows(fold["train"]), every,
                                                      plan.fit_shape, names)
    shapes = {index: plan.encode(fitted, all_rows[:2]).shape[1:] for index, fitted in by_fold.items()}
    if len(set(shapes.values())) > 1:
        raise errors.EncoderError("feature_encoders", f"fitted on different folds the encoders give samples of "
                                  f"different shapes {set(shapes.values())}; use encoders whose output width does not "
                                  "depend on the data")
    statistics = arraystore.statistics(plan.array, plan.names, plan.axis)
    _check_nans(plan, by_fold[None], statistics)
    label_fit = None
    if plan.labels is not None and plan.labels.step is not None:
        fold_trains = [fold["train"] for fold in plan.folds]
        labels = plan.labels
        frame = pd.concat([labels.rows(rows) for rows in plan.samples.values()]).sort_index()
        label_fit = common.fit_step(labels.step, frame, labels.rows(plan.samples["train"]),
                                  [labels.rows(rows) for rows in fold_trains], [])
    return _Fitted(by_fold, tuple(int(s) for s in shapes[None]), statistics, label_fit)


def _check_nans(plan: _Plan, fitted: list[Any], statistics: dict[str, dict[str, Any]]) -> None:
    """Samples holding NaNs must come out of the encoders finite: an imputer must be among them."""
    with_nan = [plan.names[i] for i in plan.kept if statistics[plan.names[i]]["missing"]]
    if not with_nan:
        return
    rows, unfillable = [], []
    for start, stop in arraystore.row_ranges(len(plan.array), arraystore.rows_per_chunk(plan.array)):
        part = np.asarray(plan.array[start:stop], dtype=np.float64)
        if plan.interpolaters:  # probe first the samples interpolation cannot fill: a feature with no value at all
            kept = np.isnan(np.take(part, plan.kept, axis=2))
            unfillable += (start + np.flatnonzero(kept.all(axis=1).any(axis=1))).tolist()
            if len(unfillable) >= NAN_PROBE_SAMPLES:
                break
        elif len(rows) >= NAN_PROBE_SAMPLES:
            break
        rows += (start + np.flatnonzero(np.isnan(part).reshape(len(part), -1).any(axis=1))).tolist()
    rows = np.asarray(list(dict.fromkeys(unfillable + rows))[:NAN_PROBE_SAMPLES], dtype=np.int64)
    if plan.frames:  # those frames, read alone: encoders work frame by frame
        probe = array_encoding.apply(plan.steps, fitted, plan._read_series(rows), plan.kept_names)
        if not np.isfinite(probe).all():
            raise errors.DataError("feature_encoders", f"channels {with_nan[:10]} hold NaNs (e.g. image {rows[0]}) "
                                   "that no encoder imputes; put an imputer first, e.g. feature_encoders=[dict("
                                   "sklearn_preprocess=SimpleImputer()), ...], or fill them before make()")
        return
    if plan.window is not None:  # the windows of those series
        rows = (rows[:, None] * plan.window.count + np.arange(plan.window.count)[None, :]).ravel()
    raw = plan.read(rows)
    probe = array_encoding.apply(plan.steps, fitted, raw, plan.kept_names)
    if not np.isfinite(probe).all():
        what = "features" if plan.kind == "sequence" else "channels"
        filled, sample = "", rows[0]
        if plan.interpolaters:  # name what interpolation left: the features and a sample still holding gaps
            left = np.isnan(raw)
            with_nan = [name for j, name in enumerate(plan.kept_names) if left[..., j].any()] or with_nan
            sample = rows[np.flatnonzero(left.reshape(len(left), -1).any(axis=1))[0]] if left.any() else sample
            filled = " no feature interpolater fills (a feature with no value in a sample) and"
        raise errors.DataError(
            "feature_encoders",
            f"{what} {with_nan[:10]} hold NaNs (e.g. sample {sample}) that{filled} no encoder imputes; put an imputer "
            "first, e.g. feature_encoders=[dict(sklearn_preprocess=SimpleImputer()), ...], or fill them before make()",
        )


def windows_check_invertible(plan: _Plan, fitted: _Fitted) -> None:
    """Forecast windows are decoded back to the original scale: every step must work on a timestep's features and
    keep their number (scalers, not one-hot or PCA)."""
    if plan.frames:
        frame = plan.kept_shape[1:]
        encoded = array_encoding.apply(plan.steps, fitted.by_fold[None], plan._read_series(np.arange(1)),
                                       plan.kept_names).shape[1:]
        if tuple(encoded) != tuple(frame):
            raise errors.EncoderError("feature_encoders", f"with feature_window each encoded frame must keep its shape "
                                      f"{tuple(frame)} so forecasts decode back to pixels, but it becomes "
                                      f"{tuple(encoded)}; use encoders that keep the channels (scalers, "
                                      "FunctionTransformer(div255, inverse_func=mult255))")
        return
    width = len(plan.kept)
    if tuple(fitted.features_shape) != (plan.window.size_window, width):
        raise errors.EncoderError(
            "feature_encoders", f"with feature_window the encoded windows must keep their shape "
            f"({plan.window.size_window}, {width}), but they become {fitted.features_shape}; use column-wise encoders "
            "such as StandardScaler()")
    for step in plan.steps:
        if step.axis != "feature":
            raise errors.EncoderError(step.parameter, "with feature_window every encoder must work on a timestep's "
                                      "features (the default), so forecasts can be decoded")


def stored_plan(kind: str, array: np.ndarray, names: list[str], kept: list[int], steps: list[ArrayStep],
                reshape_indices: list[Any] | None, labels: _Labels | None, samples: dict[str, np.ndarray],
                folds: list[dict[str, np.ndarray]], settings: common.SplitSettings,
                interpolaters: list[Interpolater] | None = None, window: windows.Window | None = None) -> _Plan:
    """The plan of samples already stored and split (a splitset made step by step): ``fit`` and
    :func:`rows` then fit and describe its encoders as for ``Pipeline.Sequence/Image.make``."""
    return _Plan(kind, array, None, names, kept, steps, reshape_indices, labels, samples, folds, settings,
                 window=window, interpolaters=list(interpolaters or []))


def stored_labels(df: pd.DataFrame, column: str, step: Any, interpolater: Interpolater | None = None) -> _Labels:
    """A stored label table (one row per sample), its label encoder step and label interpolater."""
    if step is not None:
        step.columns = [column]
    return _Labels(df, None, column, step, common.label_is_categorical(df[column], step), interpolater)


def rows(plan: _Plan, fitted: _Fitted) -> tuple[list[int] | None, list[Any]]:
    """``(label_shape, encoder rows)`` of fitted encoders, as stored with the splitset."""
    labels = plan.labels
    label_shape = None if labels is None else common.label_shape(fitted.label_fit)
    if plan.window is not None:
        windows_check_invertible(plan, fitted)
        label_shape = list(fitted.features_shape) if plan.window.record_shifted else None
    encoders = [common.encoder_rows(fitted.label_fit)] if fitted.label_fit is not None else []
    encoders += [step_rows(step, plan.kept_names, {index: models[position]
                                                   for index, models in fitted.by_fold.items()})
                 for position, step in enumerate(plan.steps)]
    return label_shape, encoders


def write(plan: _Plan, fitted: _Fitted) -> SplitsetData:
    """Store everything in one transaction and return the stored splitset (the public object wraps it)."""
    array, labels = plan.array, plan.labels
    sha256 = arraystore.fingerprint(array)
    kept_names = plan.kept_names
    excluded = [name for i, name in enumerate(plan.names) if i not in plan.kept]
    label_shape, encoders = rows(plan, fitted)
    label_columns = None
    if labels is not None:
        label_columns = dict(column=labels.column, dtype=str(labels.series.dtype),
                             **common.label_summary(labels.series, labels.step, fitted.label_fit,
                                                    labels.is_categorical))
    serialized = ingest.serialize(labels.df) if labels is not None else contextlib.nullcontext()
    with serialized:
        splitset_row, label_row, feature_row = data_queries.store_array_splitset(
            sha256, lambda: array_dataset(plan.kind, array, plan.name, plan.names, sha256, fitted.statistics),
            None if labels is None else (serialized, ingest.dataset_fields(labels.df, labels.name)),
            label_columns,
            features=dict(
                columns=kept_names, columns_excluded=excluded,
                dtypes={name: str(array.dtype) for name in kept_names}, kind=plan.kind,
                sample_shape=[int(s) for s in array.shape[1:]], reshape_indices=plan.reshape_indices,
                layout="reshaped" if plan.reshape_indices is not None or plan.frames else LAYOUTS[plan.kind],
            ),
            splitset=dict(
                samples=dict(plan.samples), split_sizes={s: len(r) for s, r in plan.samples.items()},
                features_shape=list(fitted.features_shape), label_shape=label_shape, feature_names=kept_names,
                window=None if plan.window is None else plan.window.to_json(),
                interpolaters=[step.to_json() for step in plan.interpolaters + _label_steps(labels)] or None,
                **plan.settings.columns(),
            ),
            folds=[dict(fold) for fold in plan.folds],
            encoders=encoders,
        )
    data = SplitsetData(splitset_row)
    data.prime(None, label_row, feature_row, label_frame=None if labels is None else labels.df)
    return data


def _label_steps(labels: _Labels | None) -> list[Interpolater]:
    return [labels.interpolater] if labels is not None and labels.interpolater is not None else []


def array_dataset(kind: str, array: np.ndarray, name: str | None, names: list[str], sha256: str,
                  statistics: dict[str, Any] | None = None) -> tuple[dict[str, Any], Any]:
    """A new array dataset as :func:`assay.db.arrays.add_array_dataset` stores it: its DatasetRow columns and its
    compressed chunks (a generator: one chunk alive at a time)."""
    if statistics is None:
        statistics = arraystore.statistics(array, names, 2 if kind == "sequence" else 1)
    return dict(
        kind=kind, name=name, sha256=sha256, file_format=arraystore.FILE_FORMAT, row_count=int(array.shape[0]),
        column_count=len(names), columns=list(names), dtypes={n: str(array.dtype) for n in names},
        statistics=statistics, shape=[int(s) for s in array.shape],
    ), arraystore.compressed_chunks(array)


def step_rows(step: ArrayStep, columns: list[str], by_fold: dict[int | None, Any],
               ) -> tuple[dict[str, Any], dict[int | None, tuple[bytes, list[str]]]]:
    """An array step as :func:`assay.db.queries.data.store_array_splitset` stores it (see ``common.encoder_rows``)."""
    family = step.family
    spec = dict(
        role="feature", position=step.position, family=family.name,
        class_name=type(step.encoder).__name__, params=family.describe(step.encoder), dtypes=None,
        columns_selected=None if step.columns is None else list(step.columns),
        columns_matched=list(step.columns or columns), is_categorical=step.is_categorical,
        blob=family.dumps(step.encoder), axis=step.axis,
    )
    return spec, {index: (family.dumps(model), []) for index, model in by_fold.items()}


# --- the two entry points ----------------------------------------------------------------------------------------


def check_common(seed: Any, size_test: Any, size_validation: Any, fold_count: Any) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise errors.SplitError("seed", f"must be an integer, got {seed!r}")
    splitting.check_sizes(size_test, size_validation, fold_count)


def make_sequence(feature_ndarray3D_or_npyPath: Any, feature_dtype: Any, feature_cols_excluded: Any,
                  feature_encoders: Any, feature_reshape_indices: Any, label_df_or_path: Any, label_dtype: Any,
                  label_column: Any, label_encoder: Any, size_test: Any, size_validation: Any, fold_count: Any,
                  bin_count: Any, seed: Any, feature_window: Any = None,
                  feature_interpolaters: Any = None, label_interpolater: Any = None) -> SplitsetData:
    check_common(seed, size_test, size_validation, fold_count)
    array, name = sequence.read_sequence(feature_ndarray3D_or_npyPath, feature_dtype)
    window = _forecast_window(feature_window, array.shape[1], "timesteps", label_df_or_path, label_column)
    names = sequence.feature_names(array.shape[2])
    excluded = sequence.excluded_indices(feature_cols_excluded, names)
    kept = [i for i in range(len(names)) if i not in excluded]
    labels = read_labels(label_df_or_path, label_column, label_dtype, label_encoder, len(array), label_interpolater)
    the_plan = plan("sequence", array, name, names, kept, feature_encoders, feature_reshape_indices, labels,
                    size_test, size_validation, fold_count, bin_count, seed, window, feature_interpolaters)
    return write(the_plan, fit(the_plan))


def _forecast_window(feature_window: Any, length: int, unit: str, label_df_or_path: Any, label_column: Any) -> Any:
    """The parsed ``feature_window`` (``None`` without one); a window forecasts the features themselves, so labels
    given beside it are refused, naming the one given."""
    if feature_window is None:
        return None
    if label_df_or_path is not None or label_column is not None:
        raise errors.DataError(
            "label_df_or_path" if label_df_or_path is not None else "label_column",
            f"with feature_window each window's label is the window size_shift {unit} later (the features "
            "forecast themselves); leave the labels out")
    return windows.parse(feature_window, length, None)


def make_image(feature_folder_or_urls: Any, feature_dtype: Any, feature_encoders: Any, feature_reshape_indices: Any,
               label_df_or_path: Any, label_column: Any, label_encoder: Any, size_test: Any, size_validation: Any,
               fold_count: Any, bin_count: Any, seed: Any, label_interpolater: Any = None,
               label_dtype: Any = None, feature_window: Any = None,
               feature_interpolaters: Any = None) -> SplitsetData:
    check_common(seed, size_test, size_validation, fold_count)
    sequence.check_dtype(feature_dtype)
    # labels first: a label file of the wrong length fails before thousands of images are decoded
    paths, name = images.image_paths(feature_folder_or_urls)
    window = _forecast_window(feature_window, len(paths), "frames", label_df_or_path, label_column)
    labels = read_labels(label_df_or_path, label_column, label_dtype, label_encoder, len(paths), label_interpolater)
    array, _, _ = images.read_images(paths, feature_dtype)
    names = images.channel_names(array.shape[1])
    the_plan = plan("image", array, name, names, list(range(len(names))), feature_encoders, feature_reshape_indices,
                    labels, size_test, size_validation, fold_count, bin_count, seed, window, feature_interpolaters)
    return write(the_plan, fit(the_plan))
