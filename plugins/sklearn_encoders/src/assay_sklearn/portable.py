"""Fitted scikit-learn preprocessors as plain data, transformed with numpy alone.

A bundle's encoders are ``skops.io`` files, and loading one imports scikit-learn (skops' list of trusted types
imports every estimator: about 2 s before the first prediction). The common preprocessors are a few arrays and
settings once fitted, so this module keeps them as data and re-implements their ``transform`` in numpy:

* :func:`from_sklearn` turns a fitted ``StandardScaler``, ``MinMaxScaler``, ``MaxAbsScaler``, ``RobustScaler``,
  ``OneHotEncoder``, ``OrdinalEncoder``, ``LabelEncoder`` or ``LabelBinarizer`` into its portable twin (same class
  name, same fitted attributes), or raises :class:`NotPortable` for any other class or setting (infrequent
  categories, a multilabel binarizer, sparse input...);
* :func:`dumps` writes it as one ``.npz`` archive: ``meta`` (JSON: class name, settings, category lists of
  strings or mixed Python scalars) and numeric arrays, saved with ``allow_pickle=False``;
* :func:`loads` reads it back with ``allow_pickle=False`` and checks every field (known class, arrays of the
  declared shapes and kinds): a damaged or tampered member raises :class:`assay.errors.BundleError`, never a
  wrong answer.

The arithmetic is scikit-learn's, step for step (``X -= mean_; X /= scale_`` in the input's float dtype...), so a
portable transform equals scikit-learn's bit for bit; the bundle export checks that on the fitted rows before it
writes a portable member (:mod:`assay.inference.export`), and ``tests/test_portable_encoders.py`` checks it on
generated data. This module must never import scikit-learn or scipy: ``assay predict`` loads it for that reason.
"""

from __future__ import annotations

import io
import json
import math
import numbers
import warnings
from typing import Any, ClassVar

import numpy as np

from assay import errors

__all__ = ["FORMAT", "NotPortable", "Portable", "dumps", "from_sklearn", "loads"]

#: the bundle format name (and member suffix) of a portable encoder
FORMAT = "npz"
#: bumped when the layout of :func:`dumps` changes incompatibly; :func:`loads` refuses a newer one
VERSION = 1


class NotPortable(Exception):
    """The fitted encoder (its class or one of its settings) has no portable form; the bundle keeps skops."""


# --------------------------------------------------------------------------------------------------------------
# scikit-learn's helpers for categories (sklearn.utils._encode), in numpy
# --------------------------------------------------------------------------------------------------------------


def _is_nan(value: Any) -> bool:
    # sklearn.utils._missing.is_scalar_nan: a real, non-integral number that is NaN (not None, not True)
    return isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) and math.isnan(value)


def _is_numeric(array: np.ndarray) -> bool:
    # the array API's "numeric": integers and floats; booleans, strings and objects go the Python way
    return array.dtype.kind in "iuf"


def _split_missing(values: set) -> tuple[set, bool, bool]:
    missing = {value for value in values if value is None or _is_nan(value)}
    return values - missing, any(_is_nan(v) for v in missing), None in missing


def _check_unknown(values: np.ndarray, known: np.ndarray) -> tuple[list, np.ndarray]:
    """The unknown values of ``values`` and a mask of the known ones (scikit-learn's ``_check_unknown``)."""
    if not _is_numeric(values):
        values_set, nan_in_values, none_in_values = _split_missing(set(values))
        known_set, nan_known, none_known = _split_missing(set(known))
        diff = list(values_set - known_set)
        nan_in_diff, none_in_diff = nan_in_values and not nan_known, none_in_values and not none_known
        if diff or nan_in_diff or none_in_diff:
            valid = np.array([value in known_set or (none_known and value is None) or (nan_known and _is_nan(value))
                              for value in values], dtype=bool)
        else:
            valid = np.ones(len(values), dtype=bool)
        return diff + ([None] if none_in_diff else []) + ([np.nan] if nan_in_diff else []), valid
    diff = np.setdiff1d(np.unique(values), known, assume_unique=True)
    valid = np.isin(values, known) if diff.size else np.ones(len(values), dtype=bool)
    if known.dtype.kind == "f" and np.isnan(known).any():
        diff_is_nan = np.isnan(diff)
        if diff_is_nan.any():
            if diff.size:
                valid[np.isnan(values)] = True
            diff = diff[~diff_is_nan]
    return list(diff), valid


