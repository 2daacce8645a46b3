"""Pipeline.Sequence.make and Pipeline.Image.make: reading, storing once, splitting and encoding 3-D / 4-D samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler
from sqlalchemy import func, select

import assay
from assay import datum
from assay.data import arraystore, images
from assay.db import session_scope
from assay.db.models import DatasetChunkRow, DatasetRow


def sequences(samples: int = 60, timesteps: int = 7, features: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(loc=[5.0, -2.0, 100.0][:features], scale=[1.0, 3.0, 10.0][:features],
                      size=(samples, timesteps, features))


def labels(samples: int = 60, text: bool = False) -> pd.DataFrame:
    return pd.DataFrame({"kind": np.tile(["calm", "storm"] if text else [0, 1], samples // 2)})


def write_images(folder, count: int = 12, size=(6, 4), mode: str = "RGB", seed: int = 0) -> list[np.ndarray]:
    """PNG files 000.png..; returns each image's pixels channels first."""
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    channels = 3 if mode == "RGB" else 1
    pixels = []
    for i in range(count):
        array = rng.integers(0, 256, size=(size[1], size[0], channels), dtype=np.uint8)
        Image.fromarray(array[:, :, 0] if mode == "L" else array, mode=mode).save(folder / f"{i:03d}.png")
        pixels.append(np.moveaxis(array, -1, 0))
    return pixels


def chunk_rows() -> int:
    with session_scope() as session:
        return session.execute(select(func.count()).select_from(DatasetChunkRow)).scalar_one()


# --- sequences ------------------------------------------------------------------------------------------------


def test_sequence_samples_come_back_3d_float32_in_row_order_with_encoded_labels(db):
    array = sequences()
    splitset = assay.Pipeline.Sequence.make(array, label_df_or_path=labels(text=True), label_column="kind",
                                            label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
                                            size_test=0.2, size_validation=0.2)
    assert (splitset.kind, splitset.layout, splitset.features_shape, splitset.label_shape) == (
        "sequence", "timesteps_features", (7, 3), (2,))
    test = splitset.samples_for("test")
    rows = splitset.row_indices("test")
    assert test["features"].dtype == np.float32
    assert test["features"].shape == (12, 7, 3)
    np.testing.assert_allclose(test["features"], array[rows], rtol=1e-6)  # no encoder: values as given
    assert splitset.label_classes == ["calm", "storm"]
    text = labels(text=True)["kind"].to_numpy()
    assert list(splitset.raw_labels(rows)) == list(text[rows])
    np.testing.assert_array_equal(test["labels"].argmax(axis=1), text[rows] == "storm")


def test_a_sequence_scaler_sees_one_column_per_feature_and_is_fitted_on_train_samples_only(db):
    array = sequences()
    splitset = assay.Pipeline.Sequence.make(array, feature_encoders=[dict(sklearn_preprocess=StandardScaler())],
                                            label_df_or_path=labels(), size_test=0.25)
    train_rows = splitset.row_indices("train")
    expected = StandardScaler().fit(array[train_rows].reshape(-1, 3))
    train = splitset.samples_for("train")["features"]
    np.testing.assert_allclose(train.reshape(-1, 3).mean(axis=0), 0, atol=1e-5)
    test = splitset.samples_for("test")["features"]
    np.testing.assert_allclose(test, expected.transform(array[splitset.row_indices("test")].reshape(-1, 3))
                               .reshape(-1, 7, 3), rtol=1e-4, atol=1e-5)


def test_each_fold_is_encoded_with_a_scaler_fitted_on_its_own_train_samples(db):
    array = sequences()
    splitset = assay.Pipeline.Sequence.make(array, feature_encoders=[dict(sklearn_preprocess=StandardScaler())],
                                            label_df_or_path=labels(), size_test=0.2, fold_count=3)
    for fold_index in range(3):
        fold_train = splitset.samples_for("train", fold_index=fold_index)["features"]
        assert fold_train.shape == (len(splitset.folds[fold_index].samples["train"]), 7, 3)
        np.testing.assert_allclose(fold_train.reshape(-1, 3).mean(axis=0), 0, atol=1e-5)


def test_excluded_features_by_index_or_name_are_left_out_and_reshape_adds_a_channel_axis(db):
    splitset = assay.Pipeline.Sequence.make(sequences(), feature_cols_excluded=[0, "feature_2"],
                                            feature_reshape_indices=(0, 1, 2, "1"), label_df_or_path=labels())
    assert splitset.feature_columns == ["feature_1"]
    assert splitset.features_shape == (7, 1, 1)
    assert splitset.layout == "reshaped"
    np.testing.assert_allclose(splitset.samples_for("train")["features"][..., 0, 0],
                               sequences()[splitset.row_indices("train"), :, 1], rtol=1e-6)


