"""Multi-input splitsets (``assay.Pipeline.make(inputs=[...])``): a table and a photo per galaxy, one label.

Real Keras and torch training on the built-in galaxy_morphology data (40 galaxies), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from test_pipeline_errors import row_counts

import assay
from assay import datum, errors

ANGLE = dict(sklearn_preprocess=OneHotEncoder(), columns=["angle"])
CLARITY = dict(sklearn_preprocess=StandardScaler(), columns=["clarity"])
PIXELS = dict(sklearn_preprocess=StandardScaler(), axis="channel")


def galaxy_inputs(**image_options):
    galaxies = datum.galaxy_morphology()
    return galaxies, [
        dict(df_or_path=galaxies["table"], feature_encoders=[ANGLE, CLARITY], name="table"),
        dict(feature_folder_or_urls=galaxies["images"], feature_dtype="float32", feature_encoders=[PIXELS],
             name="photo", **image_options),
    ]


def make_galaxies(label_encoder=None, **options):
    galaxies, inputs = galaxy_inputs()
    settings = dict(size_test=0.25, size_validation=0.25)
    settings.update(options)
    return assay.Pipeline.make(
        inputs=inputs, label_df_or_path=galaxies["labels"], label_column="morphology",
        label_encoder=label_encoder or dict(sklearn_preprocess=OneHotEncoder()), **settings)


# --- the splitset ------------------------------------------------------------------------------------------------


def test_features_are_one_array_per_input_in_order_with_a_list_of_shapes(any_db):
    splitset = make_galaxies()
    assert splitset.kind == "multi"
    assert list(splitset.inputs) == ["table", "photo"]
    assert splitset.features_shape == [(3,), (1, 80, 110)]
    samples = splitset.samples_for("train")
    assert isinstance(samples["features"], list)
    table, photo = samples["features"]
    assert table.shape == (20, 3)
    assert photo.shape == (20, 1, 80, 110)
    assert table.dtype == np.float32
    assert photo.dtype == np.float32
    assert samples["labels"].shape == (20, 2)
    assert splitset.feature_columns == ["table: clarity", "table: angle", "photo: L"]
    # loaded back from the database, it is the same splitset
    again = assay.Splitset.get(splitset.id)
    assert [a.shape for a in again.samples_for("test")["features"]] == [(10, 3), (10, 1, 80, 110)]


def test_every_input_shares_the_splits_and_folds_of_the_label(db):
    splitset = make_galaxies(size_validation=None, fold_count=2)
    for name, part in splitset.inputs.items():
        assert part.samples == splitset.samples, name
        for fold_index in range(2):
            for split in ("train", "validation", "test"):
                assert part.row_indices(split, fold_index) == splitset.row_indices(split, fold_index), name
    labels = datum.galaxy_morphology()["labels"]["morphology"]
    rows = splitset.row_indices("test")
    assert list(splitset.raw_labels(rows)) == list(labels.iloc[rows])


def test_each_inputs_encoders_are_fitted_on_the_shared_train_rows_only(db):
    splitset = make_galaxies(size_validation=None, fold_count=2)
    galaxies = datum.galaxy_morphology()
    table = splitset.inputs["table"]
    scaler = next(e for e in table.encoders().features if e.class_name == "StandardScaler").load()
    train = splitset.row_indices("train")
    assert scaler.mean_[0] == pytest.approx(galaxies["table"]["clarity"].iloc[train].mean())
    fold_scaler = next(e for e in table.encoders(1).features if e.class_name == "StandardScaler").load()
    fold_train = splitset.row_indices("train", 1)
    assert fold_scaler.mean_[0] == pytest.approx(galaxies["table"]["clarity"].iloc[fold_train].mean())
    photo_train = splitset.samples_for("train")["features"][1]
    assert abs(float(photo_train.mean())) < 1e-3  # scaled on these very rows
    assert abs(float(splitset.samples_for("test")["features"][1].mean())) > 1e-3


def test_a_single_input_splitset_is_unchanged(db):
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()), size_test=0.2)
    assert splitset.kind == "tabular"
    assert splitset.inputs == {}
    assert splitset.features_shape == (4,)
    assert isinstance(splitset.samples_for("train")["features"], np.ndarray)


# --- bad input: clear errors, nothing written --------------------------------------------------------------------


def _refused(match, error=errors.ValidationError, **overrides):
    galaxies, inputs = galaxy_inputs()
    kwargs = dict(inputs=inputs, label_df_or_path=galaxies["labels"], label_column="morphology", size_test=0.25,
                  label_encoder=dict(sklearn_preprocess=OneHotEncoder()))
    kwargs.update(overrides)
    before = row_counts()
    with pytest.raises(error, match=match):
        assay.Pipeline.make(**kwargs)
    assert row_counts() == before


def test_inputs_of_different_sample_counts_are_refused_naming_the_input(any_db):
    galaxies, inputs = galaxy_inputs()
    inputs[1]["feature_folder_or_urls"] = galaxies["images"][:30]
    _refused(r"inputs\[1\]: input 'photo' has 30 samples but input 'table' has 40", errors.DataError, inputs=inputs)


def test_labels_of_another_count_than_the_inputs_are_refused(db):
    galaxies, _ = galaxy_inputs()
    _refused(r"label_df_or_path: has 39 rows but there are 40 samples", errors.DataError,
             label_df_or_path=galaxies["labels"].iloc[:39])


def test_text_labels_without_an_encoder_are_refused_before_any_input_is_fitted(db):
    _refused(r"label_encoder: the label's classes \['bar', 'spiral'\] are not class indices", errors.EncoderError,
             label_encoder=None)


def test_a_text_column_without_an_encoder_is_refused_naming_the_input(db):
    _galaxies, inputs = galaxy_inputs()
    inputs[0]["feature_encoders"] = [CLARITY]  # 'angle' is text and nothing encodes it
    _refused(r"inputs\[0\]\..*angle", inputs=inputs)


@pytest.mark.parametrize(("inputs", "match"), [
    ([dict(df_or_path=pd.DataFrame({"x": [1.0]})), dict(df_or_path=pd.DataFrame({"y": [1.0]}))],
     r"label_df_or_path: has 40 rows but there are 1 samples"),
    ("table", r"inputs: give a list of two or more inputs"),
    ([dict(df_or_path=pd.DataFrame({"x": [1.0]}))], r"inputs: give a list of two or more inputs"),
    ([dict(df_or_path=pd.DataFrame({"x": [1.0]})), dict(pixels=[1])], r"inputs\[1\]: name its data"),
    ([dict(df_or_path=pd.DataFrame({"x": [1.0]}), name="a"), dict(df_or_path=pd.DataFrame({"y": [1.0]}), name="a")],
     r"inputs\[1\]\.name: 'a' names two inputs"),
    ([dict(df_or_path=pd.DataFrame({"x": [1.0]}), axis="pixel"), dict(df_or_path=pd.DataFrame({"y": [1.0]}))],
     r"inputs\[0\]: \['axis'\] are not options of a tabular input"),
])
def test_malformed_inputs_are_refused_before_anything_is_read(db, inputs, match):
    _refused(match, inputs=inputs)


def test_an_input_option_error_names_the_input_and_its_parameter(db):
    _galaxies, inputs = galaxy_inputs()
    inputs[1]["feature_encoders"] = [dict(sklearn_preprocess=StandardScaler(), axis="row")]
    _refused(r"inputs\[1\]\.feature_encoders\[0\]", inputs=inputs)


# --- training through both backends ------------------------------------------------------------------------------


def keras_build(features_shape, label_shape, **hp):
    import keras

    table_shape, photo_shape = features_shape
    table, photo = keras.Input(table_shape), keras.Input(photo_shape)
    pooled = keras.layers.Flatten()(keras.layers.MaxPooling2D(8)(photo))
    joined = keras.layers.Concatenate()([keras.layers.Dense(4, activation="relu")(table),
                                         keras.layers.Dense(4, activation="relu")(pooled)])
    return keras.Model([table, photo], keras.layers.Dense(label_shape[0], activation="softmax")(joined))


def keras_build_single(features_shape, label_shape, **hp):
    import keras

    return keras.Sequential([keras.Input(features_shape[0]), keras.layers.Dense(label_shape[0], activation="softmax")])


def keras_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    model.compile(loss=loser, optimizer=optimizer, metrics=["accuracy"])
    model.fit(samples_train["features"], samples_train["labels"], batch_size=8, epochs=hp["epoch_count"], verbose=0,
              validation_data=(samples_evaluate["features"], samples_evaluate["labels"]))
    return model


def torch_build(features_shape, label_shape, **hp):
    import torch
    from torch import nn

    (table_width,), (channels, _, _) = features_shape

    class Galaxy(nn.Module):
        def __init__(self):
            super().__init__()
            self.table = nn.Linear(table_width, 4)
            self.photo = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(channels * 16, 4))
            self.out = nn.Sequential(nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid())

        def forward(self, x_table, x_photo):
            return self.out(torch.cat([self.table(x_table), self.photo(x_photo)], dim=1))

    return Galaxy()


def torch_build_single(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0][0], 1), nn.Sigmoid())


def torch_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate,
                                  epochs=hp["epoch_count"], batch_size=8)


def _keras_queue(splitset, fn_build=keras_build):
    pytest.importorskip("assay_keras")
    return assay.Experiment.make(library="keras", analysis_type="classification_binary", fn_build=fn_build,
                                 fn_train=keras_train, hyperparameters={"epoch_count": [2]}, splitset_id=splitset.id)


def test_a_two_input_keras_model_trains_and_every_split_is_predicted_with_metrics(db, tmp_path):
    splitset = make_galaxies()
    queue = _keras_queue(splitset)
    queue.run_jobs()
    assert queue.status()["succeeded"] == 1
    [predictor] = queue.predictors
    assert predictor.features_shape == [[3], [80, 110, 1]]  # the photo channels last, as Keras takes them
    assert set(predictor.predictions) == {"train", "validation", "test"}
    assert "accuracy" in predictor.predictions["test"].metrics
    assert set(np.unique(predictor.predictions["test"].predictions)) <= {"bar", "spiral"}
    assert len(predictor.predictions["test"].predictions) == 10
    importance = predictor.feature_importance(split="test", permutation_count=2)
    assert sorted(importance["feature"]) == ["photo: L", "table: angle", "table: clarity"]
    sampled = predictor.feature_importance(split="test", permutation_count=2, sample_rows=4)  # every input alike
    assert sorted(sampled["feature"]) == sorted(importance["feature"])
    assert sampled.attrs["sample_rows"] == 4
    assert sampled.attrs["baseline"] == pytest.approx(importance.attrs["baseline"])
    report = queue.report(tmp_path / "report.html")  # the queue's metrics and plots, as for one input
    assert "Best models" in Path(report).read_text(encoding="utf-8")


def test_inference_on_new_raw_data_of_both_inputs_reproduces_the_stored_predictions(db):
    splitset = make_galaxies()
    queue = _keras_queue(splitset)
    queue.run_jobs()
    [predictor] = queue.predictors
    galaxies = datum.galaxy_morphology()
    stored = predictor.predictions["test"]
    rows = splitset.row_indices("test")
    table, images = galaxies["table"].iloc[rows], [galaxies["images"][i] for i in rows]
    as_list = predictor.infer([table, images], label_df_or_path=galaxies["labels"].iloc[rows])
    assert list(as_list["prediction"]) == list(stored.predictions)
    assert as_list.attrs["metrics"]["accuracy"] == pytest.approx(stored.metrics["accuracy"])
    by_name = predictor.infer({"photo": images, "table": table})
    assert list(by_name["prediction"]) == list(stored.predictions)
    assert np.allclose(by_name["probability_spiral"], as_list["probability_spiral"])


def test_inference_refuses_data_that_does_not_fit_the_inputs_and_stores_nothing(db):
    splitset = make_galaxies()
    queue = _keras_queue(splitset)
    queue.run_jobs()
    [predictor] = queue.predictors
    galaxies = datum.galaxy_morphology()
    table, images = galaxies["table"], galaxies["images"]
    before = row_counts()
    with pytest.raises(errors.SchemaMismatchError, match=r"df_or_path: the model takes 2 inputs \['table', 'photo'\]"):
        predictor.infer(table)
    with pytest.raises(errors.DataError, match=r"df_or_path\[1\]: input 'photo' has 5 samples but input 'table' has 6"):
        predictor.infer([table.iloc[:6], images[:5]])
    with pytest.raises(errors.SchemaMismatchError, match=r"df_or_path\[0\] \(input 'table'\).*angle"):
        predictor.infer([table[["clarity"]], images])
    assert row_counts() == before


def test_a_single_input_keras_model_fails_its_job_naming_the_shapes(db):
    splitset = make_galaxies()
    queue = _keras_queue(splitset, keras_build_single)
    queue.run_jobs()  # the failure is the job's, not the queue's
    status = queue.status()
    assert status["failed"] == 1
    [message] = status["errors"].values()
    assert "2 inputs of shapes [(3,), (80, 110, 1)]" in message
    assert "takes 1 input(s)" in message


def test_a_torch_module_with_forward_of_two_tensors_trains_on_every_fold(db):
    pytest.importorskip("assay_torch")
    splitset = make_galaxies(label_encoder=dict(sklearn_preprocess=OrdinalEncoder()), size_validation=None,
                             fold_count=2)
    queue = assay.Experiment.make(library="torch", analysis_type="classification_binary", fn_build=torch_build,
                                  fn_train=torch_train, hyperparameters={"epoch_count": [2]}, splitset_id=splitset.id)
    queue.run_jobs()
    assert queue.status()["succeeded"] == 2
    for predictor in queue.predictors:
        assert predictor.features_shape == [[3], [1, 80, 110]]  # torch keeps channels first
        assert len(predictor.history["loss"]) == 2
        assert set(predictor.predictions) == {"train", "validation", "test"}
    predictor = queue.predictors[1]
    rows = splitset.row_indices("validation", 1)
    galaxies = datum.galaxy_morphology()
    inferred = predictor.infer([galaxies["table"].iloc[rows], [galaxies["images"][i] for i in rows]])
    assert list(inferred["prediction"]) == list(predictor.predictions["validation"].predictions)


def test_a_torch_module_taking_one_tensor_fails_its_job_naming_the_shapes(db):
    pytest.importorskip("assay_torch")
    splitset = make_galaxies(label_encoder=dict(sklearn_preprocess=OrdinalEncoder()))
    queue = assay.Experiment.make(library="torch", analysis_type="classification_binary",
                                  fn_build=torch_build_single, fn_train=torch_train,
                                  hyperparameters={"epoch_count": [1]}, splitset_id=splitset.id)
    queue.run_jobs()
    [message] = queue.status()["errors"].values()
    assert "2 inputs of shapes [(3,), (1, 80, 110)]" in message
    assert "cannot take 2 tensors" in message


def test_a_bundle_records_the_inputs_and_predicts_both_without_the_database(db, tmp_path):
    splitset = make_galaxies()
    queue = _keras_queue(splitset)
    queue.run_jobs()
    [predictor] = queue.predictors
    path = predictor.export(tmp_path / "galaxy.assay")
    bundle = assay.load_bundle(path)
    assert [(one.name, one.kind) for one in bundle.manifest.inputs] == [("table", "tabular"), ("photo", "image")]
    assert bundle.manifest.inputs[0].schema.feature_columns == ["clarity", "angle"]
    assert bundle.manifest.features_shape == [[3], [80, 110, 1]]
    galaxies = datum.galaxy_morphology()
    rows = splitset.row_indices("test")
    table, images = galaxies["table"].iloc[rows], [galaxies["images"][i] for i in rows]
    predicted = bundle.predict([table, images], label_df_or_path=galaxies["labels"].iloc[rows])
    assert list(predicted["prediction"]) == list(predictor.predictions["test"].predictions)
    assert predicted.attrs["metrics"]["accuracy"] == pytest.approx(predictor.predictions["test"].metrics["accuracy"])
    with pytest.raises(errors.SchemaMismatchError, match=r"df\[1\] \(input 'photo'\)"):
        bundle.predict([table, np.zeros((len(rows), 1, 8, 8))])
    # a damaged inputs section is refused naming the field, as the rest of the manifest
    from test_inference_edges import with_manifest

    for change, fragment in [
        (lambda m: m["inputs"][1].update(kind=3), "inputs[1].kind: expected a string"),
        (lambda m: m["inputs"][0]["encoders"]["features"][0].update(file="encoders/gone.bin"),
         "is incomplete: it lacks ['encoders/gone.bin']"),
    ]:
        with pytest.raises(errors.BundleError) as caught:
            assay.load_bundle(with_manifest(path, tmp_path, change))
        assert fragment in str(caught.value)
    # the command line takes one path per input, in input order
    import shutil

    from assay import cli

    folder = tmp_path / "photos"
    folder.mkdir()
    for position, image in enumerate(images):
        shutil.copyfile(image, folder / f"{position:03d}.jpeg")  # read sorted by name: the rows' order
    table.to_csv(tmp_path / "table.csv", index=False)
    output = tmp_path / "predicted.csv"
    assert cli.main(["predict", str(path), str(tmp_path / "table.csv"), str(folder), "-o", str(output)]) == 0
    assert list(pd.read_csv(output)["prediction"]) == list(predicted["prediction"])
    assert cli.main(["predict", str(path), str(tmp_path / "table.csv")]) != 0  # one path for two inputs


def test_keyed_tables_must_list_the_label_tables_samples_in_the_same_order(db):
    galaxies, inputs = galaxy_inputs()
    ids = [f"g{i}" for i in range(40)]
    labels = galaxies["labels"].assign(galaxy=ids)
    inputs[0]["df_or_path"] = galaxies["table"].assign(galaxy=ids)
    splitset = assay.Pipeline.make(inputs=inputs, label_df_or_path=labels, label_column="morphology",
                                   label_encoder=dict(sklearn_preprocess=OrdinalEncoder()), key_column="galaxy",
                                   size_test=0.25)
    assert splitset.inputs["table"].feature_columns == ["clarity", "angle"]  # the key is no feature
    shuffled = galaxies["table"].assign(galaxy=ids).iloc[::-1].reset_index(drop=True)
    inputs[0]["df_or_path"] = shuffled
    _refused(r"inputs\[0\]: row 0 has galaxy='g39' but the label table has 'g0' \(40 rows differ\)",
             errors.DataError, inputs=inputs, label_df_or_path=labels, key_column="galaxy")
    _refused(r"key_column: 'id' must be a column of the label table", errors.DataError, inputs=inputs,
             label_df_or_path=labels, key_column="id")


def test_a_sequence_input_beside_a_table_trains_with_torch_and_infers(db):
    pytest.importorskip("assay_torch")
    rng = np.random.default_rng(0)
    readings = rng.normal(size=(40, 6, 2))
    labels = pd.DataFrame({"rising": (readings[:, -1, 0] > readings[:, 0, 0]).astype(int)})
    table = pd.DataFrame({"size": rng.normal(size=40)})
    splitset = assay.Pipeline.make(
        inputs=[dict(df_or_path=table), dict(feature_ndarray3D_or_npyPath=readings, feature_cols_excluded=[1],
                                             feature_encoders=[dict(sklearn_preprocess=StandardScaler())])],
        label_df_or_path=labels, label_column="rising", size_test=0.25)
    assert splitset.features_shape == [(1,), (6, 1)]

    def fn_build(features_shape, label_shape, **hp):
        import torch
        from torch import nn

        class Both(nn.Module):
            def __init__(self):
                super().__init__()
                self.out = nn.Sequential(nn.Linear(1 + 6, 1), nn.Sigmoid())

            def forward(self, x_table, x_sequence):
                return self.out(torch.cat([x_table, x_sequence.flatten(1)], dim=1))

        return Both()

    queue = assay.Experiment.make(library="torch", analysis_type="classification_binary", fn_build=fn_build,
                                  fn_train=torch_train, hyperparameters={"epoch_count": [2]}, splitset_id=splitset.id)
    queue.run_jobs()
    [predictor] = queue.predictors
    rows = splitset.row_indices("test")
    inferred = predictor.infer({"tabular": table.iloc[rows], "sequence": readings[rows]})
    assert list(inferred["prediction"]) == list(predictor.predictions["test"].predictions)
    importance = predictor.feature_importance(split="test", permutation_count=1)
    assert sorted(importance["feature"]) == ["sequence: feature_0", "tabular: size"]
    with pytest.raises(errors.SchemaMismatchError, match=r"df_or_path\[1\] \(input 'sequence'\).*\(6, 2\)"):
        predictor.infer([table.iloc[rows], readings[rows][:, :3]])


def test_the_label_column_in_a_table_input_is_never_a_feature_and_inference_takes_the_table_with_it(db):
    # the natural call passes one DataFrame as a table input and as the label table: training on its label
    # column would leak the answer into the features
    pytest.importorskip("assay_torch")
    rng = np.random.default_rng(0)
    readings = rng.normal(size=(40, 6, 2))
    table = pd.DataFrame({"size": rng.normal(size=40), "rising": (readings[:, -1, 0] > 0).astype(int)})
    splitset = assay.Pipeline.make(
        inputs=[dict(df_or_path=table), dict(feature_ndarray3D_or_npyPath=readings)],
        label_df_or_path=table, label_column="rising", size_test=0.25)

    assert splitset.features_shape == [(1,), (6, 2)]
    assert dict(splitset.inputs)["tabular"].feature_columns == ["size"]

    def fn_build(features_shape, label_shape, **hp):
        import torch
        from torch import nn

        class Both(nn.Module):
            def __init__(self):
                super().__init__()
                self.out = nn.Sequential(nn.Linear(1 + 12, 1), nn.Sigmoid())

            def forward(self, x_table, x_sequence):
                return self.out(torch.cat([x_table, x_sequence.flatten(1)], dim=1))

        return Both()

    queue = assay.Experiment.make(library="torch", analysis_type="classification_binary", fn_build=fn_build,
                                  fn_train=torch_train, hyperparameters={"epoch_count": [1]}, splitset_id=splitset.id)
    queue.run_jobs()
    [predictor] = queue.predictors
    rows = splitset.row_indices("test")
    with_label = predictor.infer([table.iloc[rows], readings[rows]])
    without = predictor.infer([table.iloc[rows].drop(columns="rising"), readings[rows]])
    assert list(with_label["prediction"]) == list(without["prediction"]) == list(
        predictor.predictions["test"].predictions)


def test_a_list_of_inputs_given_to_a_single_input_model_is_refused_naming_its_shape(db):
    pytest.importorskip("assay_torch")
    df = datum.to_pandas("iris.tsv")
    splitset = assay.Pipeline.Tabular.make(df_or_path=df, label_column="species",
                                           label_encoder=dict(sklearn_preprocess=OrdinalEncoder()), size_test=0.2)

    def fn_build(features_shape, label_shape, **hp):
        from torch import nn

        return nn.Linear(features_shape[0], label_shape[0])

    queue = assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=fn_build,
                                  fn_train=torch_train, hyperparameters={"epoch_count": [1]}, splitset_id=splitset.id)
    queue.run_jobs()
    [predictor] = queue.predictors
    before = row_counts()
    with pytest.raises(errors.SchemaMismatchError, match=r"a list of 2 inputs, but predictor 1 takes one input of "
                                                         r"shape \(4,\)"):
        predictor.infer([df, df])
    assert row_counts() == before


# --- the step-by-step API ----------------------------------------------------------------------------------------


def test_splitset_make_with_several_feature_ids_makes_a_multi_input_splitset_step_by_step(db):
    pytest.importorskip("assay_torch")
    from assay import Dataset, Splitset

    dataset = Dataset.Tabular.from_pandas(dataframe=datum.to_pandas("iris.tsv"))
    label = dataset.make_label(columns=["species"])
    sepals = dataset.make_feature(include_columns=["sepal_length", "sepal_width"])
    petals = dataset.make_feature(include_columns=["petal_length", "petal_width"])
    splitset = Splitset.make(feature_ids=[sepals.id, petals.id], label_id=label.id, size_test=0.2)
    splitset.make_foldset(fold_count=2)
    label.make_labelcoder(sklearn_preprocess=OrdinalEncoder())
    sepals.make_encoderset().make_featurecoder(sklearn_preprocess=StandardScaler())

    def fn_build(features_shape, label_shape, **hp):
        import torch
        from torch import nn

        class Flowers(nn.Module):
            def __init__(self):
                super().__init__()
                self.out = nn.Linear(features_shape[0][0] + features_shape[1][0], 3)

            def forward(self, x_sepals, x_petals):
                return self.out(torch.cat([x_sepals, x_petals], dim=1))

        return Flowers()

    queue = assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=fn_build,
                                  fn_train=torch_train, hyperparameters={"epoch_count": [2]}, splitset_id=splitset.id)
    queue.run_jobs()
    assert queue.status()["succeeded"] == 2  # one per fold
    encoded = assay.Splitset.get(splitset.id)
    assert list(encoded.inputs) == ["tabular_0", "tabular_1"]
    assert encoded.features_shape == [(2,), (2,)]
    for part in encoded.inputs.values():
        assert part.row_indices("validation", 1) == encoded.row_indices("validation", 1)
    train = encoded.samples_for("train", 0)["features"][0]
    assert np.allclose(train.mean(axis=0), 0, atol=1e-5)  # scaled on fold 0's train rows
    importance = queue.predictors[0].feature_importance(split="test", permutation_count=1)
    assert "tabular_1: petal_length" in set(importance["feature"])


def test_splitset_make_refuses_features_of_another_row_count_and_writes_nothing(db):
    from assay import Dataset, Splitset

    iris = datum.to_pandas("iris.tsv")
    dataset = Dataset.Tabular.from_pandas(dataframe=iris)
    label = dataset.make_label(columns=["species"])
    feature = dataset.make_feature(exclude_columns=["species"])
    shorter = Dataset.Tabular.from_pandas(dataframe=iris.iloc[:100]).make_feature(exclude_columns=["species"])
    before = row_counts()
    with pytest.raises(errors.SplitError, match=r"feature_ids\[1\]: feature \d+ has 100 rows but the label's dataset "
                                                r"has 150"):
        Splitset.make(feature_ids=[feature.id, shorter.id], label_id=label.id, size_test=0.2)
    with pytest.raises(errors.SplitError, match=r"label_id: several feature inputs are aligned by their label"):
        Splitset.make(feature_ids=[feature.id, shorter.id])
    assert row_counts() == before
