"""Sequence data in: a 3-D numpy array (samples x timesteps x features) or the path of a ``.npy`` file holding one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from assay import errors

PARAMETER = "feature_ndarray3D_or_npyPath"


def check_dtype(feature_dtype: Any) -> np.dtype | None:
    """``feature_dtype`` as a numeric numpy dtype (``None`` keeps the data's own)."""
    if feature_dtype is None:
        return None
    try:
        dtype = np.dtype(feature_dtype)
    except TypeError as exc:
        raise errors.DataError("feature_dtype", f"{feature_dtype!r} is not a numpy dtype: {exc}") from exc
    if dtype.kind not in "biuf":
        raise errors.DataError("feature_dtype", f"must be a numeric dtype such as 'float32', got {dtype}")
    return dtype


def read_sequence(feature_ndarray3D_or_npyPath: Any, feature_dtype: Any = None,
                  parameter: str = PARAMETER) -> tuple[np.ndarray, str | None]:
    """The samples as a numeric 3-D array, and a name (the file name) when read from a ``.npy`` file.

    A ``.npy`` file is memory-mapped, so a large file is read chunk by chunk while it is stored. The caller's
    array is never modified (a ``feature_dtype`` cast makes a new one).

    Raises:
        assay.errors.DataError: not 3-D, ragged, not numeric, empty, or an unreadable file; naming the parameter.
    """
    dtype = check_dtype(feature_dtype)
    value, name = feature_ndarray3D_or_npyPath, None
    if isinstance(value, (str, Path)):
        value, name = _load(Path(value), parameter), Path(value).name
    elif not isinstance(value, np.ndarray):
        if not isinstance(value, (list, tuple)):
            raise errors.DataError(
                parameter, f"expected a 3-D numpy array or the path of a .npy file, got {type(value).__name__}"
            )
        try:
            value = np.asarray(value)
        except ValueError as exc:  # numpy refuses nested lists of unequal lengths
            raise errors.DataError(
                parameter, f"is ragged (samples of different lengths): {exc}; pad or cut every sample to the same "
                "number of timesteps first"
            ) from exc
    if value.dtype == object:
        raise errors.DataError(
            parameter, "holds Python objects (a ragged array of samples of different lengths?); give a numeric array "
            "with every sample padded or cut to the same number of timesteps"
        )
    if value.ndim != 3:
        hint = "; add a feature axis with array[:, :, np.newaxis]" if value.ndim == 2 else ""
        raise errors.DataError(
            parameter, f"must be 3-D (samples x timesteps x features), got {value.ndim}-D shape {value.shape}{hint}"
        )
    if value.dtype.kind not in "biuf":
        raise errors.DataError(parameter, f"must hold numbers, got dtype {value.dtype}")
    if 0 in value.shape:
        raise errors.DataError(parameter, f"is empty: shape {value.shape}")
    if dtype is not None and dtype != value.dtype:
        value = value.astype(dtype)
    return value, name


def _load(path: Path, parameter: str) -> np.ndarray:
    if path.suffix.lower() != ".npy":
        raise errors.DataError(parameter, f"{str(path)!r} is not a .npy file; save the array with numpy.save")
    if not path.is_file():
        raise errors.DataError(parameter, f"{str(path)!r} is not a readable file")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:  # object arrays need pickle, which is refused
        raise errors.DataError(
            parameter, f"{str(path)!r} holds Python objects (a ragged array?), which are not loaded: {exc}"
        ) from exc
    except OSError as exc:
        raise errors.DataError(parameter, f"cannot read {str(path)!r} as .npy: {exc}") from exc


def feature_names(count: int) -> list[str]:
    """Names of a sequence's features: ``feature_0``, ``feature_1``, ..."""
    return [f"feature_{i}" for i in range(count)]


def feature_indices(values: Any, names: list[str], parameter: str) -> list[int]:
    """Feature indices, sorted, from indices, names (``"feature_3"``) or AIQC's names (``"3"``: AIQC names a
    numpy sequence's features ``'0'``, ``'1'``...)."""
    if isinstance(values, (int, np.integer, str)):
        values = [values]
    if not isinstance(values, (list, tuple, np.ndarray)) or len(values) == 0:
        raise errors.DataError(parameter, f"expected feature indices or names, got {values!r}")
    indices = []
    for value in values:
        if isinstance(value, (bool, np.bool_)):
            raise errors.DataError(parameter, f"expected feature indices or names, got {value!r}")
        if isinstance(value, (int, np.integer)) and -len(names) <= value < len(names):
            indices.append(int(value) % len(names))
        elif isinstance(value, str) and value in names:
            indices.append(names.index(value))
        elif isinstance(value, str) and value.isdigit() and f"feature_{int(value)}" in names:
            indices.append(names.index(f"feature_{int(value)}"))
        else:
            raise errors.DataError(
                parameter, f"{value!r} is not a feature: the features are {_described(names)} (by name, by AIQC's "
                "name '0', '1'..., or by index)",
            )
    return sorted(set(indices))


def _described(names: list[str]) -> str:
    return repr(names) if len(names) <= 6 else f"{names[0]!r}..{names[-1]!r} ({len(names)})"


def excluded_indices(feature_cols_excluded: Any, names: list[str],
                     parameter: str = "feature_cols_excluded") -> list[int]:
    """Feature indices to drop, from indices or names (``feature_3``, ``3`` or ``"3"``)."""
    if feature_cols_excluded is None or (isinstance(feature_cols_excluded, (list, tuple))
                                         and not feature_cols_excluded):
        return []
    indices = feature_indices(feature_cols_excluded, names, parameter)
    if len(indices) == len(names):
        raise errors.DataError(parameter, "excludes every feature: no feature is left")
    return indices
