"""AIQC 3.1.1's ``make_test_queue_*`` scenarios (``aiqc/tests/__init__.py``), translated to assay.

Each builds its queue step by step through the low-level API exactly as AIQC's did, with ``aiqc`` changed to
``assay`` and AIQC's class-method spellings (``Label.from_dataset(dataset_id=...)``) written as assay's object
methods (``dataset.make_label(...)``; AIQC's own spelling runs too, through ``assay.objects.aiqc``). Other
changes, each needed by today's libraries or by a test budget:

* ``OneHotEncoder(sparse=False)`` is ``OneHotEncoder(sparse_output=False)`` (scikit-learn renamed it);
* ``tf.keras`` is ``keras`` (Keras 3), and the torch ``fn_train``s call ``assay_torch.fit`` instead of AIQC's
  ``torch_batcher`` + torchmetrics loop;
* ``hyperparameters=`` overrides AIQC's grid, so tests train a few small models instead of dozens of 100-epoch
  ones (AIQC's grids are the defaults);
* Keras layers get their input shape from ``keras.Input`` (Keras 3 warns about ``input_shape=``);
* images: AIQC downloads them (``Dataset.Image.from_urls_pillow(urls=datum.get_remote_urls(...))``); assay
  never downloads, and its ``datum.get_remote_urls`` gives the same images' local files, in the label file's
  order, so that spelling runs as written. Keras gets images channels last, ``features_shape = (height, width,
  channels)``, where AIQC's was channels first: the Keras image model reshapes ``features_shape[0], features_shape[1]``;
* ``Splitset.make(..., unsupervised_stratify_col="day_of_year")`` is left out of the tabular forecast: assay
  splits forecast windows in time order (test last, so no window trains on the future) and refuses the
  parameter, saying so; its ``fn_train`` fits the labels (the windows ``size_shift`` rows later) where AIQC's
  fitted the features themselves.

Module level, so worker processes can load the functions.
"""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import (
    LabelBinarizer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PowerTransformer,
    RobustScaler,
    StandardScaler,
)

from assay import Algorithm, Dataset, Experiment, Pipeline, Splitset, datum


def _splits(fold_count):
    if fold_count is not None:
        return 0.25, None
    return 0.18, 0.14


# ------------------------ KERAS TABULAR MULTICLASS ------------------------
def keras_multiclass_fn_build(features_shape, label_shape, **hp):
    import keras
    from keras import layers

    model = keras.models.Sequential()
    model.add(layers.Dense(units=features_shape[0], activation="relu", kernel_initializer="he_uniform"))
    model.add(layers.Dropout(0.2))
    model.add(layers.Dense(units=hp["neuron_count"], activation="relu", kernel_initializer="he_uniform"))
    model.add(layers.Dense(units=label_shape[0], activation="softmax"))
    return model


def keras_multiclass_fn_optimize(**hp):
    import keras

    return keras.optimizers.Adamax(hp["learning_rate"])


def keras_multiclass_fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import keras

    model.compile(loss=loser, optimizer=optimizer, metrics=["accuracy"])
    model.fit(samples_train["features"], samples_train["labels"],
              validation_data=(samples_evaluate["features"], samples_evaluate["labels"]),
              verbose=0, batch_size=hp["batch_size"], epochs=hp["epoch_count"],
              callbacks=[keras.callbacks.History()])
    return model


def make_test_queue_keras_multiclass(repeat_count=1, fold_count=None, permute_count=3, hyperparameters=None):
    hyperparameters = hyperparameters or {
        "neuron_count": [9, 12], "batch_size": [3], "learning_rate": [0.03, 0.05], "epoch_count": [30, 60],
    }
    file_path = datum.get_path("iris_10x.tsv" if fold_count is not None else "iris.tsv")
    dataset = Dataset.Tabular.from_path(file_path=file_path, source_file_format="tsv", dtype=None)
    label_column = "species"
    label = dataset.make_label(columns=[label_column])
    feature = dataset.make_feature(exclude_columns=[label_column])
    size_test, size_validation = _splits(fold_count)
    splitset = Splitset.make(feature_ids=[feature.id], label_id=label.id, size_test=size_test,
                             size_validation=size_validation)
    foldset_id = splitset.make_foldset(fold_count=fold_count).id if fold_count is not None else None
    encoderset = feature.make_encoderset()
    label.make_labelcoder(sklearn_preprocess=OneHotEncoder(sparse_output=False))
    encoderset.make_featurecoder(sklearn_preprocess=StandardScaler(copy=False), columns=["petal_width"])
    encoderset.make_featurecoder(sklearn_preprocess=StandardScaler(copy=False), dtypes=["float64"])
    algorithm = Algorithm.make(library="keras", analysis_type="classification_multi",
                               fn_build=keras_multiclass_fn_build, fn_optimize=keras_multiclass_fn_optimize,
                               fn_train=keras_multiclass_fn_train)
    hyperparamset = algorithm.make_hyperparamset(hyperparameters=hyperparameters)
    return algorithm.make_queue(splitset_id=splitset.id, foldset_id=foldset_id, hyperparamset_id=hyperparamset.id,
                                repeat_count=repeat_count)


