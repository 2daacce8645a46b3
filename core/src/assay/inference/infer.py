"""Inference: a trained model predicts new raw rows, through the encoders it was trained with.

:class:`~assay.inference.runtime.Inference` holds everything needed to go from raw rows to decoded predictions
(the model, the fitted encoders, the input schema, the library and analysis type) and needs no database, so
exported bundles (:mod:`assay.inference.bundle`) use it too. :func:`infer` builds one from a stored Predictor,
predicts and stores the result as a Prediction with ``split="inference"``.

The steps mirror how the runner evaluated the model's own splits (:func:`assay.experiment.runner.evaluate_split`):
the same encoders (the fold's, for a model trained on a fold), the same ``prepare_samples``, the same
``fn_predict`` or default predict, the same decoding and the same metrics. So the rows of a training split give
exactly the predictions stored for that split.
"""

from __future__ import annotations

import contextlib
import functools
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from assay import errors, plugins
from assay.data import arraystore, ingest
from assay.data.read import multi_input
from assay.data.read.arrays import read_samples
from assay.experiment import arrays
from assay.inference import conformal
from assay.inference.inputs import InputEntry
from assay.inference.outcome import Outcome

# Inference lives in assay.inference.runtime (no database); re-exported for the callers that import it from here
from assay.inference.runtime import PROBABILITY_PREFIX, Inference, read_label_column  # noqa: F401
from assay.inference.schema import InputSchema

if TYPE_CHECKING:
    # the database layer (SQLAlchemy) loads only when a stored predictor infers: an exported bundle predicts with
    # Inference alone, and `assay predict` starts without it (the functions below import it where they use it)
    from assay.data.read.splitsets import SplitsetData
    from assay.experiment.trained import Trained

# --------------------------------------------------------------------------------------------------------------
# From a stored predictor
# --------------------------------------------------------------------------------------------------------------


def input_schema(splitset: SplitsetData) -> InputSchema:
    """The schema of a splitset's raw data: its features, its label and the other columns of its dataset."""
    from assay.db.queries import data as data_queries

    dataset_columns = data_queries.dataset_columns(splitset.dataset_id)
    features = list(splitset.feature_columns)
    label = splitset.label_column
    return InputSchema(
        feature_columns=features, feature_dtypes=dict(splitset.feature_dtypes), label_column=label,
        ignored_columns=[c for c in dataset_columns if c not in features and c != label],
    )


def input_entries(splitset: Any, fold_index: int | None) -> list[InputEntry]:
    """A multi-input splitset's inputs as inference needs them: name, kind, the (fold's) encoders, schema, layout."""
    return [InputEntry(name=name, kind=data.kind, encoders=data.encoders(fold_index),
                       schema=input_schema(data) if data.kind == "tabular" else None, layout=data.layout)
            for name, data in splitset.inputs]


def inference_for(trained: Trained) -> Inference:
    """Everything a trained model needs to predict raw rows, read from the database."""
    from assay.data.read.splitsets import SplitsetData

    splitset = SplitsetData.load(trained.queue.splitset_id)
    if splitset.kind == multi_input.KIND:
        return Inference(
            library=trained.algorithm.library, analysis_type=trained.algorithm.analysis_type, model=trained.model(),
            encoders=splitset.encoders(trained.job.fold_index),
            schema=InputSchema(feature_columns=list(splitset.feature_columns),
                               feature_dtypes=dict(splitset.feature_dtypes), label_column=splitset.label_column,
                               ignored_columns=[]),
            features_shape=trained.features_shape, fn_predict=trained.functions["fn_predict"],
            layout=splitset.layout, inputs=input_entries(splitset, trained.job.fold_index),
        )
    return Inference(
        library=trained.algorithm.library, analysis_type=trained.algorithm.analysis_type, model=trained.model(),
        encoders=splitset.encoders(trained.job.fold_index), schema=input_schema(splitset),
        features_shape=trained.features_shape, fn_predict=trained.functions["fn_predict"],
        window=window_settings(splitset), layout=splitset.layout,
    )


def window_settings(splitset: Any) -> dict[str, Any] | None:
    """The splitset's window settings without its (long) list of window starts."""
    window = splitset.window
    return None if window is None else {k: v for k, v in window.to_json().items() if k != "starts"}


def _loss(predictor: Trained, inference: Inference, samples: dict[str, Any]) -> float | None:
    """The training loss on these rows, as the runner's ``loss`` metric; ``None`` when it is not finite."""
    backend = plugins.backend(inference.library)
    fn_lose = predictor.functions["fn_lose"]
    loser = fn_lose(**predictor.hyperparameters) if fn_lose is not None else backend.default_loss(
        inference.analysis_type)
    loss = backend.evaluate_loss(inference.analysis_type, inference.model, loser, samples)
    return loss if np.isfinite(loss) else None


