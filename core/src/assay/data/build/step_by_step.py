"""The step-by-step data API (AIQC's low-level API): checks and writes of labels, features, splitsets, foldsets,
encodersets and coders, one at a time (``assay.data.build.step_by_step_encoders.plan_encoding`` then fits a splitset made that way,
for its first queue to store).

Each function checks its input before it writes anything. Splits and folds are made by :mod:`assay.data.splitting`
with the same calls ``Pipeline.Tabular.make`` makes, so the same choices give the same splitset whichever API made
it.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from assay import errors
from assay.data import (
    array_encoding,
    arraystore,
    encoding,
    finite,
    images,
    ingest,
    interpolation,
    sequence,
    splitting,
    windows,
)
from assay.data.array_encoding import ArrayStep
from assay.data.build import arrays as build_arrays
from assay.data.build import common
from assay.data.encoding import EncoderStep
from assay.data.read import multi_input
from assay.db.models import CoderRow, DatasetRow, FeatureRow, FoldsetRow, LabelRow, SplitsetRow
from assay.db.queries import data as data_queries
from assay.db.queries import steps as queries

FORMATS = {"csv": ",", "tsv": "\t", "parquet": None}


def frame(dataset_id: int) -> pd.DataFrame:
    return ingest.deserialize(data_queries.dataset_blob(dataset_id))


def read(df_or_path: Any, source_file_format: str | None, dtype: Any) -> tuple[pd.DataFrame, str | None]:
    """A DataFrame or file (``source_file_format`` csv, tsv or parquet; by suffix when ``None``), cast to
    ``dtype`` (a dtype or a ``{column: dtype}`` dict) when given; checked as ``Pipeline.Tabular.make`` checks."""
    if isinstance(df_or_path, pd.DataFrame) or source_file_format is None:
        df, name = ingest.read_tabular(df_or_path)
    else:
        if source_file_format not in FORMATS:
            raise errors.DataError("source_file_format", f"must be one of {list(FORMATS)}, got {source_file_format!r}")
        path = str(df_or_path)
        try:
            df = pd.read_parquet(path) if source_file_format == "parquet" else \
                pd.read_csv(path, sep=FORMATS[source_file_format])
        except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise errors.DataError("file_path", f"cannot read {path!r} as {source_file_format}: {exc}") from exc
        df, name = ingest.read_tabular(df)
        name = path.rsplit("/", 1)[-1]
    if dtype is not None:
        try:
            df = df.astype(dtype)
        except (TypeError, ValueError, KeyError) as exc:
            raise errors.DataError("dtype", f"cannot cast the data to {dtype!r}: {exc}") from exc
    return df, name


def make_array_dataset(kind: str, array: np.ndarray, name: str | None) -> DatasetRow:
    """Store sequence or image samples (checked by their reader) as ``Pipeline.Sequence/Image.make`` stores them,
    or find the identical samples already stored."""
    names = sequence.feature_names(array.shape[2]) if kind == "sequence" else images.channel_names(array.shape[1])
    sha256 = arraystore.fingerprint(array)
    return queries.store_array_dataset(sha256, lambda: build_arrays.array_dataset(kind, array, name, names, sha256))


def make_label(dataset: DatasetRow, df: pd.DataFrame, columns: Any) -> LabelRow:
    """Store the label column of a dataset (one column; AIQC's ``columns=[name]``)."""
    names = encoding.as_list(columns)
    if not names or len(names) != 1 or not isinstance(names[0], str):
        raise errors.DataError("columns", f"give the one label column as columns=['name'], got {columns!r}")
    column = names[0]
    if column not in df.columns:
        raise errors.DataError("columns", f"{column!r} is not a column; columns: {list(df.columns)}")
    label = df[column]
    if pd.api.types.is_float_dtype(label.dtype):
        # gaps a label interpolater may fill later (label.make_labelinterpolater); Splitset.make refuses them if not
        finite.refuse_infinity(label.to_frame(), [column], "columns")
    else:
        common.check_label_values(label)
    is_categorical = common.label_is_categorical(label, None)
    return queries.store_label(dataset.id, dict(column=column, dtype=str(label.dtype), is_categorical=is_categorical,
                                                classes=None, class_counts=None))


def check_tabular(dataset: DatasetRow, what: str) -> None:
    if dataset.kind != "tabular":
        raise errors.DataError("dataset_id", f"dataset {dataset.id} holds {dataset.kind} samples; {what}")


def make_array_feature(dataset: DatasetRow, include_columns: Any, exclude_columns: Any) -> FeatureRow:
    """Store the features (sequences) or channels (images) of an array dataset that a splitset uses: all of them,
    ``include_columns`` or all but ``exclude_columns`` (names, AIQC's ``'0'``, ``'1'``... or indices), as
    ``Pipeline.Sequence.make``'s ``feature_cols_excluded`` chooses them."""
    names = list(dataset.columns)
    if include_columns is not None and exclude_columns is not None:
        raise errors.DataError("include_columns", "give include_columns or exclude_columns, not both")
    if dataset.kind == "image" and (include_columns is not None or exclude_columns is not None):
        raise errors.DataError("exclude_columns", "an image feature has every channel; convert the images' mode "
                               "(e.g. to 'L') instead of choosing channels")
    if include_columns is not None:
        included = sequence.feature_indices(include_columns, names, "include_columns")
        excluded = [i for i in range(len(names)) if i not in included]
    else:
        excluded = sequence.excluded_indices(exclude_columns, names, "exclude_columns")
    kept = [name for i, name in enumerate(names) if i not in excluded]
    dtype = next(iter(dataset.dtypes.values()))
    return queries.store_feature(dataset.id, dict(
        columns=kept, columns_excluded=[names[i] for i in excluded], dtypes=dict.fromkeys(kept, dtype),
        kind=dataset.kind, sample_shape=[int(s) for s in dataset.shape[1:]], reshape_indices=None,
        layout=build_arrays.LAYOUTS[dataset.kind],
    ))


def make_featureshaper(feature: FeatureRow, reshape_indices: Any) -> FeatureRow:
    """Reshape a sequence or image feature's encoded samples (``Pipeline.Sequence/Image.make``'s
    ``feature_reshape_indices``; AIQC's ``FeatureShaper``), before a queue fits a splitset of it."""
    if feature.kind in (None, "tabular"):
        raise errors.DataError("reshape_indices", f"feature {feature.id} is tabular: a table's samples are rows; "
                               "reshape sequence or image features")
    indices = array_encoding.check_reshape_indices(reshape_indices)
    if indices is None:
        raise errors.DataError("reshape_indices", "give the new shape's axes, e.g. (0, 2, 3)")
    _check_unencoded(feature, "reshape_indices")
    return queries.update_feature(feature.id, dict(reshape_indices=indices, layout="reshaped"))


def make_featureinterpolater(feature: FeatureRow, spec: dict[str, Any]) -> FeatureRow:
    """Add a ``feature_interpolaters`` entry to a tabular or sequence feature, checked with the earlier ones as
    ``Pipeline.Tabular.make`` or ``Pipeline.Sequence.make`` checks them (AIQC's FeatureInterpolater)."""
    if feature.kind not in (None, "tabular", "sequence"):
        raise errors.DataError(
            "interpolaterset", f"feature {feature.id} is {feature.kind} data, which has no interpolation (neither "
            "has Pipeline.Image.make); fill gaps with a featurecoder, e.g. feature.make_encoderset()"
            ".make_featurecoder(sklearn_preprocess=SimpleImputer())")
    _check_unencoded(feature, "interpolaters")
    try:
        json.dumps(spec)
    except (TypeError, ValueError) as exc:
        raise errors.DataError("interpolate_kwargs", f"the step must be stored as JSON (names, numbers, dtype names as "
                               f"strings): {exc}") from None
    specs = [*(feature.interpolaters or []), spec]
    try:
        if feature.kind == "sequence":
            _check_sequence_interpolaters(feature, specs)
        else:
            interpolation.parse_feature_interpolaters(specs, frame(feature.dataset_id)[feature.columns])
    except errors.DataError as exc:  # named as make_featureinterpolater's own parameter
        raise exc.renamed(_own(exc.parameter, f"feature_interpolaters[{len(specs) - 1}]")) from None
    return queries.update_feature(feature.id, dict(interpolaters=specs))


def make_labelinterpolater(label: LabelRow, spec: dict[str, Any]) -> LabelRow:
    """Give a float label ``Pipeline.Tabular.make``'s ``label_interpolater`` (AIQC's LabelInterpolater), checked by
    the same code, before any splitset of it is made: its splits are stratified on the interpolated label."""
    if label.interpolater is not None:
        raise errors.DataError("interpolate_kwargs", f"label {label.id} has its interpolater already")
    made = [row.id for row in queries.splitsets_of_label(label.id)]
    if made:
        raise errors.DataError("label_id", f"splitsets {made} of label {label.id} are split already; make the label "
                               "interpolater before Splitset.make (splits are stratified on the interpolated label)")
    try:
        json.dumps(spec)
    except (TypeError, ValueError) as exc:
        raise errors.DataError("interpolate_kwargs", f"the step must be stored as JSON (names, numbers, strings): "
                               f"{exc}") from None
    values = frame(label.dataset_id)[label.column]
    try:
        interpolation.parse_label_interpolater(spec, values)
    except errors.DataError as exc:  # named as make_labelinterpolater's own parameter
        raise exc.renamed(_own(exc.parameter, "label_interpolater")) from None
    if values.isna().all():
        raise errors.DataError("label_id", f"{label.column!r} holds no value at all; nothing to interpolate")
    return queries.update_label(label.id, dict(interpolater=spec))


def _check_sequence_interpolaters(feature: FeatureRow, specs: list[dict[str, Any]]) -> None:
    """``Pipeline.Sequence.make``'s checks of ``feature_interpolaters``, tried on the feature's first sample."""
    from assay.data.read.stored import StoredArray

    dataset = data_queries.row(DatasetRow, feature.dataset_id)
    stored = StoredArray.load(dataset.id, dataset.shape, dataset.dtypes, dataset.columns)
    names = list(dataset.columns)
    build_arrays.interpolaters_of("sequence", stored.rows(np.arange(1)), names,
                                    [names.index(c) for c in feature.columns], specs)


def make_window(feature: FeatureRow, spec: dict[str, Any]) -> windows.Window:
    """Give a tabular feature forecasting windows (``Pipeline.Tabular.make``'s ``feature_window``; AIQC's
    Window), before any splitset of it is made: its splits depend on them."""
    if feature.kind not in (None, "tabular", "sequence", "image"):
        raise errors.DataError(
            "feature_id", f"feature {feature.id} is {feature.kind} data, which has no forecasting windows; windows "
            "run along a table's rows, a sequence's timesteps or a folder's images")
    if feature.window is not None:
        raise errors.DataError("size_window", f"feature {feature.id} has its window already")
    made = [row.id for row in queries.splitsets_of_feature(feature.id)]
    if made:
        raise errors.DataError("feature_id", f"splitsets {made} of feature {feature.id} are split already; make the "
                               "window before Splitset.make")
    if feature.kind in ("sequence", "image"):  # along each sample's timesteps, or along the images in order
        shape = data_queries.row(DatasetRow, feature.dataset_id).shape
        try:
            window = windows.parse(spec, shape[1] if feature.kind == "sequence" else shape[0], None)
        except errors.DataError as exc:
            raise exc.renamed(_own(exc.parameter, "feature_window")) from None
        queries.update_feature(feature.id, dict(window=spec))
        return window
    df = frame(feature.dataset_id)
    try:
        window = windows.parse(spec, len(df), None)
    except errors.DataError as exc:
        raise exc.renamed(_own(exc.parameter, "feature_window")) from None
    windows.check_forecastable(df[feature.columns], "feature_id",
                               "make a feature without them: dataset.make_feature(exclude_columns={columns!r})")
    queries.update_feature(feature.id, dict(window=spec))
    return window


def _own(parameter: str, prefix: str) -> str:
    """A pipeline parameter (``feature_window.size_window``) as a step's own (``size_window``)."""
    own = parameter[len(prefix):].lstrip(".") if parameter.startswith(prefix) else parameter
    return own or prefix


def _check_unencoded(feature: FeatureRow, what: str) -> None:
    encoded = [row.id for row in queries.splitsets_of_feature(feature.id) if row.is_encoded]
    if encoded:
        raise errors.DataError("feature_id", f"splitsets {encoded} of feature {feature.id} are encoded already; "
                               f"{what} change a feature before its splitsets' first queue")


def make_feature(dataset: DatasetRow, df: pd.DataFrame, include_columns: Any, exclude_columns: Any) -> FeatureRow:
    """Store the feature columns of a dataset: ``include_columns`` or every column but ``exclude_columns``."""
    include, exclude = encoding.as_list(include_columns), encoding.as_list(exclude_columns)
    if include is not None and exclude is not None:
        raise errors.DataError("include_columns", "give include_columns or exclude_columns, not both")
    for parameter, names in (("include_columns", include), ("exclude_columns", exclude)):
        unknown = [c for c in names or [] if c not in df.columns]
        if unknown:
            raise errors.DataError(parameter, f"{unknown} are not columns; columns: {list(df.columns)}")
    columns = include if include is not None else [c for c in df.columns if c not in (exclude or [])]
    if not columns:
        raise errors.DataError("exclude_columns", "excludes every column: no feature column is left")
    excluded = [c for c in df.columns if c not in columns]
    return queries.store_feature(dataset.id, dict(columns=list(columns), columns_excluded=excluded,
                                                  dtypes=ingest.dtype_names(df[columns])))


def make_splitset(feature_ids: Any, label_id: int | None, size_test: float | None, size_validation: float | None,
                  bin_count: int | None, seed: int, unsupervised_stratify_col: Any = None) -> SplitsetRow:
    """Check, split and store a splitset of one feature (and its label), or of several features aligned by row
    (a multi-input splitset); encoders are fitted later."""
    if unsupervised_stratify_col is not None:
        raise errors.SplitError(
            "unsupervised_stratify_col", "assay stratifies on the label only: forecast windows (feature.make_window) "
            "are split in time order (test last, so no window trains on the future), other unsupervised rows at "
            "random; drop unsupervised_stratify_col (make_window(..., time_ordered=False) shuffles windows)")
    ids = encoding.as_list(feature_ids) if not isinstance(feature_ids, int) else [feature_ids]
    if not ids:
        raise errors.SplitError("feature_ids", f"give feature ids as feature_ids=[id, ...], got {feature_ids!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise errors.SplitError("seed", f"must be an integer, got {seed!r}")
    splitting.check_sizes(size_test, size_validation, None)
    if len(ids) > 1:
        return _make_multi_splitset(ids, label_id, size_test, size_validation, bin_count, int(seed))
    feature = _row(FeatureRow, ids[0], "feature_ids")
    label = None if label_id is None else _row(LabelRow, label_id, "label_id")
    if feature.kind not in (None, "tabular"):
        return _make_array_splitset(feature, label, size_test, size_validation, bin_count, int(seed))
    if feature.window is not None and label is not None:
        raise errors.SplitError("label_id", f"feature {feature.id} has forecasting windows, whose labels are the "
                                "windows size_shift rows later; pass label_id=None")
    if label is not None and label.dataset_id != feature.dataset_id:
        raise errors.SplitError("label_id", f"label {label.id} is of dataset {label.dataset_id}, the feature of "
                                            f"dataset {feature.dataset_id}: make both from the same dataset")
    if label is not None and label.column in feature.columns:
        raise errors.SplitError(
            "feature_ids", f"feature {feature.id} holds the label column {label.column!r}; make the feature with "
                           f"dataset.make_feature(exclude_columns=[{label.column!r}])"
        )
    df = frame(feature.dataset_id)
    window = None if feature.window is None else windows.parse(feature.window, len(df), None)
    strata = _strata(df, label, bin_count)
    if window is not None and window.time_ordered:  # as Pipeline.Tabular.make splits windows
        samples = windows.split_time_ordered(window, size_test, size_validation, None)
    else:
        count = len(df) if window is None else window.count
        samples = splitting.split_rows(strata, count, size_test, size_validation, int(seed))
    return queries.store_open_splitset(dict(
        dataset_id=feature.dataset_id, label_id=label_id, feature_id=feature.id, size_test=size_test,
        size_validation=size_validation, fold_count=None, bin_count=bin_count, seed=int(seed),
        samples=common.as_lists(samples), split_sizes={split: len(rows) for split, rows in samples.items()},
        window=None if window is None else window.to_json(),
    ))


def _make_array_splitset(feature: FeatureRow, label: LabelRow | None, size_test: float | None,
                         size_validation: float | None, bin_count: int | None, seed: int) -> SplitsetRow:
    """A splitset of sequence or image samples, labelled by a table of one row per sample (a dataset of its own),
    split as ``Pipeline.Sequence/Image.make`` splits them."""
    dataset = data_queries.row(DatasetRow, feature.dataset_id)
    count = dataset.row_count
    if feature.window is not None:  # as Pipeline.Sequence/Image.make split windows
        if label is not None:
            raise errors.SplitError("label_id", f"feature {feature.id} has forecasting windows, whose labels are the "
                                    "windows size_shift steps later; pass label_id=None")
        series = 1 if feature.kind == "image" else count
        window = windows.parse(feature.window, count if feature.kind == "image" else dataset.shape[1], None)
        if window.time_ordered:
            samples = windows.series_split(window, series, size_test, size_validation, None)
        else:
            samples = splitting.split_rows(_strata(None, None, bin_count), series * window.count, size_test,
                                           size_validation, seed)
        return queries.store_open_splitset(dict(
            dataset_id=feature.dataset_id, label_id=None, feature_id=feature.id, size_test=size_test,
            size_validation=size_validation, fold_count=None, bin_count=bin_count, seed=seed,
            samples=common.as_lists(samples), split_sizes={split: len(rows) for split, rows in samples.items()},
            window=window.to_json(),
        ))
    label_df = None
    if label is not None:
        label_df = frame(label.dataset_id)
        if len(label_df) != count:
            raise errors.SplitError(
                "label_id", f"label {label.id}'s dataset has {len(label_df)} rows but feature {feature.id} has {count} "
                f"{feature.kind} samples; make the label from a table of one row per sample, in sample order")
    strata = _strata(label_df, label, bin_count)
    samples = splitting.split_rows(strata, count, size_test, size_validation, seed)
    return queries.store_open_splitset(dict(
        dataset_id=feature.dataset_id, label_id=None if label is None else label.id, feature_id=feature.id,
        size_test=size_test, size_validation=size_validation, fold_count=None, bin_count=bin_count, seed=seed,
        samples=common.as_lists(samples), split_sizes={split: len(rows) for split, rows in samples.items()},
    ))


def _make_multi_splitset(ids: list[Any], label_id: Any, size_test: float | None, size_validation: float | None,
                         bin_count: int | None, seed: int) -> SplitsetRow:
    """Several features (of one dataset or of several with the same rows) and a label: one open splitset per
    feature, sharing the splits, listed in order by the label's open splitset."""
    if len(set(ids)) != len(ids):
        raise errors.SplitError("feature_ids", f"lists a feature twice: {ids}; give each feature once")
    features = [_row(FeatureRow, feature_id, f"feature_ids[{i}]") for i, feature_id in enumerate(ids)]
    if label_id is None:
        raise errors.SplitError("label_id", "several feature inputs are aligned by their label: give label_id")
    label = _row(LabelRow, label_id, "label_id")
    _refuse_label_interpolater(label, "a splitset of several features")
    label_df = frame(label.dataset_id)
    for index, feature in enumerate(features):
        if feature.kind not in (None, "tabular"):
            raise errors.SplitError(f"feature_ids[{index}]", f"feature {feature.id} is {feature.kind} data; the "
                                    "step-by-step API combines table features (use assay.Pipeline.make for others)")
        rows = data_queries.row(DatasetRow, feature.dataset_id).row_count
        if rows != len(label_df):
            raise errors.SplitError(f"feature_ids[{index}]", f"feature {feature.id} has {rows} rows but the label's "
                                    f"dataset has {len(label_df)}; every feature needs one row per label row, in order")
        if feature.dataset_id == label.dataset_id and label.column in feature.columns:
            raise errors.SplitError(f"feature_ids[{index}]", f"feature {feature.id} holds the label column "
                                    f"{label.column!r}; make it with exclude_columns=[{label.column!r}]")
    strata = _strata(label_df, label, bin_count)
    samples = splitting.split_rows(strata, len(label_df), size_test, size_validation, seed)
    split = dict(size_test=size_test, size_validation=size_validation, fold_count=None, bin_count=bin_count,
                 seed=seed, samples=common.as_lists(samples), split_sizes={s: len(r) for s, r in samples.items()})
    names = [f"tabular_{index}" for index in range(len(features))]
    feature = dict(columns=[multi_input.qualified(name, c) for name, f in zip(names, features, strict=True)
                            for c in f.columns], columns_excluded=[], kind=multi_input.KIND,
                   dtypes={multi_input.qualified(name, c): d for name, f in zip(names, features, strict=True)
                           for c, d in f.dtypes.items()})
    return queries.store_open_multi_splitset(label.dataset_id, label.id, feature, split,
                                             [(name, f.dataset_id, f.id) for name, f in zip(names, features,
                                                                                            strict=True)])


def make_foldset(splitset: SplitsetRow, fold_count: int, bin_count: int | None) -> FoldsetRow:
    """Check and store folds made on a splitset's train rows (before it is encoded)."""
    _check_open(splitset, "make_foldset")
    if queries.foldset_of(splitset.id) is not None:
        raise errors.SplitError("fold_count", f"splitset {splitset.id} has its folds already")
    splitting.check_sizes(splitset.size_test, splitset.size_validation, fold_count)
    label = None if splitset.label_id is None else _row(LabelRow, splitset.label_id, "label_id")
    df = None if label is None else frame(label.dataset_id)  # sequences and images have their labels apart
    bins = bin_count if bin_count is not None else splitset.bin_count
    strata = _strata(df, label, bins)
    if splitset.window is not None and windows.Window.from_json(splitset.window).time_ordered:
        raise errors.SplitError("fold_count", "folds shuffle windows across time; with time-ordered windows use "
                                "size_validation, or feature.make_window(..., time_ordered=False) for folds of "
                                "shuffled windows")
    train = data_queries.sample_arrays(SplitsetRow, splitset.id)["train"]
    folds = splitting.fold_rows(strata, train, fold_count, int(splitset.seed))
    # a multi-input splitset's inputs get the same folds
    inputs = [entry["splitset_id"] for entry in splitset.inputs or []]
    return queries.store_foldset(splitset.id, fold_count, bins, [common.as_lists(fold) for fold in folds], inputs)


def _strata(df: pd.DataFrame | None, label: LabelRow | None, bin_count: int | None) -> splitting.Strata:
    if label is None:
        return splitting.make_strata(None, False, bin_count)
    # as Pipeline.Tabular.make decides: by the label encoder when there is one, else by the label's dtype
    coders = queries.coders(label_id=label.id)
    categorical = coders[0].is_categorical if coders else label.is_categorical
    values = df[label.column]
    if label.interpolater is None:
        missing = finite.missing_positions(values.to_frame())
        if missing:
            raise errors.SplitError(
                "label_id", f"label {label.id} is missing in {finite.describe(missing, values.index)}; drop those "
                "rows, or fill the gaps of a float label with label.make_labelinterpolater() before Splitset.make")
    else:  # as Pipeline.Tabular.make: a gap is binned by its whole-series neighbours
        values = values.interpolate(method="linear", limit_direction="both")
    return splitting.make_strata(values, bool(categorical), bin_count)


def _refuse_label_interpolater(label: LabelRow | None, what: str) -> None:
    if label is not None and label.interpolater is not None:
        raise errors.SplitError("label_id", f"label {label.id} has an interpolater, which fills the gaps of a table's "
                                f"label split by split; {what} has none (neither has Pipeline.make): fill the label's "
                                "gaps before making the label")


def make_labelcoder(label: LabelRow, sklearn_preprocess: Any) -> CoderRow:
    """Check and store a label's encoder (one per label)."""
    if queries.coders(label_id=label.id):
        raise errors.EncoderError("sklearn_preprocess", f"label {label.id} has its labelcoder already")
    step = encoding.parse_spec(dict(sklearn_preprocess=sklearn_preprocess), "label_encoder", "label", 0)
    if step.is_categorical != label.is_categorical:
        splitsets = [row.id for row in queries.splitsets_of_label(label.id)]
        if splitsets:  # they were stratified as the label's dtype suggested
            kind, was = ("categorical", "continuous") if step.is_categorical else ("continuous", "categorical")
            raise errors.EncoderError(
                "sklearn_preprocess",
                f"{type(sklearn_preprocess).__name__} makes label {label.column!r} {kind}, but splitsets "
                f"{splitsets} were already stratified on it as {was}; make the labelcoder before Splitset.make",
            )
    return queries.store_coder(_coder_fields(step, label_id=label.id))


def make_featurecoder(encoderset_id: int, feature: FeatureRow, spec: dict[str, Any]) -> CoderRow:
    """Check a featurecoder against the feature's columns and the encoderset's earlier coders, then store it."""
    earlier = queries.coders(encoderset_id=encoderset_id)
    position = len(earlier)
    if feature.kind not in (None, "tabular"):
        return _make_array_featurecoder(encoderset_id, feature, spec, position)
    step = encoding.parse_spec(spec, f"feature_encoders[{position}]", "feature", position)
    steps = [coder_step(row) for row in earlier] + [step]
    df = frame(feature.dataset_id)
    encoding.select_columns(steps, df[feature.columns], None, check_passthrough=False)
    encoding.check_data([step], df[feature.columns])
    return queries.store_coder(_coder_fields(step, encoderset_id=encoderset_id))


def _make_array_featurecoder(encoderset_id: int, feature: FeatureRow, spec: dict[str, Any],
                             position: int) -> CoderRow:
    """A featurecoder of sequence or image samples: ``Pipeline.Sequence/Image.make``'s ``feature_encoders`` entry,
    checked by the same parser (its chosen features stored by name)."""
    dtype = next(iter(feature.dtypes.values())) if feature.dtypes else None
    step = array_encoding.parse_array_spec(spec, position, feature.kind, list(feature.columns), dtype)
    family = step.family
    return queries.store_coder(dict(
        encoderset_id=encoderset_id, position=position, family=family.name, class_name=type(step.encoder).__name__,
        params=family.describe(step.encoder), dtypes=None, columns_selected=step.columns, include=True,
        is_categorical=step.is_categorical, blob=family.dumps(step.encoder), axis=step.axis,
    ))


def array_coder_step(row: CoderRow, feature: FeatureRow) -> ArrayStep:
    """A stored featurecoder of sequence or image samples as the array pipeline's step (checked again)."""
    from assay import plugins

    spec = dict(sklearn_preprocess=plugins.encoder_family_named(row.family).loads(row.blob))
    if row.columns_selected is not None:
        spec["columns"] = row.columns_selected
    if feature.kind == "image" and row.axis is not None:
        spec["axis"] = row.axis
    return array_encoding.parse_array_spec(spec, row.position, feature.kind, list(feature.columns))


def _coder_fields(step: EncoderStep, **owner: int) -> dict[str, Any]:
    family = step.family
    return dict(owner, position=step.position, family=family.name, class_name=type(step.encoder).__name__,
                params=family.describe(step.encoder), dtypes=step.dtypes, columns_selected=step.columns_selected,
                include=step.include, is_categorical=step.is_categorical, blob=family.dumps(step.encoder))


def coder_step(row: CoderRow) -> EncoderStep:
    """A stored coder as the pipeline's :class:`~assay.data.encoding.EncoderStep` (checked again)."""
    from assay import plugins

    encoder = plugins.encoder_family_named(row.family).loads(row.blob)
    if row.label_id is not None:
        return encoding.parse_spec(dict(sklearn_preprocess=encoder), "label_encoder", "label", 0)
    spec = dict(sklearn_preprocess=encoder, dtypes=row.dtypes, columns=row.columns_selected, include=row.include)
    return encoding.parse_spec(spec, f"feature_encoders[{row.position}]", "feature", row.position)


def _check_open(splitset: SplitsetRow, what: str) -> None:
    if splitset.is_encoded:
        raise errors.SplitError(
            "splitset_id", f"splitset {splitset.id} is encoded already (made by Pipeline.Tabular.make, or used by a "
                           f"queue); {what} works on a splitset from Splitset.make before its first queue"
        )


def _row(row_type: Any, row_id: Any, parameter: str) -> Any:
    if isinstance(row_id, bool) or not isinstance(row_id, (int, np.integer)):
        raise errors.ValidationError(parameter, f"must be an id (int), got {row_id!r}")
    try:
        return data_queries.row(row_type, int(row_id))
    except errors.NotFoundError as exc:
        raise errors.ValidationError(parameter, str(exc)) from None
