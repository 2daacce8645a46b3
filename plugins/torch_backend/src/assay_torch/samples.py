"""Turn the pipeline's numpy samples into tensors whose label encoding fits the default torch losses.

The pipeline hands out labels as its label encoder made them: one-hot columns, one ordinal column, 0/1, or
scaled floats. Each torch loss wants one encoding, and a wrong one often *broadcasts* instead of failing
(``nn.L1Loss`` between ``(n, 1)`` and ``(n,)`` silently compares every row with every other). So labels are
converted here when the conversion is unambiguous, and rejected with a message that says what to change
otherwise:

* ``classification_multi``: class indices, ``torch.long`` of shape ``(n,)`` (what ``nn.CrossEntropyLoss``
  takes). One-hot rows ``(n, k)`` become their column index; one integer column stays as it is.
* ``classification_binary``: 0/1 as ``torch.float32`` of shape ``(n, 1)`` (what ``nn.BCELoss`` takes next to a
  model ending in a sigmoid); one-hot ``(n, 2)`` labels stay one-hot floats, for a model ending in a two-unit
  softmax (``nn.BCELoss`` then compares both columns).
* ``regression``: ``torch.float32``; a 1-D label becomes ``(n, 1)``, the shape of a one-unit output layer.

Training and evaluation then reshape a label to the model's output when both hold one value per row
(:func:`match_target`), and refuse any other shape mismatch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from assay import errors

REGRESSION = "regression"
BINARY = "classification_binary"
MULTI = "classification_multi"


def prepare(analysis_type: str, samples: dict[str, Any]) -> dict[str, Any]:
    """Convert one split's ``{"features", "labels"}`` to tensors; keys other than those two are kept as they are."""
    prepared = dict(samples)
    features = samples["features"]
    if isinstance(features, (list, tuple)):  # a multi-input splitset: one tensor per input, in order
        prepared["features"] = [_features(part) for part in features]
        row_count = len(prepared["features"][0]) if features else 0
    else:
        prepared["features"] = _features(features)
        row_count = len(prepared["features"])
    labels = samples.get("labels")
    if labels is not None:
        prepared["labels"] = _labels(analysis_type, labels, row_count)
    return prepared


def _features(features: Any) -> torch.Tensor:
    array = features.detach().cpu().numpy() if isinstance(features, torch.Tensor) else np.asarray(features)
    if array.dtype.kind not in "iufb":
        raise errors.DataError(
            "samples['features']",
            f"torch needs numeric features, got dtype {array.dtype}; encode text columns in the pipeline "
            "(feature_encoders=[dict(sklearn_preprocess=OneHotEncoder(), dtypes=['str'])])",
        )
    return torch.as_tensor(np.ascontiguousarray(array, dtype=np.float32))


def _labels(analysis_type: str, labels: Any, row_count: int) -> torch.Tensor:
    array = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if len(array) != row_count:
        raise errors.DataError(
            "samples['labels']", f"{len(array)} labels for {row_count} feature rows; give one label per row"
        )
    if array.dtype.kind not in "iufb":
        raise errors.DataError(
            "samples['labels']",
            f"torch needs numeric labels, got dtype {array.dtype}; give the pipeline a label_encoder "
            "(OneHotEncoder() or OrdinalEncoder() for classes, StandardScaler() for a continuous label)",
        )
    if analysis_type == MULTI:
        return torch.as_tensor(class_indices(array), dtype=torch.long)
    if analysis_type == BINARY:
        return torch.as_tensor(_binary(array), dtype=torch.float32)
    # regression, and any analysis type a third party adds: floats, one column per output
    floats = np.asarray(array, dtype=np.float32)
    return torch.as_tensor(floats.reshape(-1, 1) if floats.ndim == 1 else floats)


