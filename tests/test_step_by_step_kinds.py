"""The step-by-step API beyond tables: AIQC's sequence, text, image and forecast scenarios run as translated, and
each spelled step by step gives the same splitset as ``Pipeline.Sequence/Image/Tabular.make`` with the same
choices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from aiqc_scenarios import (
    make_test_queue_keras_image_binary,
    make_test_queue_keras_sequence_binary,
    make_test_queue_keras_tabular_forecast,
    make_test_queue_keras_text_binary,
    make_test_queue_pytorch_image_binary,
)
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import LabelBinarizer, MinMaxScaler, OneHotEncoder, StandardScaler
from sqlalchemy import func, select

import assay
from assay import Dataset, Splitset, datum, errors
from assay.data.build.step_by_step_encoders import plan_encoding
from assay.db import session_scope
from assay.db.models import Base


def table_counts():
    with session_scope() as session:
        return {m.class_.__tablename__: session.scalar(select(func.count()).select_from(m.class_))
                for m in Base.registry.mappers}


def encode(splitset):
    """Store a step-by-step splitset's encoders as its first queue would, without training anything."""
    from assay.db.queries import steps as step_queries

    step_queries.store_encoding(**plan_encoding(splitset.id).rows)
    return Splitset.get(splitset.id)


def assert_same_splitset(a, b):
    assert a.kind == b.kind
    assert a.samples == b.samples
    assert [f.samples for f in a.folds] == [f.samples for f in b.folds]
    assert (a.feature_names, a.features_shape, a.label_shape, a.layout) == \
        (b.feature_names, b.features_shape, b.label_shape, b.layout)
    assert (a.label_column, a.label_is_categorical, a.label_classes) == \
        (b.label_column, b.label_is_categorical, b.label_classes)
    for split in a.samples:
        for key in ("features", "labels"):
            left, right = a.samples_for(split)[key], b.samples_for(split)[key]
            assert (left is None) == (right is None)
            if left is not None:
                np.testing.assert_allclose(left, right, rtol=1e-6)
    for fold in a.folds:
        np.testing.assert_allclose(a.samples_for("validation", fold.fold_index)["features"],
                                   b.samples_for("validation", fold.fold_index)["features"], rtol=1e-6)
    a_specs = [(e.class_name, e.columns) for e in a.encoders()]
    assert a_specs == [(e.class_name, e.columns) for e in b.encoders()]


# ------------------------ sequences ------------------------
def sensors():
    rng = np.random.default_rng(3)
    array = rng.normal(size=(48, 10, 3)) * np.array([1.0, 10.0, 100.0])
    array[5, 2, 0] = np.nan
    labels = pd.DataFrame({"seizure": np.tile([0, 1], 24)})
    return array, labels


@pytest.mark.parametrize("fold_count", [None, 2], ids=["validation", "folds"])
def test_a_sequence_splitset_made_step_by_step_equals_pipeline_sequence_make(any_db, fold_count):
    array, labels = sensors()
    label = Dataset.Tabular.from_pandas(labels).make_label(columns=["seizure"])
    feature = Dataset.Sequence.from_numpy(array).make_feature(exclude_columns=["2"])
    assert (feature.kind, feature.columns, feature.sample_shape) == ("sequence", ["feature_0", "feature_1"], [10, 3])
    encoderset = feature.make_encoderset()
    encoderset.make_featurecoder(sklearn_preprocess=SimpleImputer(), columns=["0"])
    coder = encoderset.make_featurecoder(sklearn_preprocess=StandardScaler(), columns=["feature_1"], include=False)
    assert coder.columns_selected == ["feature_0"]
    label.make_labelcoder(sklearn_preprocess=OneHotEncoder(sparse_output=False))
    size_validation = None if fold_count else 0.2
    splitset = Splitset.make(feature_ids=[feature.id], label_id=label.id, size_test=0.25,
                             size_validation=size_validation)
    if fold_count:
        splitset.make_foldset(fold_count=fold_count)
    low = encode(splitset)
    high = assay.Pipeline.Sequence.make(
        array, feature_cols_excluded=[2], label_df_or_path=labels, label_column="seizure",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder(sparse_output=False)),
        feature_encoders=[dict(sklearn_preprocess=SimpleImputer(), columns=[0]),
                          dict(sklearn_preprocess=StandardScaler(), columns=["1"], include=False)],
        size_test=0.25, size_validation=size_validation, fold_count=fold_count,
    )
    assert low.dataset_id == high.dataset_id  # the same samples are one dataset
    assert_same_splitset(low, high)
    features = high.samples_for("train")["features"]
    assert np.isfinite(features).all()
    assert abs(features[..., 0].std() - 1) < 0.1  # only feature_0 was scaled
    assert features[..., 1].std() > 5


