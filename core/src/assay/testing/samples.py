"""Small seeded synthetic samples for the backend contract suite, encoded the way the tabular pipeline hands them out.

Features are float32 ``(n, 4)``. Labels are float32: ``(n, 1)`` continuous values for regression, ``(n, 1)`` 0/1
for binary classification and one-hot ``(n, 3)`` for multi-class classification (what ``OneHotEncoder`` gives).
:func:`make_multi_input_samples` gives a two-input model's samples: a list of a table ``(n, 4)`` and a sequence
``(n, 5, 2)``, as a multi-input splitset hands them out.
"""

from __future__ import annotations

import numpy as np

REGRESSION = "regression"
BINARY = "classification_binary"
MULTI = "classification_multi"
ANALYSIS_TYPES = (REGRESSION, BINARY, MULTI)

FEATURE_COUNT = 4
CLASS_COUNT = 3
ROW_COUNTS = {"train": 48, "evaluate": 24}

# one fixed direction through feature space, so that labels are learnable from the features
_WEIGHTS = np.array([1.0, -0.5, 0.25, 0.75], dtype=np.float64)
# score edges that cut a standard-normal-ish score into three classes of similar size
_CLASS_EDGES = np.array([-0.45, 0.45])


def make_samples(analysis_type: str, split: str) -> dict[str, np.ndarray]:
    """Seeded samples of one split (``"train"`` or ``"evaluate"``) for ``analysis_type``.

    Returns:
        ``{"features": float32 (n, 4), "labels": float32 (n, 1) or one-hot (n, 3)}``; every class occurs in
        every split.
    """
    if analysis_type not in ANALYSIS_TYPES:
        raise ValueError(f"analysis_type={analysis_type!r}: the suite's samples exist for {ANALYSIS_TYPES}")
    if split not in ROW_COUNTS:
        raise ValueError(f"split={split!r}: use one of {sorted(ROW_COUNTS)}")
    rng = np.random.default_rng(1234 if split == "train" else 5678)
    features = rng.normal(size=(ROW_COUNTS[split], FEATURE_COUNT))
    score = features @ _WEIGHTS / np.linalg.norm(_WEIGHTS)
    return {"features": features.astype(np.float32), "labels": _labels(analysis_type, score, rng)}


#: each input of the multi-input samples: a table and a short sequence (timesteps, features per step)
MULTI_INPUT_SHAPES = ((FEATURE_COUNT,), (5, 2))

# one fixed direction through each input, so the label needs both inputs to be learnt
_SEQUENCE_WEIGHTS = np.array([[0.5, -1.0], [0.25, 0.75], [-0.5, 0.5], [1.0, 0.25], [-0.75, -0.25]])


def make_multi_input_samples(analysis_type: str, split: str) -> dict[str, object]:
    """Seeded samples of a two-input model (what a multi-input splitset hands out) for ``analysis_type``.

    Returns:
        ``{"features": [float32 (n, 4), float32 (n, 5, 2)], "labels": ...}``: a table and a sequence per sample,
        in that order, with labels coded as :func:`make_samples` codes them. The label is a function of both
        inputs (a score half from each), so a model that ignores one input cannot learn it; every class occurs
        in every split.
    """
    if analysis_type not in ANALYSIS_TYPES:
        raise ValueError(f"analysis_type={analysis_type!r}: the suite's samples exist for {ANALYSIS_TYPES}")
    if split not in ROW_COUNTS:
        raise ValueError(f"split={split!r}: use one of {sorted(ROW_COUNTS)}")
    rng = np.random.default_rng(4321 if split == "train" else 8765)
    row_count = ROW_COUNTS[split]
    table = rng.normal(size=(row_count, *MULTI_INPUT_SHAPES[0]))
    sequence = rng.normal(size=(row_count, *MULTI_INPUT_SHAPES[1]))
    table_score = table @ _WEIGHTS / np.linalg.norm(_WEIGHTS)
    sequence_score = np.einsum("nij,ij->n", sequence, _SEQUENCE_WEIGHTS) / np.linalg.norm(_SEQUENCE_WEIGHTS)
    score = (table_score + sequence_score) / np.sqrt(2.0)  # standard normal, like make_samples' score
    return {"features": [table.astype(np.float32), sequence.astype(np.float32)],
            "labels": _labels(analysis_type, score, rng)}


def _labels(analysis_type: str, score: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """float32 labels coded for ``analysis_type`` from a standard-normal ``score`` per sample."""
    if analysis_type == REGRESSION:
        labels = (2.0 * score + 1.0 + 0.1 * rng.normal(size=score.shape))[:, None]
    elif analysis_type == BINARY:
        labels = (score > 0).astype(np.float64)[:, None]
    else:
        labels = np.eye(CLASS_COUNT)[np.digitize(score, _CLASS_EDGES)]
    return labels.astype(np.float32)
