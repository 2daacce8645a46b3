"""Safe (no pickle) storage of named numpy arrays as bytes: ``.npz`` written and read with allow_pickle=False."""

from __future__ import annotations

import io

import numpy as np


def _storable(array) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype == object:  # strings from pandas come as objects; store them as unicode, never pickled
        array = array.astype(str)
    return array


def dumps(**arrays) -> bytes:
    """Bytes of an ``.npz`` archive holding every array that is not ``None``."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{name: _storable(value) for name, value in arrays.items() if value is not None})
    return buffer.getvalue()


def loads(data: bytes) -> dict[str, np.ndarray]:
    """The arrays stored by :func:`dumps`; refuses pickled objects."""
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}