# ------------------------ KERAS TABULAR BINARY ------------------------
def keras_binary_fn_build(features_shape, label_shape, **hp):
    import keras
    from keras import layers

    model = keras.models.Sequential()
    model.add(layers.Dense(hp["neuron_count"], activation="relu", kernel_initializer="he_uniform"))
    model.add(layers.Dropout(0.30))
    model.add(layers.Dense(hp["neuron_count"], activation="relu", kernel_initializer="he_uniform"))
    model.add(layers.Dropout(0.30))
    model.add(layers.Dense(hp["neuron_count"], activation="relu", kernel_initializer="he_uniform"))
    model.add(layers.Dense(units=label_shape[0], activation="sigmoid", kernel_initializer="glorot_uniform"))
    return model


def keras_binary_fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import keras

    model.compile(loss=loser, optimizer=optimizer, metrics=["accuracy"])
    model.fit(samples_train["features"], samples_train["labels"],
              validation_data=(samples_evaluate["features"], samples_evaluate["labels"]),
              verbose=0, batch_size=3, epochs=hp["epochs"], callbacks=[keras.callbacks.History()])
    return model


def make_test_queue_keras_binary(repeat_count=1, fold_count=None, permute_count=3, hyperparameters=None):
    hyperparameters = hyperparameters or {"neuron_count": [25, 50], "epochs": [75, 150]}
    file_path = datum.get_path("sonar.csv")
    dataset = Dataset.Tabular.from_path(file_path=file_path, source_file_format="csv", name="rocks n radio",
                                        dtype=None)
    label_column = "object"
    label = dataset.make_label(columns=[label_column])
    feature = dataset.make_feature(exclude_columns=[label_column])
    size_test, size_validation = _splits(fold_count)
    splitset = Splitset.make(feature_ids=[feature.id], label_id=label.id, size_test=size_test,
                             size_validation=size_validation)
    foldset_id = splitset.make_foldset(fold_count=fold_count).id if fold_count is not None else None
    label.make_labelcoder(sklearn_preprocess=LabelBinarizer(sparse_output=False))
    encoderset = feature.make_encoderset()
    encoderset.make_featurecoder(sklearn_preprocess=PowerTransformer(method="yeo-johnson", copy=False),
                                 dtypes=["float64"])
    algorithm = Algorithm.make(library="keras", analysis_type="classification_binary",
                               fn_build=keras_binary_fn_build, fn_train=keras_binary_fn_train)
    hyperparamset = algorithm.make_hyperparamset(hyperparameters=hyperparameters)
    return algorithm.make_queue(splitset_id=splitset.id, foldset_id=foldset_id, hyperparamset_id=hyperparamset.id,
                                repeat_count=repeat_count, permute_count=permute_count)


# ------------------------ KERAS TEXT BINARY ------------------------
def make_test_queue_keras_text_binary(repeat_count=1, fold_count=None, permute_count=3, hyperparameters=None):
    hyperparameters = hyperparameters or {"neuron_count": [25], "epochs": [15]}
    file_path = datum.get_path("spam.csv")
    dataset = Dataset.Text.from_path(file_path=file_path, source_file_format="csv", name="text test dataset",
                                     dtype=None)
    label_column = "label"
    label = dataset.make_label(columns=[label_column])
    feature = dataset.make_feature(exclude_columns=[label_column])
    size_test, size_validation = _splits(fold_count)
    splitset = Splitset.make(feature_ids=[feature.id], label_id=label.id, size_test=size_test,
                             size_validation=size_validation)
    foldset_id = splitset.make_foldset(fold_count=fold_count).id if fold_count is not None else None
    label.make_labelcoder(sklearn_preprocess=LabelBinarizer(sparse_output=False))
    encoderset = feature.make_encoderset()
    encoderset.make_featurecoder(sklearn_preprocess=CountVectorizer(max_features=200), columns=["TextData"])
    algorithm = Algorithm.make(library="keras", analysis_type="classification_binary",
                               fn_build=keras_binary_fn_build, fn_train=keras_binary_fn_train)
    hyperparamset = algorithm.make_hyperparamset(hyperparameters=hyperparameters)
    return algorithm.make_queue(splitset_id=splitset.id, foldset_id=foldset_id, hyperparamset_id=hyperparamset.id,
                                repeat_count=repeat_count, permute_count=permute_count)


# ------------------------ KERAS TABULAR REGRESSION ------------------------
def keras_regression_fn_build(features_shape, label_shape, **hp):
    import keras
    from keras import layers

    model = keras.models.Sequential()
    model.add(layers.Dense(units=hp["neuron_count"], kernel_initializer="normal", activation="relu"))
    model.add(layers.Dropout(0.15))
    model.add(layers.Dense(units=hp["neuron_count"], kernel_initializer="normal", activation="relu"))
    model.add(layers.Dense(units=label_shape[0], kernel_initializer="normal"))
    return model


def keras_regression_fn_optimize(**hp):
    import keras

    return keras.optimizers.RMSprop()


