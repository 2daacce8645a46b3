"""What every kind's build shares: the split settings, the label's summary, and fitting encoders without leakage
and storing them (tabular, sequences, images, multi-input and step by step)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import attrs
import numpy as np
import pandas as pd

from assay import errors
from assay.data import encoding, finite
from assay.data.encoding import EncoderStep
from assay.db.jsontype import storable
from assay.db.queries import data as db_data


@attrs.frozen
class SplitSettings:
    """How a splitset's splits and folds were asked for, stored with it (its ``size_*``, ``fold_count``,
    ``bin_count`` and ``seed`` columns)."""

    size_test: float | None
    size_validation: float | None
    fold_count: int | None
    bin_count: int | None
    seed: int

    @classmethod
    def of(cls, splitset: Any) -> SplitSettings:
        """The settings a stored splitset row (or anything with those attributes) was made with."""
        return cls(splitset.size_test, splitset.size_validation, splitset.fold_count, splitset.bin_count,
                   splitset.seed)

    def columns(self) -> dict[str, Any]:
        """The settings as splitset columns."""
        return attrs.asdict(self)


def label_summary(label: pd.Series, step: EncoderStep | None, fit: Fit | None, is_categorical: bool,
                  ) -> dict[str, Any]:
    """The label columns every kind stores once its encoder is fitted: whether it holds classes, the classes in
    encoded order and how many rows each has (``None`` for a continuous label)."""
    classes = encoding.label_classes(step, fit.by_fold[None] if fit else None, label) if is_categorical else []
    return dict(
        is_categorical=is_categorical, classes=[encoding.json_safe(c) for c in classes],
        class_counts=({str(k): int(v) for k, v in label.value_counts(sort=False).items()} if is_categorical else None),
    )


def label_shape(fit: Fit | None) -> list[int]:
    """The shape of one encoded label: the encoder's width, or one column unencoded."""
    return [len(fit.names)] if fit else [1]


@attrs.define
class Fit:
    """One step's fitted encoders: the splitset's (``None`` key) and, if fitted per fold, each fold's."""

    step: EncoderStep
    by_fold: dict[int | None, Any]
    names: list[str]


def label_is_categorical(label: pd.Series, step: EncoderStep | None) -> bool:
    if step is not None:
        return step.is_categorical
    # without an encoder, floats are a continuous label and anything else (ints, text, bools) are classes
    return not pd.api.types.is_float_dtype(label.dtype)


def check_label_values(label: pd.Series) -> None:
    missing = finite.missing_positions(label.to_frame())
    if missing:
        rows = next(iter(missing.values()))
        raise errors.DataError(
            "label_column",
            f"{label.name!r} is missing or infinite in {len(rows)} row(s) ({finite.describe(missing, label.index)}); "
            "a label cannot be imputed: drop those rows or fill them before make()",
        )


def fit_step(step: EncoderStep, data: pd.DataFrame, train: pd.DataFrame | Callable[[], pd.DataFrame],
             fold_trains: Iterable[pd.DataFrame], nan_columns: list[str], fresh: bool = False) -> Fit:
    """Categorical encoders see all rows (``data``); every other one the train rows only (``train``), and each
    fold its own train rows (``fold_trains``).

    ``train`` may be a function giving the train rows and ``fold_trains`` a generator, so a large table's train
    rows and folds are taken one at a time when needed (and not at all for a categorical encoder). With
    ``fresh``, the train and fold frames are the caller's own copies, made for this call: the encoders fit on
    them directly instead of on a private copy (``data`` is always copied, it shares the caller's memory).
    """
    if step.is_categorical:
        by_fold: dict[int | None, Any] = {None: encoding.fit(step, data, nan_columns)}
    else:
        by_fold = {None: encoding.fit(step, train() if callable(train) else train, nan_columns, copy=not fresh)}
        for index, fold_train in enumerate(fold_trains):
            by_fold[index] = encoding.fit(step, fold_train, nan_columns, copy=not fresh)
            del fold_train  # the next fold's rows are taken once this one's are released
    head = data.iloc[:2]
    width = encoding.transform(step, by_fold[None], head).shape[1]
    for index, fitted in by_fold.items():
        if index is not None and encoding.transform(step, fitted, head).shape[1] != width:
            raise errors.EncoderError(
                step.parameter, f"fitted on fold {index} it gives a different number of columns than on train"
            )
    return Fit(step, by_fold, encoding.output_names(step, by_fold[None], width))


def as_lists(samples: dict[str, np.ndarray]) -> dict[str, list[int]]:
    return {split: rows.tolist() for split, rows in samples.items()}


def encoder_spec(fit: Fit) -> dict[str, Any]:
    """The ``EncoderSpecRow`` columns of one fitted step (its unfitted encoder and how it selects columns)."""
    step = fit.step
    family = step.family
    return dict(
        role=step.role, position=step.position, family=family.name, class_name=type(step.encoder).__name__,
        params=storable(family.describe(step.encoder)), dtypes=step.dtypes, columns_selected=step.columns_selected,
        columns_matched=list(step.columns), include=step.include, is_categorical=step.is_categorical,
        blob=family.dumps(step.encoder),
    )


def encoder_rows(fit: Fit) -> tuple[dict[str, Any], dict[int | None, tuple[bytes, list[str]]]]:
    """One fitted step as plain values: :func:`encoder_spec` and ``{fold_index | None: (blob, output names)}``,
    for writers that store outside a session of their own (the step-by-step API's ``store_encoding``)."""
    family = fit.step.family
    return encoder_spec(fit), {index: (family.dumps(fitted), fit.names) for index, fitted in fit.by_fold.items()}


def store_fit(session, splitset_id: int, fit: Fit, fold_ids: dict[int, int]) -> None:
    # the array pipeline's one transaction still writes through here (to move into db/queries with it)
    db_data.add_encoder(session, splitset_id, *encoder_rows(fit), fold_ids)
