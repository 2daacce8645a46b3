"""Reading raw tables: a DataFrame or a ``.csv``/``.tsv``/``.parquet`` file, checked, and stored tables read back.

Nothing here imports the database layer: training (:mod:`assay.data.ingest` stores what this reads) and
serving or bundle loading (:mod:`assay.inference.bundle`, ``assay serve``) share it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa  # pandas imports it anyway; pyarrow.parquet (10 ms) only where Parquet is read

from assay import errors

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


def deserialize(blob: bytes) -> pd.DataFrame:
    """The DataFrame stored by :func:`serialize`."""
    import pyarrow.parquet as pq

    return pq.read_table(pa.BufferReader(blob)).to_pandas()
