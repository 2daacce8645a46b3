"""Small Keras model functions shared by the experiment tests (module level, so workers can load them)."""

from __future__ import annotations


def fn_build(features_shape, label_shape, **hp):
    from keras import Input, Sequential
    from keras.layers import Dense

    model = Sequential()
    model.add(Input(shape=features_shape))
    model.add(Dense(units=hp.get("neuron_count", 8), activation="relu"))
    model.add(Dense(units=label_shape[0], activation="softmax"))
    return model


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    model.compile(loss=loser, optimizer=optimizer, metrics=["accuracy"])
    model.fit(samples_train["features"], samples_train["labels"],
              validation_data=(samples_evaluate["features"], samples_evaluate["labels"]),
              verbose=0, batch_size=hp.get("batch_size", 16), epochs=hp.get("epoch_count", 3))
    return model


def fn_build_binary(features_shape, label_shape, **hp):
    from keras import Input, Sequential
    from keras.layers import Dense

    model = Sequential()
    model.add(Input(shape=features_shape))
    model.add(Dense(units=hp.get("neuron_count", 8), activation="relu"))
    model.add(Dense(units=1, activation="sigmoid"))
    return model


def fn_build_regression(features_shape, label_shape, **hp):
    from keras import Input, Sequential
    from keras.layers import Dense

    model = Sequential()
    model.add(Input(shape=features_shape))
    model.add(Dense(units=hp.get("neuron_count", 8), activation="relu"))
    model.add(Dense(units=1))
    return model