@pytest.mark.parametrize("fold_count", [None, 2], ids=["validation", "folds"])
def test_a_sequence_splitset_with_gaps_interpolated_step_by_step_equals_pipeline_sequence_make(any_db, fold_count):
    from assay.objects.aiqc import FeatureInterpolater, Interpolaterset

    array, labels = sensors()
    array[[0, 7, 30], [0, 9, 4], 1] = np.nan  # a leading, a trailing and an inner gap in feature_1
    array[11, :, 0] = np.nan  # feature_0 has no value in sample 11: the imputer fills it
    label = Dataset.Tabular.from_pandas(labels).make_label(columns=["seizure"])
    feature = Dataset.Sequence.from_numpy(array).make_feature()
    interpolaterset = feature.make_interpolaterset()
    interpolaterset.make_featureinterpolater(columns=["1"], interpolate_kwargs=dict(method="linear"))
    FeatureInterpolater.from_interpolaterset(interpolaterset_id=Interpolaterset.from_feature(feature.id).id,
                                             dtypes="float64")  # AIQC's spelling: the features left
    assert [step.get("columns") for step in assay.Feature.get(feature.id).interpolaters] == [["1"], None]
    encoderset = feature.make_encoderset()
    encoderset.make_featurecoder(sklearn_preprocess=SimpleImputer())
    encoderset.make_featurecoder(sklearn_preprocess=StandardScaler())
    size_validation = None if fold_count else 0.2
    splitset = Splitset.make(feature_ids=[feature.id], label_id=label.id, size_test=0.25,
                             size_validation=size_validation)
    if fold_count:
        splitset.make_foldset(fold_count=fold_count)
    low = encode(splitset)
    high = assay.Pipeline.Sequence.make(
        array, label_df_or_path=labels, label_column="seizure",
        feature_interpolaters=[dict(columns=["1"], interpolate_kwargs=dict(method="linear")),
                               dict(dtypes="float64")],
        feature_encoders=[dict(sklearn_preprocess=SimpleImputer()), dict(sklearn_preprocess=StandardScaler())],
        size_test=0.25, size_validation=size_validation, fold_count=fold_count,
    )
    assert [i.to_json() for i in low.interpolaters] == [i.to_json() for i in high.interpolaters]
    assert [i.columns for i in low.interpolaters] == [["feature_1"], ["feature_0", "feature_2"]]
    assert_same_splitset(low, high)
    # feature_1's gaps come from each sample's own timesteps; the imputer saw them filled
    imputer = high.encoders().features[0].load()
    train = array[high.samples["train"]]
    rows = [pd.DataFrame(sample).interpolate(method="linear", limit_direction="both").to_numpy() for sample in train]
    np.testing.assert_allclose(imputer.statistics_[1], np.stack(rows)[..., 1].mean())


def test_pipeline_sequence_make_limits_an_encoder_to_the_columns_it_names(db):
    array, labels = sensors()
    array = np.nan_to_num(array)
    splitset = assay.Pipeline.Sequence.make(
        array, label_df_or_path=labels, size_test=0.25,
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), columns=["feature_2"])])
    train = splitset.samples_for("train")["features"]
    np.testing.assert_allclose(train[..., :2], array[splitset.samples["train"]][..., :2], rtol=1e-6)
    assert abs(train[..., 2].std() - 1) < 0.1
    # new samples (inference) are encoded by the same limited encoder
    rows = splitset.samples["test"][:4]
    np.testing.assert_allclose(splitset.encoders().encode_features(array[rows], "samples"),
                               splitset.samples_for("test")["features"][:4], rtol=1e-6)


