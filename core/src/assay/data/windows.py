"""Forecasting windows: rows of a time series become samples of ``size_window`` timesteps.

``feature_window=dict(size_window=7, size_shift=1, record_shifted=True)`` (AIQC's spelling). Window ``i`` reads the
rows ``start_i .. start_i + size_window - 1``; with ``record_shifted=True`` its label is the window ``size_shift``
rows later (``start_i + size_shift .. start_i + size_shift + size_window - 1``): self-supervised forecasting, the
features are their own label and no label column is needed. Windows are laid out from the end of the series
(the last label window ends on the last row), ``size_shift`` rows apart.

Splits do not leak the future. By default (``time_ordered=True``) the last windows are the test split, the ones
before them validation, the rest train; windows straddling a boundary are dropped (a gap), so no train window's
rows reach into a row that a validation or test window must forecast, and no validation window's rows into a test
target. Shuffled splits would train on windows that overlap, and come after, the windows they are evaluated on: a
model would be scored on values it saw. ``time_ordered=False`` offers random splits anyway (and folds), for
series of independent windows.

Encoders are fitted on the rows of the train windows only; every split is encoded from its own windows' rows.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from assay import errors

KEYS = {"size_window", "size_shift", "record_shifted", "time_ordered"}
PARAMETER = "feature_window"


@attrs.frozen
class Window:
    """How rows become windows, and where each window starts (``starts[i]`` is window i's first row)."""

    size_window: int
    size_shift: int
    record_shifted: bool
    time_ordered: bool
    starts: np.ndarray = attrs.field(eq=False, repr=False)

    @property
    def count(self) -> int:
        return len(self.starts)

    @property
    def span(self) -> int:
        """Rows one window touches: its own and, when recorded, those of its shifted label window."""
        return self.size_window + (self.size_shift if self.record_shifted else 0)

    def input_rows(self, windows: Any) -> np.ndarray:
        """``(n, size_window)`` dataset rows read by each of these windows."""
        starts = self.starts[np.asarray(windows, dtype=np.int64)]
        return starts[:, None] + np.arange(self.size_window)[None, :]

    def label_rows(self, windows: Any) -> np.ndarray:
        """``(n, size_window)`` dataset rows of each window's label: the window ``size_shift`` rows later."""
        return self.input_rows(windows) + self.size_shift

    def rows(self, windows: Any) -> np.ndarray:
        """Every dataset row these windows touch (inputs and labels), sorted, once each."""
        parts = [self.input_rows(windows).ravel()]
        if self.record_shifted:
            parts.append(self.label_rows(windows).ravel())
        return np.unique(np.concatenate(parts))

    def to_json(self) -> dict[str, Any]:
        return {"size_window": self.size_window, "size_shift": self.size_shift,
                "record_shifted": self.record_shifted, "time_ordered": self.time_ordered,
                "starts": self.starts.tolist()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Window:
        return cls(int(data["size_window"]), int(data["size_shift"]), bool(data["record_shifted"]),
                   bool(data["time_ordered"]), np.asarray(data["starts"], dtype=np.int64))


def _positive_int(spec: dict[str, Any], key: str) -> int:
    value = spec.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise errors.DataError(f"{PARAMETER}.{key}", f"must be an integer of at least 1, got {value!r}")
    return int(value)


def parse(spec: Any, row_count: int, label_column: Any) -> Window | None:
    """Validate ``feature_window`` against a series of ``row_count`` rows and lay out its windows."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise errors.DataError(PARAMETER, f"expected dict(size_window=..., size_shift=..., record_shifted=True), "
                               f"got {spec!r}")
    unknown = sorted(set(spec) - KEYS)
    if unknown:
        raise errors.DataError(PARAMETER, f"unknown key(s) {unknown}; allowed keys: {sorted(KEYS)}")
    if "size_window" not in spec or "size_shift" not in spec:
        raise errors.DataError(PARAMETER, "needs size_window (timesteps per window) and size_shift (how far ahead "
                               "the label window is, and how far apart windows start)")
    size_window = _positive_int(spec, "size_window")
    size_shift = _positive_int(spec, "size_shift")
    for key in ("record_shifted", "time_ordered"):
        if not isinstance(spec.get(key, True), bool):
            raise errors.DataError(f"{PARAMETER}.{key}", f"must be True or False, got {spec[key]!r}")
    record_shifted = spec.get("record_shifted", True)
    if label_column is not None:
        raise errors.DataError(
            "label_column",
            f"{label_column!r} given, but with feature_window each window's label is the window size_shift rows "
            "later (the features forecast themselves); leave label_column=None, and exclude the column with "
            "feature_cols_excluded if it should not be forecast",
        )
    span = size_window + (size_shift if record_shifted else 0)
    if span > row_count:
        what = "size_window + size_shift" if record_shifted else "size_window"
        raise errors.DataError(
            f"{PARAMETER}.size_window",
            f"{what} = {span} is longer than the series ({row_count} rows); make the window shorter",
        )
    # a recorded window needs its label window inside the series too: one window fewer fits
    count = (row_count - size_window) // size_shift + (0 if record_shifted else 1)
    lead = row_count - ((count - 1) * size_shift + span)
    starts = lead + size_shift * np.arange(count, dtype=np.int64)
    return Window(size_window, size_shift, record_shifted, bool(spec.get("time_ordered", True)), starts)


def check_forecastable(features: Any, parameter: str, fix: str) -> None:
    """Windows forecast their own features: every feature column must be numeric (``fix`` is the advice, with
    ``{columns}`` for the others)."""
    import pandas as pd

    not_numeric = {c: str(features[c].dtype) for c in features.columns
                   if not pd.api.types.is_numeric_dtype(features[c].dtype) or pd.api.types.is_bool_dtype(
                       features[c].dtype)}
    if not_numeric:
        raise errors.DataError(
            parameter, f"with forecasting windows the features are forecast, so they must be numeric, but "
            f"{not_numeric} are not; {fix.format(columns=list(not_numeric))}")


def split_time_ordered(window: Window, size_test: float | None, size_validation: float | None,
                       fold_count: int | None) -> dict[str, np.ndarray]:
    """Train, then validation, then test windows in time order, with a gap at each boundary (see the module)."""
    if fold_count is not None:
        raise errors.SplitError(
            "fold_count",
            "folds shuffle windows across time; with time-ordered windows use size_validation, or "
            "feature_window=dict(..., time_ordered=False) for folds of shuffled windows",
        )
    count = window.count
    test = round(size_test * count) if size_test else 0
    validation = round(size_validation * count) if size_validation else 0
    for parameter, size, wanted in (("size_test", size_test, test), ("size_validation", size_validation,
                                                                      validation)):
        if size and wanted == 0:
            raise errors.SplitError(parameter, f"{size:g} of {count} windows is less than one window; make it larger")
    bounds = {"test": (count - test, count), "validation": (count - test - validation, count - test)}
    samples: dict[str, np.ndarray] = {}
    # a window reaching into the next split's first label rows is dropped: walk back from each boundary
    next_start = None
    for split in ("test", "validation"):
        begin, end = bounds[split]
        if end == begin:
            continue
        indices = np.arange(begin, end)
        if next_start is not None:
            indices = indices[window.starts[indices] + window.size_window <= next_start]
        if len(indices) == 0:
            raise errors.SplitError(
                "size_validation",
                f"no {split} window is left once windows overlapping the next split are dropped; make "
                f"size_{split} larger",
            )
        samples[split] = indices
        next_start = int(window.starts[begin])
    train_end = count - test - validation
    train = np.arange(train_end)
    if next_start is not None:
        train = train[window.starts[train] + window.size_window <= next_start]
    if len(train) == 0:
        raise errors.SplitError(
            "size_test", f"{count} windows leave none to train on once the test and validation windows (and the gap "
            "before them) are taken; lower size_test / size_validation or use a shorter size_window",
        )
    samples["train"] = train
    return {split: samples[split] for split in ("train", "validation", "test") if split in samples}


def forecast_columns(encoders: Any) -> list[str]:
    """Original columns in the order of the encoded features (each encoder's columns, then the passthrough)."""
    return [c for encoder in encoders.features for c in encoder.columns] + list(encoders.passthrough)


def encode(encoders: Any, frame: Any, window: Window, windows: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """``(features, labels)`` of these windows: ``(n, size_window, width)`` each (labels ``None`` unrecorded).

    The rows the windows touch are encoded once, together (interpolated among themselves), then gathered.
    """
    windows = np.asarray(windows, dtype=np.int64)
    rows = window.rows(windows)
    encoded = encoders.encode_features(frame, rows)
    position = np.full(int(rows.max()) + 1 if len(rows) else 0, -1, dtype=np.int64)
    position[rows] = np.arange(len(rows))
    features = encoded[position[window.input_rows(windows)]]
    labels = encoded[position[window.label_rows(windows)]] if window.record_shifted else None
    return features, labels


def raw_targets(encoders: Any, frame: Any, window: Window, windows: Any) -> np.ndarray:
    """The original values each window forecasts, ``(n, size_window, columns)``, gaps interpolated as encoded."""
    return raw_windows(forecast_columns(encoders), encoders.feature_interpolaters, frame, window, windows)


def raw_windows(columns: list[str], interpolaters: list[Any], frame: Any, window: Window, windows: Any) -> np.ndarray:
    """:func:`raw_targets` of ``columns`` (in that order) and feature ``interpolaters``, before encoders exist."""
    import pandas as pd

    windows = np.asarray(windows, dtype=np.int64)
    rows = window.rows(windows)
    part = frame[columns].iloc[rows]
    if interpolaters:
        from assay.data import interpolation

        part = interpolation.apply(interpolaters, part)
    values = part.to_numpy(dtype=np.float64, na_value=np.nan)
    position = pd.Series(np.arange(len(rows)), index=rows)
    return values[position.loc[window.label_rows(windows).ravel()].to_numpy()].reshape(
        len(windows), window.size_window, len(columns))


def decode(encoders: Any, values: Any, size_window: int) -> np.ndarray:
    """Encoded forecasts ``(n, size_window, width)`` (or flattened per window) back to the original scale."""
    width = len(forecast_columns(encoders))
    values = np.asarray(values, dtype=np.float64).reshape(-1, size_window, width)
    flat = values.reshape(-1, width)
    out = np.empty_like(flat)
    start = 0
    for encoder in encoders.features:
        stop = start + len(encoder.columns)
        decoded = encoder.family.inverse_transform(encoder.load(), flat[:, start:stop].copy())
        out[:, start:stop] = np.asarray(decoded, dtype=np.float64).reshape(len(flat), stop - start)
        start = stop
    out[:, start:] = flat[:, start:]
    return out.reshape(values.shape)


# --- windows in each series of a sequence dataset (samples x timesteps x features) -------------------------------
# Each sample of a sequence dataset is one series; windows run along its timesteps, the same starts in every series.
# Window id k is window k % count of series k // count.


def series_split(window: Window, series_count: int, size_test: float | None, size_validation: float | None,
                 fold_count: int | None) -> dict[str, np.ndarray]:
    """Time-ordered splits of every series at once: in each series its last windows are test, and so on."""
    per_series = split_time_ordered(window, size_test, size_validation, fold_count)
    offsets = np.arange(series_count, dtype=np.int64)[:, None] * window.count
    return {split: np.sort((offsets + indices[None, :]).ravel()) for split, indices in per_series.items()}


def gather_series(window: Window, read: Any, ids: Any, shifted: bool = False) -> np.ndarray:
    """Raw windows ``(n, size_window, features)`` of these window ids; ``read(series)`` gives raw series
    ``(len(series), timesteps, features)``. ``shifted``: the label windows instead."""
    ids = np.asarray(ids, dtype=np.int64)
    series, within = ids // window.count, ids % window.count
    unique = np.unique(series)
    raw = np.asarray(read(unique))
    position = np.searchsorted(unique, series)
    steps = window.starts[within][:, None] + np.arange(window.size_window)[None, :]
    if shifted:
        steps = steps + window.size_shift
    return raw[position[:, None], steps]