def keras_regression_fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import keras

    model.compile(loss=loser, optimizer=optimizer, metrics=["mean_squared_error"])
    model.fit(samples_train["features"], samples_train["labels"],
              validation_data=(samples_evaluate["features"], samples_evaluate["labels"]),
              verbose=0, batch_size=3, epochs=hp["epochs"], callbacks=[keras.callbacks.History()])
    return model


#: AIQC's gaps in houses.csv: (column, row)
REGRESSION_GAPS = [("price", 0), ("price", 5), ("price", 10), ("nox", 5), ("indus", 10), ("age", 19)]


def make_test_queue_keras_regression(repeat_count=1, fold_count=None, permute_count=3, hyperparameters=None):
    hyperparameters = hyperparameters or {"neuron_count": [24], "epochs": [10]}
    df = datum.to_pandas("houses.csv")
    # testing Labelpolater (we don't have a regression-sequence example yet), then Featurepolater 2D
    for column, row in REGRESSION_GAPS:
        df.loc[row, column] = np.nan

    dataset = Dataset.Tabular.from_pandas(dataframe=df)
    label_column = "price"
    label = dataset.make_label(columns=[label_column])
    label.make_labelinterpolater(interpolate_kwargs=dict(method="linear", limit_direction="both", limit_area=None,
                                                         axis=0, order=1))
    label.make_labelcoder(sklearn_preprocess=PowerTransformer(method="box-cox", copy=False))

    feature = dataset.make_feature(exclude_columns=[label_column])
    interpolaterset = feature.make_interpolaterset()
    interpolaterset.make_featureinterpolater(columns="nox")
    interpolaterset.make_featureinterpolater(dtypes="float64")

    encoderset = feature.make_encoderset()
    encoderset.make_featurecoder(include=False, dtypes=["int64"], sklearn_preprocess=MinMaxScaler(copy=False))
    # Expect double None (dtypes,columns) to use all columns because nothing is excluded.
    encoderset.make_featurecoder(include=False, dtypes=None, columns=None, sklearn_preprocess=OrdinalEncoder())

    size_test, size_validation = _splits(fold_count)
    splitset = Splitset.make(feature_ids=[feature.id], label_id=label.id, size_test=size_test,
                             size_validation=size_validation, bin_count=3)
    foldset_id = None
    if fold_count is not None:
        foldset_id = splitset.make_foldset(fold_count=fold_count, bin_count=3).id

    algorithm = Algorithm.make(library="keras", analysis_type="regression", fn_build=keras_regression_fn_build,
                               fn_train=keras_regression_fn_train, fn_optimize=keras_regression_fn_optimize)
    hyperparamset = algorithm.make_hyperparamset(hyperparameters=hyperparameters)
    return algorithm.make_queue(splitset_id=splitset.id, foldset_id=foldset_id, hyperparamset_id=hyperparamset.id,
                                repeat_count=repeat_count, permute_count=permute_count)


# ------------------------ PYTORCH TABULAR (binary, multi-class, regression) ------------------------
def torch_fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate,
                                  epochs=hp.get("epoch_count", 2), batch_size=hp.get("batch_size", 5), seed=0)


def pytorch_binary_fn_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], 12), nn.BatchNorm1d(12, 12), nn.ReLU(), nn.Dropout(p=0.5),
                         nn.Linear(12, label_shape[0]), nn.Sigmoid())


def pytorch_binary_fn_optimize(model, **hp):
    import torch

    return torch.optim.Adamax(model.parameters(), lr=hp["learning_rate"])


def make_test_queue_pytorch_binary(repeat_count=1, fold_count=None, permute_count=3, hyperparameters=None):
    file_path = datum.get_path("sonar.csv")
    dataset = Dataset.Tabular.from_path(file_path=file_path, source_file_format="csv", name="rocks n radio",
                                        dtype=None)
    label_column = "object"
    label = dataset.make_label(columns=[label_column])
    feature = dataset.make_feature(exclude_columns=[label_column])
    size_test, size_validation = _splits(fold_count)
    splitset = Splitset.make(feature_ids=[feature.id], label_id=label.id, size_test=size_test,
                             size_validation=size_validation)
    foldset_id = splitset.make_foldset(fold_count=fold_count).id if fold_count is not None else None
    encoderset = feature.make_encoderset()
    label.make_labelcoder(sklearn_preprocess=LabelBinarizer(sparse_output=False))
    encoderset.make_featurecoder(sklearn_preprocess=PowerTransformer(method="yeo-johnson", copy=False),
                                 dtypes=["float64"])
    algorithm = Algorithm.make(library="pytorch", analysis_type="classification_binary",
                               fn_build=pytorch_binary_fn_build, fn_train=torch_fn_train,
                               fn_optimize=pytorch_binary_fn_optimize)
    hyperparameters = hyperparameters or {"learning_rate": [0.01, 0.005], "epoch_count": [50]}
    hyperparamset = algorithm.make_hyperparamset(hyperparameters=hyperparameters)
    return algorithm.make_queue(splitset_id=splitset.id, foldset_id=foldset_id, hyperparamset_id=hyperparamset.id,
                                repeat_count=repeat_count, permute_count=permute_count)