def infer(predictor_id: int, df_or_path: Any, label_df_or_path: Any = None) -> pd.DataFrame:
    """Predict new raw rows with ``predictor`` and store the result as a Prediction (``split="inference"``).

    Args:
        predictor_id: the id of an :class:`assay.Predictor`.
        df_or_path: a DataFrame or a ``.csv``/``.tsv``/``.parquet`` file holding the original feature columns
            (see :mod:`assay.inference.schema` for the columns and dtypes accepted). When it also holds the
            label column, the metrics of the analysis type (and the loss) are computed and stored. For a model
            trained on sequences: a 3-D array or ``.npy`` file; on images: a folder or a list of image files;
            either shaped like the training samples (every feature, before exclusion). For a multi-input model:
            a list with each input's raw data (any of those forms) in input order, or a dict by input name; the
            stored Prediction then references the first input's data.
        label_df_or_path: sequences, images and multi-input models only: the labels of the new samples (a
            DataFrame or file holding the label column, one row per sample), to compute metrics.

    Returns:
        A DataFrame with the input's index: ``prediction`` (original label values) and, for classification,
        ``probability_<class>`` for every class. ``frame.attrs["prediction_id"]`` is the stored Prediction
        (also ``predictor.inferences[-1]``), ``frame.attrs["metrics"]`` its metrics.

    Raises:
        assay.errors.SchemaMismatchError: columns missing, unexpected or of incompatible dtypes, or samples of
            another shape; nothing is predicted or stored.
        assay.errors.DataError: unreadable data, label values the model was not trained on, ±inf in a feature,
            or NaN where the model's encoders do not impute it; nothing is stored then.
    """
    from assay.db.queries import experiments as experiment_queries
    from assay.experiment.trained import Trained

    predictor = Trained.load(predictor_id)
    inference = inference_for(predictor)
    if inference.is_multi:
        return _infer_inputs(predictor, inference, df_or_path, label_df_or_path)
    if isinstance(df_or_path, (list, tuple)) and any(isinstance(item, (pd.DataFrame, np.ndarray))
                                                     for item in df_or_path):
        raise errors.SchemaMismatchError(
            "df_or_path", f"got a list of {len(df_or_path)} inputs, but predictor {predictor.id} takes one input of "
            f"shape {tuple(inference.features_shape)} (its data: one DataFrame, array or image list); several inputs "
            "are for models trained on assay.Pipeline.make(inputs=[...])")
    if inference.is_array:
        return _infer_samples(predictor, inference, df_or_path, label_df_or_path)
    if label_df_or_path is not None:
        raise errors.ValidationError("label_df_or_path", "is for sequence and image models; tabular rows carry "
                                     "their label column themselves")
    df, name = ingest.read_tabular(df_or_path)
    index = df_or_path.index if isinstance(df_or_path, pd.DataFrame) else df.index
    outcome = inference.predict(df, index=index)
    metrics = dict(outcome.metrics)
    if outcome.labels is not None:
        loss = _loss(predictor, inference, outcome.samples)
        if loss is not None:
            metrics["loss"] = loss
    classes = inference.classes
    blob = arrays.dumps(predictions=outcome.predictions, probabilities=outcome.probabilities, labels=outcome.labels,
                        classes=np.asarray(classes) if classes else None)
    with ingest.serialize(df) as serialized:  # before the transaction: keep the write lock short
        prediction_id = experiment_queries.store_inference(predictor.id, serialized,
                                                           ingest.dataset_fields(df, name), blob, metrics, len(df))
    # a forecast has its own rows (the next window), not the input's
    frame = outcome.frame if inference.window is not None else outcome.frame.set_axis(index)
    frame.attrs.update(prediction_id=prediction_id, metrics=metrics)
    return _conformal(predictor.id, frame)


