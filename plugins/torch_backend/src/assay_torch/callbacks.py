"""Callbacks for :func:`assay_torch.fit`: :class:`MetricCutoff` stops training once every given metric passes its
threshold (the torch twin of ``assay.TrainingCallback.Keras.MetricCutoff``; also
``assay.TrainingCallback.Torch.MetricCutoff``)::

    cutoff = assay.TrainingCallback.Torch.MetricCutoff([
        {"metric": "val_accuracy", "cutoff": 0.9, "above_or_below": "above"},
        {"metric": "val_loss", "cutoff": 0.3, "above_or_below": "below"},
    ])
    history = assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=200,
                              callbacks=[cutoff])

A callback is any object with ``on_epoch_end(epoch, logs) -> bool`` (``True`` stops training after that epoch);
``logs`` holds the epoch's history values.
"""

from __future__ import annotations

from typing import Any

from assay import cutoffs

__all__ = ["MetricCutoff"]


class MetricCutoff:
    """Stop :func:`assay_torch.fit` at the end of the first epoch where *every* threshold is met.

    Args:
        thresholds: a list of ``{"metric": name, "cutoff": number, "above_or_below": "above" | "below"}``;
            ``"above"`` means ``metric >= cutoff``, ``"below"`` ``metric <= cutoff``. Metric names are the
            history's: ``loss``, the metric of ``fit`` (``accuracy``, ``mae`` or a callable's name), and
            ``val_``-prefixed ones for ``samples_evaluate``.

    Raises:
        assay.errors.ValidationError: at construction, for a malformed threshold; at the end of an epoch, for a
            metric the history does not hold (naming the ones it holds).

    Attributes:
        stopped_epoch: the (0-based) epoch training stopped after, or ``None`` when it ran every epoch.
    """

    def __init__(self, thresholds: list[dict[str, Any]]):
        self.thresholds = cutoffs.check_thresholds(thresholds)
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> bool:
        if cutoffs.all_met(self.thresholds, logs, "choose fit's metric= for it, or pass samples_evaluate for "
                           "'val_' metrics"):
            self.stopped_epoch = epoch
            return True
        return False