def pytorch_multiclass_fn_build(features_shape, num_classes, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], 12), nn.BatchNorm1d(12, 12), nn.ReLU(), nn.Dropout(p=0.5),
                         nn.Linear(12, num_classes), nn.Softmax(dim=1))


def pytorch_multiclass_lose(**hp):
    from torch import nn

    return nn.CrossEntropyLoss(reduction=hp["reduction"])


def make_test_queue_pytorch_multiclass(repeat_count=1, fold_count=None, permute_count=3, hyperparameters=None):
    file_path = datum.get_path("iris_10x.tsv" if fold_count is not None else "iris.tsv")
    dataset = Dataset.Tabular.from_path(file_path=file_path, source_file_format="tsv", dtype=None)
    label_column = "species"
    label = dataset.make_label(columns=[label_column])
    feature = dataset.make_feature(exclude_columns=[label_column])
    size_test, size_validation = _splits(fold_count)
    splitset = Splitset.make(feature_ids=[feature.id], label_id=label.id, size_test=size_test,
                             size_validation=size_validation)
    foldset_id = splitset.make_foldset(fold_count=fold_count).id if fold_count is not None else None
    label.make_labelcoder(sklearn_preprocess=OrdinalEncoder())
    encoderset = feature.make_encoderset()
    encoderset.make_featurecoder(sklearn_preprocess=StandardScaler(copy=False), dtypes=["float64"])
    algorithm = Algorithm.make(library="pytorch", analysis_type="classification_multi",
                               fn_build=pytorch_multiclass_fn_build, fn_train=torch_fn_train,
                               fn_lose=pytorch_multiclass_lose)
    hyperparameters = hyperparameters or {"reduction": ["mean", "sum"], "batch_size": [3, 5]}
    hyperparamset = algorithm.make_hyperparamset(hyperparameters=hyperparameters)
    return algorithm.make_queue(splitset_id=splitset.id, foldset_id=foldset_id, hyperparamset_id=hyperparamset.id,
                                repeat_count=repeat_count, permute_count=permute_count)


def pytorch_regression_lose(**hp):
    from torch import nn

    if hp["loss_type"] == "mae":
        return nn.L1Loss()
    return nn.MSELoss()


def pytorch_regression_fn_build(features_shape, label_shape, **hp):
    from torch import nn

    nc = hp["neuron_count"]
    return nn.Sequential(nn.Linear(features_shape[0], nc), nn.BatchNorm1d(nc, nc), nn.ReLU(), nn.Dropout(p=0.4),
                         nn.Linear(nc, nc), nn.BatchNorm1d(nc, nc), nn.ReLU(), nn.Dropout(p=0.4),
                         nn.Linear(nc, label_shape[0]))


def make_test_queue_pytorch_regression(repeat_count=1, fold_count=None, permute_count=3, hyperparameters=None):
    file_path = datum.get_path("houses.csv")
    dataset = Dataset.Tabular.from_path(file_path=file_path, source_file_format="csv", name="real estate stats",
                                        dtype=None)
    label_column = "price"
    label = dataset.make_label(columns=[label_column])
    feature = dataset.make_feature(exclude_columns=[label_column])
    size_test, size_validation = _splits(fold_count)
    splitset = Splitset.make(feature_ids=[feature.id], label_id=label.id, size_test=size_test,
                             size_validation=size_validation, bin_count=3)
    foldset_id = None
    if fold_count is not None:
        foldset_id = splitset.make_foldset(fold_count=fold_count, bin_count=3).id
    label.make_labelcoder(sklearn_preprocess=PowerTransformer(method="box-cox", copy=False))
    encoderset = feature.make_encoderset()
    encoderset.make_featurecoder(include=False, dtypes=["int64"], sklearn_preprocess=MinMaxScaler(copy=False))
    # We expect double None to use all columns because nothing is excluded.
    encoderset.make_featurecoder(include=False, dtypes=None, columns=None, sklearn_preprocess=OrdinalEncoder())
    algorithm = Algorithm.make(library="pytorch", analysis_type="regression", fn_build=pytorch_regression_fn_build,
                               fn_train=torch_fn_train, fn_lose=pytorch_regression_lose)
    hyperparameters = hyperparameters or {"neuron_count": [22, 24], "loss_type": ["mae", "mse"]}
    hyperparamset = algorithm.make_hyperparamset(hyperparameters=hyperparameters)
    return algorithm.make_queue(splitset_id=splitset.id, foldset_id=foldset_id, hyperparamset_id=hyperparamset.id,
                                repeat_count=repeat_count, permute_count=permute_count)


# ------------------------ KERAS SEQUENCE BINARY ------------------------
def keras_sequence_binary_fn_build(features_shape, label_shape, **hp):
    import keras
    from keras import layers

    model = keras.models.Sequential()
    model.add(keras.Input(shape=(features_shape[0], features_shape[1])))
    model.add(layers.LSTM(hp["neuron_count"]))
    model.add(layers.Dense(units=label_shape[0], activation="sigmoid"))
    return model


