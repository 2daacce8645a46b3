"""The plugin contract of assay: hook markers and one documented spec per hook.

Hooks are grouped by lifecycle. Call them with keyword arguments only; an implementation may accept fewer
arguments than its spec, so a spec can grow without breaking plugins.

* **Discovery** tells which libraries a plugin provides.
* **Backend** hooks are keyed by ``library`` (``"keras"``, ``"torch"``, ...) and are ``firstresult``: an
  implementation answers only for its own library and returns ``None`` for every other one.
* **Analysis types** (regression, binary and multi-class classification, or a plugin's own) bring their label
  checks, metrics and plots.
* **Encoder families** wrap a kind of encoder object (scikit-learn transformers, ...) so the tabular pipeline
  can validate, fit, persist and invert it.

The types that hooks return (:class:`~assay.contracts.AnalysisType`, :class:`~assay.contracts.EncoderFamily`,
:class:`~assay.contracts.TrainResult`) live in :mod:`assay.contracts`.
"""

from __future__ import annotations

import pluggy

PROJECT_NAME = "assay"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# --------------------------------------------------------------------------------------------------------------
# Discovery
# --------------------------------------------------------------------------------------------------------------


@hookspec
def assay_libraries():
    """Name the machine-learning libraries this plugin provides a backend for.

    Called when assay resolves a ``library=`` argument and by ``assay info``. Results of all plugins are
    collected (not ``firstresult``).

    Returns:
        list[str]: library names such as ``["keras"]``; these are the values users pass as ``library=``.
    """


# --------------------------------------------------------------------------------------------------------------
# Backend: one library's way to build, train, persist and predict. All firstresult, keyed by ``library``.
# --------------------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def assay_default_loss(library, analysis_type):
    """Make the loss used when the user gives no ``fn_lose``.

    Called once per job, before training, when the algorithm has no ``fn_lose``.

    Args:
        library (str): the library of the algorithm; answer ``None`` unless it is yours.
        analysis_type (str): ``"regression"``, ``"classification_binary"``, ``"classification_multi"`` or a
            plugin's own analysis type.

    Returns:
        A loss object the library's training accepts (e.g. a ``keras.losses.Loss`` or a ``torch.nn`` module),
        or ``None`` when this implementation does not answer for ``library``.
    """


@hookspec(firstresult=True)
def assay_default_optimizer(library, analysis_type, model):
    """Make the optimizer used when the user gives no ``fn_optimize``.

    Called once per job, after ``fn_build``, when the algorithm has no ``fn_optimize``.

    Args:
        library (str): the algorithm's library; answer ``None`` unless it is yours.
        analysis_type (str): the analysis type of the experiment.
        model: the freshly built model (torch optimizers need its parameters).

    Returns:
        An optimizer object, or ``None`` when not answering for ``library``.
    """


@hookspec(firstresult=True)
def assay_prepare_samples(library, analysis_type, samples):
    """Convert one split's samples into what the library's training and prediction expect.

    Called for every split before ``fn_train`` and before prediction. The core hands out numpy arrays;
    a backend may convert them (e.g. to tensors) or check that label shapes fit the analysis type.

    Args:
        library (str): the algorithm's library; answer ``None`` unless it is yours.
        analysis_type (str): the analysis type of the experiment.
        samples (dict): ``{"features": np.ndarray, "labels": np.ndarray | None}`` as encoded by the pipeline;
            for a multi-input splitset ``features`` is a list of arrays, one per input, in order (keep it a list).

    Returns:
        dict with the same keys, in the library's own types; or ``None`` when not answering for ``library``.
    """


@hookspec(firstresult=True)
def assay_train(library, analysis_type, fn_train, model, loser, optimizer, samples_train, samples_evaluate,
                hyperparameters):
    """Run the user's ``fn_train`` and collect the trained model and its per-epoch history.

    Called once per job. The implementation calls
    ``fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hyperparameters)`` and
    interprets what it returns (a model, or for some libraries ``(model, history)``).

    Args:
        library (str): the algorithm's library; answer ``None`` unless it is yours.
        analysis_type (str): the analysis type of the experiment.
        fn_train (callable): the user's training function.
        model: the model built by ``fn_build``.
        loser: the loss from ``fn_lose`` or :func:`assay_default_loss`.
        optimizer: the optimizer from ``fn_optimize`` or :func:`assay_default_optimizer`.
        samples_train (dict): prepared training samples (see :func:`assay_prepare_samples`).
        samples_evaluate (dict | None): prepared evaluation samples, or ``None`` when there are none.
        hyperparameters (dict): this job's hyperparameters.

    Returns:
        assay.contracts.TrainResult: the trained model and its history
        (``{"loss": [...], "val_loss": [...], ...}``, one value per epoch; may be empty).
    """