def test_the_same_array_twice_is_one_dataset_and_splits_or_folds_never_duplicate_samples(db):
    array = sequences(samples=90)
    first = assay.Pipeline.Sequence.make(array, label_df_or_path=labels(90), size_test=0.2, size_validation=0.2)
    chunks = chunk_rows()
    second = assay.Pipeline.Sequence.make(array.copy(), label_df_or_path=labels(90), size_test=0.3, fold_count=4)
    assert first.dataset_id == second.dataset_id
    assert chunk_rows() == chunks  # stored once, whatever the splits and folds
    with session_scope() as session:
        row = session.get(DatasetRow, first.dataset_id)
        assert (row.kind, row.shape, row.file_format) == ("sequence", [90, 7, 3], arraystore.FILE_FORMAT)
        assert row.statistics["feature_2"]["mean"] == pytest.approx(array[:, :, 2].mean())


def test_samples_are_read_back_lazily_from_compressed_chunks_after_a_fresh_load(db, monkeypatch):
    monkeypatch.setattr(arraystore, "CHUNK_BYTES", 7 * 3 * 8 * 10)  # 10 samples per chunk: several chunks
    array = np.round(sequences(samples=60))  # whole numbers: float64 bytes that zstd shrinks
    made = assay.Pipeline.Sequence.make(array, label_df_or_path=labels(), size_test=0.2)
    assert chunk_rows() == 6
    loaded = assay.Splitset.get(made.id)
    rows = loaded.row_indices("test")
    np.testing.assert_allclose(loaded.samples_for("test")["features"], array[rows], rtol=1e-6)
    with session_scope() as session:
        stored = session.execute(select(DatasetChunkRow.blob, DatasetChunkRow.codec)).all()
    assert {codec for _, codec in stored} == {"zstd"}
    assert sum(len(blob) for blob, _ in stored) < array.nbytes / 2


def test_noise_that_zstd_cannot_shrink_is_stored_raw_and_reads_back_the_same(db, monkeypatch):
    monkeypatch.setattr(arraystore, "CHUNK_BYTES", 7 * 3 * 8 * 10)
    array = sequences(samples=60)  # random float64 mantissas: incompressible
    made = assay.Pipeline.Sequence.make(array, label_df_or_path=labels(), size_test=0.2)
    with session_scope() as session:
        codecs = session.scalars(select(DatasetChunkRow.codec).order_by(DatasetChunkRow.chunk_index)).all()
    assert codecs == ["none"] * 6
    loaded = assay.Splitset.get(made.id)
    np.testing.assert_allclose(loaded.samples_for("train")["features"], array[loaded.row_indices("train")],
                               rtol=1e-6)


def test_the_callers_array_is_never_modified_and_a_npy_path_works_as_well(db, tmp_path):
    array = sequences()
    array[3, 2, 1] = np.nan
    original = array.copy()
    path = tmp_path / "signals.npy"
    np.save(path, array)
    imputing = make_pipeline(SimpleImputer(), StandardScaler())
    splitset = assay.Pipeline.Sequence.make(str(path), feature_dtype="float32",
                                            feature_encoders=[dict(sklearn_preprocess=imputing)],
                                            label_df_or_path=labels(), size_test=0.2)
    assay.Pipeline.Sequence.make(array, feature_encoders=[dict(sklearn_preprocess=imputing)],
                                 label_df_or_path=labels())
    np.testing.assert_array_equal(array, original)
    assert np.isfinite(splitset.samples_for("train")["features"]).all()
    assert splitset.feature_dtypes == {f"feature_{i}": "float32" for i in range(3)}


def test_unsupervised_sequences_have_no_labels(db):
    splitset = assay.Pipeline.Sequence.make(sequences(), size_test=0.25)
    assert splitset.label_shape is None
    assert splitset.label_column is None
    assert splitset.samples_for("train")["labels"] is None
    assert splitset.samples_for("test")["features"].shape == (15, 7, 3)


def test_a_continuous_label_is_binned_for_stratification_as_for_tabular_data(db):
    target = pd.DataFrame({"level": np.linspace(0, 1, 60)})
    splitset = assay.Pipeline.Sequence.make(sequences(), label_df_or_path=target, size_test=0.25, bin_count=3)
    test_levels = splitset.raw_labels(splitset.row_indices("test"))
    assert len(test_levels) == 15
    assert sorted(np.digitize(test_levels, [1 / 3, 2 / 3]).tolist()).count(0) == 5  # 5 from each third


# --- images ---------------------------------------------------------------------------------------------------


