"""Queries of the step-by-step API (AIQC's low-level API): labels, features, open splitsets, foldsets,
encodersets and their coders, and the algorithm / hyperparameter set / queue made one at a time.

Each ``store_*`` writes one object in a transaction of its own, after the caller validated everything.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import undefer

from assay import errors
from assay.db.engine import session_scope
from assay.db.models import (
    AlgorithmRow,
    CoderRow,
    EncodersetRow,
    FeatureRow,
    FoldRow,
    FoldsetRow,
    HyperparamcomboRow,
    HyperparamsetRow,
    LabelRow,
    QueueRow,
    SplitsetRow,
)
from assay.db.queries.data import add_encoder


def _store(row: Any) -> Any:
    with session_scope() as session:
        session.add(row)
    return row


def store_array_dataset(sha256: str, new_dataset: Any) -> Any:
    """The sequence or image dataset stored with this content hash, or a new one from ``new_dataset()`` (its
    columns and chunks, see :func:`assay.db.arrays.add_array_dataset`)."""
    from assay.db import arrays as db_arrays

    with session_scope() as session:
        row = db_arrays.dataset_with_sha256(session, sha256)
        return row if row is not None else db_arrays.add_array_dataset(session, *new_dataset())


def _update(row_type: type, row_id: int, fields: dict[str, Any]) -> Any:
    with session_scope() as session:
        row = session.get(row_type, row_id, with_for_update=True)
        for key, value in fields.items():
            setattr(row, key, value)
    return row


def update_feature(feature_id: int, fields: dict[str, Any]) -> FeatureRow:
    return _update(FeatureRow, feature_id, fields)


def update_label(label_id: int, fields: dict[str, Any]) -> LabelRow:
    return _update(LabelRow, label_id, fields)


def splitsets_of_feature(feature_id: int) -> list[SplitsetRow]:
    with session_scope() as session:
        return list(session.scalars(select(SplitsetRow).where(SplitsetRow.feature_id == feature_id)).all())


def store_label(dataset_id: int, fields: dict[str, Any]) -> LabelRow:
    return _store(LabelRow(dataset_id=dataset_id, **fields))


def store_feature(dataset_id: int, fields: dict[str, Any]) -> FeatureRow:
    return _store(FeatureRow(dataset_id=dataset_id, **fields))


def store_open_splitset(fields: dict[str, Any]) -> SplitsetRow:
    """A splitset whose encoders are not fitted yet (``is_encoded`` false, shapes empty)."""
    return _store(SplitsetRow(is_encoded=False, features_shape=[], label_shape=None, feature_names=[], **fields))


def store_foldset(splitset_id: int, fold_count: int, bin_count: int | None,
                  folds: list[dict[str, list[int]]], input_ids: list[int] | None = None) -> FoldsetRow:
    """A foldset and its folds, and the splitset's ``fold_count``, in one transaction; the same folds for the
    splitsets of a multi-input splitset's inputs (``input_ids``)."""
    with session_scope() as session:
        for owner in [*(input_ids or []), splitset_id]:
            foldset = FoldsetRow(splitset_id=owner, fold_count=fold_count, bin_count=bin_count)
            session.add(foldset)
            session.add_all([FoldRow(splitset_id=owner, fold_index=i, samples=samples)
                             for i, samples in enumerate(folds)])
            session.execute(update(SplitsetRow).where(SplitsetRow.id == owner).values(fold_count=fold_count))
    return foldset


def store_open_multi_splitset(dataset_id: int, label_id: int, feature: dict[str, Any], split: dict[str, Any],
                              inputs: list[tuple[str, int, int]]) -> SplitsetRow:
    """A multi-input splitset made step by step, in one transaction: an open, unsupervised splitset per input
    (``(name, dataset id, feature id)``) with the splits ``split``, then the label's open splitset listing them, with
    a feature row (``feature``: columns ``"<input>: <column>"``) of its own."""
    def open_row(**fields: Any) -> SplitsetRow:
        return SplitsetRow(is_encoded=False, features_shape=[], label_shape=None, feature_names=[], **split, **fields)

    with session_scope() as session:
        listed = []
        for name, input_dataset_id, feature_id in inputs:
            row = open_row(dataset_id=input_dataset_id, label_id=None, feature_id=feature_id)
            session.add(row)
            session.flush()
            listed.append({"name": name, "splitset_id": row.id})
        feature_row = FeatureRow(dataset_id=dataset_id, **feature)
        session.add(feature_row)
        session.flush()
        row = open_row(dataset_id=dataset_id, label_id=label_id, feature_id=feature_row.id, inputs=listed)
        session.add(row)
    return row


def foldset_of(splitset_id: int) -> FoldsetRow | None:
    with session_scope() as session:
        return session.scalars(select(FoldsetRow).where(FoldsetRow.splitset_id == splitset_id)).first()


