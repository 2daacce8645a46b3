"""Samples as Keras wants them: float32 numpy arrays whose label shapes fit the analysis type and the loss.

Label codings accepted per analysis type:

* ``regression``: numeric labels ``(n,)`` or ``(n, k)``.
* ``classification_binary``: 0/1 labels ``(n,)`` or ``(n, 1)`` (a sigmoid model), or one-hot ``(n, 2)`` (a
  two-unit softmax model).
* ``classification_multi``: one-hot labels ``(n, k)`` with ``k >= 2`` (what categorical cross-entropy, the
  default loss, needs), or class indices ``(n,)`` / ``(n, 1)`` for a sparse categorical cross-entropy that the
  user passes through ``fn_lose``. Which of the two the loss needs is checked by :func:`check_labels_fit_loss`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay import errors

REGRESSION = "regression"
BINARY = "classification_binary"
MULTI = "classification_multi"


def _as_float32(values: Any, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise errors.ExperimentError(
            "samples", f"the {what} must be numeric for Keras, got dtype {array.dtype}; encode them first "
            "(feature_encoders / label_encoder)"
        )
    return array.astype(np.float32, copy=False)


def _features(features: Any) -> Any:
    """Cast features to float32, keeping the structure of multi-input features (dict or list of arrays)."""
    if isinstance(features, dict):
        return {name: _as_float32(value, f"features {name!r}") for name, value in features.items()}
    if isinstance(features, (list, tuple)):
        return [_as_float32(value, "features") for value in features]
    return _as_float32(features, "features")


def _row_count(features: Any) -> int:
    if isinstance(features, dict):
        return len(next(iter(features.values())))
    if isinstance(features, list):
        return len(features[0])
    return len(features)


def _is_one_hot(labels: np.ndarray) -> bool:
    return labels.ndim == 2 and bool(np.isin(labels, (0, 1)).all()) and bool(np.all(labels.sum(axis=1) == 1))


def _check_labels(analysis_type: str, labels: np.ndarray) -> None:
    if analysis_type == BINARY:
        if labels.ndim > 2 or (labels.ndim == 2 and labels.shape[1] not in (1, 2)):
            raise errors.ExperimentError(
                "label_encoder", f"'classification_binary' needs labels of shape (n,), (n, 1) or one-hot (n, 2), "
                f"got {labels.shape}; encode the label with OrdinalEncoder() or OneHotEncoder()"
            )
        if labels.ndim == 2 and labels.shape[1] == 2 and not _is_one_hot(labels):
            raise errors.ExperimentError(
                "label_encoder", "'classification_binary' labels with two columns must be one-hot (one 1 per row)"
            )
        if not np.isin(labels, (0, 1)).all():
            found = np.unique(labels)[:5].tolist()
            raise errors.ExperimentError(
                "label_encoder", f"'classification_binary' needs labels encoded as 0 and 1, found values {found}; "
                "encode the label with OrdinalEncoder() or OneHotEncoder()"
            )
    elif analysis_type == MULTI:
        if labels.ndim == 2 and labels.shape[1] >= 2:
            if not _is_one_hot(labels):
                raise errors.ExperimentError(
                    "label_encoder", f"'classification_multi' labels of shape {labels.shape} are not one-hot (one 1 "
                    "per row); encode the label with OneHotEncoder()"
                )
        elif labels.ndim > 2 or not np.all(labels == np.round(labels)) or labels.min(initial=0) < 0:
            raise errors.ExperimentError(
                "label_encoder", f"'classification_multi' needs one-hot labels (n, classes) or class indices (n,), "
                f"got shape {labels.shape}; encode the label with OneHotEncoder()"
            )


def prepare_samples(analysis_type: str, samples: dict[str, Any]) -> dict[str, Any]:
    """Cast features and labels to float32 and check that the labels fit ``analysis_type``.

    Raises:
        assay.errors.ExperimentError: labels that are not numeric, whose row count differs from the features',
            or whose coding does not fit the analysis type (see the module docstring).
    """
    prepared = dict(samples)
    prepared["features"] = _features(samples["features"])
    labels = samples.get("labels")
    if labels is None:
        prepared["labels"] = None
        return prepared
    labels = _as_float32(labels, "labels")
    if len(labels) != _row_count(prepared["features"]):
        raise errors.ExperimentError(
            "samples", f"{len(labels)} labels for {_row_count(prepared['features'])} feature rows; every sample "
            "needs one label"
        )
    _check_labels(analysis_type, labels)
    prepared["labels"] = labels
    return prepared


def _loss_kind(loser: Any) -> str | None:
    """``"categorical"``, ``"sparse"`` or ``None`` (a loss that puts no constraint on the label coding)."""
    import keras

    if isinstance(loser, str):
        try:
            loser = keras.losses.get(loser)
        except ValueError:  # an unknown name: Keras itself reports it when training compiles it
            return None
    if isinstance(loser, keras.losses.CategoricalCrossentropy) or loser is keras.losses.categorical_crossentropy:
        return "categorical"
    if (isinstance(loser, keras.losses.SparseCategoricalCrossentropy)
            or loser is keras.losses.sparse_categorical_crossentropy):
        return "sparse"
    return None


def check_labels_fit_loss(analysis_type: str, loser: Any, labels: np.ndarray | None) -> None:
    """Reject label codings the loss would silently mis-train on (one-hot vs class indices).

    Raises:
        assay.errors.ExperimentError: naming ``label_encoder`` with the encoder or loss to use instead.
    """
    if labels is None:
        return
    kind = _loss_kind(loser)
    one_hot = labels.ndim == 2 and labels.shape[1] >= 2
    if kind == "categorical" and not one_hot:
        raise errors.ExperimentError(
            "label_encoder", f"{analysis_type!r} with categorical cross-entropy (the Keras default) needs one-hot "
            f"labels of width >= 2, got labels of shape {labels.shape}; encode the label with OneHotEncoder(), or "
            "pass fn_lose returning keras.losses.SparseCategoricalCrossentropy() for class-index labels"
        )
    if kind == "sparse" and one_hot:
        raise errors.ExperimentError(
            "label_encoder", f"sparse categorical cross-entropy needs class-index labels, got one-hot labels of "
            f"shape {labels.shape}; use the default categorical cross-entropy (fn_lose=None) or encode the label "
            "with OrdinalEncoder()"
        )