@pytest.mark.parametrize(("spec", "match"), [
    (dict(sklearn_preprocess=StandardScaler(), columns=["7"]), r"feature_encoders\[0\]\.columns: '7' is not a "),
    (dict(sklearn_preprocess=OneHotEncoder(sparse_output=False), columns=["0"]), "must keep their number"),
    (dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"]), "choose features with columns"),
    (dict(sklearn_preprocess=StandardScaler(), columns=[0, 1, 2], include=False), "excludes every feature"),
])
def test_a_sequence_encoder_that_does_not_fit_its_columns_is_refused_before_anything_is_stored(db, spec, match):
    array, labels = sensors()
    before = table_counts()
    with pytest.raises(errors.EncoderError, match=match):
        assay.Pipeline.Sequence.make(np.nan_to_num(array), label_df_or_path=labels, feature_encoders=[spec])
    assert table_counts() == before


def test_bad_sequence_steps_are_refused_naming_the_parameter(db):
    array, labels = sensors()
    dataset = Dataset.Sequence.from_numpy(array)
    assert Dataset.Sequence.from_numpy(array.copy()).id == dataset.id
    np.testing.assert_array_equal(dataset.to_numpy(), array)
    with pytest.raises(errors.DataError, match=r"labels come from a Dataset\.Tabular"):
        dataset.make_label(columns=["0"])
    with pytest.raises(errors.DataError, match=r"exclude_columns: '9' is not a feature"):
        dataset.make_feature(exclude_columns=["9"])
    with pytest.raises(errors.DataError, match="ndarray3D_or_npyPath: must be 3-D"):
        Dataset.Sequence.from_numpy(array[:, :, 0])
    with pytest.raises(errors.DataError, match=r"^dtype: must be a numeric dtype"):
        Dataset.Sequence.from_numpy(array, dtype="str")
    feature = dataset.make_feature()
    encoderset = feature.make_encoderset()
    before = table_counts()
    with pytest.raises(errors.EncoderError, match=r"feature_encoders\[0\]\.columns: 'nope' is not a feature"):
        encoderset.make_featurecoder(sklearn_preprocess=StandardScaler(), columns=["nope"])
    short = Dataset.Tabular.from_pandas(labels.iloc[:40]).make_label(columns=["seizure"])
    before = table_counts()
    with pytest.raises(errors.SplitError, match=r"label_id: .* 40 rows but feature .* 48 sequence samples"):
        Splitset.make(feature_ids=[feature.id], label_id=short.id, size_test=0.25)
    assert table_counts() == before


def test_aiqc_keras_sequence_binary_scenario_runs_as_translated(db):
    pytest.importorskip("assay_keras")
    queue = make_test_queue_keras_sequence_binary(
        fold_count=None, permute_count=1, hyperparameters={"neuron_count": [4], "batch_size": [128], "epochs": [1]})

    summary = queue.run_jobs(progress=False)

    assert summary.failed == 0, queue.status()["errors"]
    splitset = queue.splitset
    assert (splitset.kind, splitset.features_shape, splitset.label_shape) == ("sequence", (178, 1), (1,))
    # AIQC's gaps were interpolated along each sample's timesteps (dtypes="float64": the array's every feature)
    [step] = splitset.interpolaters
    assert (step.columns, step.dtypes) == (["feature_0"], ["float64"])
    assert np.isfinite(splitset.samples_for("train")["features"]).all()
    assert len(queue.predictors) == 1
    # inference encodes new samples with the limited encoders stored step by step
    samples = Dataset.get(splitset.dataset_id).to_numpy()[[0, 22, 130, 999, 1]]  # 4 of them with gaps
    assert np.isnan(samples).sum() == 5
    result = queue.predictors[0].infer(samples)
    assert len(result) == 5
    assert set(result["prediction"]) <= {0, 1}


# ------------------------ text ------------------------
def test_a_text_splitset_made_step_by_step_equals_pipeline_tabular_make(any_db):
    df = datum.to_pandas("spam.csv").iloc[:200]
    dataset = Dataset.Text.from_pandas(df)
    label = dataset.make_label(columns=["label"])
    feature = dataset.make_feature(exclude_columns=["label"])
    label.make_labelcoder(sklearn_preprocess=LabelBinarizer(sparse_output=False))
    feature.make_encoderset().make_featurecoder(sklearn_preprocess=CountVectorizer(max_features=50),
                                                columns=["TextData"])
    splitset = Splitset.make(feature_ids=[feature.id], label_id=label.id, size_test=0.2, size_validation=0.2)
    low = encode(splitset)
    high = assay.Pipeline.Tabular.make(
        df, label_column="label", label_encoder=dict(sklearn_preprocess=LabelBinarizer(sparse_output=False)),
        feature_encoders=[dict(sklearn_preprocess=CountVectorizer(max_features=50), columns=["TextData"])],
        size_test=0.2, size_validation=0.2)
    assert low.dataset_id == high.dataset_id
    assert_same_splitset(low, high)
    assert low.features_shape == (50,)


def test_aiqc_keras_text_binary_scenario_runs_as_translated(db):
    pytest.importorskip("assay_keras")
    queue = make_test_queue_keras_text_binary(permute_count=1, hyperparameters={"neuron_count": [4], "epochs": [1]})

    summary = queue.run_jobs(progress=False)

    assert summary.failed == 0, queue.status()["errors"]
    splitset = queue.splitset
    assert (splitset.kind, splitset.features_shape, splitset.label_classes) == ("tabular", (200,), ["ham", "spam"])
    assert queue.predictors[0]._column("feature_importance")["train"]["1"]


# ------------------------ images ------------------------
@pytest.mark.parametrize("fold_count", [None, 2], ids=["validation", "folds"])
def test_an_image_splitset_made_step_by_step_equals_pipeline_image_make(any_db, fold_count):
    files = datum.get_image_files("brain_tumor.csv")[:24]
    labels = datum.to_pandas("brain_tumor.csv").iloc[:24]
    label = Dataset.Tabular.from_pandas(labels).make_label(columns=["status"])
    feature = Dataset.Image.from_files(files).make_feature()
    assert (feature.kind, feature.columns, feature.sample_shape) == ("image", ["L"], [1, 160, 120])
    feature.make_featureshaper(reshape_indices=(0, 2, 3))
    encoderset = feature.make_encoderset()
    coder = encoderset.make_featurecoder(sklearn_preprocess=MinMaxScaler(), axis="pixel")
    assert coder.axis == "pixel"
    size_validation = None if fold_count else 0.2
    splitset = Splitset.make(feature_ids=[feature.id], label_id=label.id, size_test=0.25,
                             size_validation=size_validation)
    if fold_count:
        splitset.make_foldset(fold_count=fold_count)
    low = encode(splitset)
    high = assay.Pipeline.Image.make(
        files, label_df_or_path=labels, label_column="status", feature_reshape_indices=(0, 2, 3),
        feature_encoders=[dict(sklearn_preprocess=MinMaxScaler(), axis="pixel")],
        size_test=0.25, size_validation=size_validation, fold_count=fold_count,
    )
    assert low.dataset_id == high.dataset_id
    assert (low.features_shape, low.layout) == ((160, 120), "reshaped")
    assert_same_splitset(low, high)


def test_aiqc_image_locations_are_the_packaged_files_and_store_as_local_files(db):
    urls = datum.get_remote_urls("brain_tumor.csv")[:6]
    assert urls == [str(path) for path in datum.get_image_files("brain_tumor.csv")[:6]]

    from_urls = Dataset.Image.from_urls_pillow(urls=urls)
    as_file_urls = Dataset.Image.from_urls_pillow(urls=[f"file://{url}" for url in urls], ingest=False)
    np.testing.assert_array_equal(from_urls.to_numpy(), Dataset.Image.from_files(urls).to_numpy())
    np.testing.assert_array_equal(as_file_urls.to_numpy(), from_urls.to_numpy())


def test_bad_image_steps_are_refused_naming_the_parameter(db):
    with pytest.raises(errors.DataError, match=r"urls: 'https://example.org/a.jpg' is a URL; assay reads no network"):
        Dataset.Image.from_urls_pillow(urls=["https://example.org/a.jpg"])
    with pytest.raises(errors.DataError, match="column_names: images have no column names"):
        Dataset.Image.from_urls_pillow(urls=datum.get_remote_urls("brain_tumor.csv")[:2], column_names=["L"])
    with pytest.raises(errors.DataError, match="ingest: must be True or False"):
        Dataset.Image.from_folder_pillow(datum.get_image_folder("brain_tumor.csv"), ingest="no")
    with pytest.raises(errors.DataError, match=r"folder_path: .* is a URL"):
        Dataset.Image.from_files(["https://example.org/a.jpg"])
    files = datum.get_image_files("brain_tumor.csv")[:8]
    dataset = Dataset.Image.from_folder(files)
    with pytest.raises(errors.DataError, match="exclude_columns: an image feature has every channel"):
        dataset.make_feature(exclude_columns=["L"])
    feature = dataset.make_feature()
    encoderset = feature.make_encoderset()
    before = table_counts()
    with pytest.raises(errors.EncoderError, match=r"feature_encoders\[0\]\.axis: must be one of"):
        encoderset.make_featurecoder(sklearn_preprocess=MinMaxScaler(), axis="row")
    with pytest.raises(errors.EncoderError, match=r"unknown key\(s\) \['columns'\]"):
        encoderset.make_featurecoder(sklearn_preprocess=MinMaxScaler(), columns=["L"])
    with pytest.raises(errors.DataError, match="reshape_indices: must start with 0"):
        feature.make_featureshaper(reshape_indices=(1, 2))
    tabular = Dataset.Tabular.from_pandas(pd.DataFrame({"a": [1.0, 2.0]})).make_feature()
    with pytest.raises(errors.DataError, match=r"reshape_indices: feature .* is tabular"):
        tabular.make_featureshaper(reshape_indices=(0, 1))
    assert table_counts() == {**before, "dataset": before["dataset"] + 1, "feature": before["feature"] + 1}


def test_aiqc_keras_image_binary_scenario_runs_as_translated(db):
    pytest.importorskip("assay_keras")
    queue = make_test_queue_keras_image_binary(hyperparameters={
        "include_2nd_dense": [True], "neuron_multiply": [0.0625], "epoch_count": [1], "learning_rate": [0.01],
        "pool_size": [2], "dropout": [0.4], "batch_size": [16], "kernel_size": [3], "dense_neurons": [32],
        "2nd_dense_neurons": [4], "cnn_init": ["he_normal"]})

    summary = queue.run_jobs(progress=False)

    assert summary.failed == 0, queue.status()["errors"]
    assert (queue.splitset.kind, queue.splitset.features_shape) == ("image", (1, 160, 120))
    assert len(queue.predictors) == 1


def test_aiqc_pytorch_image_binary_scenario_runs_as_translated(db):
    pytest.importorskip("assay_torch")
    queue = make_test_queue_pytorch_image_binary(hyperparameters={"dense_neurons": [8], "epoch_count": [1]})

    summary = queue.run_jobs(progress=False)

    assert summary.failed == 0, queue.status()["errors"]
    assert (queue.splitset.layout, queue.splitset.features_shape) == ("reshaped", (160, 120))
    assert len(queue.predictors) == 1


# ------------------------ forecasting windows and interpolation ------------------------
def climate():
    df = datum.to_pandas("delhi_climate.parquet").iloc[:300].copy()
    df.loc[[0, 13, 200], "temperature"] = np.nan
    return df


@pytest.mark.parametrize("time_ordered", [True, False], ids=["time-ordered", "shuffled"])
def test_a_forecast_splitset_made_step_by_step_equals_pipeline_tabular_make(any_db, time_ordered):
    df = climate()
    feature = Dataset.Tabular.from_pandas(df).make_feature(exclude_columns=["day_of_year"])
    interpolaterset = feature.make_interpolaterset()
    step = interpolaterset.make_featureinterpolater(dtypes=["float64"], interpolate_kwargs=dict(method="linear"))
    assert interpolaterset.featureinterpolaters == [step]
    window = feature.make_window(size_window=10, size_shift=5, time_ordered=time_ordered)
    assert (window.size_window, feature.window["size_shift"]) == (10, 5)
    encoderset = feature.make_encoderset()
    encoderset.make_featurecoder(sklearn_preprocess=StandardScaler(), columns=["wind", "pressure"])
    encoderset.make_featurecoder(sklearn_preprocess=MinMaxScaler(), dtypes=["float64"])
    splitset = Splitset.make(feature_ids=[feature.id], size_test=0.2, size_validation=0.2)
    low = encode(splitset)
    high = assay.Pipeline.Tabular.make(
        df, feature_cols_excluded="day_of_year",
        feature_interpolaters=[dict(dtypes=["float64"], interpolate_kwargs=dict(method="linear"))],
        feature_window=dict(size_window=10, size_shift=5, time_ordered=time_ordered),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), columns=["wind", "pressure"]),
                          dict(sklearn_preprocess=MinMaxScaler(), dtypes=["float64"])],
        size_test=0.2, size_validation=0.2,
    )
    assert low.window == high.window
    assert [i.to_json() for i in low.interpolaters] == [i.to_json() for i in high.interpolaters]
    assert low.features_shape == low.label_shape == (10, 4)
    assert_same_splitset(low, high)
    assert np.isfinite(low.samples_for("train")["features"]).all()


