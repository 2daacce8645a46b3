"""Forecasting windows of image datasets: the images, in order, are the frames of one series.

``Pipeline.Image.make(..., feature_window=dict(size_window=1, size_shift=2))`` (AIQC's image forecasting): window
``i`` is ``size_window`` consecutive frames, ``(size_window, channels, height, width)``, and its label the window
``size_shift`` frames later. The windows themselves (layout, time-ordered splits with gaps) are
:mod:`assay.data.windows`'s, over one series whose rows are frames.

Encoders work frame by frame: they are fitted on the frames the train windows touch (inputs and labels, as tables
fit on the rows of their train windows), every window is cut from frames encoded by them, then
``feature_reshape_indices`` reshape the 5-D windows ``(n, size_window, channels, height, width)`` (features and
labels alike). Forecasts decode back to pixels with the inverse of the steps; metrics read a forecast as
``(n, size_window, pixels)``, one column per pixel, like a table's windows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay.data import array_encoding, windows


def gather(window: windows.Window, read_frames: Any, ids: Any, shifted: bool = False) -> np.ndarray:
    """Raw windows ``(n, size_window, *frame)`` of these window ids (``shifted``: their label windows);
    ``read_frames(rows)`` gives the raw frames of sorted frame rows."""
    ids = np.asarray(ids, dtype=np.int64)
    rows = window.label_rows(ids) if shifted else window.input_rows(ids)
    unique = np.unique(rows)
    raw = np.asarray(read_frames(unique))
    return raw[np.searchsorted(unique, rows)]


def frames_of(window: windows.Window, ids: Any) -> np.ndarray:
    """The frame rows these windows touch (inputs and, when recorded, labels): what encoders are fitted on."""
    return window.rows(np.asarray(ids, dtype=np.int64))


def cut(window: windows.Window, encoded: np.ndarray, frame_rows: np.ndarray, ids: Any, shifted: bool,
        reshape_indices: Any) -> np.ndarray:
    """Windows cut from encoded frames (``encoded[i]`` is frame ``frame_rows[i]``), then reshaped."""
    ids = np.asarray(ids, dtype=np.int64)
    rows = window.label_rows(ids) if shifted else window.input_rows(ids)
    cut_windows = encoded[np.searchsorted(frame_rows, rows)]
    return np.asarray(array_encoding.reshape(cut_windows, reshape_indices), dtype=np.float32)


def encode(encoders: Any, stored: Any, window: windows.Window, ids: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """``(features, labels)``: the encoded windows of these ids and, when recorded, their encoded label windows."""
    frame_rows = frames_of(window, ids)
    encoded = encoders.encode_frames(stored.rows(frame_rows))
    features = cut(window, encoded, frame_rows, ids, False, encoders.reshape_indices)
    labels = cut(window, encoded, frame_rows, ids, True, encoders.reshape_indices) if window.record_shifted else None
    return features, labels


def raw_targets(encoders: Any, stored: Any, window: windows.Window, ids: Any) -> np.ndarray:
    """The original pixels each window forecasts, ``(n, size_window, pixels)``."""
    raw = gather(window, lambda rows: encoders.select(stored.rows(rows)), ids, shifted=True)
    return raw.reshape(len(raw), window.size_window, -1).astype(np.float64)


def decode(encoders: Any, values: Any, size_window: int) -> np.ndarray:
    """Encoded (and reshaped) forecasts back to pixels, ``(n, size_window, pixels)``: the steps undone in reverse
    order, frame by frame (every step keeps a frame's shape, checked when the splitset was made)."""
    frame = (len(encoders.kept), *encoders.sample_shape[1:])
    values = np.asarray(values, dtype=np.float64)
    count = values.size // (size_window * int(np.prod(frame)))
    frames = values.reshape(count * size_window, *frame)
    for step in reversed(encoders.features):
        table = array_encoding.to_table(frames, step.axis)
        decoded = np.asarray(step.family.inverse_transform(step.load(), table.copy()), dtype=np.float64)
        frames = array_encoding.from_table(decoded, frames, step.axis, step.parameter)
    return frames.reshape(count, size_window, -1)
