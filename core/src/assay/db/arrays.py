"""Queries of sequence and image datasets: the dataset row and its compressed chunks (see ``assay.data.arraystore``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.db.engine import session_scope
from assay.db.models import DatasetChunkRow, DatasetRow


def dataset_with_sha256(session: Session, sha256: str) -> DatasetRow | None:
    """The dataset stored with this content hash, if any."""
    return session.scalars(select(DatasetRow).where(DatasetRow.sha256 == sha256)).first()


def next_version(session: Session, name: str | None) -> int | None:
    """The version a new dataset of this name gets: one more than the newest stored (AIQC 6's versioning by name);
    ``None`` without a name."""
    if name is None:
        return None
    newest = session.scalar(select(func.max(DatasetRow.version)).where(DatasetRow.name == name))
    return (newest or 0) + 1


def add_array_dataset(session: Session, fields: dict[str, Any], chunks: Iterable[Any]) -> DatasetRow:
    """A new dataset row and its chunk rows, written chunk by chunk so one compressed chunk is alive at a time.

    ``chunks`` yields objects with ``chunk_index``, ``row_start``, ``row_count``, ``raw_size``, ``blob`` and
    ``codec``.
    """
    row = DatasetRow(blob=b"", version=next_version(session, fields.get("name")), **fields)
    session.add(row)
    session.flush()
    for chunk in chunks:
        chunk_row = DatasetChunkRow(dataset_id=row.id, chunk_index=chunk.chunk_index, row_start=chunk.row_start,
                                    row_count=chunk.row_count, codec=chunk.codec, raw_size=chunk.raw_size,
                                    blob=chunk.blob)
        session.add(chunk_row)
        session.flush()
        session.expunge(chunk_row)  # the session must not keep every chunk's bytes alive until commit
    session.expire(row, ["blob"])
    return row


def chunk_starts(dataset_id: int) -> list[int]:
    """The first sample of each chunk of a dataset, by chunk index."""
    with session_scope() as session:
        return list(session.scalars(
            select(DatasetChunkRow.row_start).where(DatasetChunkRow.dataset_id == dataset_id)
            .order_by(DatasetChunkRow.chunk_index)
        ))


def chunk_blobs(dataset_id: int, chunk_indices: list[int]) -> Iterator[tuple[int, bytes, int, str]]:
    """``(chunk_index, stored bytes, raw size, codec)`` of these chunks, read one at a time.

    Each chunk is read in its own short transaction, so decompressing never holds the database.
    """
    for index in chunk_indices:
        with session_scope() as session:
            blob, raw_size, codec = session.execute(
                select(DatasetChunkRow.blob, DatasetChunkRow.raw_size, DatasetChunkRow.codec)
                .where(DatasetChunkRow.dataset_id == dataset_id, DatasetChunkRow.chunk_index == index)
            ).one()
        yield index, blob, raw_size, codec