def test_bad_forecast_steps_are_refused_naming_the_parameter(db):
    df = climate()
    dataset = Dataset.Tabular.from_pandas(df)
    feature = dataset.make_feature()
    interpolaterset = feature.make_interpolaterset()
    before = table_counts()
    with pytest.raises(errors.DataError, match=r"columns: \['nope'\] are not feature columns"):
        interpolaterset.make_featureinterpolater(columns=["nope"])
    with pytest.raises(errors.DataError, match="process_separately"):
        interpolaterset.make_featureinterpolater(process_separately=False)
    with pytest.raises(errors.DataError, match=r"size_window: size_window \+ size_shift = 400 is longer"):
        feature.make_window(size_window=300, size_shift=100)
    with pytest.raises(errors.DataError, match="size_shift: must be an integer of at least 1"):
        feature.make_window(size_window=10, size_shift=0)
    sequence = Dataset.Sequence.from_numpy(np.ones((4, 5, 2))).make_feature()
    with pytest.raises(errors.DataError, match=r"^size_window: size_window \+ size_shift = 6 is longer than the "
                                              r"series \(5 rows\)"):  # windows run along a sequence's 5 timesteps
        sequence.make_window(size_window=4, size_shift=2)
    with pytest.raises(errors.DataError, match=r"^dtypes: \['float32'\] matches no feature: every feature of these "
                                              "samples is float64"):
        sequence.make_interpolaterset().make_featureinterpolater(dtypes=["float32"])
    assert sequence.refresh().interpolaters is None
    after = table_counts()  # only the sequence dataset and its feature
    assert {t: after[t] - before[t] for t in after if after[t] != before[t]} == \
        {"dataset": 1, "datasetchunk": 1, "feature": 1}
    before = table_counts()
    feature.make_window(size_window=10, size_shift=5)
    label = dataset.make_label(columns=["humidity"])
    with pytest.raises(errors.SplitError, match=r"label_id: .* pass label_id=None"):
        Splitset.make(feature_ids=[feature.id], label_id=label.id, size_test=0.2)
    with pytest.raises(errors.SplitError, match="unsupervised_stratify_col: assay stratifies on the label only"):
        Splitset.make(feature_ids=[feature.id], size_test=0.2, unsupervised_stratify_col="day_of_year")
    splitset = Splitset.make(feature_ids=[feature.id], size_test=0.2)
    with pytest.raises(errors.SplitError, match="fold_count: folds shuffle windows across time"):
        splitset.make_foldset(fold_count=2)
    with pytest.raises(errors.DataError, match=r"size_window: feature .* has its window already"):
        feature.make_window(size_window=10, size_shift=5)
    after = table_counts()
    assert {t: after[t] - before[t] for t in after if after[t] != before[t]} == {"label": 1, "splitset": 1}


