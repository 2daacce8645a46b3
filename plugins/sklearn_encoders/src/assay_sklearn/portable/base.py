"""What every portable encoder shares: the base class, inputs read as scikit-learn's ``check_array`` reads
them, and fitted values stored as JSON and numpy arrays (never pickles)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np


class NotPortable(Exception):
    """The fitted encoder (its class or one of its settings) has no portable form; the bundle keeps skops."""


# --------------------------------------------------------------------------------------------------------------
# Inputs, as scikit-learn's check_array makes them
# --------------------------------------------------------------------------------------------------------------


def _column_array(column: Any) -> np.ndarray:
    values = column.to_numpy() if hasattr(column, "to_numpy") else np.asarray(column)
    if not isinstance(values.dtype, np.dtype) or values.dtype.kind not in "biufOU":
        raise ValueError(f"cannot encode values of dtype {getattr(column, 'dtype', values.dtype)}")
    return values


def _floats(data: Any, width: int, name: str) -> np.ndarray:
    """A writable 2-D float copy of ``data``: float32 kept (scikit-learn keeps it), anything else float64."""
    if hasattr(data, "iloc"):  # a DataFrame: its columns' common dtype, as pandas and check_array give it
        columns = [_column_array(data.iloc[:, i]) for i in range(data.shape[1])]
        kinds = {values.dtype for values in columns}
        dtype = np.float32 if kinds == {np.dtype(np.float32)} else np.float64
        X = np.empty((len(data), len(columns)), dtype=dtype)
        for i, values in enumerate(columns):
            X[:, i] = values.astype(dtype)
    else:
        X = np.array(data, copy=True)
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D array, got {X.ndim}-D")
    if X.shape[1] != width:
        raise ValueError(f"X has {X.shape[1]} features, but {name} is expecting {width} features as input.")
    if np.isinf(X).any():
        raise ValueError("Input X contains infinity or a value too large for dtype('float64').")
    return X


def _columns(data: Any, width: int, name: str) -> list[np.ndarray]:
    """Each column as its own array, keeping its dtype (what the categorical encoders' ``_check_X`` does)."""
    if hasattr(data, "iloc"):
        columns = [_column_array(data.iloc[:, i]) for i in range(data.shape[1])]
    else:
        array = np.asarray(data)
        if array.ndim != 2:
            raise ValueError(f"Expected a 2-D array, got {array.ndim}-D")
        if array.dtype.kind == "U":
            array = array.astype(object)
        columns = [array[:, i] for i in range(array.shape[1])]
    if len(columns) != width:
        raise ValueError(f"X has {len(columns)} features, but {name} is expecting {width} features as input.")
    for values in columns:
        if values.dtype.kind == "f" and np.isinf(values).any():
            raise ValueError("Input X contains infinity or a value too large for dtype('float64').")
    return columns


def _labels(y: Any) -> np.ndarray:
    values = np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values.ravel()
    if values.ndim != 1:
        raise ValueError(f"y should be a 1d array, got an array of shape {values.shape} instead.")
    return values


# --------------------------------------------------------------------------------------------------------------
# Storage of values: numbers as arrays, categories of strings or mixed scalars as JSON
# --------------------------------------------------------------------------------------------------------------

_SCALARS = (str, bool, int, float, type(None))


def _values_out(values: np.ndarray, key: str, arrays: dict[str, np.ndarray]) -> Any:
    """``values`` as JSON (object arrays of strings, numbers, None) or as the array ``key`` (numbers, booleans)."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise NotPortable(f"categories of shape {values.shape}")
    if values.dtype.kind in "biufU":
        arrays[key] = values
        return {"array": key}
    if values.dtype.kind != "O":
        raise NotPortable(f"categories of dtype {values.dtype}")
    listed = [value.item() if isinstance(value, np.generic) else value for value in values]
    if not all(type(value) in _SCALARS for value in listed):
        kinds = sorted({type(value).__name__ for value in listed if type(value) not in _SCALARS})
        raise NotPortable(f"categories holding {', '.join(kinds)}")
    return {"list": listed}


def _values_in(spec: Any, arrays: dict[str, np.ndarray], where: str) -> np.ndarray:
    if isinstance(spec, dict) and set(spec) == {"array"}:
        values = arrays.get(spec["array"])
        if values is None or values.ndim != 1 or values.dtype.kind not in "biufU":
            raise ValueError(f"{where}: the array {spec['array']!r} is missing or not a 1-D array of numbers")
        return values
    if isinstance(spec, dict) and set(spec) == {"list"} and isinstance(spec["list"], list):
        if not all(type(value) in _SCALARS for value in spec["list"]):
            raise ValueError(f"{where}: categories must be strings, numbers, booleans or null")
        out = np.empty(len(spec["list"]), dtype=object)
        out[:] = spec["list"]
        return out
    raise ValueError(f"{where}: expected {{'array': name}} or {{'list': [...]}}")


def _vector(arrays: dict[str, np.ndarray], key: str, width: int, optional: bool = False) -> np.ndarray | None:
    if key not in arrays:
        if optional:
            return None
        raise ValueError(f"the array {key!r} is missing")
    values = arrays[key]
    if values.dtype.kind != "f" or values.shape != (width,):
        raise ValueError(f"the array {key!r} has shape {values.shape} and dtype {values.dtype}; expected ({width},) "
                         "floats")
    return values


def _setting(meta: dict[str, Any], key: str, kinds: tuple[type, ...], choices: tuple[Any, ...] | None = None) -> Any:
    value = meta.get(key)
    if type(value) not in kinds or (choices is not None and value not in choices):
        raise ValueError(f"the setting {key!r} is {value!r}")
    return value


class Portable:
    """A fitted preprocessor as data. Subclasses are named after the scikit-learn class they reproduce."""

    #: whether ``transform`` takes a 1-D array of labels (LabelEncoder, LabelBinarizer) instead of a table
    one_dimensional: ClassVar[bool] = False
    n_features_in_: int = 1

    @classmethod
    def from_sklearn(cls, fitted: Any) -> Portable:
        raise NotImplementedError

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Settings (JSON) and arrays."""
        raise NotImplementedError

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Portable:
        """Rebuild from :meth:`state`; raise ``ValueError`` naming the field that is wrong."""
        raise NotImplementedError

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(list(input_features), dtype=object)

    def __repr__(self) -> str:
        return f"{type(self).__name__}() (portable)"


def _require(value: Any, name: str) -> None:
    if value is None:
        raise ValueError(f"the array {name!r} is missing")
