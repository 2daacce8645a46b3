"""Permuted copies of a split, encoded and predicted in batches: the engine of permutation importance.

Predicting every permuted copy on its own pays the model's per-call overhead (graph dispatch, tensor
conversion, the backend's own batching) once per column and permutation: 178 columns x 5 permutations is 890
calls. Here the rows are encoded once; a permuted copy re-encodes only the encoder(s) that read the shuffled
column (or copies one passthrough column), and many copies are stacked into one array of up to
``BATCH_ROWS`` rows that is predicted in one call, then scored copy by copy. The copies of a batch are encoded
together too: each encoder transforms the stacked rows of every copy whose shuffled column it reads in one call
(an encoder transforms each row on its own, so this equals encoding the copies one by one; it saves the
encoder's per-call validation, 2 ms for a StandardScaler over 178 columns, once per copy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs
import numpy as np
import pandas as pd

from assay.data.encoding import FittedEncoders

BATCH_ROWS = 65_536  # permuted rows predicted per call: bounds memory, amortises the per-call overhead


@attrs.frozen
class Task:
    """One permuted copy: ``column`` shuffled by ``order`` (a permutation of the rows)."""

    column: str
    order: np.ndarray


class PermutedEncoder:
    """Encodes rows with one column shuffled, re-encoding only what that column feeds.

    Args:
        encoders: the model's fitted encoders.
        raw: the unshuffled raw rows (index 0..n-1).
        encode_all: encodes a whole raw frame exactly as training did; used once for the base rows, and for
            every copy when feature interpolation makes one column's gaps depend on the others.
        columns: the feature columns a copy may shuffle (:attr:`columns`, for the caller); default every column
            of ``raw``.
        base: the encoded ``raw`` when the caller has it already (:meth:`subset`).
    """

    def __init__(self, encoders: FittedEncoders, raw: pd.DataFrame,
                 encode_all: Callable[[pd.DataFrame], np.ndarray], columns: list[str] | None = None,
                 base: np.ndarray | None = None):
        self.encoders = encoders
        self.raw = raw
        self.encode_all = encode_all
        self.columns = list(raw.columns) if columns is None else columns
        self.base = encode_all(raw) if base is None else base
        self._outputs: dict[str, list[tuple[slice, Any]]] = {}
        self._slices: dict[int, slice] = {}  # id(encoder) -> its outputs
        start = 0
        for encoder in encoders.features:
            width = len(encoder.output_names)
            self._slices[id(encoder)] = slice(start, start + width)
            for column in encoder.columns:
                self._outputs.setdefault(column, []).append((self._slices[id(encoder)], encoder))
            start += width
        for column in encoders.passthrough:
            self._outputs.setdefault(column, []).append((slice(start, start + 1), None))
            start += 1
        # interpolation fills one column's gaps from neighbouring rows: shuffling moves them, so encode it all
        self._whole = bool(getattr(encoders, "feature_interpolaters", None))

    def encode(self, task: Task) -> np.ndarray:
        """The encoded rows with ``task.column`` shuffled; other outputs are the base rows' own."""
        shuffled = self.raw[task.column].to_numpy()[task.order]
        if self._whole:
            frame = self.raw.copy()
            frame[task.column] = shuffled
            return self.encode_all(frame)
        out = self.base.copy()
        for outputs, encoder in self._outputs.get(task.column, []):
            if encoder is None:
                out[:, outputs] = pd.Series(shuffled).to_numpy(dtype=np.float32, na_value=np.nan).reshape(-1, 1)
            else:
                frame = self.raw[encoder.columns].copy()
                frame[task.column] = shuffled
                out[:, outputs] = encoder.transform(frame)
        return out

    def subset(self, positions: np.ndarray) -> PermutedEncoder:
        """The same over the rows at ``positions`` (a row sample), without encoding them again: an encoder
        transforms each row on its own, so their encoding is those rows of :attr:`base`. With interpolation
        (gaps filled from neighbouring rows) the sample is encoded on its own, as every copy is."""
        raw = self.raw.iloc[positions].reset_index(drop=True)
        base = None if self._whole else self.base[positions]
        return PermutedEncoder(self.encoders, raw, self.encode_all, self.columns, base)

    def encode_many(self, tasks: list[Task]) -> list[np.ndarray]:
        """:meth:`encode` of each task, with each encoder called once for all the tasks that touch it."""
        if self._whole or len(tasks) < 2:
            return [self.encode(task) for task in tasks]
        n = len(self.raw)
        outs = [self.base.copy() for _ in tasks]
        touching: dict[int, tuple[Any, list[int]]] = {}  # id(encoder) -> it, the tasks shuffling its columns
        for position, task in enumerate(tasks):
            for outputs, encoder in self._outputs.get(task.column, []):
                if encoder is None:
                    shuffled = self.raw[task.column].to_numpy()[task.order]
                    outs[position][:, outputs] = pd.Series(shuffled).to_numpy(
                        dtype=np.float32, na_value=np.nan).reshape(-1, 1)
                else:
                    touching.setdefault(id(encoder), (encoder, []))[1].append(position)
        for key, (encoder, positions) in touching.items():
            stacked = self._stacked(encoder.columns, [tasks[position] for position in positions])
            encoded = encoder.transform(stacked)
            outputs = self._slices[key]
            for i, position in enumerate(positions):
                outs[position][:, outputs] = encoded[i * n:(i + 1) * n]
        return outs

    def _stacked(self, columns: list[str], tasks: list[Task]) -> pd.DataFrame:
        """The raw ``columns`` repeated once per task, each copy with its task's column shuffled (dtypes kept)."""
        n = len(self.raw)
        frame = self.raw[columns]
        dtypes = set(frame.dtypes)
        if len(dtypes) == 1 and isinstance(next(iter(dtypes)), np.dtype):  # one numpy dtype: one block
            values = frame.to_numpy()
            stacked = np.tile(values, (len(tasks), 1))
            for i, task in enumerate(tasks):
                index = columns.index(task.column)
                stacked[i * n:(i + 1) * n, index] = values[task.order, index]
            return pd.DataFrame(stacked, columns=columns, copy=False)
        base_rows = np.arange(n)
        data = {}
        for column in columns:  # mixed or extension dtypes: column by column, each keeping its dtype
            rows = np.concatenate([task.order if task.column == column else base_rows for task in tasks])
            data[column] = frame[column].take(rows).reset_index(drop=True)
        return pd.DataFrame(data)


def batches(tasks: list[Task], row_count: int, batch_rows: int = BATCH_ROWS) -> Iterator[list[Task]]:
    """Tasks grouped so that a group's stacked copies hold at most ``batch_rows`` rows (at least one copy)."""
    size = max(1, batch_rows // max(row_count, 1))
    for begin in range(0, len(tasks), size):
        yield tasks[begin:begin + size]


def split_outputs(values: np.ndarray | None, copies: int, row_count: int) -> list[np.ndarray | None]:
    """One prediction array of ``copies`` stacked copies back into one array per copy."""
    if values is None:
        return [None] * copies
    values = np.asarray(values)
    if values.shape[0] != copies * row_count:
        raise ValueError(
            f"fn_predict returned {values.shape[0]} rows for {copies * row_count} samples; it must return one "
            "prediction per sample"
        )
    return [values[i * row_count:(i + 1) * row_count] for i in range(copies)]
