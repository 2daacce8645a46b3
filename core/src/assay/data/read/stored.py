"""Stored sequence and image datasets read from the database, chunk by chunk (the read side of
:mod:`assay.data.build.arrays`)."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from assay.data import arraystore
from assay.db import arrays as db_arrays


@attrs.frozen
class StoredArray:
    """A stored sequence or image dataset: its shape, dtype and where each chunk starts."""

    dataset_id: int
    shape: tuple[int, ...]
    dtype: str
    columns: list[str]  # every feature (sequences) or channel (images), in axis order
    chunk_starts: np.ndarray = attrs.field(repr=False)

    @classmethod
    def load(cls, dataset_id: int, shape: list[int], dtypes: dict[str, str], columns: list[str]) -> StoredArray:
        return cls(dataset_id, tuple(shape), next(iter(dtypes.values())), list(columns),
                   np.asarray(db_arrays.chunk_starts(dataset_id), dtype=np.int64))

    def rows(self, rows: Any) -> np.ndarray:
        """The raw samples of these rows, in that order."""
        return arraystore.gather(np.asarray(rows, dtype=np.int64), self.shape, self.dtype, self.chunk_starts,
                                 lambda indices: db_arrays.chunk_blobs(self.dataset_id, indices))