def keras_sequence_binary_fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import keras

    model.compile(loss=loser, optimizer=optimizer, metrics=["accuracy"])
    model.fit(samples_train["features"], samples_train["labels"],
              validation_data=(samples_evaluate["features"], samples_evaluate["labels"]),
              verbose=0, batch_size=hp["batch_size"], epochs=hp["epochs"], callbacks=[keras.callbacks.History()])
    return model


#: AIQC's gaps in the epilepsy sensors: (column, row)
SEQUENCE_GAPS = [("sensor_1", 999), ("sensor_1", 0), ("sensor_150", 130), ("sensor_152", 22), ("sensor_170", 0)]


def make_test_queue_keras_sequence_binary(repeat_count=1, fold_count=None, permute_count=3, hyperparameters=None):
    df = datum.to_pandas("epilepsy.parquet")
    label_df = df[["seizure"]]
    dataset_tabular = Dataset.Tabular.from_pandas(label_df)
    label = dataset_tabular.make_label(columns="seizure")

    sensor_arr3D = df.drop(columns=["seizure"]).to_numpy().reshape(1000, 178, 1).astype("float64")
    # testing Featurepolater 3D: AIQC's gaps, set in the array (a sensor column is a timestep)
    for column, row in SEQUENCE_GAPS:
        sensor_arr3D[row, df.columns.get_loc(column), 0] = np.nan
    dataset_sequence = Dataset.Sequence.from_numpy(sensor_arr3D)
    feature = dataset_sequence.make_feature()

    interpolaterset = feature.make_interpolaterset()
    interpolaterset.make_featureinterpolater(dtypes="float64")

    encoderset = feature.make_encoderset()
    encoderset.make_featurecoder(sklearn_preprocess=StandardScaler(), columns=["0"])

    if fold_count is not None:
        size_test, size_validation = 0.25, None
    else:
        size_test, size_validation = 0.22, 0.12
    splitset = Splitset.make(feature_ids=[feature.id], label_id=label.id, size_test=size_test,
                             size_validation=size_validation)
    foldset_id = splitset.make_foldset(fold_count=fold_count).id if fold_count is not None else None

    algorithm = Algorithm.make(library="keras", analysis_type="classification_binary",
                               fn_build=keras_sequence_binary_fn_build, fn_train=keras_sequence_binary_fn_train)
    hyperparameters = hyperparameters or {"neuron_count": [25], "batch_size": [8], "epochs": [5]}
    hyperparamset = algorithm.make_hyperparamset(hyperparameters=hyperparameters)
    return algorithm.make_queue(splitset_id=splitset.id, hyperparamset_id=hyperparamset.id, foldset_id=foldset_id,
                                repeat_count=repeat_count, permute_count=permute_count)


# ------------------------ KERAS IMAGE BINARY ------------------------
def keras_image_binary_fn_build(features_shape, label_shape, **hp):
    import keras
    from keras import layers

    model = keras.models.Sequential()
    # incoming features_shape = rows * columns * channels (channels last for Keras); drop the channel
    model.add(keras.Input(shape=features_shape))
    model.add(layers.Reshape((features_shape[0], features_shape[1])))

    model.add(layers.Conv1D(int(128 * hp["neuron_multiply"]), kernel_size=hp["kernel_size"], padding="same",
                            activation="relu", kernel_initializer=hp["cnn_init"]))
    model.add(layers.MaxPooling1D(pool_size=hp["pool_size"]))
    model.add(layers.Dropout(hp["dropout"]))

    model.add(layers.Conv1D(int(256 * hp["neuron_multiply"]), kernel_size=hp["kernel_size"], padding="same",
                            activation="relu", kernel_initializer=hp["cnn_init"]))
    model.add(layers.MaxPooling1D(pool_size=hp["pool_size"]))
    model.add(layers.Dropout(hp["dropout"]))

    model.add(layers.Flatten())
    model.add(layers.Dense(int(hp["dense_neurons"] * hp["neuron_multiply"]), activation="relu"))
    model.add(layers.Dropout(0.2))
    if hp["include_2nd_dense"] is True:
        model.add(layers.Dense(hp["2nd_dense_neurons"], activation="relu"))

    model.add(layers.Dense(units=label_shape[0], activation="sigmoid"))
    return model


def keras_image_binary_fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import keras

    from assay import TrainingCallback

    model.compile(optimizer=optimizer, loss=loser, metrics=["accuracy"])
    metrics_cuttoffs = [
        {"metric": "val_accuracy", "cutoff": 0.70, "above_or_below": "above"},
        {"metric": "accuracy", "cutoff": 0.70, "above_or_below": "above"},
        {"metric": "val_loss", "cutoff": 0.50, "above_or_below": "below"},
        {"metric": "loss", "cutoff": 0.50, "above_or_below": "below"},
    ]
    cutoffs = TrainingCallback.Keras.MetricCutoff(metrics_cuttoffs)
    model.fit(samples_train["features"], samples_train["labels"],
              validation_data=(samples_evaluate["features"], samples_evaluate["labels"]),
              verbose=0, batch_size=hp["batch_size"], callbacks=[keras.callbacks.History(), cutoffs],
              epochs=hp["epoch_count"])
    return model