def test_aiqc_keras_tabular_forecast_scenario_runs_as_translated(db):
    pytest.importorskip("assay_keras")
    queue = make_test_queue_keras_tabular_forecast(permute_count=0, hyperparameters={
        "neuron_count": [4], "batch_size": [32], "epochs": [1], "dense_multiplier": [1]})

    summary = queue.run_jobs(progress=False)

    assert summary.failed == 0, queue.status()["errors"]
    splitset = queue.splitset
    assert (splitset.features_shape, splitset.label_shape) == ((28, 5), (28, 5))
    assert [step.columns for step in splitset.interpolaters] == [["temperature", "humidity", "wind", "pressure"]]
    assert np.isfinite(splitset.samples_for("train")["features"]).all()
    assert len(queue.predictors) == 1


# ------------------------ label interpolation ------------------------
def houses_with_gaps():
    """houses.csv with AIQC's gaps (make_test_queue_keras_regression): in the label and three float features."""
    from aiqc_scenarios import REGRESSION_GAPS

    df = datum.to_pandas("houses.csv")
    for column, row in REGRESSION_GAPS:
        df.loc[row, column] = np.nan
    return df


@pytest.mark.parametrize("fold_count", [None, 2], ids=["validation", "folds"])
def test_a_splitset_with_label_gaps_made_step_by_step_equals_pipeline_tabular_make(any_db, fold_count):
    from sklearn.preprocessing import OrdinalEncoder, PowerTransformer

    from assay.objects.aiqc import LabelInterpolater

    df = houses_with_gaps()
    kwargs = dict(method="linear", limit_direction="both", limit_area=None, axis=0, order=1)
    dataset = Dataset.Tabular.from_pandas(df)
    label = dataset.make_label(columns=["price"])
    spec = LabelInterpolater.from_label(label_id=label.id, interpolate_kwargs=kwargs)  # AIQC's spelling
    assert spec == dict(interpolate_kwargs=kwargs) == assay.Label.get(label.id).interpolater
    label.make_labelcoder(sklearn_preprocess=PowerTransformer(method="box-cox"))
    feature = dataset.make_feature(exclude_columns=["price"])
    interpolaterset = feature.make_interpolaterset()
    interpolaterset.make_featureinterpolater(columns="nox")
    interpolaterset.make_featureinterpolater(dtypes="float64")  # the float columns the first step left
    encoderset = feature.make_encoderset()
    encoderset.make_featurecoder(include=False, dtypes=["int64"], sklearn_preprocess=MinMaxScaler())
    encoderset.make_featurecoder(sklearn_preprocess=OrdinalEncoder())
    size_validation = None if fold_count else 0.14
    splitset = Splitset.make(feature_ids=[feature.id], label_id=label.id, size_test=0.18,
                             size_validation=size_validation, bin_count=3)
    if fold_count:
        splitset.make_foldset(fold_count=fold_count, bin_count=3)
    low = encode(splitset)
    high = assay.Pipeline.Tabular.make(
        df, label_column="price", label_encoder=dict(sklearn_preprocess=PowerTransformer(method="box-cox")),
        label_interpolater=dict(interpolate_kwargs=kwargs),
        feature_interpolaters=[dict(columns="nox"), dict(dtypes="float64")],
        feature_encoders=[dict(sklearn_preprocess=MinMaxScaler(), dtypes=["int64"], include=False),
                          dict(sklearn_preprocess=OrdinalEncoder())],
        size_test=0.18, size_validation=size_validation, fold_count=fold_count, bin_count=3,
    )
    assert [i.to_json() for i in low.interpolaters] == [i.to_json() for i in high.interpolaters]
    assert [i.role for i in low.interpolaters] == ["feature", "feature", "label"]
    assert "nox" not in low.interpolaters[1].columns
    assert_same_splitset(low, high)
    for split in low.samples:
        assert np.isfinite(low.samples_for(split)["labels"]).all()
    np.testing.assert_allclose(low.raw_labels(low.samples["train"]), high.raw_labels(high.samples["train"]))