def test_a_folder_is_read_in_natural_order_so_img_2_comes_before_img_10(db, tmp_path):
    folder = tmp_path / "numbered"
    folder.mkdir()
    for index in range(12):  # img_0 .. img_11, not zero-padded: a label table lists them 0, 1, 2, ..., 11
        Image.fromarray(np.full((3, 3), index * 20, dtype=np.uint8), mode="L").save(folder / f"img_{index}.png")
    (folder / "img_01.png").write_bytes((folder / "img_1.png").read_bytes())  # same number: ordered by name
    paths, _ = images.image_paths(folder)
    assert [p.name for p in paths][:4] == ["img_0.png", "img_01.png", "img_1.png", "img_2.png"]
    (folder / "img_01.png").unlink()
    splitset = assay.Pipeline.Image.make(folder, label_df_or_path=pd.DataFrame({"level": np.arange(12) * 20}),
                                         label_column="level", label_encoder=dict(sklearn_preprocess=StandardScaler()),
                                         size_test=0.25)
    rows = splitset.row_indices("test")
    features = splitset.samples_for("test")["features"]
    np.testing.assert_array_equal(features[:, 0, 0, 0], splitset.raw_labels(rows))  # each image with its own label


def test_an_rgb_folder_becomes_samples_x_channels_x_height_x_width_sorted_by_file_name(db, tmp_path):
    pixels = write_images(tmp_path / "pictures", count=12, size=(6, 4))
    splitset = assay.Pipeline.Image.make(tmp_path / "pictures", label_df_or_path=labels(12), size_test=0.25)
    assert (splitset.kind, splitset.layout, splitset.features_shape) == ("image", "channels_first", (3, 4, 6))
    assert splitset.feature_columns == ["R", "G", "B"]
    rows = splitset.row_indices("test")
    np.testing.assert_array_equal(splitset.samples_for("test")["features"], np.stack(pixels)[rows])


def test_a_list_of_grayscale_files_keeps_its_order_and_a_channel_scaler_learns_from_train_only(db, tmp_path):
    pixels = write_images(tmp_path / "gray", count=12, size=(5, 5), mode="L")
    files = sorted((tmp_path / "gray").iterdir(), reverse=True)
    splitset = assay.Pipeline.Image.make([str(f) for f in files], label_df_or_path=labels(12),
                                         feature_encoders=[dict(sklearn_preprocess=MinMaxScaler())], size_test=0.25)
    stacked = np.stack(pixels[::-1]).astype(np.float64)
    train = stacked[splitset.row_indices("train")]
    low, high = train.min(), train.max()
    expected = (stacked[splitset.row_indices("test")] - low) / (high - low)
    np.testing.assert_allclose(splitset.samples_for("test")["features"], expected, rtol=1e-5, atol=1e-6)
    assert splitset.features_shape == (1, 5, 5)


def test_a_pixel_encoder_sees_one_row_per_image_and_reshape_drops_the_gray_channel(db, tmp_path):
    write_images(tmp_path / "gray", count=12, size=(5, 3), mode="L")
    splitset = assay.Pipeline.Image.make(tmp_path / "gray", feature_reshape_indices=(0, 2, 3),
                                         feature_encoders=[dict(sklearn_preprocess=StandardScaler(), axis="pixel")],
                                         label_df_or_path=labels(12), size_test=0.25)
    train = splitset.samples_for("train")["features"]
    assert train.shape == (9, 3, 5)
    np.testing.assert_allclose(train.mean(axis=0), 0, atol=1e-5)  # every pixel scaled on its own


def test_the_built_in_datasets_feed_the_pipelines(db):
    features = datum.to_numpy("epilepsy.parquet")
    assert features.shape == (1000, 178, 1)
    folder = datum.get_image_folder("brain_tumor.csv")
    table = datum.image_labels("brain_tumor.csv")
    # the table lists the files in the order the folder is read: natural order, healthy_2 before healthy_10
    assert list(table["file"]).index("healthy_2.jpg") < list(table["file"]).index("healthy_10.jpg")
    for name in datum.list_datums().query("kind.str.contains('image')")["name"]:  # every built-in image dataset
        files = [p.name for p in images.image_paths(datum.get_image_folder(name))[0]]
        assert list(datum.image_labels(name)["file"]) == files, name
    splitset = assay.Pipeline.Image.make(folder, label_df_or_path=table, label_column="status", size_test=0.25)
    assert splitset.features_shape == (1, 160, 120)
    assert splitset.label_classes == [0, 1]
    files = datum.get_image_files("brain_tumor.csv")
    assert [f.name for f in files][:2] == ["healthy_0.jpg", "healthy_1.jpg"]


def test_a_database_of_the_previous_revision_upgrades_and_keeps_its_tabular_splitsets_next_to_new_arrays(tmp_path):
    import shutil
    from pathlib import Path

    frozen = Path(__file__).parent / "data" / "assay_0001.sqlite3"
    copy = tmp_path / frozen.name
    shutil.copyfile(frozen, copy)
    assay.setup(f"sqlite:///{copy}")
    old = assay.Splitset.all()[0]
    assert (old.kind, old.layout, old.sample_shape) == ("tabular", "tabular", None)
    made = assay.Pipeline.Sequence.make(sequences(), label_df_or_path=labels(), size_test=0.2)
    assert assay.Splitset.get(made.id).samples_for("test")["features"].shape == (12, 7, 3)
