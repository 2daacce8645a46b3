"""Inference: a trained model predicts new raw rows, through the encoders it was trained with.

:class:`Inference` holds everything needed to go from raw rows to decoded predictions (the model, the fitted
encoders, the input schema, the library and analysis type) and needs no database, so exported bundles
(:mod:`assay.inference.bundle`) use it too. :func:`infer` builds one from a stored Predictor, predicts and stores
the result as a Prediction with ``split="inference"``.

The steps mirror how the runner evaluated the model's own splits (:func:`assay.experiment.runner.evaluate_split`):
the same encoders (the fold's, for a model trained on a fold), the same ``prepare_samples``, the same
``fn_predict`` or default predict, the same decoding and the same metrics. So the rows of a training split give
exactly the predictions stored for that split.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import pandas as pd

from assay import errors, plugins
from assay.data import arraystore, finite, ingest
from assay.data.encoding import FittedEncoders
from assay.data.read import multi_input
from assay.data.read.arrays import ArrayEncoders, library_features, read_samples
from assay.experiment import arrays, predicting
from assay.inference import conformal
from assay.inference.inputs import InputEntry, encode_inputs
from assay.inference.outcome import Outcome, encoded_sources
from assay.inference.schema import InputSchema, check

if TYPE_CHECKING:
    # the database layer (SQLAlchemy) loads only when a stored predictor infers: an exported bundle predicts with
    # Inference alone, and `assay predict` starts without it (the functions below import it where they use it)
    from assay.data.read.splitsets import SplitsetData
    from assay.experiment.trained import Trained

#: prefix of the probability columns of the returned DataFrame: ``probability_<class>``
PROBABILITY_PREFIX = "probability_"


@attrs.frozen
class Inference:
    """A trained model with what it needs to predict raw rows: encoders, schema, library, analysis type."""

    library: str
    analysis_type: str
    model: Any = attrs.field(repr=False)
    encoders: FittedEncoders | ArrayEncoders = attrs.field(repr=False)
    schema: InputSchema
    features_shape: tuple[int, ...]
    fn_predict: Callable[..., Any] | None = attrs.field(default=None, repr=False)
    #: the splitset's ``feature_window`` settings when the model forecasts windows (see assay.inference.forecast)
    window: dict[str, Any] | None = None
    #: the splitset's axis layout (see ``Splitset.layout``); images are moved channels last for Keras
    layout: str | list[str] = "tabular"
    #: a multi-input model's inputs, in order (``encoders`` then holds only the label's encoder)
    inputs: list[InputEntry] | None = attrs.field(default=None, repr=False)

    @property
    def is_multi(self) -> bool:
        """Whether the model takes several inputs (a list of arrays)."""
        return self.inputs is not None

    @property
    def is_array(self) -> bool:
        """Whether the model takes sequence or image samples (``encoders`` is an ``ArrayEncoders``)."""
        return isinstance(self.encoders, ArrayEncoders)

    @property
    def is_classification(self) -> bool:
        return plugins.analysis_type(self.analysis_type).is_classification

    @property
    def classes(self) -> list[Any]:
        """Original class values in encoded order (empty for regression)."""
        return list(self.encoders.label_classes) if self.is_classification else []

    def predict(self, df: pd.DataFrame, parameter: str = "df_or_path", index: pd.Index | None = None) -> Outcome:
        """Check ``df`` against the schema, encode, predict, decode; metrics when it holds the label column.

        ``index``: the row labels the user passed (``df`` may have been renumbered when read), shown in errors.

        Raises:
            assay.errors.SchemaMismatchError: missing, unexpected or incompatible columns (nothing predicted).
            assay.errors.DataError: label values the model does not know; ±inf in a feature, or NaN where the
                model's encoders do not impute it (naming the columns and row positions).
        """
        features = check(df, self.schema, parameter)
        finite.refuse_infinity(features, list(features.columns), parameter, index)
        if self.window is not None:
            from assay.inference import forecast

            return forecast.predict_window(self, features)
        label_column = self.schema.label_column
        has_labels = label_column is not None and label_column in df.columns
        labels = df[label_column].reset_index(drop=True) if has_labels else None
        y_true = self._true_coding(labels)  # checked before predicting, so a wrong label column fails fast
        encoded = self.encoders.encode_features(features.reset_index(drop=True))
        finite.refuse_unencodable_rows(features, encoded, encoded_sources(self.encoders), parameter, index)
        encoded = encoded.reshape(len(encoded), *self.features_shape)
        return self._predict_encoded(encoded, labels, y_true, df.index)

    def predict_samples(self, samples: Any, labels: pd.Series | None = None,
                        parameter: str = "df_or_path") -> Outcome:
        """Predict raw sequence or image samples (shaped like the training samples); metrics when ``labels``
        (one per sample, original values) are given.

        Raises:
            assay.errors.SchemaMismatchError: samples of another shape than the model was trained on.
            assay.errors.DataError: labels of another count than the samples, or values the model does not know;
                samples holding NaN or ±inf (by position).
        """
        encoded = self.encoders.encode_features(samples, parameter=parameter)
        bad = np.flatnonzero(~np.isfinite(encoded.reshape(len(encoded), -1)).all(axis=1))
        if len(bad):  # a NaN sample would get a meaningless prediction (NaN probabilities, class 0)
            shown = ", ".join(map(str, bad[:finite.SHOWN].tolist())) + (
                f" and {len(bad) - finite.SHOWN} more" if len(bad) > finite.SHOWN else "")
            raise errors.DataError(parameter, f"samples {shown} hold NaN or ±inf after encoding; nothing was "
                                   "predicted: fill or drop those samples")
        if labels is not None:
            labels = pd.Series(labels).reset_index(drop=True)
            if len(labels) != len(encoded):
                raise errors.DataError("label_df_or_path", f"has {len(labels)} rows for {len(encoded)} samples; give "
                                       "one label per sample, in sample order")
        y_true = self._true_coding(labels)
        channels_last = plugins.backend(self.library).channels_last()
        encoded = library_features(encoded, self.layout, channels_last)
        return self._predict_encoded(encoded, labels, y_true, pd.RangeIndex(len(encoded)))

    def predict_inputs(self, data: Any, labels: pd.Series | None = None, parameter: str = "df_or_path") -> Outcome:
        """Predict new raw data of every input of a multi-input model (a list in input order, or a dict by input
        name: tables as DataFrames or files, sequences as arrays, images as folders or file lists); metrics when
        ``labels`` (one per sample, original values) are given.

        Raises:
            assay.errors.SchemaMismatchError: not one entry per input, or an input's columns or sample shape differ
                from training (naming ``df_or_path[i]`` and the input).
            assay.errors.DataError: inputs of different sample counts, labels of another count or unknown values.
        """
        encoded = encode_inputs(self.inputs, data, plugins.backend(self.library).channels_last(), parameter)
        count = len(encoded[0])
        if labels is not None:
            labels = pd.Series(labels).reset_index(drop=True)
            if len(labels) != count:
                raise errors.DataError("label_df_or_path", f"has {len(labels)} rows for {count} samples; give one "
                                       "label per sample, in sample order")
        y_true = self._true_coding(labels)
        return self._predict_encoded(encoded, labels, y_true, pd.RangeIndex(count))

    def _true_coding(self, labels: pd.Series | None) -> np.ndarray | None:
        if labels is None:
            return None
        return predicting.true_coding(labels.to_numpy(), self.classes, self.schema.label_column or "label_column")

    def _predict_encoded(self, encoded: Any, labels: pd.Series | None, y_true: np.ndarray | None,
                         index: pd.Index) -> Outcome:
        classes = self.classes
        raw = {"features": encoded, "labels": self.encoders.encode_labels(labels) if labels is not None else None}
        backend = plugins.backend(self.library)
        samples = backend.prepare_samples(self.analysis_type, raw)
        predictions, probabilities = predicting.predict(backend, self.analysis_type, self.fn_predict, self.model,
                                                        samples, class_count=len(classes) or None)
        decoded = self.encoders.decode_labels(predicting.one_column(predictions, len(index)))

        frame = pd.DataFrame({"prediction": decoded}, index=index)
        if classes and probabilities is not None:
            for name, column in zip(_probability_names(classes), _per_class(probabilities, classes), strict=True):
                frame[name] = column

        metrics: dict[str, float] = {}
        if labels is not None:
            # the same coding as the runner: class indices for classification, decoded values for regression
            y_pred = predicting.predicted_coding(predictions, decoded, classes)
            metrics = plugins.metrics(self.analysis_type, y_true, y_pred, probabilities, classes)
        frame.attrs["metrics"] = dict(metrics)
        return Outcome(frame, decoded, probabilities, None if labels is None else labels.to_numpy(), metrics,
                       samples)


def _probability_names(classes: list[Any]) -> list[str]:
    return [f"{PROBABILITY_PREFIX}{value}" for value in classes]


def _per_class(probabilities: np.ndarray, classes: list[Any]) -> list[np.ndarray]:
    """One array per class; a binary model's positive-class probability p gives ``1 - p`` and ``p``."""
    values = probabilities.reshape(len(probabilities), -1)
    if values.shape[1] == 1 and len(classes) == 2:
        return [1.0 - values[:, 0], values[:, 0]]
    if values.shape[1] == len(classes):
        return [values[:, i] for i in range(len(classes))]
    raise errors.ExperimentError(
        "fn_predict",
        f"the model gave probabilities of shape {probabilities.shape} for {len(classes)} classes; return one "
        "column per class (or the positive-class probability for binary classification)",
    )


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


def read_label_column(label_df_or_path: Any, column: str | None) -> pd.Series:
    """The label column of a label table given at inference (for metrics)."""
    label_df, _ = ingest.read_tabular(label_df_or_path)
    if column is None or column not in label_df.columns:
        raise errors.DataError("label_df_or_path",
                               f"needs the label column {column!r}; it has {list(label_df.columns)}")
    return label_df[column]


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
