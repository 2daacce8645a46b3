"""AIQC's high-level scenarios that assay ran as written only once ``label_interpolater`` (sequences, images),
``Experiment.make(foldset_id=...)`` and image forecasting windows existed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from aiqc_scenarios import make_queue_torch_bin_seq
from sklearn.preprocessing import StandardScaler

from assay import Experiment, Pipeline, errors


def test_aiqc_torch_binary_sequence_scenario_runs_as_written(db):
    pytest.importorskip("assay_torch")
    queue = make_queue_torch_bin_seq(hyperparameters=dict(hidden=[4], batch_size=[64], epochs=[1]))

    summary = queue.run_jobs(progress=False)

    assert summary.failed == 0, queue.status()["errors"]
    splitset = queue.splitset
    assert (splitset.kind, splitset.features_shape, splitset.label_shape) == ("sequence", (178, 1), (1,))
    assert set(splitset.samples) == {"train", "validation", "test"}
    assert queue.predictors[0].predictions["test"].metrics["accuracy"] >= 0  # scored like any queue


def series_with_label_gaps(seed=0):
    rng = np.random.default_rng(seed)
    arr = rng.normal(size=(60, 5, 2))
    label = pd.DataFrame({"y": np.linspace(0.0, 59.0, 60)})
    gaps = [3, 4, 17, 40, 41, 42, 58]
    label.loc[gaps, "y"] = np.nan
    return arr, label, gaps


def test_a_sequence_label_interpolater_fills_each_split_from_its_own_rows(db):
    arr, label, _ = series_with_label_gaps()
    splitset = Pipeline.Sequence.make(arr, label_df_or_path=label, label_column="y",
                                      label_interpolater=dict(interpolate_kwargs=dict(method="linear")),
                                      size_test=0.25, size_validation=0.2)
    assert [step.role for step in splitset.interpolaters] == ["label"]
    for split, rows in splitset.samples.items():
        rows = np.sort(np.asarray(rows))
        # pandas' own linear interpolation over this split's rows alone, in dataset order
        expected = label["y"].iloc[rows].interpolate(method="linear", limit_direction="both").to_numpy()
        order = np.argsort(splitset.row_indices(split))
        got = splitset.samples_for(split)["labels"][order, 0]
        np.testing.assert_allclose(got, expected, rtol=1e-6)
        assert np.isfinite(got).all()


def test_an_image_label_interpolater_is_spelled_as_for_sequences(db):
    from assay import datum

    files = datum.get_image_files("brain_tumor.csv")[:12]
    label = pd.DataFrame({"size": [float(i) for i in range(12)]})
    label.loc[[2, 7], "size"] = np.nan
    splitset = Pipeline.Image.make(files, label_df_or_path=label, label_column="size", label_dtype="float64",
                                   label_interpolater=dict(interpolate_kwargs=None), size_test=0.25)
    for split in splitset.samples:
        assert np.isfinite(splitset.samples_for(split)["labels"]).all()


def test_label_gaps_without_an_interpolater_are_refused_naming_the_fix(db):
    arr, label, _ = series_with_label_gaps()
    with pytest.raises(errors.DataError, match="label_column"):
        Pipeline.Sequence.make(arr, label_df_or_path=label, label_column="y", size_test=0.25)
    with pytest.raises(errors.DataError, match="label_interpolater"):
        Pipeline.Sequence.make(arr, label_interpolater=dict(interpolate_kwargs=None), size_test=0.25)


def test_experiment_make_takes_aiqc_foldset_id_and_refuses_another_splitsets(db):
    from aiqc_scenarios import torch_bin_seq_fn_build, torch_bin_seq_fn_train

    arr, label, _ = series_with_label_gaps()
    label = label.fillna(0.0).assign(y=lambda d: (d.y > 30).astype(int))
    splitset = Pipeline.Sequence.make(arr, label_df_or_path=label, label_column="y",
                                      feature_encoders=[dict(sklearn_preprocess=StandardScaler())], size_test=0.2,
                                      fold_count=2)
    common = dict(library="pytorch", analysis_type="classification_binary", fn_build=torch_bin_seq_fn_build,
                  fn_train=torch_bin_seq_fn_train, hyperparameters=dict(hidden=[2], batch_size=[16], epochs=[1]),
                  splitset_id=splitset.id)
    queue = Experiment.make(**common, foldset_id=None)
    assert queue.job_count == 2  # the splitset's folds, whichever way they were made
    with pytest.raises(errors.ExperimentError, match="foldset_id"):
        Experiment.make(**common, foldset_id=12345)


def write_frames(folder, count=30, height=16, width=20):
    """A moving bar: frame i lights column i, so each frame is predictable from the frames before it."""
    from PIL import Image

    folder.mkdir()
    for i in range(count):
        pixels = np.zeros((height, width), dtype=np.uint8)
        pixels[:, i % width] = 255
        pixels[(i * 3) % height, :] = 128
        Image.fromarray(pixels).save(folder / f"frame_{i}.png")
    return folder


def test_pipeline_image_make_cuts_forecasting_windows_of_frames(db, tmp_path):
    from sklearn.preprocessing import FunctionTransformer

    from assay.utils import div255, mult255

    folder = write_frames(tmp_path / "frames")
    splitset = Pipeline.Image.make(
        str(folder), feature_dtype="float64", feature_window=dict(size_window=2, size_shift=1),
        feature_encoders=[dict(sklearn_preprocess=FunctionTransformer(div255, inverse_func=mult255))],
        size_test=0.2)
    assert splitset.features_shape == splitset.label_shape == (2, 1, 16, 20)
    frames = np.stack([np.asarray(__import__("PIL.Image").Image.open(folder / f"frame_{i}.png"), dtype=float)
                       for i in range(30)])
    window = splitset.window
    for split in splitset.samples:
        ids = np.asarray(splitset.row_indices(split))
        samples = splitset.samples_for(split)
        np.testing.assert_allclose(samples["features"][:, :, 0], frames[window.input_rows(ids)] / 255, rtol=1e-6)
        np.testing.assert_allclose(samples["labels"][:, :, 0], frames[window.label_rows(ids)] / 255, rtol=1e-6)
        # forecasts decode back to pixels, as the raw targets the metrics compare them with
        np.testing.assert_allclose(splitset.decode_labels(samples["labels"]), splitset.raw_labels(ids), rtol=1e-5)
    # time order: every test window comes after every train window, none overlapping a test target
    assert window.starts[splitset.samples["train"]].max() + 2 <= window.starts[splitset.samples["test"]].min()


def test_image_forecast_windows_refuse_labels_and_shape_changing_encoders(db, tmp_path):
    from sklearn.preprocessing import OneHotEncoder

    folder = write_frames(tmp_path / "frames", count=12)
    with pytest.raises(errors.DataError, match="label_df_or_path"):
        Pipeline.Image.make(str(folder), label_df_or_path=pd.DataFrame({"y": range(12)}),
                            feature_window=dict(size_window=1, size_shift=1), size_test=0.2)
    with pytest.raises(errors.EncoderError, match="keep its shape"):
        Pipeline.Image.make(str(folder), feature_window=dict(size_window=1, size_shift=1), size_test=0.2,
                            feature_encoders=[dict(sklearn_preprocess=OneHotEncoder(sparse_output=False),
                                                   axis="channel")])


def test_aiqc_keras_image_forecast_scenario_runs_as_translated(db, tmp_path):
    pytest.importorskip("assay_keras")
    from aiqc_scenarios import make_test_queue_keras_image_forecast

    # AIQC's encoder-decoder gives back 8a - 4 rows for 8a - 4 rows in (three poolings, an unpadded convolution)
    folder = write_frames(tmp_path / "liberty_moon", count=24, height=20, width=24)
    queue = make_test_queue_keras_image_forecast(
        str(folder), hyperparameters=dict(epoch_count=[2], batch_size=[4], cnn_init=["he_normal"],
                                          activation=["relu"], multiplier=[1]))

    summary = queue.run_jobs(progress=False)

    assert summary.failed == 0, queue.status()["errors"]
    splitset = queue.splitset
    assert (splitset.kind, splitset.features_shape, splitset.label_shape) == ("image", (20, 24), (20, 24))
    test = queue.predictors[0].predictions["test"]
    assert np.isfinite(test.metrics["rmse"])
    assert test.metrics["rmse_step_1"] == pytest.approx(test.metrics["rmse"])  # one frame forecast per window


def test_image_windows_made_step_by_step_equal_pipeline_image_make(db, tmp_path):
    from assay import Dataset, Splitset

    folder = write_frames(tmp_path / "frames", count=20)
    piped = Pipeline.Image.make(str(folder), feature_window=dict(size_window=2, size_shift=2),
                                feature_encoders=[dict(sklearn_preprocess=StandardScaler(), axis="channel")],
                                size_test=0.2, size_validation=0.2)
    feature = Dataset.Image.from_folder(str(folder)).make_feature()
    feature.make_window(size_window=2, size_shift=2)
    feature.make_encoderset().make_featurecoder(sklearn_preprocess=StandardScaler(), axis="channel")
    stepped = Splitset.make(feature_ids=[feature.id], size_test=0.2, size_validation=0.2)
    from test_step_by_step_kinds import encode

    stepped = encode(stepped)
    assert stepped.samples == piped.samples
    for split in piped.samples:
        np.testing.assert_allclose(stepped.samples_for(split)["features"], piped.samples_for(split)["features"],
                                   rtol=1e-6)


def test_sequence_windows_with_interpolaters_fill_each_window_from_its_own_timesteps(db):
    rng = np.random.default_rng(3)
    arr = np.cumsum(rng.normal(size=(6, 40, 2)), axis=1)
    arr[0, 7, 0] = arr[2, 30, 1] = arr[5, 38, 0] = np.nan
    splitset = Pipeline.Sequence.make(arr, feature_window=dict(size_window=4, size_shift=4),
                                      feature_interpolaters=[dict(interpolate_kwargs=dict(method="linear"))],
                                      size_test=0.2)
    window = splitset.window
    for split in splitset.samples:
        ids = np.asarray(splitset.row_indices(split))
        samples = splitset.samples_for(split)
        series, within = ids // window.count, ids % window.count
        steps = window.starts[within][:, None] + np.arange(4)[None, :]
        for i, (one, cut) in enumerate(zip(series, steps, strict=True)):
            # pandas over this window's 4 timesteps alone
            expected = pd.DataFrame(arr[one, cut]).interpolate(method="linear", limit_direction="both").to_numpy()
            np.testing.assert_allclose(samples["features"][i], expected, rtol=1e-6)
            expected = pd.DataFrame(arr[one, cut + 4]).interpolate(method="linear", limit_direction="both")
            np.testing.assert_allclose(samples["labels"][i], expected.to_numpy(), rtol=1e-6)
        assert np.isfinite(splitset.raw_labels(ids)).all()


def test_sequence_windows_and_interpolaters_made_step_by_step_equal_pipeline_sequence_make(db):
    from test_step_by_step_kinds import assert_same_splitset, encode

    from assay import Dataset, Splitset

    rng = np.random.default_rng(5)
    arr = np.cumsum(rng.normal(size=(5, 30, 2)), axis=1)
    arr[1, 4, 0] = arr[3, 20, 1] = np.nan
    piped = Pipeline.Sequence.make(arr, feature_window=dict(size_window=3, size_shift=3),
                                   feature_interpolaters=[dict(interpolate_kwargs=dict(method="linear"))],
                                   feature_encoders=[dict(sklearn_preprocess=StandardScaler())],
                                   size_test=0.2, size_validation=0.2)
    feature = Dataset.Sequence.from_numpy(arr).make_feature()
    feature.make_interpolaterset().make_featureinterpolater(interpolate_kwargs=dict(method="linear"))
    feature.make_window(size_window=3, size_shift=3)
    feature.make_encoderset().make_featurecoder(sklearn_preprocess=StandardScaler())
    stepped = encode(Splitset.make(feature_ids=[feature.id], size_test=0.2, size_validation=0.2))

    assert_same_splitset(stepped, piped)


def test_a_sequence_label_interpolater_made_step_by_step_equals_pipeline_sequence_make(db):
    from test_step_by_step_kinds import assert_same_splitset, encode

    from assay import Dataset, Splitset

    arr, label, _ = series_with_label_gaps()
    piped = Pipeline.Sequence.make(arr, label_df_or_path=label, label_column="y",
                                   label_interpolater=dict(interpolate_kwargs=dict(method="linear")),
                                   size_test=0.25, size_validation=0.2)
    feature = Dataset.Sequence.from_numpy(arr).make_feature()
    label_row = Dataset.Tabular.from_pandas(label).make_label(columns=["y"])
    label_row.make_labelinterpolater(interpolate_kwargs=dict(method="linear"))
    stepped = encode(Splitset.make(feature_ids=[feature.id], label_id=label_row.id, size_test=0.25,
                                   size_validation=0.2))

    assert_same_splitset(stepped, piped)