def test_bad_label_interpolation_steps_are_refused_naming_the_parameter(db):
    df = houses_with_gaps()
    df["word"] = np.where(df.index % 2 == 0, "a", "b")
    dataset = Dataset.Tabular.from_pandas(df)
    price, word = dataset.make_label(columns=["price"]), dataset.make_label(columns=["word"])
    feature = dataset.make_feature(exclude_columns=["price", "word"])
    before = table_counts()
    with pytest.raises(errors.SplitError, match=r"label_id: label .* is missing in 'price' \(rows 0, 5, 10\); .*"
                                                r"make_labelinterpolater"):
        Splitset.make(feature_ids=[feature.id], label_id=price.id, size_test=0.2)
    with pytest.raises(errors.DataError, match=r"^label_interpolater: interpolation fills gaps in float columns only"):
        word.make_labelinterpolater()
    with pytest.raises(errors.DataError, match=r"^interpolate_kwargs: 'inplace' is not allowed"):
        price.make_labelinterpolater(interpolate_kwargs=dict(inplace=True))
    with pytest.raises(errors.DataError, match=r"^interpolate_kwargs: .*bogus"):
        price.make_labelinterpolater(interpolate_kwargs=dict(method="bogus"))
    with pytest.raises(errors.DataError, match=r"^process_separately"):
        price.make_labelinterpolater(process_separately=False)
    assert table_counts() == before
    assert assay.Label.get(price.id).interpolater is None
    with pytest.raises(errors.DataError, match=r"^columns: 'price' .*±inf"):
        Dataset.Tabular.from_pandas(df.assign(price=np.inf)).make_label(columns=["price"])

    price.make_labelinterpolater()
    with pytest.raises(errors.DataError, match="has its interpolater already"):
        price.make_labelinterpolater()
    sequence = Dataset.Sequence.from_numpy(np.ones((len(df), 3, 2))).make_feature()
    with pytest.raises(errors.SplitError, match=r"^label_id: label .* has an interpolater"):
        Splitset.make(feature_ids=[feature.id, Dataset.get(price.dataset_id).make_feature(
            include_columns=["rm"]).id], label_id=price.id, size_test=0.2)
    Splitset.make(feature_ids=[sequence.id], label_id=price.id, size_test=0.2)  # filled split by split
    Splitset.make(feature_ids=[feature.id], label_id=price.id, size_test=0.2)
    other = Dataset.Tabular.from_pandas(df.assign(price=df["price"].fillna(1.0))).make_label(columns=["price"])
    Splitset.make(feature_ids=[Dataset.get(other.dataset_id).make_feature(exclude_columns=["price", "word"]).id],
                  label_id=other.id, size_test=0.2)
    with pytest.raises(errors.DataError, match=r"^label_id: splitsets \[\d+\] of label .* make the label interpolater "
                                               "before Splitset.make"):
        other.make_labelinterpolater()


