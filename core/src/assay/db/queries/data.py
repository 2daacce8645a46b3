"""Queries of the data layer: datasets, labels, features, splitsets, folds and encoders."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import undefer

from assay import errors
from assay.db.engine import current_url, session_scope
from assay.db.models import (
    Base,
    DatasetRow,
    EncoderSpecRow,
    FeatureRow,
    FittedEncoderRow,
    FoldRow,
    LabelRow,
    SplitsetRow,
)


def row(row_type: type[Base], row_id: int, what: str | None = None) -> Any:
    """The row of ``row_type`` with this id; raises :class:`~assay.errors.NotFoundError` naming ``what``."""
    with session_scope() as session:
        found = session.get(row_type, row_id)
    if found is None:
        name = what or row_type.__name__.removesuffix("Row")
        raise errors.NotFoundError(f"{name} id={row_id} does not exist in {current_url()}")
    return found


def rows(row_type: type[Base]) -> list[Any]:
    """Every row of ``row_type``, oldest first."""
    with session_scope() as session:
        return list(session.scalars(select(row_type).order_by(row_type.id)).all())  # type: ignore[attr-defined]


def column_value(row_type: type[Base], row_id: int, name: str) -> Any:
    """One column of one row, e.g. a deferred blob read on request."""
    column = getattr(row_type, name)
    with session_scope() as session:
        return session.execute(select(column).where(row_type.id == row_id)).scalar_one()  # type: ignore[attr-defined]


def dataset_blob(dataset_id: int) -> bytes:
    """The stored Parquet bytes of a dataset."""
    return column_value(DatasetRow, dataset_id, "blob")


def dataset_columns(dataset_id: int) -> list[str]:
    """Every column of a dataset, as ingested."""
    return list(column_value(DatasetRow, dataset_id, "columns"))


def label_row(label_id: int) -> LabelRow | None:
    with session_scope() as session:
        return session.get(LabelRow, label_id)


def feature_row(feature_id: int) -> FeatureRow | None:
    with session_scope() as session:
        return session.get(FeatureRow, feature_id)


def fold_rows(splitset_id: int) -> list[FoldRow]:
    """The folds of a splitset by ``fold_index``, their samples loaded."""
    with session_scope() as session:
        return list(session.scalars(
            select(FoldRow).options(undefer(FoldRow.samples))
            .where(FoldRow.splitset_id == splitset_id).order_by(FoldRow.fold_index)
        ).all())


def fold_ids(splitset_id: int) -> list[tuple[int, int]]:
    """``(fold id, fold_index)`` of each fold of a splitset, by index."""
    with session_scope() as session:
        return [tuple(pair) for pair in session.execute(
            select(FoldRow.id, FoldRow.fold_index).where(FoldRow.splitset_id == splitset_id)
            .order_by(FoldRow.fold_index)
        ).all()]


def encoder_rows(splitset_id: int) -> list[tuple[EncoderSpecRow, list[FittedEncoderRow]]]:
    """Each encoder specification of a splitset (label first, then features by position) with its fitted rows."""
    with session_scope() as session:
        specs = session.scalars(
            select(EncoderSpecRow).where(EncoderSpecRow.splitset_id == splitset_id)
            .order_by(EncoderSpecRow.role, EncoderSpecRow.position)
        ).all()
        fitted = session.scalars(
            select(FittedEncoderRow).options(undefer(FittedEncoderRow.blob))
            .where(FittedEncoderRow.encoderspec_id.in_([spec.id for spec in specs]))
        ).all()
    return [(spec, [f for f in fitted if f.encoderspec_id == spec.id]) for spec in specs]


def label_encoder_is_categorical(splitset_id: int) -> bool:
    """Whether the splitset's label encoder only maps categories (``False`` without a label encoder)."""
    with session_scope() as session:
        categorical = session.scalars(
            select(EncoderSpecRow.is_categorical).where(
                EncoderSpecRow.splitset_id == splitset_id, EncoderSpecRow.role == "label"
            )
        ).first()
    return bool(categorical)


def splitset_summary(splitset_id: int) -> Any:
    """A splitset's sizes with its dataset's name and shape (one row: ``id, split_sizes, fold_count, name,
    row_count, column_count``), for reports."""
    with session_scope() as session:
        return session.execute(
            select(SplitsetRow.id, SplitsetRow.split_sizes, SplitsetRow.fold_count, DatasetRow.name,
                   DatasetRow.row_count, DatasetRow.column_count)
            .join(DatasetRow, DatasetRow.id == SplitsetRow.dataset_id)
            .where(SplitsetRow.id == splitset_id)
        ).one()
