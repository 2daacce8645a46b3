"""Forecasting windows of sequence datasets: read, encode and decode windows along each series' timesteps.

The windows themselves (layout, splits) are :mod:`assay.data.windows`'s; here they are cut from the stored
samples (one series each) and pushed through the array encoders, which work on one timestep's features at a
time, so encoding a window equals encoding its timesteps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay.data import array_encoding, windows


def encode(encoders: Any, stored: Any, window: windows.Window, ids: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """``(features, labels)``: the encoded windows and, when recorded, their encoded label windows."""
    features = encoders.encode_features(windows.gather_series(window, stored.rows, ids))
    labels = None
    if window.record_shifted:
        labels = encoders.encode_features(windows.gather_series(window, stored.rows, ids, shifted=True))
    return features, labels


def raw_targets(encoders: Any, stored: Any, window: windows.Window, ids: Any) -> np.ndarray:
    """The original values each window forecasts: ``(n, size_window, features kept)``."""
    raw = encoders.select(windows.gather_series(window, stored.rows, ids, shifted=True))
    if encoders.interpolaters:  # each label window's gaps from its own timesteps, as its encoded copy
        from assay.data import sequence_interpolation

        names = [encoders.columns[i] for i in encoders.kept] if encoders.columns else None
        raw = sequence_interpolation.apply(encoders.interpolaters, raw, names)
    return raw.astype(np.float64)


def decode(encoders: Any, values: Any, size_window: int) -> np.ndarray:
    """Encoded forecasts back to the original scale, undoing the steps in reverse order."""
    width = len(encoders.kept)
    values = np.asarray(values, dtype=np.float64).reshape(-1, size_window, width)
    rows = values.reshape(-1, width)
    names = [encoders.columns[i] for i in encoders.kept] if encoders.columns else None
    for step in reversed(encoders.features):
        chosen = array_encoding.selection(step, names)
        if chosen is None:
            decoded = step.family.inverse_transform(step.load(), rows.copy())
            rows = np.asarray(decoded, dtype=np.float64).reshape(len(rows), width)
        else:  # a step limited to some features: only those are decoded
            decoded = step.family.inverse_transform(step.load(), rows[:, chosen].copy())
            rows = rows.copy()
            rows[:, chosen] = np.asarray(decoded, dtype=np.float64).reshape(len(rows), len(chosen))
    return rows.reshape(values.shape)



