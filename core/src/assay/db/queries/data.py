"""Queries of the data layer: datasets, labels, features, splitsets, folds and encoders."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
from sqlalchemy import LargeBinary, func, insert, select, type_coerce
from sqlalchemy.orm import Session, undefer

from assay import errors
from assay.db import arrays, rowindices
from assay.db.engine import current_url, session_scope
from assay.db.models import (
    Base,
    DatasetRow,
    EncoderSpecRow,
    FeatureRow,
    FittedEncoderRow,
    FoldRow,
    FoldsetRow,
    LabelRow,
    SplitsetRow,
)


def row(row_type: type[Base], row_id: Any, what: str | None = None) -> Any:
    """The row of ``row_type`` with this id; raises :class:`~assay.errors.NotFoundError` naming ``what``.

    ``row_id`` may be an object of that kind (its ``id`` is taken) or a numpy integer, such as an id read from a
    leaderboard DataFrame: the database driver would not bind ``np.int64(3)``, and the id would be reported missing.
    """
    name = what or row_type.__name__.removesuffix("Row")
    row_id = as_id(row_id, name)
    with session_scope() as session:
        found = session.get(row_type, row_id)
    if found is None:
        raise errors.NotFoundError(f"{name} id={row_id} does not exist in {current_url()}")
    return found


def as_id(value: Any, name: str) -> int:
    """``value`` as a plain int id: an int, a numpy integer, a whole float, or an object with an ``id``."""
    if not isinstance(value, (int, float, str)) and isinstance(getattr(value, "id", None), int):
        value = value.id  # a Splitset, Predictor... passed where its id was asked for
    if hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0 and value.dtype.kind in "iu":
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.NotFoundError(f"{name} ids are integers (e.g. {name.lower()}.id), got {value!r}")
    return value


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


def label_classes(splitset_id: int) -> list[Any]:
    """A splitset's original classes in encoded order; ``[]`` for a continuous label or none."""
    with session_scope() as session:
        row = session.execute(
            select(LabelRow.is_categorical, LabelRow.classes)
            .join(SplitsetRow, SplitsetRow.label_id == LabelRow.id).where(SplitsetRow.id == splitset_id)
        ).first()
    return list(row.classes or []) if row is not None and row.is_categorical else []


def fold_rows(splitset_id: int) -> list[FoldRow]:
    """The folds of a splitset by ``fold_index``, their samples loaded."""
    with session_scope() as session:
        return list(session.scalars(
            select(FoldRow).options(undefer(FoldRow.samples))
            .where(FoldRow.splitset_id == splitset_id).order_by(FoldRow.fold_index)
        ).all())


def sample_arrays(row_type: type[SplitsetRow] | type[FoldRow], row_id: int) -> dict[str, np.ndarray]:
    """The row indices of a splitset's splits or of a fold as int64 arrays, decoded from the stored bytes
    (``row.samples`` gives the same as lists)."""
    column = type_coerce(row_type.samples, LargeBinary)
    with session_scope() as session:
        data = session.execute(select(column).where(row_type.id == row_id)).scalar_one()
    return rowindices.loads_arrays(data)


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


class SerializedData(Protocol):
    """Bytes to store as a dataset, written to a file first (:class:`assay.data.ingest.Serialized`)."""

    sha256: str
    size: int

    def chunks(self) -> Iterator[bytes]: ...

    def read_bytes(self) -> bytes: ...


