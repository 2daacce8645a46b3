"""The forecast of one window against what happened, one panel per forecast column."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from assay import errors
from assay.contracts import PredictionData
from assay.evaluation.plots import CHANCE_STYLE, COLORS, _figure, _title


def plot_forecast(prediction: PredictionData, forecast_columns: list[str], size_shift: int | None,
                  window: int = -1, columns: list[str] | None = None) -> Figure:
    """Forecast against actual values over the steps of one window of a split.

    Args:
        prediction: a split's prediction of a model trained on ``feature_window`` windows (or an inference,
            which has no actual values: only the forecast is drawn).
        forecast_columns: the columns each window forecasts, in order (``windows.forecast_columns``).
        size_shift: how far each forecast window is shifted from its input window (marks where the future
            starts).
        window: which of the split's windows, by position (``-1``: the last, the most recent).
        columns: the forecast columns to draw (default: all of them).

    Raises:
        assay.errors.ValidationError: not a forecast, a window or column that does not exist.
    """
    predictions = np.asarray(prediction.predictions, dtype=float)
    if predictions.ndim != 3:
        raise errors.ValidationError(
            "prediction", f"prediction {prediction.id} is not a forecast of windows (shape {predictions.shape}); "
            "plot_forecast needs a model trained on a splitset made with feature_window"
        )
    count, size = predictions.shape[:2]
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or not -count <= window < count:
        raise errors.ValidationError("window", f"must be a window position in -{count}..{count - 1}, got {window!r}")
    names = list(forecast_columns)
    chosen = names if columns is None else list(columns)
    unknown = [c for c in chosen if c not in names]
    if unknown or not chosen:
        raise errors.ValidationError("columns", f"{unknown or chosen} are not forecast columns; use some of {names}")
    actual = None if prediction.labels is None else np.asarray(prediction.labels, dtype=float)
    steps = np.arange(1, size + 1)
    position = int(window) % count
    figure, axes = _figure(len(chosen), columns=min(3, len(chosen)))
    for axis, column in zip(axes, chosen, strict=True):
        index = names.index(column)
        if actual is not None:
            axis.plot(steps, actual[position, :, index], marker="o", color=COLORS[0], label="actual")
        axis.plot(steps, predictions[position, :, index], marker="s", color=COLORS[1], label="forecast")
        shift = size_shift
        if shift is not None and shift < size:
            # steps up to size - size_shift overlap the input window; the later ones are the future
            axis.axvline(size - shift + 0.5, label="input window ends", **CHANCE_STYLE)
        axis.set_xlabel("Step of the window")
        axis.set_ylabel(_title(column))
        axis.set_title(f"{_title(column)}, window {position} of {prediction.split}")
        axis.legend(fontsize=9)
    return figure
