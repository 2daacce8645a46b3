"""The input schema of a trained model, and the check new raw data passes before anything is predicted.

A model was trained on a splitset's feature columns with their dtypes. New data must hold every one of those
columns with a compatible dtype. Besides them it may hold:

* the label column: it is not a feature; when present its values give the inference's metrics;
* the columns the splitset excluded from the original data (``feature_cols_excluded``, ids, notes...): they
  are ignored, so a file shaped like the original dataset can be passed as it is.

Any other column is refused: it usually means a renamed column or the wrong file, and silently dropping it
would hide that.

Compatible dtypes, by what the model was trained on:

=================  =====================================================================================
trained on          accepted
=================  =====================================================================================
float               floats and integers (cast to the trained float dtype)
integer             integers; floats only when every value is a whole number (CSV files write ``3.0``)
bool                bools
text / category     strings (``str``, ``object`` holding strings, ``category``)
datetime            datetimes
anything else       the same dtype name
=================  =====================================================================================

Accepted columns are cast to the exact trained dtype, so the fitted encoders see what they saw in training.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pandas as pd

from assay import errors

#: how many problem columns a message lists before it says "and N more"
_SHOWN = 10


@attrs.frozen
class InputSchema:
    """The columns and dtypes a model expects (JSON-safe, stored in bundles).

    Attributes:
        feature_columns: the original feature columns, in training order.
        feature_dtypes: column -> dtype name as pandas named it when the data was ingested.
        label_column: the label column (allowed in new data, used for metrics), or ``None``.
        ignored_columns: other columns of the original data, allowed in new data and ignored.
    """

    feature_columns: list[str]
    feature_dtypes: dict[str, str]
    label_column: str | None = None
    ignored_columns: list[str] = attrs.field(factory=list)

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputSchema:
        return cls(
            feature_columns=list(data["feature_columns"]), feature_dtypes=dict(data["feature_dtypes"]),
            label_column=data.get("label_column"), ignored_columns=list(data.get("ignored_columns") or []),
        )


def dtype_kind(dtype: Any) -> str:
    """A coarse family of a dtype (or dtype name): the unit of compatibility (``bool``, ``integer``, ``float``,
    ``datetime``, ``text`` or ``other``)."""
    if isinstance(dtype, str):
        try:
            dtype = pd.api.types.pandas_dtype(dtype)
        except TypeError:
            return "other"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype):
        return "text"
    if getattr(dtype, "kind", None) == "O":
        return "text"
    return "other"


def _holds_text(series: pd.Series) -> bool:
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    return pd.api.types.infer_dtype(series, skipna=True) in {"string", "empty"}


def _whole_numbers(series: pd.Series) -> bool:
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    return bool(np.isfinite(values).all() and (values == np.round(values)).all())


def _problem(column: str, series: pd.Series, trained: str) -> str | None:
    """Why ``series`` cannot stand in for a column trained as ``trained``; ``None`` when it can."""
    expected, found = dtype_kind(trained), dtype_kind(series.dtype)
    if str(series.dtype) == trained:
        return None
    if expected == "float" and found in {"float", "integer"}:
        return None
    if expected == "integer" and found == "integer":
        return None
    if expected == "integer" and found == "float":
        if _whole_numbers(series):
            return None
        return (f"{column!r} holds fractional or missing values ({series.dtype}) where the model was trained on "
                f"{trained}")
    if expected == "text" and found in {"text", "other"} and _holds_text(series):
        return None
    if expected in {"bool", "datetime"} and found == expected:
        return None
    if found == "text" and expected in {"float", "integer", "bool"}:
        sample = series.dropna().astype(str).head(3).tolist()
        return f"{column!r} holds text ({series.dtype}, e.g. {sample}) where the model was trained on {trained}"
    return f"{column!r} has dtype {series.dtype} where the model was trained on {trained}"


def _listed(names: list[str]) -> str:
    shown = names[:_SHOWN]
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return f"{shown}{more}"


def check(df: pd.DataFrame, schema: InputSchema, parameter: str = "df_or_path") -> pd.DataFrame:
    """Check ``df`` against ``schema``; return its feature columns in training order with the trained dtypes.

    Raises:
        assay.errors.SchemaMismatchError: one message naming every missing column, unexpected column and
            column of an incompatible dtype.
    """
    present = {str(c) for c in df.columns}
    allowed = set(schema.feature_columns) | set(schema.ignored_columns)
    if schema.label_column is not None:
        allowed.add(schema.label_column)
    missing = [c for c in schema.feature_columns if c not in present]
    unexpected = [str(c) for c in df.columns if str(c) not in allowed]
    incompatible = [
        problem for c in schema.feature_columns if c in present
        if (problem := _problem(c, df[c], schema.feature_dtypes[c])) is not None
    ]
    problems = []
    if missing:
        problems.append(f"missing feature columns {_listed(missing)}")
    if unexpected:
        problems.append(
            f"unexpected columns {_listed(unexpected)} (besides the features, only the label column "
            f"{schema.label_column!r} and the columns excluded from training {_listed(schema.ignored_columns)} "
            "are allowed; drop or rename them)"
        )
    problems += incompatible
    if problems:
        raise errors.SchemaMismatchError(
            parameter, "the data does not match the columns the model was trained on: " + "; ".join(problems)
        )
    return pd.DataFrame({c: _cast(df[c], schema.feature_dtypes[c]) for c in schema.feature_columns},
                        index=df.index)


def _cast(series: pd.Series, trained: str) -> pd.Series:
    """``series`` in the trained dtype, so encoders see the same types as in training."""
    if str(series.dtype) == trained:
        return series
    try:
        return series.astype(pd.api.types.pandas_dtype(trained))
    except (TypeError, ValueError):
        return series  # a dtype name pandas cannot rebuild: the values already passed the kind check