def class_indices(labels: np.ndarray) -> np.ndarray:
    """Class indices ``(n,)`` from one-hot rows ``(n, k)`` or from one integer column; raises when ambiguous."""
    if labels.ndim == 2 and labels.shape[1] > 1:
        is_binary_values = np.isin(labels, (0, 1)).all()
        if not is_binary_values or not np.all(labels.sum(axis=1) == 1):
            bad_row = _first_bad_one_hot_row(labels)
            raise errors.ExperimentError(
                "label_encoder",
                f"classification_multi with torch needs one-hot rows (exactly one 1, the rest 0) or one column "
                f"of class indices, but label row {bad_row} is {labels[bad_row].tolist()}; encode the label with "
                "OneHotEncoder() or OrdinalEncoder()",
            )
        return labels.argmax(axis=1).astype(np.int64)
    column = labels.reshape(len(labels), -1) if labels.ndim > 1 else labels.reshape(-1, 1)
    if column.shape[1] != 1:
        raise errors.ExperimentError(
            "label_encoder",
            f"classification_multi with torch needs labels of shape (n, classes) or (n,), got {labels.shape}",
        )
    values = column[:, 0]
    if np.any(values < 0) or np.any(values != np.round(values)):
        raise errors.ExperimentError(
            "label_encoder",
            "classification_multi with torch needs class indices 0..k-1 in a single label column, got values "
            f"such as {values[(values < 0) | (values != np.round(values))][0]!r}; encode the label with "
            "OrdinalEncoder() or OneHotEncoder()",
        )
    return values.astype(np.int64)


def _first_bad_one_hot_row(labels: np.ndarray) -> int:
    bad = ~(np.isin(labels, (0, 1)).all(axis=1) & (labels.sum(axis=1) == 1))
    return int(np.flatnonzero(bad)[0])


def _binary(labels: np.ndarray) -> np.ndarray:
    if labels.ndim == 2 and labels.shape[1] == 2:
        # one-hot (n, 2), for a model ending in a two-unit softmax: kept as it is, column 1 is the positive class
        if not (np.isin(labels, (0, 1)).all() and np.all(labels.sum(axis=1) == 1)):
            bad_row = _first_bad_one_hot_row(labels)
            raise errors.ExperimentError(
                "label_encoder",
                f"classification_binary with two label columns needs one-hot rows, but label row {bad_row} is "
                f"{labels[bad_row].tolist()}; encode the label with OneHotEncoder() or OrdinalEncoder()",
            )
        return labels.astype(np.float32)
    if labels.ndim > 2 or (labels.ndim == 2 and labels.shape[1] != 1):
        raise errors.ExperimentError(
            "label_encoder",
            f"classification_binary with torch needs one 0/1 label column (a sigmoid model) or two one-hot "
            f"columns (a two-unit softmax model), got labels of shape {labels.shape}; encode the label with "
            "OrdinalEncoder(), LabelBinarizer() or OneHotEncoder()",
        )
    column = labels.reshape(-1, 1)
    if not np.isin(column, (0, 1)).all():
        raise errors.ExperimentError(
            "label_encoder",
            "classification_binary with torch needs labels 0 and 1 (nn.BCELoss), got values "
            f"{np.unique(column)[:5].tolist()}; encode the label with OrdinalEncoder() or LabelBinarizer()",
        )
    return column.astype(np.float32)


def match_target(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return ``target`` shaped to fit ``output`` for the loss, or raise when it cannot fit.

    Float targets holding one value per row are reshaped to the output's shape (``(n,)`` against ``(n, 1)``
    would otherwise broadcast to ``(n, n)`` without an error). Class-index targets must be 1-D against a 2-D
    output with a column for every class seen.
    """
    if target.dtype == torch.long:
        if output.ndim != 2 or output.shape[0] != target.shape[0]:
            raise errors.ExperimentError(
                "fn_build",
                f"the model outputs shape {tuple(output.shape)} but classification_multi needs (n, classes): end "
                "the model in a layer with one unit per class (label_shape[0] units for one-hot labels)",
            )
        if target.numel() and int(target.max()) >= output.shape[1]:
            raise errors.ExperimentError(
                "fn_build",
                f"the model outputs {output.shape[1]} columns but a label is class {int(target.max())}: give the "
                "last layer one unit per class",
            )
        return target
    if output.shape == target.shape:
        return target
    if output.numel() == target.numel() and output.shape[0] == target.shape[0]:
        return target.reshape(output.shape)
    raise errors.ExperimentError(
        "fn_build",
        f"the model outputs shape {tuple(output.shape)} but the labels have shape {tuple(target.shape)}; make the "
        "last layer's width equal to label_shape[0]",
    )
