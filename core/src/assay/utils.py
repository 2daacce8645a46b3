"""AIQC's ``aiqc.utils`` helpers that its scripts import, under assay's name (``from assay.utils import
torch_batcher, div255, mult255, TrainingCallback``).

* :func:`div255` / :func:`mult255`: image scaling for ``FunctionTransformer(div255, inverse_func=mult255)``.
  Module-level, so a fitted transformer pickles them by reference and loads back wherever assay is installed.
* :func:`torch_batcher`: features and labels cut into mini-batches for a hand-written torch training loop
  (``assay_torch.fit`` batches by itself).
* :func:`tf_batcher`: the same for NumPy arrays, in near-equal batches.
* ``TrainingCallback``: :class:`assay.callbacks.TrainingCallback` (``TrainingCallback.Keras.MetricCutoff``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from assay import errors
from assay.callbacks import TrainingCallback


def div255(X: Any) -> Any:  # noqa: N803  (scikit-learn's name for a transformer's input)
    """Pixel values 0..255 scaled to 0..1."""
    return X / 255


def mult255(X: Any) -> Any:  # noqa: N803
    """The inverse of :func:`div255`."""
    return X * 255


def _batch_size(batch_size: Any) -> int:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise errors.ValidationError("batch_size", f"must be a positive int, got {batch_size!r}")
    return batch_size


def torch_batcher(features: Any, labels: Any, batch_size: int = 5, enforce_sameSize: bool = False,  # noqa: N803
                  allow_1Sample: bool = False) -> tuple[list[Any], list[Any]]:  # noqa: N803
    """``features`` and ``labels`` (tensors, one row per sample) cut into batches of ``batch_size`` rows.

    The last batch is dropped when it holds one sample and ``allow_1Sample`` is False (a batch of one breaks
    ``BatchNorm1d``), or when it is smaller than the others and ``enforce_sameSize`` is True: AIQC's rules.
    """
    import torch

    size = _batch_size(batch_size)
    if len(features) != len(labels):
        raise errors.ValidationError("labels", f"has {len(labels)} rows for {len(features)} feature rows")
    batched_features = list(torch.split(features, size))
    batched_labels = list(torch.split(labels, size))
    if batched_features:
        last = batched_features[-1].shape[0]
        if (last == 1 and not allow_1Sample) or (enforce_sameSize and last != batched_features[0].shape[0]):
            batched_features, batched_labels = batched_features[:-1], batched_labels[:-1]
    return batched_features, batched_labels


def tf_batcher(features: Any, labels: Any, batch_size: int = 5) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """NumPy ``features`` and ``labels`` in ``ceil(rows / batch_size)`` near-equal batches (``np.array_split``)."""
    size = _batch_size(batch_size)
    if len(features) != len(labels):
        raise errors.ValidationError("labels", f"has {len(labels)} rows for {len(features)} feature rows")
    count = max(1, math.ceil(len(features) / size))
    return np.array_split(features, count), np.array_split(labels, count)


__all__ = ["TrainingCallback", "div255", "mult255", "tf_batcher", "torch_batcher"]
