"""Data in: read a DataFrame or a file, check it, and store it once as Parquet bytes (sha256 identity)."""

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

if TYPE_CHECKING:  # reading a table needs no database (a bundle's `assay predict` starts without SQLAlchemy)
    from sqlalchemy.orm import Session

    from assay.db.models import DatasetRow

PARAMETER = "df_or_path"
SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}


def read_tabular(df_or_path: Any) -> tuple[pd.DataFrame, str | None]:
    """The data as a DataFrame with a fresh 0..n-1 index, and a name (the file name) when read from a file.

    Raises:
        assay.errors.DataError: unreadable or unsupported file, empty data, duplicate or non-text column names.
    """
    name = None
    if isinstance(df_or_path, pd.DataFrame):
        df = df_or_path
    elif isinstance(df_or_path, (str, Path)):
        df, name = _read_file(Path(df_or_path)), Path(df_or_path).name
    else:
        raise errors.DataError(
            PARAMETER, f"expected a pandas DataFrame or a path to a .csv/.tsv/.parquet file, got {type(df_or_path)}"
        )
    check_frame(df)
    # Row positions are the dataset's row ids. Under pandas copy-on-write this is a lazy copy, so later edits
    # of the user's DataFrame cannot change what was stored.
    return df.reset_index(drop=True), name


def _read_file(path: Path) -> pd.DataFrame:
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise errors.DataError(
            PARAMETER, f"{str(path)!r} has an unsupported suffix {path.suffix!r}; use one of {', '.join(SUFFIXES)}"
        )
    if not path.is_file():
        raise errors.DataError(PARAMETER, f"{str(path)!r} is not a readable file")
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if kind == "tsv" else ",")
    except (OSError, ValueError, pa.ArrowException, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise errors.DataError(PARAMETER, f"cannot read {str(path)!r} as {kind}: {exc}") from exc


def check_frame(df: pd.DataFrame) -> None:
    """Reject data the pipeline cannot store faithfully."""
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise errors.DataError(PARAMETER, f"the DataFrame is empty ({df.shape[0]} rows, {df.shape[1]} columns)")
    duplicated = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
    if duplicated:
        raise errors.DataError(PARAMETER, f"duplicate column names {duplicated}; rename them so each is unique")
    not_text = [c for c in df.columns if not isinstance(c, str)]
    if not_text:
        raise errors.DataError(
            PARAMETER, f"column names must be strings, got {not_text[:5]!r}; e.g. df.columns = df.columns.astype(str)"
        )
    unstorable = {column: problem for column in df.columns if (problem := _unstorable(df[column])) is not None}
    if unstorable:
        described = "; ".join(f"{column!r} {problem}" for column, problem in list(unstorable.items())[:5])
        first = next(iter(unstorable))
        raise errors.DataError(
            PARAMETER, f"cannot store {described}: give each column one type, e.g. df[{first!r}] = "
            f"df[{first!r}].astype(str), or drop the column"
        )


# object columns pandas sees as one of these convert to Parquet; others are tried (lists, dicts, mixtures)
_STORABLE_KINDS = {"string", "empty", "bytes", "floating", "integer", "mixed-integer-float", "boolean", "decimal",
                   "date", "datetime", "datetime64"}


def _unstorable(series: pd.Series) -> str | None:
    """Why an object column cannot be stored as Parquet (e.g. ints mixed with text), or ``None``."""
    if series.dtype != object:
        return None
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind in _STORABLE_KINDS:
        return None
    try:
        pa.array(series, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):
        types = sorted({type(value).__name__ for value in series.dropna().head(10_000)})
        return f"holds values of mixed types ({', '.join(types)})"
    return None


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


def deserialize(blob: bytes) -> pd.DataFrame:
    """The DataFrame stored by :func:`serialize`."""
    return pq.read_table(pa.BufferReader(blob)).to_pandas()


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
                entry.update(min=_number(np.nanmin(values)), max=_number(np.nanmax(values)),
                             mean=_number(np.nanmean(values)), std=_number(np.nanstd(values)))
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