@hookspec(firstresult=True)
def assay_default_predict(library, analysis_type, model, samples):
    """Predict one split with a trained model when the user gives no ``fn_predict``.

    Called after training for every evaluated split, and at inference.

    Args:
        library (str): the algorithm's library; answer ``None`` unless it is yours.
        analysis_type (str): the analysis type of the experiment.
        model: the trained model.
        samples (dict): prepared samples of one split.

    Returns:
        tuple ``(predictions, probabilities)`` of numpy arrays: for ``classification_binary`` predictions
        are 0/1 thresholded at 0.5 and probabilities the positive-class probability; for
        ``classification_multi`` predictions are class indices (argmax) and probabilities one column per
        class; for ``regression`` predictions are the raw outputs and probabilities ``None``.
    """


@hookspec(firstresult=True)
def assay_evaluate_loss(library, analysis_type, model, loser, samples):
    """Compute the value of the training loss on one split, for the ``loss`` metric.

    Called after training for every evaluated split that has labels.

    Args:
        library (str): the algorithm's library; answer ``None`` unless it is yours.
        analysis_type (str): the analysis type of the experiment.
        model: the trained model.
        loser: the loss object used for training.
        samples (dict): prepared samples of one split.

    Returns:
        float, or ``None`` when not answering for ``library``.
    """


@hookspec(firstresult=True)
def assay_model_to_bytes(library, model):
    """Serialise a trained model in the library's own safe format.

    Called once per job after training; the bytes are stored on the Predictor and in exported bundles.

    Args:
        library (str): the algorithm's library; answer ``None`` unless it is yours.
        model: the trained model.

    Returns:
        bytes (for example a ``.keras`` archive, or a torch ``state_dict``), or ``None`` when not answering.
    """


@hookspec(firstresult=True)
def assay_model_from_bytes(library, data, fn_build, features_shape, label_shape, hyperparameters):
    """Load a model from the bytes :func:`assay_model_to_bytes` made, possibly in another process.

    Called by ``Predictor.get_model()``, at inference and when loading a bundle. Libraries that store
    weights only (torch) rebuild the architecture with ``fn_build`` first.

    Args:
        library (str): the algorithm's library; answer ``None`` unless it is yours.
        data (bytes): the stored model.
        fn_build (callable): the user's build function.
        features_shape (tuple | list[tuple]): the shape of one sample's features; for a multi-input splitset a
            list with one shape per input, in order (as ``fn_build`` received it).
        label_shape (tuple): the shape of one sample's label.
        hyperparameters (dict): the hyperparameters the model was trained with.

    Returns:
        The loaded model, or ``None`` when not answering for ``library``.

    Raises:
        assay.errors.ModelLoadError: ``data`` cannot be loaded (damaged, or another library's format). Any other
            exception a plugin lets escape is wrapped into one by :meth:`assay.plugins.Backend.model_from_bytes`.
    """


@hookspec(firstresult=True)
def assay_model_export(library, model, example):
    """Write a trained model as a program that loads without the user's code (no ``fn_build``, no pickle).

    Called by ``predictor.export(path)`` when the model has no custom ``fn_predict``. assay loads the program
    back with :func:`assay_model_from_export` and compares its predictions with the model's on ``example`` before
    it trusts the export; when they differ, or when this hook raises, the bundle keeps the stored model and the
    user's functions instead (and then needs trust to load).

    Args:
        library (str): the algorithm's library; answer ``None`` unless it is yours.
        model: the trained model, loaded as for inference.
        example: the features of a few training samples, prepared as the model takes them
            (:func:`assay_prepare_samples`; a list, one per input, for a multi-input model). Trace on their shapes,
            with the first (batch) dimension left free.

    Returns:
        :class:`assay.contracts.ModelExport`, or ``None`` when not answering for ``library``.

    Raises:
        assay.errors.ModelExportError: the model cannot be written so (an unsupported operation), with the reason.
    """


@hookspec(firstresult=True)
def assay_model_from_export(library, data, format):
    """Load a program :func:`assay_model_export` wrote, without running the user's code.

    Called when a bundle loads (``assay.load_bundle``, ``assay predict``, ``assay serve``). The model it returns
    goes to :func:`assay_prepare_samples` and :func:`assay_default_predict` like a trained one.

    Args:
        library (str): the algorithm's library; answer ``None`` unless it is yours.
        data (bytes): the exported program.
        format (str): the ``format`` of the :class:`assay.contracts.ModelExport` that wrote it.

    Returns:
        The model, ready to predict; ``None`` when not answering for ``library``.

    Raises:
        assay.errors.ModelLoadError: ``data`` is damaged or of another format.
    """


