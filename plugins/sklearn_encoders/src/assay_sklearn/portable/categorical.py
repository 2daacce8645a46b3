"""OneHotEncoder and OrdinalEncoder: per-column categories, matched as scikit-learn's ``sklearn.utils._encode``
matches them (numbers by binary search, everything else by a dictionary that finds NaN)."""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from assay_sklearn.portable.base import NotPortable, Portable, _columns, _setting, _values_in, _values_out


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
        if drop_idx is not None and (type(drop_idx) is not list or len(drop_idx) != len(categories) or not all(
                index is None or (type(index) is int and 0 <= index < len(values))
                for index, values in zip(drop_idx, categories, strict=False))):
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
        return cls(categories, handle, unknown, missing_value, dict(map(tuple, pairs)), dtype)

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