def store_dataset(session: Session, serialized: SerializedData, fields: dict[str, Any]) -> DatasetRow:
    """The DatasetRow holding these bytes: an existing one with the same sha256, or a new one with ``fields``
    (within ``session``, so the caller's transaction decides). On SQLite the blob is streamed into place."""
    existing = session.scalars(select(DatasetRow).where(DatasetRow.sha256 == serialized.sha256)).first()
    if existing is not None:
        return existing
    raw = session.connection().connection.driver_connection
    streamed = hasattr(raw, "blobopen")  # SQLite (Python >= 3.11): write the blob in place, chunk by chunk
    version = arrays.next_version(session, fields.get("name"))
    if not streamed:
        row = DatasetRow(sha256=serialized.sha256, blob=serialized.read_bytes(), version=version, **fields)
        session.add(row)
        session.flush()
        session.expire(row, ["blob"])  # never keep the bytes alive on the row
        return row
    # A Core INSERT, whose id comes back as the cursor's lastrowid: with the ORM's INSERT ... RETURNING, SQLite
    # builds the whole zero-filled row in memory (twice the dataset's size) to return its id.
    session.flush()
    inserted = session.execute(insert(DatasetRow).inline().values(
        sha256=serialized.sha256, blob=func.zeroblob(serialized.size), version=version, **fields))
    row_id = inserted.lastrowid
    with raw.blobopen(DatasetRow.__tablename__, "blob", row_id) as blob:
        for chunk in serialized.chunks():
            blob.write(chunk)
    return session.get(DatasetRow, row_id)


def store_new_dataset(serialized: SerializedData, fields: dict[str, Any]) -> DatasetRow:
    """:func:`store_dataset` in a transaction of its own."""
    with session_scope() as session:
        return store_dataset(session, serialized, fields)


def store_splitset(serialized: SerializedData, dataset_fields: dict[str, Any], label: dict[str, Any] | None,
                   features: dict[str, Any], splitset: dict[str, Any], folds: list[dict[str, Any]],
                   encoders: list[tuple[dict[str, Any], dict[int | None, tuple[bytes, list[str]]]]],
                   ) -> tuple[SplitsetRow, LabelRow | None, FeatureRow]:
    """Store a dataset (or find it), its label and feature columns, a splitset, its folds and its encoders in one
    transaction; returns the splitset, label and feature rows.

    Args:
        serialized, dataset_fields: the data, as :func:`store_dataset` takes them.
        label: LabelRow columns but ``dataset_id``, or ``None`` when unsupervised.
        features: FeatureRow columns but ``dataset_id``.
        splitset: SplitsetRow columns but the ids.
        folds: each fold's ``{"train": rows, "validation": rows}`` (lists or integer arrays), by fold index.
        encoders: per encoder, its EncoderSpecRow columns but ``splitset_id``, and its fitted encoders as
            ``{fold index or None: (bytes, output names)}``.
    """
    with session_scope() as session:
        dataset_row = store_dataset(session, serialized, dataset_fields)
        return _add_splitset(session, dataset_row.id, dataset_row.id, label, features, splitset, folds, encoders)


def store_array_splitset(sha256: str, new_dataset: Any, label_data: tuple[SerializedData, dict[str, Any]] | None,
                         label: dict[str, Any] | None, features: dict[str, Any], splitset: dict[str, Any],
                         folds: list[dict[str, Any]],
                         encoders: list[tuple[dict[str, Any], dict[int | None, tuple[bytes, list[str]]]]],
                         ) -> tuple[SplitsetRow, LabelRow | None, FeatureRow]:
    """:func:`store_splitset` for sequence or image samples: the array dataset is found by ``sha256`` or added
    from ``new_dataset()`` (its columns and chunks, see :func:`assay.db.arrays.add_array_dataset`); the labels, a
    tabular dataset of their own, come as ``label_data`` (serialized, fields). One transaction."""
    from assay.db import arrays as db_arrays

    with session_scope() as session:
        dataset_row = db_arrays.dataset_with_sha256(session, sha256)
        if dataset_row is None:
            dataset_row = db_arrays.add_array_dataset(session, *new_dataset())
        label_dataset_id = None if label_data is None else store_dataset(session, *label_data).id
        return _add_splitset(session, dataset_row.id, label_dataset_id, label, features, splitset, folds, encoders)


