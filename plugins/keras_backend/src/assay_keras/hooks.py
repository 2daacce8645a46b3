"""The hook implementations of assay-keras (entry point ``keras`` in the group ``assay.plugins``).

Every backend hook answers only for ``library == "keras"`` and returns ``None`` otherwise. Keras is imported
inside the hooks, never at module level: every process that loads assay's plugins imports this module, and
most of them never train a Keras model.
"""

from __future__ import annotations

from assay.hookspecs import hookimpl

LIBRARY = "keras"


@hookimpl
def assay_libraries():
    return [LIBRARY]


@hookimpl
def assay_default_loss(library, analysis_type):
    if library != LIBRARY:
        return None
    from assay_keras import training

    return training.default_loss(analysis_type)


@hookimpl
def assay_default_optimizer(library, analysis_type, model):
    if library != LIBRARY:
        return None
    from assay_keras import training

    return training.default_optimizer()


@hookimpl
def assay_prepare_samples(library, analysis_type, samples):
    if library != LIBRARY:
        return None
    from assay_keras import samples as keras_samples

    return keras_samples.prepare_samples(analysis_type, samples)


@hookimpl
def assay_train(library, analysis_type, fn_train, model, loser, optimizer, samples_train, samples_evaluate,
                hyperparameters):
    if library != LIBRARY:
        return None
    from assay_keras import training

    return training.train(analysis_type, fn_train, model, loser, optimizer, samples_train, samples_evaluate,
                          hyperparameters)


@hookimpl
def assay_default_predict(library, analysis_type, model, samples):
    if library != LIBRARY:
        return None
    from assay_keras import predicting

    return predicting.default_predict(analysis_type, model, samples)


@hookimpl
def assay_evaluate_loss(library, analysis_type, model, loser, samples):
    if library != LIBRARY:
        return None
    from assay_keras import training

    return training.evaluate_loss(analysis_type, model, loser, samples)


@hookimpl
def assay_model_to_bytes(library, model):
    if library != LIBRARY:
        return None
    from assay_keras import persistence

    return persistence.model_to_bytes(model)


@hookimpl
def assay_model_from_bytes(library, data, fn_build, features_shape, label_shape, hyperparameters):
    # the .keras archive holds the architecture: fn_build and the shapes are not needed to rebuild it
    if library != LIBRARY:
        return None
    from assay_keras import persistence

    return persistence.model_from_bytes(data)


@hookimpl
def assay_model_export(library, model, example):
    """The ``.keras`` archive: architecture and weights, loaded with ``safe_mode=True`` (no Lambda, no pickle)."""
    if library != LIBRARY:
        return None
    from assay.contracts import ModelExport
    from assay_keras import persistence

    return ModelExport(data=persistence.model_to_bytes(model), format="keras", suffix=".keras")


@hookimpl
def assay_model_from_export(library, data, format):
    if library != LIBRARY:
        return None
    from assay import errors
    from assay_keras import persistence

    if format != "keras":
        raise errors.ModelLoadError(f"the exported model has format {format!r}; assay-keras reads 'keras'")
    return persistence.model_from_bytes(data)


@hookimpl
def assay_seed(library, seed):
    if library != LIBRARY:
        return None
    from assay_keras import runtime

    runtime.seed(seed)
    return True


@hookimpl
def assay_clear_session(library):
    if library != LIBRARY:
        return None
    from assay_keras import runtime

    runtime.clear_session()
    return True


@hookimpl
def assay_channels_last(library):
    if library != LIBRARY:
        return None
    import keras

    # Conv2D and the other image layers follow keras.config.image_data_format(), "channels_last" by default
    return keras.config.image_data_format() == "channels_last"


@hookimpl
def assay_library_versions(library):
    if library != LIBRARY:
        return None
    from assay_keras import runtime

    return runtime.versions()
