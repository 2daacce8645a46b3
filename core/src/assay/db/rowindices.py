"""The row indices of a splitset's splits and of a fold, stored as bytes: :class:`RowIndices`.

A splitset of a million rows holds millions of row indices (its splits and each fold's train and validation
rows). As JSON lists they took a second to write and read back; as fixed-width integers they are copied in and
out. :func:`dumps` writes a small format of its own: a magic prefix, a JSON header naming each split with its
dtype (``<i4`` when every index fits in 32 bits, else ``<i8``) and length, then the indices' little-endian bytes
in split order. Order and values are kept exactly: they read back as the same lists of Python ints
(:class:`RowIndices`) or as int64 arrays (:func:`loads_arrays`).
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator

MAGIC = b"\x93ASSAY-ROWS-1\n"
_INT32, _INT64 = np.iinfo(np.int32), np.iinfo(np.int64)


def _indices(name: str, rows: Any) -> np.ndarray:
    array = np.asarray(rows)
    if array.size == 0:
        return np.zeros(0, dtype="<i4")
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise TypeError(f"the rows of split {name!r} must be a 1-D sequence of integers, got {array.dtype} "
                        f"with shape {array.shape}")
    low, high = int(array.min()), int(array.max())
    if high > _INT64.max:  # an unsigned index past int64 would wrap around silently
        raise TypeError(f"the rows of split {name!r} hold {high}, larger than a row index can be")
    fits = _INT32.min <= low and high <= _INT32.max
    return array.astype("<i4" if fits else "<i8", copy=False)


def dumps(samples: dict[str, Any]) -> bytes:
    """Bytes holding ``{split: row indices}`` (lists or integer arrays), read back by :func:`loads`."""
    arrays = {str(name): _indices(name, rows) for name, rows in samples.items()}
    header = json.dumps([[name, array.dtype.str, len(array)] for name, array in arrays.items()]).encode()
    return b"".join([MAGIC, struct.pack("<I", len(header)), header, *(array.tobytes() for array in arrays.values())])


def loads_arrays(data: bytes) -> dict[str, np.ndarray]:
    """``{split: int64 array}`` of bytes written by :func:`dumps`."""
    data = bytes(data)
    if not data.startswith(MAGIC):
        raise ValueError("these bytes are not row indices stored by assay (no row-index header)")
    (length,) = struct.unpack_from("<I", data, len(MAGIC))
    offset = len(MAGIC) + 4 + length
    result: dict[str, np.ndarray] = {}
    for name, descr, count in json.loads(data[len(MAGIC) + 4:offset]):
        dtype = np.dtype(descr)
        if dtype.kind not in "iu":
            raise ValueError(f"stored rows of split {name!r} have dtype {descr}, not integers")
        result[name] = np.frombuffer(data, dtype=dtype, count=count, offset=offset).astype(np.int64)
        offset += dtype.itemsize * count
    if offset != len(data):
        raise ValueError(f"stored row indices hold {len(data) - offset} bytes more than their header describes")
    return result


def loads(data: bytes) -> dict[str, list[int]]:
    """``{split: [row index, ...]}`` (Python ints) of bytes written by :func:`dumps`."""
    return {name: rows.tolist() for name, rows in loads_arrays(data).items()}


class RowIndices(TypeDecorator):
    """A ``{split: row indices}`` dict stored as :func:`dumps` bytes; reads back as lists of ints."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return None if value is None else dumps(value)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else loads(value)
