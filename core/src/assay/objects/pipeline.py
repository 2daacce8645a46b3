"""``assay.Pipeline.Tabular.make``: from a DataFrame or file to a persisted, encoded, split :class:`Splitset`.

Everything is checked, split and fitted in memory first; only then one transaction writes the dataset, label,
features, splitset, folds and encoders. Bad input therefore never leaves rows behind.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pandas as pd

from assay import errors
from assay.data import encoding, ingest, interpolation, splitting
from assay.data.encoding import EncoderStep
from assay.data.interpolation import Interpolater
from assay.data.splitsets import SplitsetData
from assay.db.queries import data as data_queries
from assay.objects.data import Splitset


@attrs.define
class _Fit:
    """One step's fitted encoders: the splitset's (``None`` key) and, if fitted per fold, each fold's."""

    step: EncoderStep
    by_fold: dict[int | None, Any]
    names: list[str]


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


def _label_is_categorical(label: pd.Series, step: EncoderStep | None) -> bool:
    if step is not None:
        return step.is_categorical
    # without an encoder, floats are a continuous label and anything else (ints, text, bools) are classes
    return not pd.api.types.is_float_dtype(label.dtype)


def _check_label_values(label: pd.Series) -> None:
    missing = np.flatnonzero(label.isna().to_numpy())
    if len(missing):
        raise errors.DataError(
            "label_column",
            f"{label.name!r} is missing in {len(missing)} row(s) (e.g. rows {missing[:5].tolist()}); a label cannot "
            "be imputed: drop those rows or fill them before make()",
        )


def _fit_step(step: EncoderStep, parts: _Parts, columns: list[str], nan_columns: list[str]) -> _Fit:
    """Categorical encoders see all rows; every other one the train rows only, and each fold its train rows."""
    data = parts.all[columns]
    if step.is_categorical:
        by_fold: dict[int | None, Any] = {None: encoding.fit(step, data, nan_columns)}
    else:
        by_fold = {None: encoding.fit(step, parts.train[columns], nan_columns)}
        for index, fold_train in enumerate(parts.fold_trains):
            by_fold[index] = encoding.fit(step, fold_train[columns], nan_columns)
    head = data.iloc[:2]
    width = encoding.transform(step, by_fold[None], head).shape[1]
    for index, fitted in by_fold.items():
        if index is not None and encoding.transform(step, fitted, head).shape[1] != width:
            raise errors.EncoderError(
                step.parameter, f"fitted on fold {index} it gives a different number of columns than on train"
            )
    return _Fit(step, by_fold, encoding.output_names(step, by_fold[None], width))


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
           folds: list[dict[str, np.ndarray]]) -> _Parts:
    def part(rows: np.ndarray, where: str) -> pd.DataFrame:
        data = interpolation.apply(steps, frame.iloc[rows])
        interpolation.check_filled([step for step in steps if step.role == "label"], data, where)
        return data

    if not steps:
        return _Parts(frame, frame.iloc[samples["train"]], [frame.iloc[fold["train"]] for fold in folds])
    by_split = {split: part(rows, f"{split} split") for split, rows in samples.items()}
    fold_trains = [part(fold["train"], f"train part of fold {i}") for i, fold in enumerate(folds)]
    for index, fold in enumerate(folds):
        part(fold["validation"], f"validation part of fold {index}")  # a label gap left there fails now
    return _Parts(pd.concat(list(by_split.values())).sort_index(), by_split["train"], fold_trains)


