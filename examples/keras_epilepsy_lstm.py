"""Sequences with Keras: EEG windows (1000 samples x 178 readings x 1 channel), seizure or not, an LSTM.

``Pipeline.Sequence.make`` takes the 3-D array as it is: samples x timesteps x features, the layout Keras' LSTM
and Conv1D layers expect, so ``fn_build`` gets ``features_shape = (178, 1)``. The scaler sees one column per
feature over every timestep and is fitted on the train samples only.

Runs on the embedded SQLite default (a file under the user data directory; ASSAY_DATABASE_URL overrides it).
"""

import assay  # noqa: I001 (first: importing assay keeps the C++ start-up logs of TensorFlow quiet)
from assay import datum
from keras import Input, Sequential
from keras.callbacks import History
from keras.layers import LSTM, Dense
from sklearn.preprocessing import StandardScaler

assay.setup()
features = datum.to_numpy('epilepsy.parquet')            # (1000, 178, 1) float64
labels = datum.to_pandas('epilepsy.parquet')[['seizure']]  # one row per sample, same order

splitset = assay.Pipeline.Sequence.make(
    feature_ndarray3D_or_npyPath=features,
    feature_encoders=[dict(sklearn_preprocess=StandardScaler())],
    label_df_or_path=labels, label_column='seizure',
    size_test=0.2, size_validation=0.2,
)

hyperparameters = {"neuron_count": [8, 16], "batch_size": [128], "epoch_count": [2]}

def fn_build(features_shape, label_shape, **hp):
    model = Sequential()
    model.add(Input(shape=features_shape))                 # (timesteps, features)
    model.add(LSTM(hp['neuron_count']))
    model.add(Dense(units=label_shape[0], activation='sigmoid'))
    return model

def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    model.compile(loss=loser, optimizer=optimizer, metrics=['accuracy'])
    model.fit(samples_train["features"], samples_train["labels"],
              validation_data=(samples_evaluate["features"], samples_evaluate["labels"]),
              verbose=0, batch_size=hp['batch_size'], epochs=hp['epoch_count'], callbacks=[History()])
    return model

queue = assay.Experiment.make(
    library="keras", analysis_type="classification_binary",
    fn_build=fn_build, fn_train=fn_train,
    repeat_count=1, hyperparameters=hyperparameters, splitset_id=splitset.id,
)
queue.run_jobs()   # 2 models

if __name__ == "__main__":
    best = max(queue.predictors, key=lambda p: p.metrics["validation"]["roc_auc"])
    print(f"best of {len(queue.predictors)} LSTMs: {best.hyperparameters} -> validation roc_auc "
          f"{best.metrics['validation']['roc_auc']:.3f}, test accuracy {best.metrics['test']['accuracy']:.3f}")
    print(best.feature_importance(split="test", permutation_count=2))   # one row per feature
