"""Permutation feature importance per original feature column, computed on request and stored with the model.

For each column the user gave (before encoding: a one-hot encoded category counts as one column), the column's
values are shuffled across the rows of a split, the rows are encoded with the model's own fitted encoders and
predicted again exactly as the runner predicts after training, and the score drop is recorded. A large drop
means the model relies on that column; around zero means it does not.

The score is the analysis type's main metric (accuracy, r2, ...), or the loss when the metrics lack it.
Results are stored in ``PredictorRow.feature_importance`` as
``{split: {str(permutation_count): {"metric", "higher_is_better", "baseline", "drops": {column: [...]}}}}``
and read back on the next request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from assay import errors, plugins
from assay.data.splitsets import SplitsetData
from assay.db.queries import experiments as queries
from assay.experiment import predicting
from assay.experiment.trained import Trained

COLUMNS = ["feature", "importance_mean", "importance_std", "importance_min", "importance_max"]


def _check(trained: Trained, split: str, permutation_count: int) -> None:
    if not isinstance(permutation_count, int) or isinstance(permutation_count, bool) or permutation_count < 1:
        raise errors.ValidationError("permutation_count", f"must be a positive int, got {permutation_count!r}")
    splits = trained.evaluated_splits()
    if split not in splits:
        raise errors.ValidationError(
            "split", f"predictor {trained.id} has no predictions on {split!r}; use one of: {', '.join(splits)}"
        )


def _frame(result: dict[str, Any], split: str, permutation_count: int) -> pd.DataFrame:
    """The stored result as a table, most important column first."""
    drops = result["drops"]
    table = pd.DataFrame(
        [{"feature": column, "importance_mean": float(np.mean(values)),
          "importance_std": float(np.std(values, ddof=1)) if len(values) > 1 else float("nan"),
          "importance_min": float(np.min(values)), "importance_max": float(np.max(values))}
         for column, values in drops.items()],
        columns=COLUMNS,
    )
    table = table.sort_values("importance_mean", ascending=False, kind="stable").reset_index(drop=True)
    table.attrs.update(split=split, permutation_count=permutation_count, metric=result["metric"],
                       higher_is_better=result["higher_is_better"], baseline=result["baseline"])
    return table


def feature_importance(predictor_id: int, split: str = "test", permutation_count: int = 5,
                       refresh: bool = False) -> pd.DataFrame:
    """Permutation importance of each original feature column on one split.

    Args:
        predictor_id: the trained model.
        split: a split the model was evaluated on (``"train"``, ``"validation"``, ``"test"``).
        permutation_count: how many times each column is shuffled; more gives steadier numbers.
        refresh: compute again even when a stored result exists.

    Returns:
        A DataFrame with ``feature``, ``importance_mean``, ``importance_std`` (NaN for one permutation),
        ``importance_min``, ``importance_max``: the score drop when the column is shuffled (positive = the
        model needs it), most important first. ``frame.attrs`` holds ``metric``, ``baseline`` (the unshuffled
        score), ``higher_is_better``, ``split`` and ``permutation_count``.

    Raises:
        assay.errors.ValidationError: unknown ``split`` or a ``permutation_count`` that is not a positive int.
    """
    trained = Trained.load(predictor_id)
    _check(trained, split, permutation_count)
    stored = queries.feature_importance(predictor_id)  # fresh: another process may have stored one
    key = str(permutation_count)
    if not refresh and key in stored.get(split, {}):
        return _frame(stored[split][key], split, permutation_count)

    result = _compute(trained, split, permutation_count)
    queries.store_feature_importance(predictor_id, split, key, result)
    return _frame(result, split, permutation_count)


def _compute(trained: Trained, split: str, permutation_count: int) -> dict[str, Any]:
    analysis = plugins.analysis_type(trained.algorithm.analysis_type)
    splitset = SplitsetData.load(trained.queue.splitset_id)
    rows = np.asarray(trained.prediction_arrays(split)["row_indices"], dtype=np.int64)
    raw = splitset.frame().iloc[rows].reset_index(drop=True)
    score, metric, better_high = _scorer(trained, analysis, splitset, split, rows, raw)

    baseline = score(raw)
    rng = np.random.default_rng([int(trained.queue.seed), int(trained.id), permutation_count])
    drops: dict[str, list[float]] = {}
    for column in splitset.feature_columns:
        values = raw[column].to_numpy()
        drops[column] = []
        for _ in range(permutation_count):
            shuffled = raw.copy()
            shuffled[column] = values[rng.permutation(len(values))]
            change = baseline - score(shuffled)
            drops[column].append(float(change if better_high else -change))
    return {"metric": metric, "higher_is_better": better_high, "baseline": float(baseline), "drops": drops}


def _scorer(trained: Trained, analysis: Any, splitset: SplitsetData, split: str, rows: np.ndarray,
            raw: pd.DataFrame) -> tuple[Callable[[pd.DataFrame], float], str, bool]:
    """A function scoring raw rows of ``split`` with this model, the metric's name and whether higher is better.

    It predicts the way ``runner.evaluate_split`` does after training: the backend prepares the encoded
    samples, ``fn_predict`` (or the backend's default) predicts, classes are compared as indices and regression
    values after decoding, and the metrics hooks compute the analysis type's main metric. When no plugin
    computes that metric, the backend's loss scores instead (lower is better).
    """
    backend = plugins.backend(trained.algorithm.library)
    functions = trained.functions
    hyperparameters = trained.hyperparameters
    fold_index = trained.job.fold_index
    model = trained.model()
    analysis_type = analysis.name
    features_shape = trained.features_shape
    labels_encoded = splitset.samples_for(split, fold_index=fold_index)["labels"]
    classes = list(splitset.label_classes) if analysis.is_classification else []
    raw_labels = splitset.raw_labels(rows)
    y_true = predicting.true_coding(raw_labels, classes)

    def samples_of(df: pd.DataFrame) -> dict[str, Any]:
        features = splitset.encode_features(df, fold_index=fold_index).reshape((len(df), *features_shape))
        return backend.prepare_samples(analysis_type, {"features": features, "labels": labels_encoded})

    def main_metric(df: pd.DataFrame) -> float | None:
        samples = samples_of(df)
        predictions, probabilities = predicting.predict(backend, analysis_type, functions["fn_predict"], model,
                                                        samples)
        decoded = None if classes else splitset.decode_labels(predicting.one_column(predictions, len(df)),
                                                              fold_index=fold_index)
        y_pred = predicting.predicted_coding(predictions, decoded, classes)
        return plugins.metrics(analysis_type, y_true, y_pred, probabilities, classes).get(analysis.main_metric)

    if main_metric(raw) is not None:
        def score(df: pd.DataFrame) -> float:
            value = main_metric(df)  # may be undefined on shuffled rows (e.g. one class predicted): NaN then
            return float("nan") if value is None else float(value)

        return score, analysis.main_metric, analysis.higher_is_better

    loser = (functions["fn_lose"](**hyperparameters) if functions["fn_lose"] is not None
             else backend.default_loss(analysis_type))
    return (lambda df: backend.evaluate_loss(analysis_type, model, loser, samples_of(df))), "loss", False