class Pipeline:
    """Pipelines that turn raw data into a persisted :class:`~assay.Splitset`. Tabular data: ``Pipeline.Tabular``."""

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

            Raises:
                assay.errors.ValidationError: (a subclass naming the parameter) for unusable input; nothing is
                    written then.
            """
            plan = _plan(df_or_path, label_column, label_encoder, feature_cols_excluded, feature_encoders,
                         size_test, size_validation, fold_count, bin_count, seed, feature_interpolaters,
                         label_interpolater)
            fits, label_fit = _fit_all(plan)
            return _write(plan, fits, label_fit)


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

    @property
    def features(self) -> pd.DataFrame:
        return self.df[self.feature_columns]


def _plan(df_or_path, label_column, label_encoder, feature_cols_excluded, feature_encoders, size_test,
          size_validation, fold_count, bin_count, seed, feature_interpolaters=None, label_interpolater=None) -> _Plan:
    """Validate every parameter and make the splits; raises before anything is fitted or written."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise errors.SplitError("seed", f"must be an integer, got {seed!r}")
    splitting.check_sizes(size_test, size_validation, fold_count)
    df, name = ingest.read_tabular(df_or_path)
    feature_columns, excluded = _check_columns(df, label_column, feature_cols_excluded)
    if label_column is None and label_encoder is not None:
        raise errors.EncoderError("label_encoder", "needs a label_column; leave it None when unsupervised")
    label_step = None
    if label_encoder is not None:
        label_step = encoding.parse_spec(label_encoder, "label_encoder", "label", 0)
        label_step.columns = [label_column]
    feature_steps = encoding.parse_feature_encoders(feature_encoders)
    features = df[feature_columns]
    passthrough = encoding.select_columns(feature_steps, features, label_column)
    encoding.check_data(feature_steps, features)

    label = None if label_column is None else df[label_column]
    interpolaters = interpolation.parse_feature_interpolaters(feature_interpolaters, features)
    label_step_interpolater = interpolation.parse_label_interpolater(label_interpolater, label)
    if label_step_interpolater is not None:
        interpolaters.append(label_step_interpolater)
    is_categorical = label is not None and _label_is_categorical(label, label_step)
    if label is not None and label_step_interpolater is None:
        _check_label_values(label)
    strata_label = label
    if label_step_interpolater is not None:
        if label.isna().all():
            raise errors.DataError("label_column", f"{label.name!r} holds no value at all; nothing to interpolate")
        # strata only decide which split a row joins: a gap in the label is binned by its whole-series neighbours
        strata_label = label.interpolate(method="linear", limit_direction="both")
    strata = splitting.make_strata(strata_label, is_categorical, bin_count)
    samples = splitting.split_rows(strata, len(df), size_test, size_validation, int(seed))
    folds = splitting.fold_rows(strata, samples["train"], fold_count, int(seed)) if fold_count else []

    parts = _parts(df[feature_columns + ([label_column] if label is not None else [])], interpolaters, samples,
                   folds)
    nan_columns = [c for c, has_nan in parts.all[feature_columns].isna().any().items() if has_nan]
    nan_passthrough = [c for c in passthrough if c in nan_columns]
    if nan_passthrough:
        raise errors.DataError(
            "feature_encoders",
            f"columns {nan_passthrough} hold NaNs and no encoder imputes them; add "
            f"dict(sklearn_preprocess=SimpleImputer(), columns={nan_passthrough!r}) or drop those rows",
        )
    settings = dict(size_test=size_test, size_validation=size_validation, fold_count=fold_count,
                    bin_count=bin_count, seed=int(seed))
    return _Plan(df, name, feature_columns, excluded, label, label_step, is_categorical, feature_steps,
                 passthrough, nan_columns, samples, folds, settings, interpolaters, parts)


def _fit_all(plan: _Plan) -> tuple[list[_Fit], _Fit | None]:
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


def _check_dense_size(fits: list[_Fit], passthrough: int, rows: int) -> None:
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


def _write(plan: _Plan, fits: list[_Fit], label_fit: _Fit | None) -> Splitset:
    """Store dataset, label, features, splitset, folds and encoders in one transaction."""
    label = plan.label
    classes, label_shape = [], None
    if label is not None:
        fitted_label = label_fit.by_fold[None] if label_fit else None
        classes = encoding.label_classes(plan.label_step, fitted_label, label) if plan.is_categorical else []
        label_shape = [len(label_fit.names)] if label_fit else [1]
    feature_names = [n for fit in fits for n in fit.names] + list(plan.passthrough)

    label_columns = None
    if label is not None:
        label_columns = dict(
            column=label.name, dtype=str(label.dtype), is_categorical=plan.is_categorical,
            classes=[encoding.json_safe(c) for c in classes],
            class_counts=({str(k): int(v) for k, v in label.value_counts(sort=False).items()}
                          if plan.is_categorical else None),
        )
    with ingest.serialize(plan.df) as serialized:
        splitset_row, label_row, feature_row = data_queries.store_splitset(
            serialized, ingest.dataset_fields(plan.df, plan.name), label=label_columns,
            features=dict(columns=plan.feature_columns, columns_excluded=plan.excluded,
                          dtypes=ingest.dtype_names(plan.features)),
            splitset=dict(
                samples=_as_lists(plan.samples), split_sizes={split: len(rows) for split, rows in plan.samples.items()},
                features_shape=[len(feature_names)], label_shape=label_shape, feature_names=feature_names,
                interpolaters=[step.to_json() for step in plan.interpolaters] or None, **plan.settings,
            ),
            folds=[_as_lists(fold) for fold in plan.folds],
            encoders=[_encoder_rows(fit) for fit in ([label_fit] if label_fit else []) + fits],
        )
    data = SplitsetData(splitset_row)
    # the data and related rows are in memory already: the first samples_for() need not read them back
    data.prime(plan.df, label_row, feature_row)
    return Splitset(splitset_row, data)


def _as_lists(samples: dict[str, np.ndarray]) -> dict[str, list[int]]:
    return {split: rows.tolist() for split, rows in samples.items()}


def _encoder_rows(fit: _Fit) -> tuple[dict[str, Any], dict[int | None, tuple[bytes, list[str]]]]:
    """One encoder as :func:`assay.db.queries.data.store_splitset` stores it: its specification and its fits."""
    step = fit.step
    family = step.family
    spec = dict(
        role=step.role, position=step.position, family=family.name, class_name=type(step.encoder).__name__,
        params=family.describe(step.encoder), dtypes=step.dtypes, columns_selected=step.columns_selected,
        columns_matched=list(step.columns), include=step.include, is_categorical=step.is_categorical,
        blob=family.dumps(step.encoder),
    )
    return spec, {index: (family.dumps(fitted), fit.names) for index, fitted in fit.by_fold.items()}
