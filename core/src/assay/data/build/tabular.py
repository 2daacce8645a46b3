"""``assay.Pipeline.Tabular.make``: a DataFrame or file to a persisted, encoded, split splitset.

The same three steps as every kind (:mod:`assay.data.build`): :func:`plan` reads and checks every parameter and
makes the splits and folds, :func:`fit` fits the encoders without leakage, :func:`rows` gives what is stored;
:func:`write` stores it in one transaction. Bad input therefore never leaves rows behind. The same plan and fit
serve a table among several inputs (:func:`on_shared_splits`) and a splitset made step by step
(:func:`stored_plan`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import numpy as np
import pandas as pd

from assay import errors
from assay.data import encoding, finite, ingest, interpolation, splitting, windows
from assay.data.build import common
from assay.data.build.common import Fit, SplitSettings, check_label_values, encoder_rows, fit_step, label_is_categorical
from assay.data.encoding import EncoderStep
from assay.data.interpolation import Interpolater
from assay.data.read.splitsets import SplitsetData
from assay.db.queries import data as data_queries


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
    return fit_step(step, parts.all[columns], lambda: parts.train(columns), parts.fold_trains(columns), nan_columns,
                    fresh=parts.fresh)


@attrs.frozen
class _Parts:
    """The rows encoders are fitted on: all rows, the train rows and each fold's train rows.

    Without interpolaters the train rows and each fold's are taken from ``all`` only when an encoder is fitted,
    one fold at a time and only the encoder's columns (:meth:`train`, :meth:`fold_trains`): holding them all at
    once would take several times the table's memory. With interpolaters, each split (and each fold's train
    part) is interpolated among its own rows, so what an encoder sees of a split never holds values borrowed
    from another split; ``all`` is the splits put together.
    """

    all: pd.DataFrame
    train_rows: np.ndarray | None = None
    fold_train_rows: list[np.ndarray] = attrs.field(factory=list)
    interpolated_train: pd.DataFrame | None = None
    interpolated_fold_trains: list[pd.DataFrame] | None = None

    @property
    def fresh(self) -> bool:
        """Whether :meth:`train` and :meth:`fold_trains` give new frames, made for the caller alone."""
        return self.interpolated_train is None

    def train(self, columns: list[str]) -> pd.DataFrame:
        """The train rows' ``columns``."""
        if self.interpolated_train is not None:
            return self.interpolated_train[columns]
        return self._take(columns, self.train_rows)

    def fold_trains(self, columns: list[str]) -> Iterator[pd.DataFrame]:
        """Each fold's train rows' ``columns``, taken one fold at a time."""
        if self.interpolated_fold_trains is not None:
            yield from (part[columns] for part in self.interpolated_fold_trains)
            return
        for rows in self.fold_train_rows:
            yield self._take(columns, rows)

    def _take(self, columns: list[str], rows: np.ndarray) -> pd.DataFrame:
        """A new frame of these rows: pandas hands back a frame sharing the table's memory when ``rows`` are every
        row in order (a split of all rows), which an encoder with ``copy=False`` would write into."""
        taken = self.all[columns].iloc[rows]
        if len(rows) == len(self.all) and np.array_equal(rows, np.arange(len(rows))):
            taken = taken.copy(deep=True)
        return taken


def _parts(frame: pd.DataFrame, steps: list[Interpolater], samples: dict[str, np.ndarray],
           folds: list[dict[str, np.ndarray]], window: windows.Window | None = None) -> _Parts:
    def rows_of(indices: np.ndarray) -> np.ndarray:  # with windows, samples are windows: the rows they touch
        return indices if window is None else window.rows(indices)

    def part(indices: np.ndarray, where: str) -> pd.DataFrame:
        data = interpolation.apply(steps, frame.iloc[rows_of(indices)])
        interpolation.check_filled([step for step in steps if step.role == "label"], data, where)
        return data

    if not steps:
        return _Parts(frame, rows_of(samples["train"]), [rows_of(fold["train"]) for fold in folds])
    by_split = {split: part(rows, f"{split} split") for split, rows in samples.items()}
    fold_trains = [part(fold["train"], f"train part of fold {i}") for i, fold in enumerate(folds)]
    for index, fold in enumerate(folds):
        part(fold["validation"], f"validation part of fold {index}")  # a label gap left there fails now
    return _Parts(pd.concat(list(by_split.values())).sort_index(), interpolated_train=by_split["train"],
                  interpolated_fold_trains=fold_trains)


