"""Forecasting from a model trained on windows: the latest ``size_window`` rows in, the next window out.

A splitset made with ``feature_window`` trains a model to map a window of rows to the window ``size_shift`` rows
later. ``predictor.infer(recent_rows)`` therefore takes the last ``size_window`` rows of ``recent_rows`` (in order,
the newest last), encodes them with the stored encoders (gaps interpolated among those rows only), predicts and
decodes the forecast back to the original scale: a DataFrame of ``size_window`` rows whose last ``size_shift``
rows lie beyond the data.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import pandas as pd

from assay import errors, plugins
from assay.data import finite, windows
from assay.experiment import predicting
from assay.inference.outcome import Outcome, encoded_sources


class Forecaster(Protocol):
    """What a forecast reads of a model (:class:`assay.inference.infer.Inference` is one): a Protocol, so this
    module and ``infer``, which calls it, do not depend on each other."""

    library: str
    analysis_type: str
    model: Any
    encoders: Any
    features_shape: tuple[int, ...]
    fn_predict: Callable[..., Any] | None
    window: dict[str, Any] | None


def predict_window(inference: Forecaster, features: pd.DataFrame) -> Outcome:
    """Forecast the window that follows the latest ``size_window`` rows of ``features`` (already schema-checked).

    The returned frame is indexed by row position continuing ``features``: with ``n`` rows given, the forecast
    covers positions ``n - size_window + size_shift .. n + size_shift - 1``; ``frame.attrs["future_rows"]`` is
    ``size_shift``, the rows past the data.
    """

    window = windows.Window.from_json({**inference.window, "starts": []})
    size = window.size_window
    if len(features) < size:
        raise errors.DataError(
            "df_or_path", f"has {len(features)} row(s); the model forecasts from the latest {size} rows (its "
            "size_window), so give at least that many, oldest first",
        )
    recent = features.iloc[len(features) - size:].reset_index(drop=True)
    encoders = inference.encoders
    encoded = encoders.encode_features(recent)
    # a NaN the encoders do not impute would forecast NaN: refused, naming rows by their position in the data
    finite.refuse_unencodable_rows(recent, encoded, encoded_sources(encoders), "df_or_path",
                                   index=pd.RangeIndex(len(features) - size, len(features)))
    predictions, samples = _predict_window(inference, encoded.reshape(1, *inference.features_shape))
    decoded = windows.decode(encoders, predictions, size)
    start = len(features) - size + window.size_shift
    frame = pd.DataFrame(decoded[0], columns=windows.forecast_columns(encoders),
                         index=pd.RangeIndex(start, start + size, name="row"))
    frame.attrs.update(future_rows=window.size_shift, metrics={})
    return Outcome(frame, decoded, None, None, {}, samples)


def _check_shape(predictions: Any, features_shape: tuple[int, ...]) -> None:
    if int(np.prod(np.shape(predictions))) != int(np.prod(features_shape)):
        raise errors.ExperimentError(
            "fn_build", f"a forecast must be one window shaped like the input {features_shape}, the model gave "
            f"{np.shape(predictions)}; end the model with one output per timestep and column (e.g. "
            "Dense(columns) on a sequence, or Dense(size_window * columns) + Reshape)",
        )


def _predict_window(inference: Forecaster, encoded: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """The model's forecast for one encoded window, checked to be shaped like a window, and the samples the
    backend prepared for it."""
    backend = plugins.backend(inference.library)
    samples = backend.prepare_samples(inference.analysis_type, {"features": encoded, "labels": None})
    predictions, _ = predicting.predict(backend, inference.analysis_type, inference.fn_predict, inference.model,
                                        samples)
    _check_shape(predictions, inference.features_shape)
    return predictions, samples


def predict_series_window(inference: Forecaster, series: Any) -> Outcome:
    """Forecast the window that follows the latest ``size_window`` timesteps of one series of a sequence model.

    ``series`` is ``(timesteps, features)`` or ``(1, timesteps, features)`` with every stored feature, oldest first,
    as an array or a ``.npy`` file.
    The frame's index continues the series' timesteps, as :func:`predict_window` does for rows.
    """
    from assay.data import sequence_windows

    window = windows.Window.from_json({**inference.window, "starts": []})
    size, encoders = window.size_window, inference.encoders
    if isinstance(series, (str, os.PathLike)):  # a .npy file holding the series (assay predict passes a path)
        if not str(series).endswith(".npy") or not os.path.isfile(series):
            raise errors.DataError("df_or_path", f"{str(series)!r} is not a .npy file; give the series as an array "
                                   "or a .npy file holding it")
        series = np.load(series, allow_pickle=False)
    array = np.asarray(series)
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.ndim != 3 or len(array) != 1 or array.dtype.kind not in "biuf":
        raise errors.SchemaMismatchError(
            "df_or_path", f"give one numeric series, (timesteps, features) or (1, timesteps, features); got shape "
            f"{array.shape} of {array.dtype}")
    if array.shape[2] != len(encoders.columns):
        raise errors.SchemaMismatchError(
            "df_or_path", f"the series has {array.shape[2]} features, the model was trained on {len(encoders.columns)}")
    if array.shape[1] < size:
        raise errors.DataError(
            "df_or_path", f"has {array.shape[1]} timestep(s); the model forecasts from the latest {size} (its "
            "size_window), so give at least that many, oldest first")
    recent = array[:, array.shape[1] - size:].astype(encoders.dtype)
    predictions, samples = _predict_window(inference, encoders.encode_features(recent))
    decoded = sequence_windows.decode(encoders, predictions, size)
    start = array.shape[1] - size + window.size_shift
    frame = pd.DataFrame(decoded[0], columns=[encoders.columns[i] for i in encoders.kept],
                         index=pd.RangeIndex(start, start + size, name="timestep"))
    frame.attrs.update(future_rows=window.size_shift, metrics={})
    return Outcome(frame, decoded, None, None, {}, samples)
