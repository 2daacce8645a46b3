"""Forecasting windows: rows of a time series become windows whose label is the window size_shift rows later;
time-ordered splits that do not leak the future, encoders fitted on train windows' rows, forecast metrics per
horizon step, a forecast plot, and infer() forecasting the next window from the latest rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from test_pipeline_errors import row_counts

import assay
from assay import datum, errors


def climate(rows: int = 120) -> pd.DataFrame:
    return datum.to_pandas("delhi_climate").head(rows)


def make(df: pd.DataFrame | None = None, **overrides):
    kwargs = dict(df_or_path=climate() if df is None else df, feature_cols_excluded=["day_of_year"],
                  feature_encoders=[dict(sklearn_preprocess=StandardScaler())],
                  feature_window=dict(size_window=5, size_shift=2, record_shifted=True),
                  size_test=0.2, size_validation=0.2)
    kwargs.update(overrides)
    return assay.Pipeline.Tabular.make(**kwargs)


COLUMNS = ["temperature", "humidity", "wind", "pressure"]


def test_each_window_is_labelled_with_the_window_size_shift_rows_later(db):
    df = climate()
    splitset = make(df)
    window = splitset.window
    assert splitset.features_shape == (5, 4)
    assert splitset.label_shape == (5, 4)
    assert window.count == (120 - 5) // 2
    assert window.starts[-1] + 2 + 5 == 120  # the last label window ends on the last row
    samples = splitset.samples_for("train")
    assert samples["features"].shape == (len(splitset.samples["train"]), 5, 4)
    first = splitset.samples["train"][0]
    rows = window.starts[first] + np.arange(5)
    np.testing.assert_allclose(splitset.raw_labels([first])[0], df[COLUMNS].to_numpy()[rows + 2])
    # windows two rows apart: the label of one window is the next window's features
    np.testing.assert_allclose(samples["labels"][:-1], samples["features"][1:], rtol=1e-6)


def test_splits_keep_time_order_with_a_gap_so_no_train_window_reaches_a_later_target(db):
    splitset = make()
    window = splitset.window
    train, validation, test = (np.asarray(splitset.samples[s]) for s in ("train", "validation", "test"))
    assert train.max() < validation.min() < validation.max() < test.min()
    last_train_row = window.starts[train].max() + window.span - 1
    assert last_train_row < window.starts[validation.min()] + window.size_shift  # before any validation target
    last_validation_row = window.starts[validation].max() + window.span - 1
    assert last_validation_row < window.starts[test.min()] + window.size_shift


def test_the_scaler_is_fitted_on_the_rows_of_the_train_windows_only(db):
    df = climate()
    splitset = make(df)
    rows = splitset.window.rows(splitset.samples["train"])
    fitted = splitset.encoders().features[0].load()
    np.testing.assert_allclose(fitted.mean_, df[COLUMNS].iloc[rows].mean().to_numpy())
    assert rows.max() < len(df) - 1


def test_shuffled_windows_and_folds_are_an_option(db):
    splitset = make(feature_window=dict(size_window=5, size_shift=2, time_ordered=False), size_validation=None,
                    fold_count=2)
    assert len(splitset.folds) == 2
    train = np.asarray(splitset.samples["train"])
    assert not (train.max() < np.asarray(splitset.samples["test"]).min())  # interleaved in time


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    size = int(np.prod(features_shape))
    return nn.Sequential(nn.Flatten(), nn.Linear(size, size), nn.Unflatten(1, tuple(label_shape)))


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=2,
                                  batch_size=16, seed=0)


@pytest.fixture
def forecaster(db):
    pytest.importorskip("assay_torch")
    df = climate()
    splitset = make(df)
    queue = assay.Experiment.make(library="torch", analysis_type="regression", fn_build=fn_build, fn_train=fn_train,
                                  hyperparameters={"unused": [0]}, splitset_id=splitset.id)
    queue.run_jobs()
    return df, splitset, queue.jobs[0].predictor


def test_forecast_metrics_cover_every_value_and_each_horizon_step(forecaster):
    _, _, predictor = forecaster
    prediction = predictor.predictions["test"]
    actual, forecast = np.asarray(prediction.labels), np.asarray(prediction.predictions)
    assert actual.shape == forecast.shape == (len(prediction.row_indices), 5, 4)
    metrics = prediction.metrics
    assert metrics["mae"] == pytest.approx(np.abs(actual - forecast).mean())
    assert metrics["rmse"] == pytest.approx(np.sqrt(((actual - forecast) ** 2).mean()))
    for step in range(1, 6):
        assert metrics[f"mae_step_{step}"] == pytest.approx(np.abs(actual[:, step - 1] - forecast[:, step - 1]).mean())
        assert {f"rmse_step_{step}", f"r2_step_{step}"} <= set(metrics)
    assert "r2" in metrics


def test_permutation_importance_is_refused_for_windows_with_the_reason(forecaster):
    _, _, predictor = forecaster
    with pytest.raises(errors.ValidationError, match="time order") as caught:
        predictor.feature_importance("test", permutation_count=1)
    assert caught.value.parameter == "predictor"


def test_plot_forecast_draws_one_panel_per_column(forecaster):
    _, _, predictor = forecaster
    figure = predictor.predictions["test"].plot_forecast(window=0, columns=["temperature", "wind"])
    assert isinstance(figure, Figure)
    assert [axis.get_ylabel() for axis in figure.axes] == ["temperature", "wind"]
    with pytest.raises(errors.ValidationError, match="not forecast columns"):
        predictor.predictions["test"].plot_forecast(columns=["day_of_year"])


def test_infer_forecasts_the_window_after_the_latest_rows(forecaster, tmp_path):
    df, splitset, predictor = forecaster
    recent = df.tail(12)
    forecast = predictor.infer(recent)
    assert list(forecast.columns) == COLUMNS
    assert forecast.index.tolist() == list(range(12 - 5 + 2, 12 + 2))  # the last two rows lie in the future
    assert forecast.attrs["future_rows"] == 2
    # the same as the model's forecast of the last window, decoded
    latest = splitset.encode_features(recent.tail(5)).reshape(1, 5, 4)
    import torch

    model = predictor.get_model()
    with torch.no_grad():
        raw = model(torch.as_tensor(latest)).numpy()
    np.testing.assert_allclose(forecast.to_numpy(), splitset.decode_labels(raw)[0], rtol=1e-4)
    bundle = assay.load_bundle(predictor.export(tmp_path / "delhi.assay"))
    # the scaler decodes the forecast: its portable form was checked for inverse_transform too, and is the one used
    assert [entry.portable_format for entry in bundle.manifest.encoders.features] == ["npz"]
    pd.testing.assert_frame_equal(bundle.predict(recent), forecast, check_exact=False, atol=1e-4, check_like=True)
    with pytest.raises(errors.DataError, match="latest 5 rows") as caught:
        predictor.infer(df.tail(3))
    assert caught.value.parameter == "df_or_path"


@pytest.mark.parametrize(("overrides", "parameter", "message"), [
    (dict(feature_window=dict(size_window=200, size_shift=1)), "feature_window.size_window", "longer than"),
    (dict(feature_window=dict(size_window=5, size_shift=0)), "feature_window.size_shift", "at least 1"),
    (dict(feature_window=dict(size_window=5)), "feature_window", "needs size_window"),
    (dict(feature_window=dict(size_window=5, size_shift=1, horizon=3)), "feature_window", "unknown key"),
    (dict(label_column="temperature", feature_cols_excluded=["day_of_year", "temperature"]), "label_column",
     "leave label_column=None"),
    (dict(feature_cols_excluded=None, df_or_path=climate().assign(season="dry")), "feature_cols_excluded",
     "must be numeric"),
    (dict(feature_encoders=[dict(sklearn_preprocess=OneHotEncoder(), columns=["wind"])]), "feature_encoders[0]",
     "column-wise encoders"),
    (dict(size_validation=None, fold_count=2), "fold_count", "time_ordered=False"),
])
def test_bad_window_input_names_the_parameter_and_writes_nothing(db, overrides, parameter, message):
    before = row_counts()
    with pytest.raises(errors.ValidationError) as caught:
        make(**overrides)
    assert caught.value.parameter == parameter
    assert message in str(caught.value)
    assert row_counts() == before
