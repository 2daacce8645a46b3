"""The README's main example: iris, Keras, multi-class, a 2x2x2 grid repeated twice (16 trained models).

Runs on the embedded SQLite default (a file under the user data directory; ASSAY_DATABASE_URL overrides it).
"""

import assay
from assay import datum
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from keras import Sequential, Input
from keras.layers import Dense
from keras.callbacks import History

assay.setup()                      # creates or finds the SQLite database, migrates it to head
df = datum.to_pandas('iris.tsv')  # built-in datasets

splitset = assay.Pipeline.Tabular.make(
    df_or_path=df,
    label_column='species',
    label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
    feature_cols_excluded='species',
    feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=['float64'])],
    size_test=0.22, size_validation=0.12, fold_count=None, bin_count=None,
)

hyperparameters = {"neuron_count": [9, 12], "batch_size": [3, 5], "epoch_count": [30, 60]}

def fn_build(features_shape, label_shape, **hp):
    model = Sequential()
    model.add(Input(shape=features_shape))
    model.add(Dense(units=hp['neuron_count'], activation='relu'))
    model.add(Dense(units=label_shape[0], activation='softmax'))
    return model

def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    model.compile(loss=loser, optimizer=optimizer, metrics=['accuracy'])
    model.fit(samples_train["features"], samples_train["labels"],
              validation_data=(samples_evaluate["features"], samples_evaluate["labels"]),
              verbose=0, batch_size=hp['batch_size'], epochs=hp['epoch_count'],
              callbacks=[History()])
    return model

queue = assay.Experiment.make(
    library="keras", analysis_type="classification_multi",
    fn_build=fn_build, fn_train=fn_train,
    fn_lose=None, fn_optimize=None, fn_predict=None,   # defaults: categorical cross-entropy, Adamax, (preds, probs)
    repeat_count=2, hyperparameters=hyperparameters,
    splitset_id=splitset.id, hide_test=False,
)
queue.run_jobs()   # 16 models: 8 combinations x 2 repeats

if __name__ == "__main__":
    best = max(queue.predictors, key=lambda p: p.metrics["validation"]["accuracy"])
    print(f"best of {len(queue.predictors)} models: {best.hyperparameters} -> "
          f"validation accuracy {best.metrics['validation']['accuracy']:.3f}, "
          f"test accuracy {best.metrics['test']['accuracy']:.3f}")