@attrs.frozen
class Plan:
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
    settings: SplitSettings
    interpolaters: list[Interpolater]
    parts: _Parts
    window: windows.Window | None = None

    @property
    def features(self) -> pd.DataFrame:
        return self.df[self.feature_columns]

    @property
    def unimputed(self) -> list[str]:
        """Passthrough columns holding NaNs: no encoder imputes them, so the plan cannot be fitted."""
        return [c for c in self.passthrough if c in self.nan_columns]


@attrs.frozen
class Fitted:
    """The fitted encoders: one :class:`~assay.data.build.common.Fit` per feature step, and the label's."""

    features: list[Fit]
    label: Fit | None


def plan(df_or_path: Any, label_column: Any, label_encoder: Any, feature_cols_excluded: Any, feature_encoders: Any,
         size_test: Any, size_validation: Any, fold_count: Any, bin_count: Any, seed: Any,
         feature_interpolaters: Any = None, label_interpolater: Any = None, feature_window: Any = None) -> Plan:
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
    settings = SplitSettings(size_test, size_validation, fold_count, bin_count, int(seed))
    result = Plan(df, name, feature_columns, excluded, label, label_step, is_categorical, feature_steps, passthrough,
                  _nan_columns(parts, feature_columns), samples, folds, settings, interpolaters, parts, window)
    if result.unimputed:
        where = finite.describe(finite.missing_positions(parts.all[feature_columns], result.unimputed),
                                features.index)
        raise errors.DataError(
            "feature_encoders",
            f"columns {result.unimputed} hold NaNs and no encoder imputes them: {where}; add "
            f"dict(sklearn_preprocess=SimpleImputer(), columns={result.unimputed!r}) or drop those rows",
        )
    return result


def _nan_columns(parts: _Parts, feature_columns: list[str]) -> list[str]:
    return [c for c, has_nan in parts.all[feature_columns].isna().any().items() if has_nan]


def on_shared_splits(data: Any, feature_cols_excluded: Any, feature_encoders: Any, samples: dict[str, np.ndarray],
                     folds: list[dict[str, np.ndarray]], settings: SplitSettings) -> Plan:
    """The plan of a table among several inputs: unsupervised, on the splits and folds the label made."""
    alone = plan(data, None, None, feature_cols_excluded, feature_encoders, None, None, None, None, settings.seed)
    parts = _parts(alone.df[alone.feature_columns], [], samples, folds)
    return attrs.evolve(alone, samples=samples, folds=folds, settings=settings, parts=parts)


def stored_plan(df: pd.DataFrame, feature_columns: list[str], excluded: list[str], label: pd.Series | None,
                label_step: EncoderStep | None, feature_steps: list[EncoderStep], samples: dict[str, np.ndarray],
                folds: list[dict[str, np.ndarray]], settings: SplitSettings, interpolaters: list[Interpolater],
                window: windows.Window | None) -> Plan:
    """The plan of a table already stored and split (a splitset made step by step); the caller refuses a plan
    with :attr:`Plan.unimputed` columns in its own words."""
    features = df[feature_columns]
    passthrough = encoding.select_columns(feature_steps, features, None if label is None else label.name)
    encoding.check_data(feature_steps, features)
    parts = _parts(df[feature_columns + ([label.name] if label is not None else [])], interpolaters, samples, folds,
                   window)
    is_categorical = label is not None and label_is_categorical(label, label_step)
    return Plan(df, None, feature_columns, excluded, label, label_step, is_categorical, feature_steps, passthrough,
                _nan_columns(parts, feature_columns), samples, folds, settings, interpolaters, parts, window)


