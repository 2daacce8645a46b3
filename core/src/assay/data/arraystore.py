"""How sequence and image datasets are stored: an n-D numpy array cut into compressed chunks of whole samples.

A dataset of ``n`` samples is identified by the sha256 of its dtype, its shape and its bytes in C order, so the
same array given twice (or read from the same images twice) is one Dataset, like tabular data. Its samples are
cut into chunks of at most :data:`CHUNK_BYTES` raw bytes (at least one sample each), each compressed with zstd
and stored as its own row. Data zstd cannot shrink (noise-like floats) is stored raw (codec ``none``) instead of
paying for compression that saves nothing: every :data:`PROBE_EVERY`-th chunk is tried, and the chunks after it
follow its verdict. Reading a split decompresses one chunk at a time and keeps only the split's samples,
so memory stays at the split's size plus one chunk, and no sample is ever stored twice for splits or folds.

Everything here is pure (no database): ``assay.db.chunks`` writes and reads the chunk rows.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import numpy as np
import pyarrow as pa

CODEC = "zstd"
RAW = "none"
COMPRESSION_LEVEL = 1  # fast: level 1 already gets most of zstd's gain on sensor readings and pixels
CHUNK_BYTES = 4 << 20
PROBE_EVERY = 8
WORTH_IT = 0.9  # compressed/raw size below which compression is kept
FILE_FORMAT = "ndarray-zstd-chunks"


def _codec() -> pa.Codec:
    return pa.Codec(CODEC, compression_level=COMPRESSION_LEVEL)


def sample_nbytes(array: np.ndarray) -> int:
    return int(math.prod(array.shape[1:])) * array.dtype.itemsize


def rows_per_chunk(array: np.ndarray) -> int:
    """Samples per chunk: as many as fit in :data:`CHUNK_BYTES`, at least one."""
    return max(1, CHUNK_BYTES // max(1, sample_nbytes(array)))


def row_ranges(count: int, step: int) -> Iterator[tuple[int, int]]:
    for start in range(0, count, step):
        yield start, min(count, start + step)


@attrs.frozen
class Chunk:
    """One compressed chunk: samples ``row_start`` .. ``row_start + row_count - 1``."""

    chunk_index: int
    row_start: int
    row_count: int
    raw_size: int
    blob: bytes = attrs.field(repr=False)
    codec: str = CODEC


def fingerprint(array: np.ndarray) -> str:
    """sha256 of the dtype, shape and C-order bytes: the dataset's identity."""
    digest = hashlib.sha256(f"{array.dtype.str}|{tuple(array.shape)}|".encode())
    for start, stop in row_ranges(len(array), rows_per_chunk(array)):
        digest.update(memoryview(np.ascontiguousarray(array[start:stop])).cast("B"))
    return digest.hexdigest()


def compressed_chunks(array: np.ndarray) -> Iterator[Chunk]:
    """The array's chunks, compressed one at a time (so only one compressed chunk is alive at once)."""
    codec = _codec()
    compress = True
    for index, (start, stop) in enumerate(row_ranges(len(array), rows_per_chunk(array))):
        part = np.ascontiguousarray(array[start:stop])
        if index % PROBE_EVERY == 0 or compress:
            packed = codec.compress(part, asbytes=True)
            compress = len(packed) < WORTH_IT * part.nbytes
            if compress:
                yield Chunk(index, start, stop - start, part.nbytes, packed, CODEC)
                continue
        yield Chunk(index, start, stop - start, part.nbytes, part.tobytes(), RAW)


def decompress(blob: bytes, raw_size: int, dtype: str, sample_shape: tuple[int, ...], codec: str = CODEC) -> np.ndarray:
    """The samples of one chunk (a writable array)."""
    raw = blob if codec == RAW else _codec().decompress(blob, decompressed_size=raw_size, asbytes=True)
    return np.frombuffer(bytearray(raw), dtype=np.dtype(dtype)).reshape(-1, *sample_shape)


def gather(rows: np.ndarray, shape: tuple[int, ...], dtype: str, chunk_starts: np.ndarray,
           load_chunks: Callable[[list[int]], Iterator[tuple[int, bytes, int, str]]]) -> np.ndarray:
    """The samples ``rows`` (in that order) of a stored array, decompressing only the chunks holding them.

    Args:
        rows: sample indices (any order, repeats allowed).
        shape: the whole array's shape.
        dtype: the stored dtype.
        chunk_starts: first sample of each chunk, ascending.
        load_chunks: ``load_chunks(chunk_indices)`` yields ``(chunk_index, blob, raw_size, codec)`` one at a time.
    """
    rows = np.asarray(rows, dtype=np.int64)
    out = np.empty((len(rows), *shape[1:]), dtype=np.dtype(dtype))
    if len(rows) == 0:
        return out
    owner = np.searchsorted(chunk_starts, rows, side="right") - 1
    needed = sorted(set(owner.tolist()))
    for chunk_index, blob, raw_size, codec in load_chunks(needed):
        samples = decompress(blob, raw_size, dtype, tuple(shape[1:]), codec)
        positions = np.flatnonzero(owner == chunk_index)
        out[positions] = samples[rows[positions] - chunk_starts[chunk_index]]
    return out


# --- summary statistics, computed chunk by chunk ------------------------------------------------------------


STATISTICS_VALUES = 1 << 20  # values summarised at a time: float64 temporaries stay near 8 MB


def statistics(array: np.ndarray, names: list[str], axis: int) -> dict[str, dict[str, Any]]:
    """Per feature (sequences, ``axis=2``) or per channel (images, ``axis=1``): missing, min, max, mean, std.

    Computed over small batches of samples, reducing each feature or channel in place (no transposed copy), so
    no temporary larger than a few megabytes is made however large the array is.
    """
    width = len(names)
    count = np.zeros(width)
    total = np.zeros(width)
    squares = np.zeros(width)
    missing = np.zeros(width, dtype=np.int64)
    low = np.full(width, np.inf)
    high = np.full(width, -np.inf)
    step = max(1, STATISTICS_VALUES // max(1, int(np.prod(array.shape[1:]))))
    for start, stop in row_ranges(len(array), step):
        part = np.asarray(array[start:stop], dtype=np.float64)
        # (values, width) for sequences; (samples, width, pixels) for images: reduce all but the width axis
        part = part.reshape(-1, width) if axis == 2 else part.reshape(len(part), width, -1)
        over = (0,) if axis == 2 else (0, 2)
        sums = part.sum(axis=over)
        if np.isnan(sums).any():  # a NaN makes its column's sum NaN: only then pay for masking
            nan = np.isnan(part)
            missing += nan.sum(axis=over)
            count += (~nan).sum(axis=over)
            low = np.minimum(low, np.where(nan, np.inf, part).min(axis=over))
            high = np.maximum(high, np.where(nan, -np.inf, part).max(axis=over))
            part = np.where(nan, 0.0, part)
            sums = part.sum(axis=over)
        else:
            count += part.size // width
            low = np.minimum(low, part.min(axis=over))
            high = np.maximum(high, part.max(axis=over))
        total += sums
        squares += np.einsum("ij,ij->j", part, part) if axis == 2 else np.einsum("ijk,ijk->j", part, part)
    stats: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(names):
        entry: dict[str, Any] = {"missing": int(missing[i])}
        if count[i]:
            mean = total[i] / count[i]
            entry.update(min=float(low[i]), max=float(high[i]), mean=float(mean),
                         std=float(math.sqrt(max(0.0, squares[i] / count[i] - mean * mean))))
        stats[name] = entry
    return stats