def store_encoderset(feature_id: int) -> EncodersetRow:
    return _store(EncodersetRow(feature_id=feature_id))


def store_coder(fields: dict[str, Any]) -> CoderRow:
    return _store(CoderRow(**fields))


def coders(label_id: int | None = None, encoderset_id: int | None = None) -> list[CoderRow]:
    """A label's labelcoder, or an encoderset's featurecoders by position (blobs loaded)."""
    column = CoderRow.label_id if label_id is not None else CoderRow.encoderset_id
    with session_scope() as session:
        return list(session.scalars(
            select(CoderRow).options(undefer(CoderRow.blob))
            .where(column == (label_id if label_id is not None else encoderset_id)).order_by(CoderRow.position)
        ).all())


def encodersets(feature_id: int) -> list[EncodersetRow]:
    with session_scope() as session:
        return list(session.scalars(
            select(EncodersetRow).where(EncodersetRow.feature_id == feature_id).order_by(EncodersetRow.id)
        ).all())


def splitsets_of_label(label_id: int) -> list[SplitsetRow]:
    with session_scope() as session:
        return list(session.scalars(select(SplitsetRow).where(SplitsetRow.label_id == label_id)).all())


def open_splitsets_of_feature(feature_id: int) -> list[SplitsetRow]:
    with session_scope() as session:
        return list(session.scalars(
            select(SplitsetRow).where(SplitsetRow.feature_id == feature_id, SplitsetRow.is_encoded.is_(False))
        ).all())


def store_encoding(splitset_id: int, splitset: dict[str, Any], label_id: int | None, label: dict[str, Any] | None,
                   encoders: list[tuple[dict[str, Any], dict[int | None, tuple[bytes, list[str]]]]],
                   inputs: list[dict[str, Any]] | None = None) -> SplitsetRow:
    """Encode an open splitset in one transaction: its shapes and names, its label's classes, its encoders (and,
    for a multi-input splitset, its inputs' splitsets first: ``inputs``, each these same arguments).

    Refuses (:class:`~assay.errors.SplitError`) a splitset another process encoded meanwhile.
    """
    with session_scope() as session:
        return add_encoding(session, splitset_id, splitset, label_id, label, encoders, inputs)


def add_encoding(session: Any, splitset_id: int, splitset: dict[str, Any], label_id: int | None,
                 label: dict[str, Any] | None,
                 encoders: list[tuple[dict[str, Any], dict[int | None, tuple[bytes, list[str]]]]],
                 inputs: list[dict[str, Any]] | None = None) -> SplitsetRow:
    """:func:`store_encoding` within ``session`` (so a queue can be stored in the same transaction)."""
    for one in inputs or []:
        add_encoding(session, **one)
    row = session.get(SplitsetRow, splitset_id, with_for_update=True)
    if row.is_encoded:
        raise errors.SplitError("splitset_id", f"splitset {splitset_id} is encoded already")
    for key, value in splitset.items():
        setattr(row, key, value)
    row.is_encoded = True
    if label is not None:
        label_row = session.get(LabelRow, label_id)
        for key, value in label.items():
            setattr(label_row, key, value)
    fold_ids = dict(session.execute(
        select(FoldRow.fold_index, FoldRow.id).where(FoldRow.splitset_id == splitset_id)).all())
    for spec, fitted in encoders:
        add_encoder(session, splitset_id, spec, fitted, fold_ids)
    session.flush()
    return row


def store_algorithm(fields: dict[str, Any]) -> AlgorithmRow:
    return _store(AlgorithmRow(**fields))


def store_hyperparamset(fields: dict[str, Any], combinations: list[dict[str, Any]]) -> HyperparamsetRow:
    """A hyperparameter set with its combinations, in one transaction."""
    with session_scope() as session:
        return add_hyperparamset(session, fields, combinations)[0]


def add_hyperparamset(session: Any, fields: dict[str, Any],
                      combinations: list[dict[str, Any]]) -> tuple[HyperparamsetRow, list[int]]:
    """:func:`store_hyperparamset` within ``session``: the row and its combinations' ids, in combo_index order."""
    row = HyperparamsetRow(**fields, combination_count=len(combinations))
    session.add(row)
    session.flush()
    combos = [HyperparamcomboRow(hyperparamset_id=row.id, combo_index=i, hyperparameters=combo)
              for i, combo in enumerate(combinations)]
    session.add_all(combos)
    session.flush()
    return row, [combo.id for combo in combos]


def combination_ids(hyperparamset_id: int) -> list[int]:
    with session_scope() as session:
        return list(session.scalars(
            select(HyperparamcomboRow.id).where(HyperparamcomboRow.hyperparamset_id == hyperparamset_id)
            .order_by(HyperparamcomboRow.combo_index)
        ).all())


def queue_count(splitset_id: int) -> int:
    with session_scope() as session:
        return len(session.scalars(select(QueueRow.id).where(QueueRow.splitset_id == splitset_id)).all())
