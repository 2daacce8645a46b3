"""Pipeline.Tabular.make end to end: the design's call, persistence, reloading, ingestion and the Splitset API."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import LabelBinarizer, OneHotEncoder, StandardScaler
from sqlalchemy import func, select

import assay
from assay import datum, errors
from assay.db import session_scope
from assay.db.models import DatasetRow, FittedEncoderRow, SplitsetRow


def design_call(df):
    """The call from DESIGN.md, exactly as written there."""
    return assay.Pipeline.Tabular.make(
        df_or_path=df,
        label_column='species',
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_cols_excluded='species',
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=['float64'])],
        size_test=0.22, size_validation=0.12, fold_count=None, bin_count=None,
    )


def count(row_type) -> int:
    with session_scope() as session:
        return session.execute(select(func.count()).select_from(row_type)).scalar_one()


def test_design_call_gives_encoded_samples_a_keras_model_can_train_on(db):
    df = datum.to_pandas("iris.tsv")
    splitset = design_call(df)

    assert {split: len(rows) for split, rows in splitset.samples.items()} == {"train": 99, "validation": 18, "test": 33}
    assert splitset.features_shape == (4,)
    assert splitset.label_shape == (3,)
    assert splitset.label_classes == ["setosa", "versicolor", "virginica"]
    assert splitset.label_is_categorical
    assert splitset.feature_columns == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert splitset.feature_names == splitset.feature_columns
    train = splitset.samples_for("train")
    assert train["features"].shape == (99, 4)
    assert train["features"].dtype == np.float32
    np.testing.assert_allclose(train["features"].mean(axis=0), 0, atol=1e-5)  # scaled with train statistics
    assert train["labels"].shape == (99, 3)
    # one-hot column i is label_classes[i]: decoding the argmax gives back the raw labels
    rows = splitset.row_indices("train")
    decoded = splitset.decode_labels(train["labels"].argmax(axis=1))
    assert decoded.tolist() == df["species"].iloc[rows].tolist()
    assert splitset.raw_labels(rows).tolist() == df["species"].iloc[rows].tolist()


def test_splitset_reloaded_by_id_gives_identical_samples(db):
    made = design_call(datum.to_pandas("iris.tsv"))
    loaded = assay.Splitset.get(made.id)
    for split in ("train", "validation", "test"):
        for key in ("features", "labels"):
            np.testing.assert_array_equal(loaded.samples_for(split)[key], made.samples_for(split)[key])
    assert loaded.label_classes == made.label_classes
    assert loaded.feature_dtypes == dict.fromkeys(made.feature_columns, "float64")


def test_an_id_read_from_a_dataframe_or_the_object_itself_finds_it_and_other_values_are_refused(db):
    made = design_call(datum.to_pandas("iris.tsv"))
    ids = pd.DataFrame({"splitset_id": [made.id]})["splitset_id"]  # np.int64, as a leaderboard's ids are

    assert assay.Splitset.get(ids[0]).id == made.id  # was: "Splitset id=1 does not exist"
    assert assay.Splitset.get(made).id == made.id
    for wrong in (str(made.id), True, 1.5, None):
        with pytest.raises(errors.NotFoundError, match=r"Splitset ids are integers \(e\.g\. splitset\.id\)"):
            assay.Splitset.get(wrong)


def test_samples_for_returns_copies_so_training_code_cannot_corrupt_later_jobs(db):
    splitset = design_call(datum.to_pandas("iris.tsv"))
    first = splitset.samples_for("train")
    first["features"][:] = 999
    assert splitset.samples_for("train")["features"].max() < 999


def test_same_content_is_stored_once_and_shared_by_splitsets(db):
    df = datum.to_pandas("iris.tsv")
    first, second = design_call(df), design_call(df.copy())
    assert first.id != second.id
    assert first.dataset_id == second.dataset_id
    assert count(DatasetRow) == 1
    assert count(SplitsetRow) == 2


def test_dtypes_survive_the_parquet_round_trip(db):
    df = pd.DataFrame({
        "f": [1.5, 2.5, np.nan, 4.0],
        "i": np.array([1, 2, 3, 4], dtype="int32"),
        "n": pd.array([1, None, 3, 4], dtype="Int64"),
        "b": [True, False, True, False],
        "s": pd.Series(["a", "b", None, "d"], dtype="str"),
        "c": pd.Categorical(["x", "y", "x", "y"], categories=["y", "x"], ordered=True),
        "t": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]),
    })
    dataset = assay.Dataset.make(df)
    reloaded = assay.Dataset.get(dataset.id).to_pandas()
    pd.testing.assert_frame_equal(reloaded, df)
    assert dataset.dtypes["s"] == "str"
    assert dataset.dtypes["c"] == "category"
    assert dataset.statistics["f"]["mean"] == pytest.approx(8 / 3)
    assert dataset.statistics["s"] == {"missing": 1, "distinct": 3}


def test_dataset_statistics_are_numpys_nan_aware_ones_whether_a_column_has_gaps_or_not(db):
    rng = np.random.default_rng(7)
    gappy = rng.normal(size=5_000) * 1e3
    gappy[::97] = np.nan
    df = pd.DataFrame({"whole": rng.normal(size=5_000) * 1e6 + 3.0, "gappy": gappy,
                       "ints": rng.integers(-9, 9, size=5_000), "one": np.full(5_000, 0.1)})
    stats = assay.Dataset.make(df).statistics
    for column in df.columns:
        values = df[column].to_numpy(dtype=np.float64)
        expected = {"min": np.nanmin(values), "max": np.nanmax(values), "mean": np.nanmean(values),
                    "std": np.nanstd(values)}
        assert {name: stats[column][name] for name in expected} == expected, column  # exactly, not approximately
    assert stats["gappy"]["missing"] == 52


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".pq"])
def test_files_are_read_by_suffix_and_named_after_the_file(db, tmp_path, suffix):
    df = datum.to_pandas("iris.tsv")
    path = tmp_path / f"flowers{suffix}"
    if suffix in (".parquet", ".pq"):
        df.to_parquet(path)
    else:
        df.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
    splitset = assay.Pipeline.Tabular.make(path, label_column="species",
                                           label_encoder=dict(sklearn_preprocess=OneHotEncoder()), size_test=0.2)
    dataset = assay.Dataset.get(splitset.dataset_id)
    assert dataset.name == f"flowers{suffix}"
    assert dataset.row_count == 150
    pd.testing.assert_frame_equal(dataset.to_pandas(), df)


def test_one_hot_features_get_column_value_names_and_other_columns_pass_through(db):
    df = pd.DataFrame({
        "size": np.arange(40, dtype=np.float64),
        "count": np.arange(40, dtype=np.int64) % 7,
        "color": pd.Series(["red", "blue"] * 20, dtype="str"),
        "shape": pd.Categorical(["round", "flat", "long", "flat"] * 10),
        "target": [0, 1] * 20,
    })
    splitset = assay.Pipeline.Tabular.make(
        df, label_column="target",
        feature_encoders=[dict(sklearn_preprocess=OneHotEncoder(), dtypes=["str", "category"]),
                          dict(sklearn_preprocess=StandardScaler(), columns="size")],
        size_test=0.25,
    )
    assert splitset.feature_names == ["color=blue", "color=red", "shape=flat", "shape=long", "shape=round",
                                      "size", "count"]
    features = splitset.samples_for("test")["features"]
    rows = splitset.row_indices("test")
    np.testing.assert_array_equal(features[:, 6], df["count"].iloc[rows])  # passthrough, unchanged
    np.testing.assert_array_equal(features[:, 0], (df["color"].iloc[rows] == "blue").astype(np.float32))
    # an integer label without encoder: the raw class indices, which are their own classes
    assert splitset.label_classes == [0, 1]
    assert splitset.samples_for("test")["labels"].ravel().tolist() == df["target"].iloc[rows].tolist()


def test_unsupervised_splitset_has_no_labels(db):
    df = datum.to_pandas("delhi_climate.parquet")
    splitset = assay.Pipeline.Tabular.make(df, feature_encoders=[dict(sklearn_preprocess=StandardScaler())],
                                           size_test=0.2, size_validation=0.1)
    samples = splitset.samples_for("validation")
    assert samples["labels"] is None
    assert samples["features"].shape == (158, 5)
    assert splitset.label_shape is None
    assert splitset.label_column is None
    assert splitset.label_classes == []


def test_regression_labels_are_scaled_and_decoded_back_to_the_original_scale(db):
    df = datum.to_pandas("exoplanets.parquet")
    splitset = assay.Pipeline.Tabular.make(
        df, label_column="SurfaceTempK", label_encoder=dict(sklearn_preprocess=StandardScaler()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler())], size_test=0.2, size_validation=0.2,
    )
    assert not splitset.label_is_categorical
    assert splitset.label_classes == []
    train = splitset.samples_for("train")
    assert train["labels"].mean() == pytest.approx(0, abs=1e-5)
    test_rows = splitset.row_indices("test")
    decoded = splitset.decode_labels(splitset.samples_for("test")["labels"])
    np.testing.assert_allclose(decoded, df["SurfaceTempK"].iloc[test_rows], rtol=1e-5)


def test_binary_text_label_with_label_binarizer_decodes_class_indices(db):
    df = datum.to_pandas("sonar.csv")
    splitset = assay.Pipeline.Tabular.make(df, label_column="object",
                                           label_encoder=dict(sklearn_preprocess=LabelBinarizer()), size_test=0.3)
    assert splitset.label_classes == ["M", "R"]
    assert splitset.label_shape == (1,)
    labels = splitset.samples_for("test")["labels"]
    rows = splitset.row_indices("test")
    assert splitset.decode_labels(labels.astype(int)).tolist() == df["object"].iloc[rows].tolist()


def test_encode_features_encodes_new_rows_and_checks_their_schema(db):
    df = datum.to_pandas("iris.tsv")
    splitset = design_call(df)
    rows = splitset.row_indices("test")
    new = df.iloc[rows].drop(columns="species").sample(frac=1, axis=1, random_state=0)  # columns reordered
    np.testing.assert_array_equal(splitset.encode_features(new), splitset.samples_for("test")["features"])
    with pytest.raises(errors.SchemaMismatchError, match="petal_width"):
        splitset.encode_features(new.drop(columns="petal_width"))
    with pytest.raises(errors.SchemaMismatchError, match="sepal_length"):
        splitset.encode_features(new.assign(sepal_length="long"))


def test_asking_for_a_split_or_fold_that_does_not_exist_names_the_parameter(db):
    splitset = assay.Pipeline.Tabular.make(datum.to_pandas("iris.tsv"), label_column="species",
                                           label_encoder=dict(sklearn_preprocess=OneHotEncoder()), size_test=0.2)
    with pytest.raises(errors.SplitError, match=r"split: .* no 'validation' split"):
        splitset.samples_for("validation")
    with pytest.raises(errors.SplitError, match="fold_index"):
        splitset.samples_for("train", fold_index=0)


def test_splitset_on_postgresql_and_sqlite_round_trips(any_db):
    made = design_call(datum.to_pandas("iris.tsv"))
    loaded = assay.Splitset.get(made.id)
    np.testing.assert_array_equal(loaded.samples_for("test")["features"], made.samples_for("test")["features"])
    with session_scope() as session:
        assert session.execute(select(func.count()).select_from(FittedEncoderRow)).scalar_one() == 2