# ------------------------ AIQC's class-method spelling ------------------------
def aiqc_text_binary_as_written(fold_count):
    """AIQC 3.1.1's make_test_queue_keras_text_binary, word for word but for the imports."""
    from aiqc_scenarios import keras_binary_fn_build, keras_binary_fn_train

    from assay.objects.aiqc import (
        Algorithm,
        Dataset,
        Encoderset,
        FeatureEncoder,
        Foldset,
        Hyperparamset,
        Label,
        LabelCoder,
        Queue,
        Splitset,
    )
    from assay.objects.aiqc import Feature as AiqcFeature

    hyperparameters = {"neuron_count": [25], "epochs": [15]}
    file_path = datum.get_path('spam.csv')
    d_id = Dataset.Text.from_path(file_path=file_path, source_file_format='csv', name='text test dataset',
                                  dtype=None).id
    label_column = 'label'
    l_id = Label.from_dataset(dataset_id=d_id, columns=[label_column]).id
    f_id = AiqcFeature.from_dataset(dataset_id=d_id, exclude_columns=[label_column]).id
    if (fold_count is not None):
        size_test = 0.25
        size_validation = None
    elif (fold_count is None):
        size_test = 0.18
        size_validation = 0.14
    s_id = Splitset.make(feature_ids=[f_id], label_id=l_id, size_test=size_test, size_validation=size_validation).id
    if (fold_count is not None):  # noqa: SIM108 (AIQC's text)
        fs_id = Foldset.from_splitset(splitset_id=s_id, fold_count=fold_count).id
    else:
        fs_id = None
    LabelCoder.from_label(label_id=l_id, sklearn_preprocess=LabelBinarizer(sparse_output=False))
    e_id = Encoderset.from_feature(feature_id=f_id).id
    FeatureEncoder.from_encoderset(encoderset_id=e_id, sklearn_preprocess=CountVectorizer(max_features=200),
                                   columns=['TextData'])
    a_id = Algorithm.make(library="keras", analysis_type="classification_binary", fn_build=keras_binary_fn_build,
                          fn_train=keras_binary_fn_train).id
    h_id = Hyperparamset.from_algorithm(algorithm_id=a_id, hyperparameters=hyperparameters).id
    queue = Queue.from_algorithm(algorithm_id=a_id, splitset_id=s_id, foldset_id=fs_id, hyperparamset_id=h_id,
                                 repeat_count=1, permute_count=3)
    return queue


