"""Sequences and images through the same queue: Keras (LSTM, Conv2D) and torch (nn.LSTM, nn.Conv2d) train on them,
with folds, repeats and workers; metrics, report, importance, inference and bundles work on them unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_pipeline_arrays import write_images

import assay
from assay import errors, plugins


def signal_sequences(samples: int = 48, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    """Class 1 samples drift upwards in feature 0; feature 1 is noise."""
    rng = np.random.default_rng(seed)
    label = np.tile([0, 1], samples // 2)
    array = rng.normal(size=(samples, 6, 2))
    array[:, :, 0] += label[:, None] * np.linspace(0, 3, 6)
    return array, pd.DataFrame({"drift": label})


def bright_images(folder, count: int = 24) -> pd.DataFrame:
    """RGB images whose red channel is brighter for class 1."""
    write_images(folder, count=count, size=(6, 5))
    from PIL import Image

    label = np.tile([0, 1], count // 2)
    for i, path in enumerate(sorted(folder.iterdir())):
        pixels = np.asarray(Image.open(path)).copy()
        pixels[:, :, 0] = pixels[:, :, 0] // 2 + 127 * label[i]
        Image.fromarray(pixels).save(path)
    return pd.DataFrame({"bright": label})


# --- torch --------------------------------------------------------------------------------------------------------


def torch_fn_build_lstm(features_shape, label_shape, **hp):
    import torch
    from torch import nn

    class LastStep(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(features_shape[-1], hp["units"], batch_first=True)
            self.out = nn.Linear(hp["units"], label_shape[0])

        def forward(self, x):
            return torch.sigmoid(self.out(self.lstm(x)[0][:, -1]))

    assert features_shape == (6, 2)  # timesteps x features, as nn.LSTM(batch_first=True) takes them
    return LastStep()


def torch_fn_build_cnn(features_shape, label_shape, **hp):
    from torch import nn

    assert features_shape == (3, 5, 6)  # channels first, as nn.Conv2d takes them
    return nn.Sequential(nn.Conv2d(features_shape[0], hp["units"], 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(hp["units"] * 5 * 6, label_shape[0]), nn.Sigmoid())


def torch_fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=2, batch_size=8)


def test_torch_lstm_trains_on_sequence_folds_and_repeats_and_infers_new_arrays(db, tmp_path):
    pytest.importorskip("assay_torch")
    array, label = signal_sequences()
    splitset = assay.Pipeline.Sequence.make(array, label_df_or_path=label, size_test=0.25, fold_count=2,
                                            feature_encoders=[dict(sklearn_preprocess=__import__(
                                                "sklearn.preprocessing").preprocessing.StandardScaler())])
    queue = assay.Experiment.make(library="torch", analysis_type="classification_binary",
                                  fn_build=torch_fn_build_lstm, fn_train=torch_fn_train,
                                  hyperparameters={"units": [4]}, repeat_count=2, splitset_id=splitset.id)
    summary = queue.run_jobs(progress=False)
    assert (summary.succeeded, summary.failed) == (4, 0)
    predictor = queue.predictors[0]
    assert set(predictor.metrics) == {"train", "validation", "test"}
    assert predictor.features_shape == [6, 2]
    board = queue.leaderboard()
    assert len(board) == 1  # one combination, aggregated over 2 folds x 2 repeats

    importance = predictor.feature_importance(split="test", permutation_count=2)
    assert list(importance["feature"]).count("feature_0") == 1
    assert len(importance) == 2
    sampled = predictor.feature_importance(split="test", permutation_count=2, sample_rows=3)  # a few series
    assert sorted(sampled["feature"]) == sorted(importance["feature"])
    assert sampled.attrs["sample_rows"] == 3
    assert sampled.attrs["baseline"] == pytest.approx(importance.attrs["baseline"])

    frame = predictor.infer(array[:6], label_df_or_path=label.iloc[:6])
    assert set(frame["prediction"]) <= {0, 1}
    assert len(frame) == 6
    assert "accuracy" in frame.attrs["metrics"]
    # the rows of the test split give exactly the predictions stored for the test split
    test_rows = predictor.predictions["test"].row_indices
    np.testing.assert_array_equal(predictor.infer(array[test_rows])["prediction"].to_numpy(),
                                  predictor.predictions["test"].predictions)
    bundle = assay.load_bundle(predictor.export(str(tmp_path / "lstm.assay")))
    np.testing.assert_allclose(bundle.predict(array[:6])["probability_1"], frame["probability_1"], rtol=1e-5)
    with pytest.raises(errors.SchemaMismatchError, match=r"^df: one sample has shape \(6, 1\)"):
        bundle.predict(array[:6, :, :1])
    with pytest.raises(errors.SchemaMismatchError, match=r"^df_or_path: one sample has shape \(5, 2\)"):
        predictor.infer(array[:6, :5])
    with pytest.raises(errors.DataError, match=r"^label_df_or_path: has 5 rows for 6 samples"):
        predictor.infer(array[:6], label_df_or_path=label.iloc[:5])


def test_torch_conv2d_gets_channels_first_images_in_two_local_workers(db, tmp_path):
    pytest.importorskip("assay_torch")
    label = bright_images(tmp_path / "images")
    splitset = assay.Pipeline.Image.make(tmp_path / "images", label_df_or_path=label, size_test=0.25,
                                         size_validation=0.25)
    queue = assay.Experiment.make(library="torch", analysis_type="classification_binary",
                                  fn_build=torch_fn_build_cnn, fn_train=torch_fn_train,
                                  hyperparameters={"units": [2, 3]}, splitset_id=splitset.id)
    summary = queue.run_jobs(workers=2, progress=False)
    assert (summary.succeeded, summary.failed) == (2, 0)
    predictor = queue.predictors[0]
    importance = predictor.feature_importance(split="validation", permutation_count=1)
    assert sorted(importance["feature"]) == ["B", "G", "R"]  # per channel
    files = sorted((tmp_path / "images").iterdir())
    by_files = predictor.infer([str(f) for f in files[:4]])
    by_folder = predictor.infer(tmp_path / "images")
    np.testing.assert_allclose(by_files["probability_1"], by_folder["probability_1"].iloc[:4], rtol=1e-6)
    report = queue.report(str(tmp_path / "report.html"))
    with open(report) as handle:
        html = handle.read()
    assert "Leaderboard" in html
    assert html.count("data:image/png;base64") >= 2
    write_images(tmp_path / "small", count=2, size=(3, 3))
    with pytest.raises(errors.SchemaMismatchError, match=r"shape \(3, 3, 3\).*\(3, 5, 6\)"):
        predictor.infer(tmp_path / "small")
    with pytest.raises(errors.DataError, match="URL"):
        predictor.infer("https://example.com/brain.png")


# --- keras --------------------------------------------------------------------------------------------------------


def keras_fn_build_lstm(features_shape, label_shape, **hp):
    from keras import Input, Sequential, layers

    assert features_shape == (6, 2)
    return Sequential([Input(shape=features_shape), layers.LSTM(hp["units"]),
                       layers.Dense(label_shape[0], activation="sigmoid")])


def keras_fn_build_cnn(features_shape, label_shape, **hp):
    from keras import Input, Sequential, layers

    assert features_shape == (5, 6, 3)  # channels moved last for Keras' Conv2D
    return Sequential([Input(shape=features_shape), layers.Conv2D(hp["units"], 3, padding="same", activation="relu"),
                       layers.Flatten(), layers.Dense(label_shape[0], activation="sigmoid")])


def keras_fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    model.compile(loss=loser, optimizer=optimizer)
    model.fit(samples_train["features"], samples_train["labels"], epochs=2, batch_size=8, verbose=0,
              validation_data=(samples_evaluate["features"], samples_evaluate["labels"]))
    return model


def test_keras_lstm_and_conv2d_train_through_the_queue_and_conv2d_receives_channels_last(db, tmp_path):
    pytest.importorskip("assay_keras")
    assert plugins.backend("keras").channels_last() is True  # the assay_channels_last hook
    array, label = signal_sequences()
    sequences = assay.Pipeline.Sequence.make(array, label_df_or_path=label, size_test=0.25, size_validation=0.25)
    image_label = bright_images(tmp_path / "images")
    images = assay.Pipeline.Image.make(tmp_path / "images", label_df_or_path=image_label, size_test=0.25,
                                       size_validation=0.25)
    for splitset, fn_build in ((sequences, keras_fn_build_lstm), (images, keras_fn_build_cnn)):
        queue = assay.Experiment.make(library="keras", analysis_type="classification_binary", fn_build=fn_build,
                                      fn_train=keras_fn_train, hyperparameters={"units": [3]},
                                      splitset_id=splitset.id)
        summary = queue.run_jobs(progress=False)
        assert (summary.succeeded, summary.failed) == (1, 0), queue.status()["errors"]
    predictor = queue.predictors[0]
    assert predictor.features_shape == [5, 6, 3]
    test_rows = predictor.predictions["test"].row_indices
    files = [str(f) for f in np.asarray(sorted((tmp_path / "images").iterdir()))[test_rows]]
    stored = predictor.predictions["test"].probabilities
    np.testing.assert_allclose(predictor.infer(files)["probability_1"], np.asarray(stored).ravel(), rtol=1e-4)
    bundle = assay.load_bundle(predictor.export(str(tmp_path / "cnn.assay")))
    np.testing.assert_allclose(bundle.predict(files)["probability_1"], np.asarray(stored).ravel(), rtol=1e-4)


def test_torch_answers_channels_first_through_the_assay_channels_last_hook():
    pytest.importorskip("assay_torch")
    assert plugins.backend("torch").channels_last() is False


def test_a_dask_cluster_trains_torch_lstms_on_sequences_from_the_database(db):
    pytest.importorskip("assay_torch")
    distributed = pytest.importorskip("distributed")
    array, label = signal_sequences()
    splitset = assay.Pipeline.Sequence.make(array, label_df_or_path=label, size_test=0.25, size_validation=0.25)
    queue = assay.Experiment.make(library="torch", analysis_type="classification_binary",
                                  fn_build=torch_fn_build_lstm, fn_train=torch_fn_train,
                                  hyperparameters={"units": [2, 3]}, splitset_id=splitset.id)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        summary = queue.run_jobs(executor=client, progress=False)
    assert (summary.succeeded, summary.failed) == (2, 0)
    assert all(p.features_shape == [6, 2] for p in queue.predictors)