def _encode(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Indices of ``values`` (all known) in ``known`` (scikit-learn's ``_encode`` without its own check)."""
    if _is_numeric(values):
        return np.searchsorted(known, values)
    table = {value: index for index, value in enumerate(known)}
    nan_index = next((index for value, index in table.items() if _is_nan(value)), None)
    try:
        return np.asarray([table[value] if not (nan_index is not None and _is_nan(value)) else nan_index
                           for value in values])
    except KeyError as exc:
        raise ValueError(f"y contains previously unseen labels: {exc}") from None


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


# --------------------------------------------------------------------------------------------------------------
# The encoders
# --------------------------------------------------------------------------------------------------------------


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


class _Scaler(Portable):
    """Scalers: ``transform`` is a few in-place operations with per-column vectors, in the input's float dtype."""

    #: the fitted vectors (``None`` where a setting switches one off) and the settings kept
    vectors: ClassVar[tuple[str, ...]] = ()
    settings: ClassVar[dict[str, tuple[type, ...]]] = {}

    def __init__(self, n_features_in_: int, **values: Any):
        self.n_features_in_ = n_features_in_
        for name, value in values.items():
            setattr(self, name, value)

    @classmethod
    def from_sklearn(cls, fitted: Any) -> Portable:
        values = {name: getattr(fitted, name, None) for name in cls.vectors}
        values = {name: None if value is None else np.asarray(value) for name, value in values.items()}
        if any(value is not None and (value.dtype.kind != "f" or value.ndim != 1) for value in values.values()):
            raise NotPortable("fitted vectors that are not 1-D floats")
        settings = {name: getattr(fitted, name) for name in cls.settings}
        return cls(int(fitted.n_features_in_), **values, **settings)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {"n_features_in": self.n_features_in_, **{name: getattr(self, name) for name in self.settings}}
        meta = {key: list(value) if isinstance(value, tuple) else value for key, value in meta.items()}
        return meta, {name: getattr(self, name) for name in self.vectors if getattr(self, name) is not None}

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Portable:
        width = _setting(meta, "n_features_in", (int,))
        settings = {name: _setting(meta, name, kinds) for name, kinds in cls.settings.items()}
        vectors = {name: _vector(arrays, name, width, optional=True) for name in cls.vectors}
        made = cls(width, **vectors, **settings)
        made._check_state()
        return made

    def _check_state(self) -> None:
        return None

    def transform(self, X: Any) -> np.ndarray:
        raise NotImplementedError

    def inverse_transform(self, X: Any) -> np.ndarray:
        raise NotImplementedError


def _require(value: Any, name: str) -> None:
    if value is None:
        raise ValueError(f"the array {name!r} is missing")


class StandardScaler(_Scaler):
    vectors = ("mean_", "scale_")
    settings = {"with_mean": (bool,), "with_std": (bool,)}

    def _check_state(self) -> None:
        if self.with_mean:
            _require(self.mean_, "mean_")
        if self.with_std:
            _require(self.scale_, "scale_")

    def transform(self, X: Any) -> np.ndarray:
        X = _floats(X, self.n_features_in_, "StandardScaler")
        # scikit-learn casts the vectors to the input's dtype first (float32 input: float32 arithmetic)
        if self.with_mean:
            X -= self.mean_.astype(X.dtype)
        if self.with_std:
            X /= self.scale_.astype(X.dtype)
        return X

    def inverse_transform(self, X: Any) -> np.ndarray:
        X = _floats(X, self.n_features_in_, "StandardScaler")
        if self.with_std:
            X *= self.scale_.astype(X.dtype)
        if self.with_mean:
            X += self.mean_.astype(X.dtype)
        return X


class MinMaxScaler(_Scaler):
    vectors = ("scale_", "min_")
    settings = {"feature_range": (list, tuple), "clip": (bool,)}

    def _check_state(self) -> None:
        _require(self.scale_, "scale_")
        _require(self.min_, "min_")
        low, high = self.feature_range
        if not all(type(v) in (int, float) for v in (low, high)):
            raise ValueError(f"the setting 'feature_range' is {self.feature_range!r}")

    def transform(self, X: Any) -> np.ndarray:
        X = _floats(X, self.n_features_in_, "MinMaxScaler")
        X *= self.scale_
        X += self.min_
        if self.clip:
            np.clip(X, np.asarray(self.feature_range[0], dtype=X.dtype), np.asarray(self.feature_range[1],
                    dtype=X.dtype), out=X)
        return X

    def inverse_transform(self, X: Any) -> np.ndarray:
        X = _floats(X, self.n_features_in_, "MinMaxScaler")
        X -= self.min_
        X /= self.scale_
        return X


class MaxAbsScaler(_Scaler):
    vectors = ("scale_",)
    settings = {"clip": (bool,)}

    def _check_state(self) -> None:
        _require(self.scale_, "scale_")

    def transform(self, X: Any) -> np.ndarray:
        X = _floats(X, self.n_features_in_, "MaxAbsScaler")
        X /= self.scale_
        if self.clip:
            np.clip(X, np.asarray(-1.0, dtype=X.dtype), np.asarray(1.0, dtype=X.dtype), out=X)
        return X

    def inverse_transform(self, X: Any) -> np.ndarray:
        X = _floats(X, self.n_features_in_, "MaxAbsScaler")
        X *= self.scale_
        return X


class RobustScaler(_Scaler):
    vectors = ("center_", "scale_")
    settings = {"with_centering": (bool,), "with_scaling": (bool,)}

    def _check_state(self) -> None:
        if self.with_centering:
            _require(self.center_, "center_")
        if self.with_scaling:
            _require(self.scale_, "scale_")

    def transform(self, X: Any) -> np.ndarray:
        X = _floats(X, self.n_features_in_, "RobustScaler")
        if self.with_centering:
            X -= self.center_
        if self.with_scaling:
            X /= self.scale_
        return X

    def inverse_transform(self, X: Any) -> np.ndarray:
        X = _floats(X, self.n_features_in_, "RobustScaler")
        if self.with_scaling:
            X *= self.scale_
        if self.with_centering:
            X += self.center_
        return X


class _Categorical(Portable):
    """OneHotEncoder and OrdinalEncoder: per-column categories, unknown values handled as set."""

    handle_unknown: str
    categories_: list[np.ndarray]

    def _codes(self, X: Any, handle_unknown: str, warn_columns: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Category indices and the mask of known values (scikit-learn's ``_BaseEncoder._transform``)."""
        name = type(self).__name__
        columns = _columns(X, self.n_features_in_, name)
        rows = len(columns[0]) if columns else 0
        codes, known = np.zeros((rows, len(columns)), dtype=int), np.ones((rows, len(columns)), dtype=bool)
        unknown_columns = []
        for i, (values, categories) in enumerate(zip(columns, self.categories_, strict=True)):
            diff, valid = _check_unknown(values, categories)
            if not valid.all():
                if handle_unknown == "error":
                    raise ValueError(f"Found unknown categories {diff} in column {i} during transform")
                unknown_columns.append(i)
                known[:, i] = valid
                if categories.dtype.kind in "US" and categories.itemsize > values.itemsize:
                    values = values.astype(categories.dtype)
                elif categories.dtype.kind == "O" and values.dtype.kind == "U":
                    values = values.astype("O")
                else:
                    values = values.copy()
                values[~valid] = categories[0]
            codes[:, i] = _encode(values, categories)
        if unknown_columns and warn_columns:
            encoded_as = "the infrequent category." if handle_unknown == "infrequent_if_exist" else "all zeros"
            warnings.warn(f"Found unknown categories in columns {unknown_columns} during transform. These unknown "
                          f"categories will be encoded as {encoded_as}", UserWarning, stacklevel=3)
        return codes, known

    def _categories_state(self, arrays: dict[str, np.ndarray]) -> list[Any]:
        return [_values_out(categories, f"categories_{i}", arrays) for i, categories in enumerate(self.categories_)]

    @staticmethod
    def _categories_from(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
        listed = meta.get("categories")
        if type(listed) is not list or not listed:
            raise ValueError("the setting 'categories' is missing or empty")
        categories = [_values_in(spec, arrays, f"categories[{i}]") for i, spec in enumerate(listed)]
        if any(len(values) == 0 for values in categories):
            raise ValueError("a column has no categories")
        for i, values in enumerate(categories):
            if _is_numeric(values) and values.size > 1 and not (np.diff(values[~np.isnan(values)] if values.dtype.kind
                                                                            == "f" else values) > 0).all():
                raise ValueError(f"categories[{i}] are not sorted and unique")
        return categories

    @staticmethod
    def _check_sklearn(fitted: Any) -> None:
        if getattr(fitted, "_infrequent_enabled", False):
            raise NotPortable("infrequent categories (min_frequency, max_categories)")


class OneHotEncoder(_Categorical):
    def __init__(self, categories_: list[np.ndarray], drop_idx_: list[int | None] | None, handle_unknown: str,
                 drop: Any):
        self.categories_, self.drop_idx_, self.handle_unknown, self.drop = categories_, drop_idx_, handle_unknown, drop
        self.n_features_in_ = len(categories_)

    @classmethod
    def from_sklearn(cls, fitted: Any) -> Portable:
        cls._check_sklearn(fitted)
        if getattr(fitted, "sparse_output", False):
            raise NotPortable("sparse_output=True (assay makes it dense)")
        if np.dtype(fitted.dtype) != np.float64:
            raise NotPortable(f"dtype={fitted.dtype}")
        drop_idx = None if fitted.drop_idx_ is None else [None if i is None else int(i) for i in fitted.drop_idx_]
        drop = fitted.drop if fitted.drop in (None, "first", "if_binary") else "array"
        return cls([np.asarray(c) for c in fitted.categories_], drop_idx, fitted.handle_unknown, drop)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {}
        return {"categories": self._categories_state(arrays), "drop_idx": self.drop_idx_,
                "handle_unknown": self.handle_unknown, "drop": self.drop}, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Portable:
        categories = cls._categories_from(meta, arrays)
        drop_idx = meta.get("drop_idx")
        if drop_idx is not None:
            if type(drop_idx) is not list or len(drop_idx) != len(categories) or not all(
                    index is None or (type(index) is int and 0 <= index < len(values))
                    for index, values in zip(drop_idx, categories, strict=False)):
                raise ValueError(f"the setting 'drop_idx' is {drop_idx!r}")
        handle = _setting(meta, "handle_unknown", (str,), ("error", "ignore", "infrequent_if_exist", "warn"))
        drop = _setting(meta, "drop", (str, type(None)), (None, "first", "if_binary", "array"))
        return cls(categories, drop_idx, handle, drop)

    @property
    def widths(self) -> list[int]:
        dropped = self.drop_idx_ or [None] * len(self.categories_)
        return [len(values) - (index is not None) for values, index in zip(self.categories_, dropped, strict=True)]

    def transform(self, X: Any) -> np.ndarray:
        if self.handle_unknown == "warn":
            warn, handle = True, "infrequent_if_exist"
        else:
            warn, handle = self.drop is not None and self.handle_unknown in ("ignore", "infrequent_if_exist"), \
                self.handle_unknown
        codes, known = self._codes(X, handle, warn)
        if self.drop_idx_ is not None:
            to_drop = np.array([len(values) if index is None else index
                                for index, values in zip(self.drop_idx_, self.categories_, strict=True)])
            known &= codes != to_drop.reshape(1, -1)
            codes[codes > to_drop.reshape(1, -1)] -= 1
        offsets = np.cumsum([0, *self.widths])
        out = np.zeros((len(codes), offsets[-1]), dtype=np.float64)
        rows, columns = np.nonzero(known)
        out[rows, codes[rows, columns] + offsets[columns]] = 1.0
        return out

    def inverse_transform(self, X: Any) -> np.ndarray:
        raise NotImplementedError("a portable OneHotEncoder does not decode; assay decodes categorical labels with "
                                  "the bundle's classes")


class OrdinalEncoder(_Categorical):
    def __init__(self, categories_: list[np.ndarray], handle_unknown: str, unknown_value: Any,
                 encoded_missing_value: Any, missing_indices: dict[int, int], dtype: str):
        self.categories_, self.handle_unknown, self.unknown_value = categories_, handle_unknown, unknown_value
        self.encoded_missing_value, self._missing_indices, self.dtype = encoded_missing_value, missing_indices, dtype
        self.n_features_in_ = len(categories_)

    @classmethod
    def from_sklearn(cls, fitted: Any) -> Portable:
        cls._check_sklearn(fitted)
        dtype = np.dtype(fitted.dtype)
        if dtype.kind not in "iuf":
            raise NotPortable(f"dtype={fitted.dtype}")
        values = []
        for value in (fitted.unknown_value, fitted.encoded_missing_value):
            value = value.item() if isinstance(value, np.generic) else value
            if type(value) not in (int, float, type(None)):
                raise NotPortable(f"unknown_value or encoded_missing_value {value!r}")
            values.append(value)
        missing = {int(column): int(index) for column, index in fitted._missing_indices.items()}
        return cls([np.asarray(c) for c in fitted.categories_], fitted.handle_unknown, *values, missing, dtype.str)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {}
        return {"categories": self._categories_state(arrays), "handle_unknown": self.handle_unknown,
                "unknown_value": self.unknown_value, "encoded_missing_value": self.encoded_missing_value,
                "missing_indices": [[column, index] for column, index in sorted(self._missing_indices.items())],
                "dtype": self.dtype}, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Portable:
        categories = cls._categories_from(meta, arrays)
        handle = _setting(meta, "handle_unknown", (str,), ("error", "use_encoded_value"))
        unknown = _setting(meta, "unknown_value", (int, float, type(None)))
        missing_value = _setting(meta, "encoded_missing_value", (int, float))
        pairs = meta.get("missing_indices")
        if type(pairs) is not list or not all(
                type(pair) is list and len(pair) == 2 and all(type(v) is int for v in pair)
                and 0 <= pair[0] < len(categories) and 0 <= pair[1] < len(categories[pair[0]]) for pair in pairs):
            raise ValueError(f"the setting 'missing_indices' is {pairs!r}")
        dtype = _setting(meta, "dtype", (str,))
        try:
            kind = np.dtype(dtype).kind
        except TypeError:
            kind = ""
        if kind not in "iuf" or not kind:
            raise ValueError(f"the setting 'dtype' is {dtype!r}")
        return cls(categories, handle, unknown, missing_value, {c: i for c, i in pairs}, dtype)

    def transform(self, X: Any) -> np.ndarray:
        codes, known = self._codes(X, self.handle_unknown)
        out = codes.astype(np.dtype(self.dtype), copy=False)
        for column, index in self._missing_indices.items():
            out[codes[:, column] == index, column] = self.encoded_missing_value
        if self.handle_unknown == "use_encoded_value":
            out[~known] = self.unknown_value
        return out

    def inverse_transform(self, X: Any) -> np.ndarray:
        raise NotImplementedError("a portable OrdinalEncoder does not decode; assay decodes categorical labels with "
                                  "the bundle's classes")


class _Labels(Portable):
    one_dimensional = True
    classes_: np.ndarray

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        raise AttributeError("get_feature_names_out")

    @staticmethod
    def _classes_from(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> np.ndarray:
        classes = _values_in(meta.get("classes"), arrays, "classes")
        if len(classes) == 0:
            raise ValueError("there are no classes")
        return classes


class LabelEncoder(_Labels):
    def __init__(self, classes_: np.ndarray):
        self.classes_ = classes_

    @classmethod
    def from_sklearn(cls, fitted: Any) -> Portable:
        return cls(np.asarray(fitted.classes_))

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {}
        return {"classes": _values_out(self.classes_, "classes", arrays)}, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Portable:
        return cls(cls._classes_from(meta, arrays))

    def transform(self, y: Any) -> np.ndarray:
        values = _labels(y)
        if len(values) == 0:
            return np.array([])
        if self.classes_.dtype.kind != "O":  # column_or_1d(y, dtype=classes_.dtype)
            values = values.astype(self.classes_.dtype)
        if _is_numeric(values):
            diff, _ = _check_unknown(values, self.classes_)
            if diff:
                raise ValueError(f"y contains previously unseen labels: {diff}")
        return _encode(values, self.classes_)

    def inverse_transform(self, y: Any) -> np.ndarray:
        values = _labels(y)
        if len(values) == 0:
            return np.array([])
        diff = np.setdiff1d(values, np.arange(len(self.classes_)))
        if len(diff):
            raise ValueError(f"y contains previously unseen labels: {diff}")
        return self.classes_[np.asarray(values)]


class LabelBinarizer(_Labels):
    """Binary or multi-class labels only; a label it did not see is refused (scikit-learn would encode it as a
    row of ``neg_label``, or change the number of columns when a two-class binarizer meets a third)."""

    def __init__(self, classes_: np.ndarray, neg_label: int, pos_label: int):
        self.classes_, self.neg_label, self.pos_label = classes_, neg_label, pos_label

    @classmethod
    def from_sklearn(cls, fitted: Any) -> Portable:
        if fitted.y_type_ not in ("binary", "multiclass") or fitted.sparse_input_:
            raise NotPortable(f"{fitted.y_type_} labels")
        if type(fitted.neg_label) is not int or type(fitted.pos_label) is not int:
            raise NotPortable("labels other than integers")
        return cls(np.asarray(fitted.classes_), fitted.neg_label, fitted.pos_label)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {}
        return {"classes": _values_out(self.classes_, "classes", arrays), "neg_label": self.neg_label,
                "pos_label": self.pos_label}, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Portable:
        neg, pos = _setting(meta, "neg_label", (int,)), _setting(meta, "pos_label", (int,))
        if neg >= pos:
            raise ValueError(f"neg_label={neg} is not below pos_label={pos}")
        return cls(cls._classes_from(meta, arrays), neg, pos)

    def transform(self, y: Any) -> np.ndarray:
        values = _labels(y)
        if len(values) == 0:
            raise ValueError("y has 0 samples")
        diff, known = _check_unknown(values, self.classes_)
        if diff:
            raise ValueError(f"y contains labels the encoder did not see: {diff}")
        indices = _encode(values, self.classes_)
        neg, pos = self.neg_label, self.pos_label
        if pos == 0:  # scikit-learn's pos_switch: the dense case with pos_label 0
            pos = -neg
        if len(self.classes_) == 1:
            return np.zeros((len(values), 1), dtype=int) + neg
        out = np.zeros((len(values), len(self.classes_)), dtype=int)
        out[np.arange(len(values)), indices] = pos
        if neg != 0:
            out[out == 0] = neg
        if self.pos_label == 0:
            out[out == pos] = 0
        if len(self.classes_) == 2:
            out = out[:, -1].reshape(-1, 1)
        return out

    def inverse_transform(self, Y: Any, threshold: float | None = None) -> np.ndarray:
        Y = np.asarray(Y)
        if threshold is None:
            threshold = (self.pos_label + self.neg_label) / 2.0
        if len(self.classes_) > 2:
            return self.classes_.take(Y.argmax(axis=1), mode="clip")
        if Y.ndim == 2 and Y.shape[1] > 2:
            raise ValueError("output_type='binary', but y.shape = {}".format(Y.shape))
        codes = np.array(Y > threshold, dtype=int)
        if codes.ndim == 2 and codes.shape[1] == 2:
            return self.classes_[codes[:, 1]]
        if len(self.classes_) == 1:
            return np.repeat(self.classes_[0], len(codes))
        return self.classes_[codes.ravel()]


#: the portable classes by the name of the scikit-learn class they reproduce
CLASSES: dict[str, type[Portable]] = {cls.__name__: cls for cls in (
    StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler, OneHotEncoder, OrdinalEncoder, LabelEncoder,
    LabelBinarizer)}


def from_sklearn(fitted: Any) -> Portable:
    """The portable twin of a fitted scikit-learn preprocessor; :class:`NotPortable` when it has none."""
    cls = type(fitted)
    portable = CLASSES.get(cls.__name__)
    if portable is None or not cls.__module__.startswith("sklearn.preprocessing"):
        raise NotPortable(f"{cls.__module__}.{cls.__name__} has no portable form")
    return portable.from_sklearn(fitted)


def dumps(portable: Portable) -> bytes:
    """One ``.npz`` archive: the JSON ``meta`` (class, format version, settings) and the arrays, no pickles."""
    meta, arrays = portable.state()
    document = {"class": type(portable).__name__, "version": VERSION, **meta}
    if "meta" in arrays:
        raise NotPortable("an array named meta")
    if any(array.dtype.kind == "O" for array in arrays.values()):
        raise NotPortable("an array of Python objects")
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.frombuffer(json.dumps(document).encode(), dtype=np.uint8), **arrays)
    return buffer.getvalue()


def loads(data: bytes, where: str = "the encoder") -> Portable:
    """Read :func:`dumps` bytes (``allow_pickle=False``), every field checked.

    Raises:
        assay.errors.BundleError: not such an archive, an unknown class, a newer format, or a field of the wrong
            shape or type (naming ``where`` and the field).
    """
    def refuse(problem: str) -> errors.BundleError:
        return errors.BundleError("path", f"{where} is a damaged portable encoder ({problem}); export the model again")

    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(arrays.pop("meta").tobytes())
    except Exception as exc:  # whatever numpy's and zipfile's readers raise for bytes that are not such an archive
        raise refuse(f"{type(exc).__name__}: {exc}") from exc
    if type(meta) is not dict:
        raise refuse("its meta is not a JSON object")
    if type(meta.get("version")) is not int or meta["version"] > VERSION:
        raise refuse(f"format version {meta.get('version')!r}; this assay reads up to {VERSION}")
    cls = CLASSES.get(meta.get("class"))  # type: ignore[arg-type]
    if cls is None:
        raise refuse(f"unknown class {meta.get('class')!r}; assay reads {', '.join(CLASSES)}")
    try:
        return cls.from_state(meta, arrays)
    except (ValueError, TypeError, KeyError) as exc:
        raise refuse(f"{cls.__name__}: {exc}") from exc