@pytest.mark.parametrize("fold_count", [None, 2], ids=["validation", "folds"])
def test_an_aiqc_script_runs_with_its_imports_changed_and_equals_assay_spelling(db, fold_count):
    pytest.importorskip("assay_keras")
    aiqc = aiqc_text_binary_as_written(fold_count)
    ours = make_test_queue_keras_text_binary(fold_count=fold_count)

    assert aiqc.permute_count == ours.permute_count == 3
    assert aiqc.job_count == ours.job_count == (fold_count or 1)
    assert_same_splitset(aiqc.splitset, ours.splitset)


def test_aiqc_spellings_that_assay_refuses_say_why(db):
    from assay.objects.aiqc import FeatureInterpolater, Interpolaterset, LabelInterpolater

    feature = Dataset.Image.from_files(datum.get_image_files("brain_tumor.csv")[:2]).make_feature()
    interpolaterset = Interpolaterset.from_feature(feature_id=feature.id)
    assert interpolaterset.id == feature.id
    with pytest.raises(errors.DataError, match=r"interpolaterset: .* image data, which has no interpolation"):
        FeatureInterpolater.from_interpolaterset(interpolaterset_id=interpolaterset.id, dtypes="float64")
    label = Dataset.Tabular.from_pandas(pd.DataFrame({"y": [1, 2, 3]})).make_label(columns=["y"])
    with pytest.raises(errors.DataError, match="float columns only"):
        LabelInterpolater.from_label(label_id=label.id, interpolate_kwargs=None)