def fit(plan: Plan) -> Fitted:
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
    return Fitted(fits, label_fit)




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


def feature_names(plan: Plan, fitted: Fitted) -> list[str]:
    """The encoded feature columns: each encoder's output names, then the passthrough columns."""
    return [n for fit in fitted.features for n in fit.names] + list(plan.passthrough)


def feature_columns(plan: Plan) -> dict[str, Any]:
    """The feature row's columns: which columns are features, which were left out, and their dtypes."""
    return dict(columns=plan.feature_columns, columns_excluded=plan.excluded, dtypes=ingest.dtype_names(plan.features))


def shapes(plan: Plan, fitted: Fitted) -> tuple[list[str], list[int], list[int] | None]:
    """``(feature_names, features_shape, label_shape)`` of fitted encoders; with windows the samples are windows
    and, when recorded, so are the labels."""
    names = feature_names(plan, fitted)
    features_shape = [len(names)]
    label_shape = None if plan.label is None else common.label_shape(fitted.label)
    if plan.window is not None:
        _check_window_encoders(fitted.features)
        features_shape = [plan.window.size_window, len(names)]
        label_shape = list(features_shape) if plan.window.record_shifted else None
    return names, features_shape, label_shape


def encoders(fitted: Fitted) -> list[Any]:
    """The encoder rows of every fitted step, the label's first."""
    return [encoder_rows(fit) for fit in ([fitted.label] if fitted.label else []) + fitted.features]


def rows(plan: Plan, fitted: Fitted) -> dict[str, Any]:
    """The label, feature, splitset, fold and encoder columns :func:`write` stores (the dataset aside)."""
    names, features_shape, label_shape = shapes(plan, fitted)
    label_columns = None
    if plan.label is not None:
        label_columns = dict(column=plan.label.name, dtype=str(plan.label.dtype),
                             **common.label_summary(plan.label, plan.label_step, fitted.label, plan.is_categorical))
    return dict(
        label_columns=label_columns, features=feature_columns(plan),
        splitset=dict(
            samples=dict(plan.samples), split_sizes={split: len(r) for split, r in plan.samples.items()},
            features_shape=features_shape, label_shape=label_shape, feature_names=names,
            interpolaters=[step.to_json() for step in plan.interpolaters] or None,
            window=None if plan.window is None else plan.window.to_json(), **plan.settings.columns(),
        ),
        folds=[dict(fold) for fold in plan.folds], encoders=encoders(fitted),
    )


def write(plan: Plan, fitted: Fitted) -> SplitsetData:
    """Store dataset, label, features, splitset, folds and encoders in one transaction."""
    stored = rows(plan, fitted)
    with ingest.serialize(plan.df) as serialized:
        splitset_row, label_row, feature_row = data_queries.store_splitset(
            serialized, ingest.dataset_fields(plan.df, plan.name), stored["label_columns"],
            features=stored["features"], splitset=stored["splitset"], folds=stored["folds"],
            encoders=stored["encoders"],
        )
    data = SplitsetData(splitset_row)
    # the data and related rows are in memory already: the first samples_for() need not read them back
    data.prime(plan.df, label_row, feature_row)
    return data


def make(df_or_path: Any, label_column: Any, label_encoder: Any, feature_cols_excluded: Any, feature_encoders: Any,
         size_test: Any, size_validation: Any, fold_count: Any, bin_count: Any, seed: Any,
         feature_interpolaters: Any, label_interpolater: Any, feature_window: Any) -> SplitsetData:
    """Plan, fit and write a tabular splitset (``Pipeline.Tabular.make``)."""
    planned = plan(df_or_path, label_column, label_encoder, feature_cols_excluded, feature_encoders, size_test,
                   size_validation, fold_count, bin_count, seed, feature_interpolaters, label_interpolater,
                   feature_window)
    return write(planned, fit(planned))
