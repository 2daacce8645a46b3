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

from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import pandas as pd

from assay import errors, plugins
from assay.data import ingest
from assay.data.encoding import FittedEncoders
from assay.data.splitsets import SplitsetData
from assay.db.queries import data as data_queries
from assay.db.queries import experiments as experiment_queries
from assay.experiment import arrays, predicting
from assay.experiment.trained import Trained
from assay.inference.schema import InputSchema, check

#: prefix of the probability columns of the returned DataFrame: ``probability_<class>``
PROBABILITY_PREFIX = "probability_"


@attrs.frozen
class Outcome:
    """The result of predicting raw rows.

    Attributes:
        frame: ``prediction`` and, for classification, one ``probability_<class>`` column per class; the
            index of the input DataFrame.
        predictions: decoded to original label values.
        probabilities: as the model gave them (positive-class probability for binary, one column per class for
            multi-class, ``None`` for regression).
        labels: the true label values when the data held the label column, else ``None``.
        metrics: metric -> value when the data held the label column, else ``{}``.
        samples: the prepared samples the model predicted (for the loss metric).
    """

    frame: pd.DataFrame
    predictions: np.ndarray
    probabilities: np.ndarray | None
    labels: np.ndarray | None
    metrics: dict[str, float]
    samples: dict[str, Any] = attrs.field(repr=False)


@attrs.frozen
class Inference:
    """A trained model with what it needs to predict raw rows: encoders, schema, library, analysis type."""

    library: str
    analysis_type: str
    model: Any = attrs.field(repr=False)
    encoders: FittedEncoders = attrs.field(repr=False)
    schema: InputSchema
    features_shape: tuple[int, ...]
    fn_predict: Callable[..., Any] | None = attrs.field(default=None, repr=False)

    @property
    def is_classification(self) -> bool:
        return plugins.analysis_type(self.analysis_type).is_classification

    @property
    def classes(self) -> list[Any]:
        """Original class values in encoded order (empty for regression)."""
        return list(self.encoders.label_classes) if self.is_classification else []

    def predict(self, df: pd.DataFrame, parameter: str = "df_or_path") -> Outcome:
        """Check ``df`` against the schema, encode, predict, decode; metrics when it holds the label column.

        Raises:
            assay.errors.SchemaMismatchError: missing, unexpected or incompatible columns (nothing predicted).
            assay.errors.DataError: label values the model does not know.
        """
        features = check(df, self.schema, parameter)
        label_column = self.schema.label_column
        has_labels = label_column is not None and label_column in df.columns
        labels = df[label_column].to_numpy() if has_labels else None
        classes = self.classes
        y_true = None
        if has_labels:  # checked before predicting, so a wrong label column fails fast
            y_true = predicting.true_coding(labels, classes, label_column)

        encoded = self.encoders.encode_features(features.reset_index(drop=True))
        encoded = encoded.reshape(len(encoded), *self.features_shape)
        raw = {"features": encoded,
               "labels": self.encoders.encode_labels(df[label_column].reset_index(drop=True)) if has_labels else None}
        backend = plugins.backend(self.library)
        samples = backend.prepare_samples(self.analysis_type, raw)
        predictions, probabilities = predicting.predict(backend, self.analysis_type, self.fn_predict, self.model,
                                                        samples)
        decoded = self.encoders.decode_labels(predicting.one_column(predictions, len(encoded)))

        frame = pd.DataFrame({"prediction": decoded}, index=df.index)
        if classes and probabilities is not None:
            for name, column in zip(_probability_names(classes), _per_class(probabilities, classes), strict=True):
                frame[name] = column

        metrics: dict[str, float] = {}
        if has_labels:
            # the same coding as the runner: class indices for classification, decoded values for regression
            y_pred = predicting.predicted_coding(predictions, decoded, classes)
            metrics = plugins.metrics(self.analysis_type, y_true, y_pred, probabilities, classes)
        frame.attrs["metrics"] = dict(metrics)
        return Outcome(frame, decoded, probabilities, labels, metrics, samples)


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
    dataset_columns = data_queries.dataset_columns(splitset.dataset_id)
    features = list(splitset.feature_columns)
    label = splitset.label_column
    return InputSchema(
        feature_columns=features, feature_dtypes=dict(splitset.feature_dtypes), label_column=label,
        ignored_columns=[c for c in dataset_columns if c not in features and c != label],
    )


def inference_for(trained: Trained) -> Inference:
    """Everything a trained model needs to predict raw rows, read from the database."""
    splitset = SplitsetData.load(trained.queue.splitset_id)
    return Inference(
        library=trained.algorithm.library, analysis_type=trained.algorithm.analysis_type, model=trained.model(),
        encoders=splitset.encoders(trained.job.fold_index), schema=input_schema(splitset),
        features_shape=trained.features_shape, fn_predict=trained.functions["fn_predict"],
    )


def _loss(predictor: Trained, inference: Inference, samples: dict[str, Any]) -> float | None:
    """The training loss on these rows, as the runner's ``loss`` metric; ``None`` when it is not finite."""
    backend = plugins.backend(inference.library)
    fn_lose = predictor.functions["fn_lose"]
    loser = fn_lose(**predictor.hyperparameters) if fn_lose is not None else backend.default_loss(
        inference.analysis_type)
    loss = backend.evaluate_loss(inference.analysis_type, inference.model, loser, samples)
    return loss if np.isfinite(loss) else None


def infer(predictor_id: int, df_or_path: Any) -> pd.DataFrame:
    """Predict new raw rows with ``predictor`` and store the result as a Prediction (``split="inference"``).

    Args:
        predictor_id: the id of an :class:`assay.Predictor`.
        df_or_path: a DataFrame or a ``.csv``/``.tsv``/``.parquet`` file holding the original feature columns
            (see :mod:`assay.inference.schema` for the columns and dtypes accepted). When it also holds the
            label column, the metrics of the analysis type (and the loss) are computed and stored.

    Returns:
        A DataFrame with the input's index: ``prediction`` (original label values) and, for classification,
        ``probability_<class>`` for every class. ``frame.attrs["prediction_id"]`` is the stored Prediction
        (also ``predictor.inferences[-1]``), ``frame.attrs["metrics"]`` its metrics.

    Raises:
        assay.errors.SchemaMismatchError: columns missing, unexpected or of incompatible dtypes; nothing is
            predicted or stored.
        assay.errors.DataError: unreadable data, or label values the model was not trained on.
    """
    df, name = ingest.read_tabular(df_or_path)
    index = df_or_path.index if isinstance(df_or_path, pd.DataFrame) else df.index
    predictor = Trained.load(predictor_id)
    inference = inference_for(predictor)
    outcome = inference.predict(df)
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
    frame = outcome.frame.set_axis(index)
    frame.attrs.update(prediction_id=prediction_id, metrics=metrics)
    return frame