@hookspec(firstresult=True)
def assay_channels_last(library):
    """Say whether the library's image layers expect channels last.

    assay stores and hands out images channels first (samples x channels x height x width, PyTorch's layout).
    Called before a job builds its model and whenever image samples are prepared (training, evaluation,
    inference, importance): a library answering ``True`` receives images with the channel axis moved last, and
    ``fn_build`` receives ``features_shape = (height, width, channels)``. Sequences and samples reshaped with
    ``feature_reshape_indices`` are never moved.

    Args:
        library (str): the algorithm's library; answer ``None`` unless it is yours.

    Returns:
        ``True`` for channels last (Keras' default), ``False`` for channels first; ``None`` when not answering
        for ``library`` (no plugin answering counts as channels first).
    """


@hookspec(firstresult=True)
def assay_seed(library, seed):
    """Seed the library's random number generators and enable deterministic operations.

    Called before each job's ``fn_build`` with a seed derived from the queue seed, the combination and the
    repeat, so that a rerun gives the same metrics.

    Args:
        library (str): the algorithm's library; answer ``None`` unless it is yours.
        seed (int): the seed to use.

    Returns:
        ``True`` when handled, ``None`` when not answering for ``library``.
    """


@hookspec(firstresult=True)
def assay_clear_session(library):
    """Release what the library keeps between models (graphs, caches) so memory stays flat over a queue.

    Called after every job, whether it succeeded or failed, so it must be cheap: do not run a full garbage
    collection here (it costs more than a small model's training). The runner collects garbage itself when the
    process's memory has grown (:mod:`assay.experiment.reclaim`).

    Args:
        library (str): the algorithm's library; answer ``None`` unless it is yours.

    Returns:
        ``True`` when handled, ``None`` when not answering for ``library``.
    """


@hookspec(firstresult=True)
def assay_library_versions(library):
    """Report the versions of the library and its runtime, recorded with every model and exported bundle.

    Args:
        library (str): the algorithm's library; answer ``None`` unless it is yours.

    Returns:
        dict[str, str] such as ``{"keras": "3.5.0", "tensorflow": "2.17.0"}``, or ``None``.
    """


# --------------------------------------------------------------------------------------------------------------
# Analysis types
# --------------------------------------------------------------------------------------------------------------


@hookspec
def assay_analysis_types():
    """Register analysis types.

    Called when the plugin manager is first used to resolve ``analysis_type=``. Results are collected from all
    plugins; the core registers ``regression``, ``classification_binary`` and ``classification_multi``.

    Returns:
        list[assay.contracts.AnalysisType]
    """


@hookspec
def assay_metrics(analysis_type, y_true, y_pred, probabilities, classes):
    """Compute metrics for one split's predictions.

    Called for every stored prediction that has labels. Results of all plugins are merged into one dict, so a
    plugin can add a metric to an existing analysis type.

    Args:
        analysis_type (str): the analysis type of the experiment.
        y_true (np.ndarray): true labels; class indices for classification, decoded values for regression.
        y_pred (np.ndarray): predicted labels, in the same coding as ``y_true``.
        probabilities (np.ndarray | None): positive-class probability (binary) or one column per class
            (multi); ``None`` for regression.
        classes (list): the original class values, index-aligned with class indices (empty for regression).

    Returns:
        dict[str, float] of metric name to value, or ``None``.
    """


@hookspec
def assay_plots(analysis_type):
    """Name the plots that fit predictions of an analysis type.

    Called by the report and by ``Prediction.plot(name)``. Results of all plugins are merged.

    Args:
        analysis_type (str): the analysis type of the experiment.

    Returns:
        dict[str, Callable[[assay.Prediction], matplotlib.figure.Figure]], or ``None``.
    """


# --------------------------------------------------------------------------------------------------------------
# Encoder families
# --------------------------------------------------------------------------------------------------------------


@hookspec
def assay_encoder_families():
    """Register encoder families: the kinds of encoder objects the tabular pipeline can use.

    Called when the pipeline validates ``label_encoder`` and ``feature_encoders`` and when fitted encoders are
    loaded back. Results are collected; the first family whose ``accepts(encoder)`` is true handles an encoder.

    Returns:
        list[assay.contracts.EncoderFamily]
    """
