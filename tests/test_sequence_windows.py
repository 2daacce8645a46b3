"""Forecasting windows on sequence data: each sample is a series, windows run along its timesteps and are labelled
with the window size_shift timesteps later; every series is split in time order; infer() forecasts one series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler
from test_pipeline_errors import row_counts

import assay
from assay import errors
from assay.data import windows


def series(count: int = 4, timesteps: int = 50) -> np.ndarray:
    t = np.arange(timesteps)
    return np.stack([np.stack([np.sin(t / 5 + i), 10 * np.cos(t / 7 + i)], axis=1) for i in range(count)])


def make(array=None, **overrides):
    kwargs = dict(feature_encoders=[dict(sklearn_preprocess=StandardScaler())],
                  feature_window=dict(size_window=6, size_shift=2), size_test=0.2, size_validation=0.2)
    kwargs.update(overrides)
    return assay.Pipeline.Sequence.make(series() if array is None else array, **kwargs)


def test_windows_of_every_series_are_the_samples_and_their_labels_the_shifted_windows(db):
    array = series()
    splitset = make(array)
    window = splitset.window
    per_series = (50 - 6) // 2
    assert window.count == per_series
    assert splitset.features_shape == splitset.label_shape == (6, 2)
    ids = np.asarray(splitset.samples["test"])
    raw = splitset.raw_labels(ids[:2])
    first = ids[0]
    steps = window.starts[first % per_series] + 2 + np.arange(6)
    np.testing.assert_allclose(raw[0], array[first // per_series, steps])
    encoded = splitset.samples_for("test")["labels"][:2]
    np.testing.assert_allclose(splitset.decode_labels(encoded), raw, atol=1e-5)


def test_each_series_is_split_in_time_order_and_the_scaler_sees_train_windows_only(db):
    array = series()
    splitset = make(array)
    count = splitset.window.count
    for split_before, split_after in (("train", "validation"), ("validation", "test")):
        before = np.asarray(splitset.samples[split_before]) % count
        after = np.asarray(splitset.samples[split_after]) % count
        assert before.max() < after.min()
    fitted = splitset.encoders().features[0].load()
    train = np.asarray(splitset.samples["train"])
    windows_seen = windows.gather_series(splitset.window, lambda rows: array[rows], train)
    np.testing.assert_allclose(fitted.mean_, windows_seen.reshape(-1, 2).mean(axis=0))
    last_step = splitset.window.starts[(train % count).max()] + splitset.window.span
    first_validation_target = splitset.window.starts[(np.asarray(splitset.samples["validation"]) % count).min()] + 2
    assert last_step <= first_validation_target


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    size = int(np.prod(features_shape))
    return nn.Sequential(nn.Flatten(), nn.Linear(size, size), nn.Unflatten(1, tuple(label_shape)))


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=1,
                                  batch_size=16, seed=0)


def test_a_model_forecasts_each_step_and_infer_forecasts_the_next_window_of_a_series(db):
    pytest.importorskip("assay_torch")
    array = series()
    splitset = make(array)
    queue = assay.Experiment.make(library="torch", analysis_type="regression", fn_build=fn_build, fn_train=fn_train,
                                  hyperparameters={"unused": [0]}, splitset_id=splitset.id)
    queue.run_jobs()
    predictor = queue.jobs[0].predictor
    assert {"mae", "rmse", "r2", "mae_step_1", "r2_step_6"} <= set(predictor.metrics["test"])
    forecast = predictor.infer(array[0, -10:])
    assert isinstance(forecast, pd.DataFrame)
    assert list(forecast.columns) == ["feature_0", "feature_1"]
    assert forecast.index.tolist() == list(range(10 - 6 + 2, 10 + 2))
    with pytest.raises(errors.DataError, match="latest 6"):
        predictor.infer(array[0, -3:])


def test_a_bundle_of_a_sequence_forecaster_forecasts_as_infer_does(db, tmp_path):
    pytest.importorskip("assay_torch")
    array = series()
    queue = assay.Experiment.make(library="torch", analysis_type="regression", fn_build=fn_build, fn_train=fn_train,
                                  hyperparameters={"unused": [0]}, splitset_id=make(array).id)
    queue.run_jobs(progress=False)
    predictor = queue.jobs[0].predictor
    bundle = assay.load_bundle(predictor.export(tmp_path / "forecaster.assay"))

    forecast = bundle.predict(array[1, -12:])

    pd.testing.assert_frame_equal(forecast, predictor.infer(array[1, -12:]), check_exact=False, atol=1e-6)
    assert forecast.index.tolist() == list(range(12 - 6 + 2, 12 + 2))
    np.save(tmp_path / "series.npy", array[1, -12:])
    pd.testing.assert_frame_equal(bundle.predict(str(tmp_path / "series.npy")), forecast)
    with pytest.raises(errors.DataError, match="latest 6"):
        bundle.predict(array[1, -3:])


@pytest.mark.parametrize(("overrides", "parameter"), [
    (dict(feature_window=dict(size_window=60, size_shift=1)), "feature_window.size_window"),
    (dict(feature_window=dict(size_window=6, size_shift=0)), "feature_window.size_shift"),
    (dict(label_df_or_path=pd.DataFrame({"y": range(4)})), "label_df_or_path"),
    (dict(feature_encoders=[dict(sklearn_preprocess=PCA(n_components=1))]), "feature_encoders"),
    (dict(size_validation=None, fold_count=2), "fold_count"),
])
def test_bad_sequence_window_input_names_the_parameter_and_writes_nothing(db, overrides, parameter):
    before = row_counts()
    with pytest.raises(errors.ValidationError) as caught:
        make(**overrides)
    assert caught.value.parameter == parameter
    assert row_counts() == before