def _conformal(predictor_id: int, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the predictor's conformal sets or intervals (:func:`assay.inference.conformal.apply`) when
    it is calibrated."""
    from assay.db.queries import comparison as comparison_queries

    calibration = comparison_queries.predictor_calibration(predictor_id)
    return frame if not calibration else conformal.apply(calibration, frame)


def _metrics_with_loss(predictor: Trained, inference: Inference, outcome: Outcome) -> dict[str, float]:
    metrics = dict(outcome.metrics)
    if outcome.labels is not None:
        loss = _loss(predictor, inference, outcome.samples)
        if loss is not None:
            metrics["loss"] = loss
    return metrics


def _store_array_prediction(predictor: Trained, encoders: Any, samples: np.ndarray, name: str | None,
                            row_count: int, blob: bytes, metrics: dict[str, float]) -> int:
    from assay.data.build.arrays import array_dataset
    from assay.db.queries import experiments as experiment_queries

    columns = list(encoders.columns)
    sha256 = arraystore.fingerprint(samples)
    return experiment_queries.store_array_inference(
        predictor.id, sha256, lambda: array_dataset(encoders.kind, samples, name, columns, sha256), blob, metrics,
        row_count,
    )


def _infer_samples(predictor: Trained, inference: Inference, data: Any, label_df_or_path: Any) -> pd.DataFrame:
    """``infer`` for sequence and image models: the new samples are stored as an array dataset."""
    encoders = inference.encoders
    if inference.window is not None and encoders.kind == "image":
        raise errors.ValidationError(
            "df_or_path", f"predictor {predictor.predictor.id} forecasts windows of image frames; infer does not "
            "forecast from new frames yet: read its forecasts of the stored frames with predictor.predictions[split]")
    if inference.window is not None:  # a forecast of the window after the latest timesteps of one series
        from assay.inference import forecast

        outcome = forecast.predict_series_window(inference, data)
        series = np.asarray(data).reshape(1, *np.shape(data)[-2:])
        prediction_id = _store_array_prediction(predictor, encoders, series, None, 1, arrays.dumps(
            predictions=outcome.predictions), {})
        outcome.frame.attrs.update(prediction_id=prediction_id)
        return outcome.frame
    samples, name = read_samples(encoders.kind, data, "df_or_path")
    samples = encoders.check_samples(samples, "df_or_path")
    labels = None
    if label_df_or_path is not None:
        label_df, _ = ingest.read_tabular(label_df_or_path)
        column = inference.schema.label_column
        if column is None or column not in label_df.columns:
            raise errors.DataError("label_df_or_path", f"needs the label column {column!r}; it has "
                                   f"{list(label_df.columns)}")
        labels = label_df[column]
    outcome = inference.predict_samples(samples, labels)
    metrics = _metrics_with_loss(predictor, inference, outcome)
    classes = inference.classes
    blob = arrays.dumps(predictions=outcome.predictions, probabilities=outcome.probabilities, labels=outcome.labels,
                        classes=np.asarray(classes) if classes else None)
    prediction_id = _store_array_prediction(predictor, encoders, samples, name, len(samples), blob, metrics)
    frame = outcome.frame
    frame.attrs.update(prediction_id=prediction_id, metrics=metrics)
    return _conformal(predictor.id, frame)


def _infer_inputs(predictor: Trained, inference: Inference, data: Any, label_df_or_path: Any) -> pd.DataFrame:
    """``infer`` for multi-input models. Every input's data is stored (or found again) and the Prediction records
    them all, in input order (``prediction.datasets``; its ``dataset_id`` is the first's); its arrays hold every
    prediction."""
    from assay.data.build.arrays import array_dataset
    from assay.db.queries import predictions as prediction_queries

    labels = None if label_df_or_path is None else read_label_column(label_df_or_path,
                                                                     inference.schema.label_column)
    outcome = inference.predict_inputs(data, labels)
    metrics = _metrics_with_loss(predictor, inference, outcome)
    classes = inference.classes
    blob = arrays.dumps(predictions=outcome.predictions, probabilities=outcome.probabilities, labels=outcome.labels,
                        classes=np.asarray(classes) if classes else None)
    count = len(outcome.predictions)
    parts = multi_input.per_input(data, [e.name for e in inference.inputs], "df_or_path")
    with contextlib.ExitStack() as stack:  # every table serialized before the transaction: a short write lock
        stored: list[tuple[str, Any]] = []
        for index, (part, entry) in enumerate(zip(parts, inference.inputs, strict=True)):
            if entry.kind == "tabular":
                df, name = ingest.read_tabular(part)
                stored.append(("tabular", (stack.enter_context(ingest.serialize(df)), ingest.dataset_fields(df, name))))
            else:
                samples, name = read_samples(entry.kind, part, f"df_or_path[{index}]")
                columns, sha256 = list(entry.encoders.columns), arraystore.fingerprint(samples)
                stored.append(("array", (sha256, functools.partial(array_dataset, entry.encoders.kind, samples, name,
                                                                   columns, sha256))))
        prediction_id = prediction_queries.store_inputs_inference(predictor.id, stored, blob, metrics, count)
    frame = outcome.frame
    frame.attrs.update(prediction_id=prediction_id, metrics=metrics)
    return _conformal(predictor.id, frame)
