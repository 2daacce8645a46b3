"""What predicting raw rows gives: :class:`Outcome`, and :func:`encoded_sources`.

Shared by :mod:`~assay.inference.infer` and :mod:`~assay.inference.forecast`, so neither imports the other back.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pandas as pd


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


def encoded_sources(encoders: Any) -> list[list[str]]:
    """The raw columns behind each encoded feature column, in ``encode_features`` order."""
    sources = [list(encoder.columns) for encoder in encoders.features for _ in encoder.output_names]
    return sources + [[column] for column in encoders.passthrough]
