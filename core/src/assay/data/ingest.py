"""Data in: read a DataFrame or a file (:mod:`assay.data.read.tables`), check it, and store it once as Parquet
bytes (sha256 identity)."""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from assay import errors

# re-exported: reading lives in assay.data.read.tables, which imports no database (serving and bundles use it)
from assay.data.read.tables import PARAMETER, SUFFIXES, check_frame, deserialize, read_tabular  # noqa: F401

if TYPE_CHECKING:  # storing needs the database; reading a table (`assay predict`, bundles) needs none
    from sqlalchemy.orm import Session

    from assay.db.models import DatasetRow

CHUNK_BYTES = 1 << 20
ROW_GROUP_ROWS = 65_536  # bounds the writer's buffers: memory stays flat however many rows the table has


@attrs.frozen
class Serialized:
    """A DataFrame written as Parquet to a temporary file, with the file's sha256 and size.

    Use it as a context manager: the file is removed on exit. Keeping the bytes on disk until they are
    written to the database avoids holding a second copy of a large table in memory.
    """

    path: Path
    sha256: str
    size: int

    def chunks(self) -> Iterator[bytes]:
        with self.path.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()

    def __enter__(self) -> Serialized:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.path.unlink(missing_ok=True)


def serialize(df: pd.DataFrame) -> Serialized:
    """Parquet bytes of ``df`` without its index. pandas metadata keeps dtypes (str, category...) intact."""
    try:
        table = pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as exc:  # check_frame refuses what it knows; the rest here
        raise errors.DataError(PARAMETER, f"cannot store the data as Parquet: {exc}") from exc
    # dictionary encoding pays off for text and categories; on floats it only costs time (10x the write)
    dictionary = [field.name for field in table.schema if not pa.types.is_floating(field.type)]
    handle, name = tempfile.mkstemp(prefix="assay-", suffix=".parquet")
    os.close(handle)
    path = Path(name)
    try:
        pq.write_table(table, path, use_dictionary=dictionary, row_group_size=ROW_GROUP_ROWS)
        del table
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            while chunk := stream.read(CHUNK_BYTES):
                digest.update(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Serialized(path, digest.hexdigest(), path.stat().st_size)


def dtype_names(df: pd.DataFrame) -> dict[str, str]:
    """Column -> dtype name, as stored and as checked at inference."""
    return {str(column): str(dtype) for column, dtype in df.dtypes.items()}


def _number(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def statistics(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per column summary statistics (JSON-safe): missing count, and min/max/mean/std or distinct count."""
    stats: dict[str, dict[str, Any]] = {}
    for column in df.columns:
        series = df[column]
        entry: dict[str, Any] = {"missing": int(series.isna().sum())}
        if pd.api.types.is_bool_dtype(series.dtype):
            entry["true"] = int(series.sum())
        elif pd.api.types.is_numeric_dtype(series.dtype):
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
            if np.isfinite(values).any():
                # without gaps numpy's plain reductions give the nan-functions' numbers, without their copies
                reduce = (np.nanmin, np.nanmax, np.nanmean, np.nanstd) if entry["missing"] else (
                    np.min, np.max, np.mean, np.std)
                entry.update(zip(("min", "max", "mean", "std"), (_number(f(values)) for f in reduce), strict=True))
        else:
            entry["distinct"] = int(series.nunique(dropna=True))
        stats[str(column)] = entry
    return stats


def dataset_fields(df: pd.DataFrame, name: str | None) -> dict[str, Any]:
    """What a DatasetRow records about ``df`` besides its bytes: kind, name, shape, columns, dtypes, statistics."""
    return {
        "kind": "tabular", "name": name, "file_format": "parquet", "row_count": int(df.shape[0]),
        "column_count": int(df.shape[1]), "columns": [str(c) for c in df.columns], "dtypes": dtype_names(df),
        "statistics": statistics(df),
    }


def store(session: Session, df: pd.DataFrame, serialized: Serialized, name: str | None) -> DatasetRow:
    """The DatasetRow holding ``df``: an existing one with the same sha256, or a new one (within ``session``)."""
    from assay.db.queries import data as queries

    return queries.store_dataset(session, serialized, dataset_fields(df, name))
