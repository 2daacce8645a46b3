"""Keras callbacks for ``fn_train``: :class:`MetricCutoff` stops training once every given metric passes its
threshold (AIQC's ``TrainingCallback.Keras.MetricCutoff``; also ``assay.TrainingCallback.Keras.MetricCutoff``).

This module imports Keras; import it inside ``fn_train`` or from user code, never from a hook module.
"""

from __future__ import annotations

from typing import Any

import keras

from assay import cutoffs

__all__ = ["MetricCutoff"]


class MetricCutoff(keras.callbacks.Callback):
    """Stop training at the end of the first epoch where *every* threshold is met.

    Args:
        thresholds: a list of ``{"metric": name, "cutoff": number, "above_or_below": "above" | "below"}``;
            ``"above"`` means ``metric >= cutoff``, ``"below"`` ``metric <= cutoff``. Metric names are those of
            Keras' epoch logs: ``loss``, ``accuracy``, and ``val_``-prefixed ones for the validation data.

    Raises:
        assay.errors.ValidationError: at construction, for a malformed threshold; at the end of an epoch, for a
            metric the logs do not hold (naming the metrics they hold).

    Attributes:
        stopped_epoch: the (0-based) epoch training stopped after, or ``None`` when it ran every epoch.
    """

    def __init__(self, thresholds: list[dict[str, Any]]):
        super().__init__()
        self.thresholds = cutoffs.check_thresholds(thresholds)
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if cutoffs.all_met(self.thresholds, logs or {}, "compile the model with it, or fit with validation_data for "
                           "'val_' metrics"):
            self.stopped_epoch = epoch
            self.model.stop_training = True
