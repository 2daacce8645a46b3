"""Inference: a trained model predicts new raw rows, through the encoders it was trained with, with no database.

:class:`Inference` holds everything needed to go from raw rows to decoded predictions (the model, the fitted
encoders, the input schema, the library and analysis type). Exported bundles (:mod:`assay.inference.bundle`) and
``assay serve`` use it; :mod:`assay.inference.infer` builds one from a stored predictor. This module and what it
imports never import :mod:`assay.db` (an import-linter contract checks it), so serving starts without SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import pandas as pd

from assay import errors, plugins
from assay.data import finite
from assay.data.encoding import FittedEncoders
from assay.data.read import tables
from assay.data.read.arrays import ArrayEncoders, library_features
from assay.experiment import predicting
from assay.inference.inputs import InputEntry, encode_inputs
from assay.inference.outcome import Outcome, encoded_sources
from assay.inference.schema import InputSchema, check

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


def read_label_column(label_df_or_path: Any, column: str | None) -> pd.Series:
    """The label column of a label table given at inference (for metrics)."""
    label_df, _ = tables.read_tabular(label_df_or_path)
    if column is None or column not in label_df.columns:
        raise errors.DataError("label_df_or_path",
                               f"needs the label column {column!r}; it has {list(label_df.columns)}")
    return label_df[column]