def make_test_queue_keras_image_binary(repeat_count=1, fold_count=None, hyperparameters=None):
    hyperparameters = hyperparameters or {
        "include_2nd_dense": [True], "neuron_multiply": [1.0], "epoch_count": [10], "learning_rate": [0.01],
        "pool_size": [2], "dropout": [0.4], "batch_size": [8], "kernel_size": [3], "dense_neurons": [32],
        "2nd_dense_neurons": [16], "cnn_init": ["he_normal"],
    }
    df = datum.to_pandas(name="brain_tumor.csv")
    # Dataset.Tabular
    dataset_tabular = Dataset.Tabular.from_pandas(dataframe=df)
    label = dataset_tabular.make_label(columns=["status"])

    # Dataset.Image (assay's "remote urls" are the packaged files: nothing is downloaded)
    image_urls = datum.get_remote_urls(manifest_name="brain_tumor.csv")
    dataset_image = Dataset.Image.from_urls_pillow(urls=image_urls)
    feature = dataset_image.make_feature()

    size_test, size_validation = _splits(fold_count)
    splitset = Splitset.make(feature_ids=[feature.id], label_id=label.id, size_test=size_test,
                             size_validation=size_validation)
    foldset_id = splitset.make_foldset(fold_count=fold_count).id if fold_count is not None else None

    algorithm = Algorithm.make(library="keras", analysis_type="classification_binary",
                               fn_build=keras_image_binary_fn_build, fn_train=keras_image_binary_fn_train)
    hyperparamset = algorithm.make_hyperparamset(hyperparameters=hyperparameters)
    return algorithm.make_queue(splitset_id=splitset.id, foldset_id=foldset_id, hyperparamset_id=hyperparamset.id,
                                repeat_count=repeat_count)


