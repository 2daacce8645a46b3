"""Missing and infinite values: where they are, and the errors that name them by column and row position.

Training and inference apply the same rules, so data refused by ``Pipeline.Tabular.make`` is refused by
``predictor.infer``, bundles and ``assay predict`` too:

* ``±inf`` is never data: no built-in encoder maps it to something meaningful (scikit-learn's scalers and
  imputers raise on it), and a passthrough column would hand it to the model as it is. It is refused in every
  numeric feature column and in the label.
* ``NaN`` is allowed only where an encoder imputes it: training checks that each encoder's output is finite for
  the rows holding NaNs (a passthrough column may not hold any), and inference refuses the rows whose encoded
  features are not finite, before anything is predicted or stored.

Rows are named by position (0 is the first row) and, when the index is not the default one, by index label too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from assay import errors

#: how many rows and columns a message lists before it says "and N more"
SHOWN = 5


def _numeric_values(series: pd.Series) -> np.ndarray | None:
    """``series`` as float64, or ``None`` when it is not numeric (text, datetimes, categories)."""
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        return None
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def infinite_positions(df: pd.DataFrame, columns: list[Any] | None = None) -> dict[str, np.ndarray]:
    """Column -> positions of its ``±inf`` values, for the numeric columns among ``columns`` that hold any."""
    found = {}
    for column in df.columns if columns is None else columns:
        values = _numeric_values(df[column])
        if values is not None:
            positions = np.flatnonzero(np.isinf(values))
            if len(positions):
                found[str(column)] = positions
    return found


def missing_positions(df: pd.DataFrame, columns: list[Any] | None = None,
                      rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Column -> positions of its missing or infinite values (among ``rows`` when given)."""
    found = {}
    for column in df.columns if columns is None else columns:
        series = df[column]
        bad = np.array(series.isna().to_numpy(dtype=bool))  # a copy: pandas may hand out a read-only view
        values = _numeric_values(series)
        if values is not None:
            bad |= np.isinf(values)
        positions = np.flatnonzero(bad)
        if rows is not None:
            positions = np.intersect1d(positions, rows)
        if len(positions):
            found[str(column)] = positions
    return found


def _rows(positions: np.ndarray, index: pd.Index) -> str:
    shown = [int(p) for p in positions[:SHOWN]]
    more = f" and {len(positions) - SHOWN} more" if len(positions) > SHOWN else ""
    text = f"row{'s' if len(positions) > 1 else ''} {', '.join(map(str, shown))}{more}"
    if not isinstance(index, pd.RangeIndex) or index.start != 0 or index.step != 1:
        text += f" (index {[index[p] for p in shown]})"
    return text


def describe(cells: dict[str, np.ndarray], index: pd.Index) -> str:
    """``'a' (rows 3, 7), 'b' (row 0)``: where the cells are, by column and row position."""
    parts = [f"{column!r} ({_rows(positions, index)})" for column, positions in list(cells.items())[:SHOWN]]
    if len(cells) > SHOWN:
        parts.append(f"and {len(cells) - SHOWN} more columns")
    return ", ".join(parts)


def refuse_infinity(df: pd.DataFrame, columns: list[Any], parameter: str, index: pd.Index | None = None) -> None:
    """Raise a :class:`~assay.errors.DataError` naming every column and row of ``df[columns]`` holding ``±inf``.

    ``index``: the row labels the user knows (``df``'s own by default), shown beside the positions.
    """
    cells = infinite_positions(df, columns)
    if cells:
        raise errors.DataError(
            parameter,
            f"{describe(cells, df.index if index is None else index)} hold{'s' if len(cells) == 1 else ''} ±inf, "
            "which no encoder can use; "
            "replace those values (e.g. df.replace([np.inf, -np.inf], np.nan) and an imputer) or drop the rows",
        )


def refuse_unencodable_rows(df: pd.DataFrame, encoded: np.ndarray, sources: list[list[str]],
                            parameter: str, index: pd.Index | None = None) -> None:
    """Raise when ``encoded`` (one row per row of ``df``) holds NaN or ``±inf``, naming the raw cells responsible.

    ``sources[i]`` are the raw columns output column ``i`` is computed from. The model was trained only on finite
    features: a non-finite one gives a meaningless prediction (NaN probabilities, class 0), so it is refused
    before anything is predicted or stored.
    """
    flat = encoded.reshape(len(encoded), -1)
    finite = np.isfinite(flat)
    if finite.all():
        return
    index = df.index if index is None else index
    rows = np.flatnonzero(~finite.all(axis=1))
    outputs = np.flatnonzero(~finite.all(axis=0))
    columns = list(dict.fromkeys(c for i in outputs for c in (sources[i] if i < len(sources) else [])))
    cells = missing_positions(df, columns or None, rows=rows)
    if cells:
        where = describe(cells, index)
        why = "that the model's encoders do not impute (training refused such values too)"
    else:  # finite raw values that an encoder turned into NaN/inf
        where = f"{columns[:SHOWN]} in {_rows(rows, index)}"
        why = "after encoding"
    raise errors.DataError(
        parameter,
        f"{where} hold missing or infinite values {why}; nothing was predicted: fill or drop those rows, or "
        "train with an imputer (e.g. make_pipeline(SimpleImputer(), StandardScaler())) for these columns",
    )