def store_multi_splitset(label_data: tuple[SerializedData, dict[str, Any]], label: dict[str, Any],
                         features: dict[str, Any], splitset: dict[str, Any], inputs: list[dict[str, Any]],
                         folds: list[dict[str, Any]],
                         encoders: list[tuple[dict[str, Any], dict[int | None, tuple[bytes, list[str]]]]],
                         ) -> tuple[SplitsetRow, LabelRow, FeatureRow]:
    """A multi-input splitset in one transaction: the label dataset, each input's dataset (found or added), feature,
    unsupervised splitset (with the same folds) and encoders, then the splitset of the label that lists the inputs.

    Args:
        label_data: the label table (serialized, dataset fields); ``label``, ``features``, ``splitset``, ``folds``
            and ``encoders`` (the label encoder) as :func:`store_splitset` takes them, for the label's splitset.
        inputs: in order, ``dict(name, dataset, features, splitset, encoders)``; ``dataset`` is
            ``("tabular", serialized, fields)`` or ``("array", sha256, new_dataset)`` as in
            :func:`store_array_splitset`.
    """
    from assay.db import arrays as db_arrays

    with session_scope() as session:
        label_dataset = store_dataset(session, *label_data)
        listed = []
        for item in inputs:
            dataset = item["dataset"]
            if dataset[0] == "tabular":
                dataset_row = store_dataset(session, dataset[1], dataset[2])
            else:
                dataset_row = db_arrays.dataset_with_sha256(session, dataset[1])
                if dataset_row is None:
                    dataset_row = db_arrays.add_array_dataset(session, *dataset[2]())
            input_row, _, _ = _add_splitset(session, dataset_row.id, None, None, item["features"], item["splitset"],
                                            folds, item["encoders"])
            listed.append({"name": item["name"], "splitset_id": input_row.id})
        return _add_splitset(session, label_dataset.id, label_dataset.id, label, features,
                             {**splitset, "inputs": listed}, folds, encoders)


def _add_splitset(session: Session, dataset_id: int, label_dataset_id: int | None, label: dict[str, Any] | None,
                  features: dict[str, Any], splitset: dict[str, Any], folds: list[dict[str, Any]],
                  encoders: list[tuple[dict[str, Any], dict[int | None, tuple[bytes, list[str]]]]],
                  ) -> tuple[SplitsetRow, LabelRow | None, FeatureRow]:
    label_row = None
    if label is not None:
        label_row = LabelRow(dataset_id=label_dataset_id, **label)
        session.add(label_row)
    feature_row = FeatureRow(dataset_id=dataset_id, **features)
    session.add(feature_row)
    session.flush()
    splitset_row = SplitsetRow(dataset_id=dataset_id, label_id=label_row.id if label_row else None,
                               feature_id=feature_row.id, **splitset)
    session.add(splitset_row)
    session.flush()
    # the row indices may have come as arrays: read on request, they come back as the lists every stored row gives
    session.expire(splitset_row, ["samples"])
    fold_ids = {}
    if folds:  # the folds as one object too, as the step-by-step API makes them (AIQC's Foldset)
        session.add(FoldsetRow(splitset_id=splitset_row.id, fold_count=len(folds),
                               bin_count=splitset.get("bin_count")))
    for index, samples in enumerate(folds):
        fold_row = FoldRow(splitset_id=splitset_row.id, fold_index=index, samples=samples)
        session.add(fold_row)
        session.flush()
        fold_ids[index] = fold_row.id
        # millions of row indices are large: drop them; folds read them on demand
        session.expire(fold_row, ["samples"])
    for spec, fitted in encoders:
        add_encoder(session, splitset_row.id, spec, fitted, fold_ids)
    return splitset_row, label_row, feature_row


def add_encoder(session: Session, splitset_id: int, spec: dict[str, Any],
                fitted: dict[int | None, tuple[bytes, list[str]]], fold_ids: dict[int, int]) -> EncoderSpecRow:
    """A splitset's encoder (EncoderSpecRow columns but ``splitset_id``) and its fitted encoders
    (``{fold index or None: (bytes, output names)}``), within ``session``; ``fold_ids`` maps fold index → id."""
    spec_row = EncoderSpecRow(splitset_id=splitset_id, **spec)
    session.add(spec_row)
    session.flush()
    session.add_all([
        FittedEncoderRow(encoderspec_id=spec_row.id, fold_id=None if index is None else fold_ids[index],
                         output_names=names, blob=blob)
        for index, (blob, names) in fitted.items()
    ])
    return spec_row
