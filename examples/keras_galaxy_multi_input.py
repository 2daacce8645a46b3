"""Several inputs at once with Keras: each galaxy has two measurements and a photo, and one label (bar or spiral).

``assay.Pipeline.make(inputs=[...])`` aligns a table and a folder of images by sample: the splits and folds are
made once and shared, and each input's encoders are fitted on the same train rows. ``samples["features"]`` is a
list (one array per input, in order) and ``fn_build`` receives a list of shapes, so a functional Keras model with
two ``Input`` layers trains on it as written. Importance is reported per input column (``"table: clarity"``) and
inference takes new raw data for every input.

Runs on the embedded SQLite default (a file under the user data directory; ASSAY_DATABASE_URL overrides it).
"""

import assay  # noqa: I001 (first: importing assay keeps the C++ start-up logs of TensorFlow quiet)
from assay import datum
import keras
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

assay.setup()
galaxies = datum.galaxy_morphology()   # {"table": clarity + angle, "images": 40 photos, "labels": morphology}

splitset = assay.Pipeline.make(
    inputs=[
        dict(name="table", df_or_path=galaxies["table"], feature_encoders=[
            dict(sklearn_preprocess=OneHotEncoder(), columns=["angle"]),
            dict(sklearn_preprocess=StandardScaler(), columns=["clarity"]),
        ]),
        dict(name="photo", feature_folder_or_urls=galaxies["images"], feature_dtype="float32",
             feature_encoders=[dict(sklearn_preprocess=MinMaxScaler(), axis="channel")]),
    ],
    label_df_or_path=galaxies["labels"], label_column="morphology",
    label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
    size_test=0.25, size_validation=0.25,
)

hyperparameters = {"units": [4, 8], "epoch_count": [6]}

def fn_build(features_shape, label_shape, **hp):
    table_shape, photo_shape = features_shape            # (3,) and (80, 110, 1): Keras gets channels last
    table, photo = keras.Input(table_shape), keras.Input(photo_shape)
    seen = keras.layers.Conv2D(4, 3, activation="relu")(keras.layers.MaxPooling2D(4)(photo))
    seen = keras.layers.Flatten()(keras.layers.MaxPooling2D(4)(seen))
    joined = keras.layers.Concatenate()([keras.layers.Dense(hp["units"], activation="relu")(table),
                                         keras.layers.Dense(hp["units"], activation="relu")(seen)])
    return keras.Model([table, photo], keras.layers.Dense(label_shape[0], activation="softmax")(joined))

def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    model.compile(loss=loser, optimizer=optimizer, metrics=["accuracy"])
    model.fit(samples_train["features"], samples_train["labels"],   # a list of two arrays
              validation_data=(samples_evaluate["features"], samples_evaluate["labels"]),
              batch_size=8, epochs=hp["epoch_count"], verbose=0)
    return model

queue = assay.Experiment.make(
    library="keras", analysis_type="classification_binary",
    fn_build=fn_build, fn_train=fn_train,
    repeat_count=1, hyperparameters=hyperparameters, splitset_id=splitset.id,
)
queue.run_jobs()   # 2 models

if __name__ == "__main__":
    predictor = queue.predictors[0]
    print(f"test accuracy {predictor.metrics['test']['accuracy']:.3f}")
    print(predictor.feature_importance(split="test", permutation_count=2)[["feature", "importance_mean"]])
    print(predictor.infer([galaxies["table"].iloc[:3], galaxies["images"][:3]]))   # new raw data for both inputs
