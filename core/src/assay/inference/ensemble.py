"""An ensemble predicts new raw data: every member model predicts it through its own encoders, the outputs are
weighted and summed (probabilities for classification, decoded values for regression).

The members are ordinary single models, so each predicts exactly as ``predictor.infer`` (or its bundle) does;
:func:`combine` is the only ensemble-specific step, shared by :func:`infer` (members loaded from the database)
and the ensemble bundle (:mod:`assay.inference.ensemble_bundle`, members loaded from their own bundles).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import pandas as pd

from assay import errors, plugins
from assay.data import ingest
from assay.data.read.arrays import read_samples
from assay.defaults import BINARY
from assay.experiment import arrays, predicting
from assay.inference.infer import PROBABILITY_PREFIX, Inference, inference_for, read_label_column


def combine(frames: list[pd.DataFrame], weights: list[float], classes: list[Any]) -> tuple[pd.DataFrame,
                                                                                              np.ndarray]:
    """The weighted sum of the members' outputs as one frame like a single model's (``prediction`` and, for
    classification, ``probability_<class>``), and the per-class probabilities (classification) or values.

    Raises:
        assay.errors.SchemaMismatchError: members that predicted different rows (never for members of one
            ensemble, which share their inputs).
    """
    first = frames[0]
    for frame in frames[1:]:
        if len(frame) != len(first):
            raise errors.SchemaMismatchError("df_or_path", f"ensemble members predicted {len(first)} and "
                                             f"{len(frame)} rows of the same data; export the ensemble again")
    if classes:
        names = [f"{PROBABILITY_PREFIX}{value}" for value in classes]
        total = sum(weight * frame[names].to_numpy(dtype=np.float64) for weight, frame in zip(weights, frames,
                                                                                                strict=True))
        result = pd.DataFrame({"prediction": np.asarray(classes)[total.argmax(axis=1)]}, index=first.index)
        for column, name in enumerate(names):
            result[name] = total[:, column]
        return result, total
    total = sum(weight * frame["prediction"].to_numpy(dtype=np.float64) for weight, frame in zip(weights, frames,
                                                                                                   strict=True))
    return pd.DataFrame({"prediction": total}, index=first.index), total


def metrics(analysis_type: str, classes: list[Any], labels: Any, values: np.ndarray,
            label_column: str | None) -> dict[str, float]:
    """The analysis type's metrics of the ensemble's combined outputs against the true labels."""
    truth = predicting.true_coding(np.asarray(labels), classes, label_column or "label_column")
    if classes:
        return dict(plugins.metrics(analysis_type, truth, values.argmax(axis=1), _probabilities(analysis_type, values),
                                    classes))
    return dict(plugins.metrics(analysis_type, truth, values, None, []))


def _probabilities(analysis_type: str, values: np.ndarray) -> np.ndarray:
    """Per-class probabilities as models store them: the positive class's alone for binary classification."""
    return values[:, 1] if analysis_type == BINARY and values.shape[1] == 2 else values


#: one member's prediction of new data: ``(data, parameter) -> frame`` like a single model's
MemberPredict = Callable[[Any, str], pd.DataFrame]


@attrs.frozen
class Described:
    """What every member of an ensemble shares: analysis type, classes, label column, the kind of data taken
    (``"tabular"``, ``"array"`` or ``"multi"``)."""

    analysis_type: str
    classes: list[Any]
    label_column: str | None
    kind: str


def described(one: Inference) -> Described:
    """What an ensemble of models like ``one`` shares."""
    kind = "multi" if one.is_multi else "array" if one.is_array else "tabular"
    if one.window is not None:
        raise errors.ValidationError("ensemble", "ensembles of forecasting models are not supported")
    return Described(one.analysis_type, one.classes, one.schema.label_column, kind)


def inference_predict(one: Inference) -> MemberPredict:
    """A member loaded from the database predicting new data as ``predictor.infer`` does (without storing)."""
    def predict(data: Any, parameter: str) -> pd.DataFrame:
        if one.is_multi:
            return one.predict_inputs(data, None, parameter).frame
        if one.is_array:
            samples = data if isinstance(data, np.ndarray) else read_samples(one.encoders.kind, data, parameter)[0]
            return one.predict_samples(one.encoders.check_samples(samples, parameter), None, parameter).frame
        return one.predict(data, parameter=parameter, index=data.index).frame.set_axis(data.index)
    return predict


def true_labels(info: Described, data: Any, label_df_or_path: Any) -> pd.Series | None:
    """The labels given with new data: the label column of a table, or ``label_df_or_path`` for samples."""
    if info.kind != "tabular":
        return None if label_df_or_path is None else read_label_column(label_df_or_path, info.label_column)
    if label_df_or_path is not None:
        raise errors.ValidationError("label_df_or_path", "is for sequence, image and multi-input models; tabular "
                                     "rows carry their label column themselves")
    if info.label_column is None or info.label_column not in data.columns:
        return None
    return data[info.label_column].reset_index(drop=True)


def predict_with(members: list[tuple[float, MemberPredict]], info: Described, data: Any,
                 label_df_or_path: Any = None, parameter: str = "df_or_path"
                 ) -> tuple[pd.DataFrame, dict[str, float], np.ndarray, pd.Series | None]:
    """The ensemble's frame, metrics (when labels are known), combined outputs and labels for new data, read
    once and predicted by every member."""
    if info.kind == "tabular":
        frame, _ = ingest.read_tabular(data)
        data = frame.set_axis(data.index) if isinstance(data, pd.DataFrame) else frame
    labels = true_labels(info, data, label_df_or_path)
    frames = [predict(data, parameter) for _, predict in members]
    frame, values = combine(frames, [weight for weight, _ in members], info.classes)
    measured = {} if labels is None else metrics(info.analysis_type, info.classes, labels, values, info.label_column)
    frame.attrs["metrics"] = dict(measured)
    return frame, measured, values, labels


def member_inferences(member_weights: dict[int, float]) -> list[tuple[float, Inference]]:
    """``(weight, Inference)`` of every member, loaded from the database."""
    from assay.experiment.trained import Trained  # the database layer: not for a bundle's `assay predict`

    return [(weight, inference_for(Trained.load(predictor_id))) for predictor_id, weight in member_weights.items()]


def infer(ensemble_id: int, members: list[tuple[float, Inference]], data: Any,
          label_df_or_path: Any = None) -> pd.DataFrame:
    """Predict new raw data with an ensemble's members and store the result (``split="inference"``).

    Returns:
        A DataFrame like ``predictor.infer``'s: ``prediction`` and, for classification, ``probability_<class>``;
        ``attrs["metrics"]`` when the labels are known and ``attrs["prediction_id"]``.
    """
    from assay.db.queries import ensembles as queries

    info = described(members[0][1])
    if info.kind == "array" and not isinstance(data, np.ndarray):  # read images or a .npy file once
        data = read_samples(members[0][1].encoders.kind, data, "df_or_path")[0]
    predicts = [(weight, inference_predict(one)) for weight, one in members]
    frame, measured, values, labels = predict_with(predicts, info, data, label_df_or_path)
    classes = info.classes
    predictions = frame["prediction"].to_numpy()
    probabilities = _probabilities(info.analysis_type, values) if classes else None
    blob = arrays.dumps(predictions=predictions, probabilities=probabilities,
                        labels=None if labels is None else labels.to_numpy(),
                        classes=np.asarray(classes) if classes else None)
    prediction_id = queries.store_inference(ensemble_id, blob, measured, len(frame))
    frame.attrs.update(prediction_id=prediction_id, metrics=measured)
    return frame
