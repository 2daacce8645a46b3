"""Safe (no pickle) storage of named numpy arrays as bytes.

:func:`dumps` writes a small format of its own: a magic prefix, then zlib (level 1) over a JSON header naming each
array's dtype and shape, followed by the arrays' raw bytes. A run stores one such blob per split, and
``np.savez_compressed`` (a zip archive per call, compressed at level 6) cost more than a tiny model's training.
:func:`loads` reads both that format and the ``.npz`` archives older versions stored; neither can hold pickled
objects (object arrays are stored as unicode, and an object dtype in a header is refused).
"""

from __future__ import annotations

import io
import json
import math
import struct
import zlib

import numpy as np

MAGIC = b"\x93ASSAY-ARRAYS-1\n"


def storable(array) -> np.ndarray:
    """``array`` as :func:`dumps` stores it: object arrays (strings from pandas) as unicode."""
    array = np.asarray(array)
    if array.dtype == object:  # strings from pandas come as objects; store them as unicode, never pickled
        array = array.astype(str)
    return array


def dumps(**arrays) -> bytes:
    """Bytes holding every array that is not ``None`` (read them back with :func:`loads`)."""
    stored = {name: storable(value) for name, value in arrays.items() if value is not None}
    header = json.dumps([[name, array.dtype.str, list(array.shape)] for name, array in stored.items()]).encode()
    payload = b"".join([struct.pack("<I", len(header)), header, *(array.tobytes() for array in stored.values())])
    return MAGIC + zlib.compress(payload, 1)


def loads(data: bytes) -> dict[str, np.ndarray]:
    """The arrays stored by :func:`dumps` (or an ``.npz`` archive); refuses pickled objects."""
    if bytes(data[:len(MAGIC)]) != MAGIC:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    payload = zlib.decompress(bytes(data[len(MAGIC):]))
    (length,) = struct.unpack_from("<I", payload)
    offset = 4 + length
    result: dict[str, np.ndarray] = {}
    for name, descr, shape in json.loads(payload[4:offset]):
        dtype = np.dtype(descr)
        if dtype.hasobject:
            raise ValueError(f"stored array {name!r} has an object dtype; assay never stores pickled objects")
        count = math.prod(shape)
        if dtype.itemsize == 0:  # e.g. empty strings only ('<U0'): no bytes to read
            result[name] = np.zeros(shape, dtype=dtype)
            continue
        # a copy: writable, and not holding the whole payload alive
        result[name] = np.frombuffer(payload, dtype=dtype, count=count, offset=offset).reshape(shape).copy()
        offset += dtype.itemsize * count
    return result
