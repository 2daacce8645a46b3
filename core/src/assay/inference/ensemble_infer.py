"""An ensemble stored in the database predicts new raw data and stores the result (``ensemble.infer``).

The prediction itself is :mod:`assay.inference.ensemble`'s (shared with ensemble bundles, which need no database);
this module loads the members from the database and stores what they predicted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from assay.data.read.arrays import read_samples
from assay.db.queries import ensembles as queries
from assay.experiment import arrays
from assay.experiment.trained import Trained
from assay.inference import ensemble as combining
from assay.inference.infer import inference_for
from assay.inference.runtime import Inference


def member_inferences(member_weights: dict[int, float]) -> list[tuple[float, Inference]]:
    """``(weight, Inference)`` of every member, loaded from the database."""
    return [(weight, inference_for(Trained.load(predictor_id))) for predictor_id, weight in member_weights.items()]


def infer(ensemble_id: int, members: list[tuple[float, Inference]], data: Any,
          label_df_or_path: Any = None) -> pd.DataFrame:
    """Predict new raw data with an ensemble's members and store the result (``split="inference"``).

    Returns:
        A DataFrame like ``predictor.infer``'s: ``prediction`` and, for classification, ``probability_<class>``;
        ``attrs["metrics"]`` when the labels are known and ``attrs["prediction_id"]``.
    """
    info = combining.described(members[0][1])
    if info.kind == "array" and not isinstance(data, np.ndarray):  # read images or a .npy file once
        data = read_samples(members[0][1].encoders.kind, data, "df_or_path")[0]
    predicts = [(weight, combining.inference_predict(one)) for weight, one in members]
    frame, measured, values, labels = combining.predict_with(predicts, info, data, label_df_or_path)
    classes = info.classes
    predictions = frame["prediction"].to_numpy()
    probabilities = combining.probabilities(info.analysis_type, values) if classes else None
    blob = arrays.dumps(predictions=predictions, probabilities=probabilities,
                        labels=None if labels is None else labels.to_numpy(),
                        classes=np.asarray(classes) if classes else None)
    prediction_id = queries.store_inference(ensemble_id, blob, measured, len(frame))
    frame.attrs.update(prediction_id=prediction_id, metrics=measured)
    return frame