# ------------------------ PYTORCH IMAGE BINARY ------------------------
def pytorch_image_binary_fn_build(features_shape, label_shape, **hp):
    from torch import nn

    # the images are (160, 120) after reshape_indices=(0, 2, 3): 160 rows as channels of a 1-D convolution;
    # AIQC's 3840 units (128 filters x 30 steps); hp "dense_neurons" shrinks the dense layer for tests
    dense = hp.get("dense_neurons", 3840)
    return nn.Sequential(
        nn.Conv1d(in_channels=features_shape[0], out_channels=56, kernel_size=3, padding=1),
        nn.ReLU(), nn.MaxPool1d(kernel_size=2, stride=2), nn.Dropout(p=0.4),
        nn.Conv1d(in_channels=56, out_channels=128, kernel_size=3, padding=1),
        nn.ReLU(), nn.MaxPool1d(kernel_size=2, stride=2), nn.Dropout(p=0.4),
        nn.Flatten(),
        nn.Linear(128 * (features_shape[1] // 4), dense), nn.BatchNorm1d(dense, dense), nn.ReLU(), nn.Dropout(p=0.4),
        nn.Linear(dense, label_shape[0]), nn.Sigmoid(),
    )


def pytorch_image_binary_fn_predict(model, samples_predict):
    probability = model(samples_predict["features"])
    # Convert tensor back to numpy for the metrics.
    probability = probability.detach().numpy()
    prediction = (probability > 0.5).astype("int32")
    # Both objects are numpy.
    return prediction, probability


def make_test_queue_pytorch_image_binary(repeat_count=1, fold_count=None, hyperparameters=None):
    df = datum.to_pandas(name="brain_tumor.csv")
    # Dataset.Tabular
    dataset_tabular = Dataset.Tabular.from_pandas(dataframe=df)
    label = dataset_tabular.make_label(columns=["status"])

    # Dataset.Image (local files, see the module docstring)
    image_urls = datum.get_remote_urls(manifest_name="brain_tumor.csv")
    dataset_image = Dataset.Image.from_urls_pillow(urls=image_urls)
    feature = dataset_image.make_feature()
    feature.make_featureshaper(reshape_indices=(0, 2, 3))

    size_test, size_validation = _splits(fold_count)
    splitset = Splitset.make(feature_ids=[feature.id], label_id=label.id, size_test=size_test,
                             size_validation=size_validation)
    foldset_id = splitset.make_foldset(fold_count=fold_count).id if fold_count is not None else None

    algorithm = Algorithm.make(library="pytorch", analysis_type="classification_binary",
                               fn_build=pytorch_image_binary_fn_build, fn_train=torch_fn_train,
                               fn_predict=pytorch_image_binary_fn_predict)
    hyperparamset_id = None  # network takes a while.
    if hyperparameters is not None:
        hyperparamset_id = algorithm.make_hyperparamset(hyperparameters=hyperparameters).id
    return algorithm.make_queue(splitset_id=splitset.id, foldset_id=foldset_id, hyperparamset_id=hyperparamset_id,
                                repeat_count=repeat_count)


# ------------------------ KERAS TABULAR FORECAST ------------------------
def keras_tabular_forecast_fn_build(features_shape, label_shape, **hp):
    import keras
    from keras import layers

    model = keras.models.Sequential()
    model.add(keras.Input(shape=(features_shape[0], features_shape[1])))
    model.add(layers.GRU(hp["neuron_count"], return_sequences=False, activation="tanh"))
    # Automatically flattens.
    model.add(layers.Dense(label_shape[0] * label_shape[1] * hp["dense_multiplier"], activation="tanh"))
    model.add(layers.Dropout(0.3))
    model.add(layers.Dense(label_shape[0] * label_shape[1], activation="tanh"))
    model.add(layers.Dropout(0.3))
    # Reshape to be 3D.
    model.add(layers.Reshape((label_shape[0], label_shape[1])))
    return model


def keras_tabular_forecast_fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import keras

    model.compile(loss=loser, optimizer=optimizer, metrics=["mean_squared_error"])
    model.fit(samples_train["features"], samples_train["labels"],
              validation_data=(samples_evaluate["features"], samples_evaluate["labels"]),
              verbose=0, batch_size=hp["batch_size"], epochs=hp["epochs"], callbacks=[keras.callbacks.History()])
    return model


def make_test_queue_keras_tabular_forecast(repeat_count=1, fold_count=None, permute_count=3, hyperparameters=None):
    df = datum.to_pandas("delhi_climate.parquet")
    df.loc[[0, 13], "temperature"] = np.nan

    dataset = Dataset.Tabular.from_pandas(dataframe=df)
    feature = dataset.make_feature()

    interpolaterset = feature.make_interpolaterset()
    interpolaterset.make_featureinterpolater(dtypes=["float64"])

    feature.make_window(size_window=28, size_shift=14)

    encoderset = feature.make_encoderset()
    encoderset.make_featurecoder(sklearn_preprocess=RobustScaler(copy=False), columns=["wind", "pressure"])
    encoderset.make_featurecoder(sklearn_preprocess=StandardScaler(), dtypes=["float64", "int64"])

    if fold_count is not None:
        size_test, size_validation = 0.25, None
    else:
        size_test, size_validation = 0.17, 0.16
    # AIQC: unsupervised_stratify_col="day_of_year" (see the module docstring)
    splitset = Splitset.make(feature_ids=[feature.id], label_id=None, size_test=size_test,
                             size_validation=size_validation, bin_count=None)
    foldset_id = splitset.make_foldset(fold_count=fold_count).id if fold_count is not None else None

    algorithm = Algorithm.make(library="keras", analysis_type="regression", fn_build=keras_tabular_forecast_fn_build,
                               fn_train=keras_tabular_forecast_fn_train)
    hyperparameters = hyperparameters or {"neuron_count": [8], "batch_size": [8], "epochs": [12],
                                          "dense_multiplier": [1]}
    hyperparamset = algorithm.make_hyperparamset(hyperparameters=hyperparameters)
    return algorithm.make_queue(splitset_id=splitset.id, foldset_id=foldset_id, hyperparamset_id=hyperparamset.id,
                                repeat_count=repeat_count, permute_count=permute_count)


# ------------------------ PYTORCH SEQUENCE BINARY (AIQC 5.4.1 tests/torch_bin_seq.py) ------------------------
# AIQC's high-level spelling, ``mlops.Pipeline.Sequence(...)`` and ``mlops.Experiment(...)``, is assay's
# ``Pipeline.Sequence.make(...)`` and ``Experiment.make(...)``; its fn_train's ``fit(..., metrics=[tm.Accuracy(),
# tm.F1Score()])`` is ``assay_torch.fit`` (accuracy recorded by default; torchmetrics is no dependency).
def torch_bin_seq_fn_build(features_shape, label_shape, **hp):
    from torch import nn

    # LSTM() returns tuple of (tensor, (recurrent state))
    class extract_tensor(nn.Module):
        def forward(self, x):
            # Output shape (batch, features, hidden)
            tensor, _ = x
            # Reshape shape (batch, hidden)
            return tensor[:, -1, :]

    return nn.Sequential(
        nn.LSTM(input_size=features_shape[1], hidden_size=hp["hidden"], batch_first=True),
        extract_tensor(),
        nn.Linear(hp["hidden"], 1),
        nn.Sigmoid(),
    )


def torch_bin_seq_fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate,
                                  epochs=hp["epochs"], batch_size=hp["batch_size"])


def make_queue_torch_bin_seq(repeat_count=1, fold_count=None, permute_count=3, hyperparameters=None):
    hyperparameters = hyperparameters or dict(hidden=[10], batch_size=[8], epochs=[5])
    df = datum.to_pandas("epilepsy.parquet")
    label_df = df[["seizure"]]
    seq_ndarray3D = df.drop(columns=["seizure"]).to_numpy().reshape(1000, 178, 1)

    splitset = Pipeline.Sequence.make(
        # --- Label preprocessing ---
        label_df_or_path=label_df, label_dtype=None, label_column="seizure", label_interpolater=None,
        label_encoder=None,
        # --- Feature preprocessing ---
        feature_ndarray3D_or_npyPath=seq_ndarray3D, feature_dtype=None, feature_cols_excluded=None,
        feature_interpolaters=None, feature_window=None,
        feature_encoders=[dict(columns="0", sklearn_preprocess=StandardScaler())],
        feature_reshape_indices=None,
        # --- Stratification ---
        size_test=0.12, size_validation=0.22, fold_count=None, bin_count=None,
    )
    return Experiment.make(
        # --- Analysis type ---
        library="pytorch", analysis_type="classification_binary",
        # --- Model functions ---
        fn_build=torch_bin_seq_fn_build, fn_train=torch_bin_seq_fn_train, fn_lose=None, fn_optimize=None,
        fn_predict=None,
        # --- Training options ---
        repeat_count=repeat_count, hyperparameters=hyperparameters, search_percent=None,
        # --- Data source ---
        splitset_id=splitset.id, foldset_id=None, hide_test=False,
    )


SCENARIOS = {
    "keras_multiclass": make_test_queue_keras_multiclass,
    "keras_binary": make_test_queue_keras_binary,
    "keras_regression": make_test_queue_keras_regression,
    "pytorch_binary": make_test_queue_pytorch_binary,
    "pytorch_multiclass": make_test_queue_pytorch_multiclass,
    "pytorch_regression": make_test_queue_pytorch_regression,
}


# ------------------------ KERAS IMAGE FORECAST (AIQC 3.1.1) ------------------------
# AIQC reads ``remote_datum/image/liberty_moon/images`` (downloaded); assay never downloads, so the tests write
# frames of their own to a folder and pass it as ``folder_path``. ``tf.keras.layers`` is ``keras.layers``.
def keras_image_forecast_fn_build(features_shape, label_shape, **hp):
    import keras
    from keras import layers

    model = keras.models.Sequential()
    model.add(keras.Input(shape=features_shape))
    model.add(layers.Conv1D(64 * hp["multiplier"], 3, activation=hp["activation"], padding="same"))
    model.add(layers.MaxPool1D(2, padding="same"))
    model.add(layers.Conv1D(32 * hp["multiplier"], 3, activation=hp["activation"], padding="same"))
    model.add(layers.MaxPool1D(2, padding="same"))
    model.add(layers.Conv1D(16 * hp["multiplier"], 3, activation=hp["activation"], padding="same"))
    model.add(layers.MaxPool1D(2, padding="same"))

    # decoding architecture
    model.add(layers.Conv1D(16 * hp["multiplier"], 3, activation=hp["activation"], padding="same"))
    model.add(layers.UpSampling1D(2))
    model.add(layers.Conv1D(32 * hp["multiplier"], 3, activation=hp["activation"], padding="same"))
    model.add(layers.UpSampling1D(2))
    model.add(layers.Conv1D(64 * hp["multiplier"], 3, activation=hp["activation"]))
    model.add(layers.UpSampling1D(2))
    model.add(layers.Conv1D(label_shape[-1], 3, activation="relu", padding="same"))  # AIQC: 50, its frames' width
    return model


def keras_image_forecast_fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import keras

    model.compile(optimizer=optimizer, loss=loser, metrics=["mean_squared_error"])
    model.fit(samples_train["features"], samples_train["labels"],
              validation_data=(samples_evaluate["features"], samples_evaluate["labels"]),
              verbose=0, batch_size=hp["batch_size"], callbacks=[keras.callbacks.History()],
              epochs=hp["epoch_count"])
    return model


def make_test_queue_keras_image_forecast(folder_path, repeat_count=1, fold_count=None, hyperparameters=None):
    from sklearn.preprocessing import FunctionTransformer

    from assay.utils import div255, mult255

    image_dataset = Dataset.Image.from_folder_pillow(folder_path=folder_path, ingest=False, dtype="float64")

    feature = image_dataset.make_feature()
    feature.make_window(size_window=1, size_shift=2)
    encoderset = feature.make_encoderset()
    encoderset.make_featurecoder(sklearn_preprocess=FunctionTransformer(div255, inverse_func=mult255),
                                 dtypes="float64")
    feature.make_featureshaper(reshape_indices=(0, 3, 4))

    size_test, size_validation = 0.15, None  # small dataset

    splitset = Splitset.make(feature_ids=feature.id, size_test=size_test, size_validation=size_validation)
    foldset_id = splitset.make_foldset(fold_count=fold_count).id if fold_count is not None else None

    algorithm = Algorithm.make(library="keras", analysis_type="regression", fn_build=keras_image_forecast_fn_build,
                               fn_train=keras_image_forecast_fn_train)
    hyperparameters = hyperparameters or dict(epoch_count=[150], batch_size=[1], cnn_init=["he_normal"],
                                              activation=["relu"], multiplier=[3])
    hyperparamset = algorithm.make_hyperparamset(hyperparameters=hyperparameters)
    return algorithm.make_queue(splitset_id=splitset.id, foldset_id=foldset_id, hyperparamset_id=hyperparamset.id,
                                repeat_count=repeat_count)
