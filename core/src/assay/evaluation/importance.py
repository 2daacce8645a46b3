"""Permutation feature importance per original feature column, computed on request and stored with the model.

For each column the user gave (before encoding: a one-hot encoded category counts as one column), the column's
values are shuffled across the rows of a split (for sequences each feature's whole series, for images each
channel's whole plane, is dealt to another sample: importance per feature and per channel), the rows are
encoded with the model's own fitted encoders and predicted again exactly as the runner predicts after training,
and the score drop is recorded. A large drop
means the model relies on that column; around zero means it does not.

The score is the analysis type's main metric (accuracy, r2, ...), or the loss when the metrics lack it.
Results are stored in ``PredictorRow.feature_importance`` as
``{split: {str(permutation_count): {"metric", "higher_is_better", "baseline", "drops": {column: [...]}}}}``
(``"<count>:rows=<sample_rows>"`` for a row sample) and read back on the next request.

The permuted copies are encoded and predicted in batches (:mod:`assay.evaluation.permutation`), so the cost is
a few prediction calls per permutation round, not one per column.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from assay import errors, plugins
from assay.data import multi_input
from assay.data.array_input import library_features
from assay.data.splitsets import SplitsetData
from assay.db.queries import experiments as queries
from assay.evaluation import permutation
from assay.experiment import predicting
from assay.experiment.trained import Trained

COLUMNS = ["feature", "importance_mean", "importance_std", "importance_min", "importance_max"]


def _check(predictor: Trained, split: str, permutation_count: int) -> None:
    if not isinstance(permutation_count, int) or isinstance(permutation_count, bool) or permutation_count < 1:
        raise errors.ValidationError("permutation_count", f"must be a positive int, got {permutation_count!r}")
    splits = predictor.evaluated_splits()
    if split not in splits:
        raise errors.ValidationError(
            "split", f"predictor {predictor.id} has no predictions on {split!r}; use one of: {', '.join(splits)}"
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
                       refresh: bool = False, sample_rows: int | None = None) -> pd.DataFrame:
    """Permutation importance of each original feature column on one split.

    Args:
        predictor_id: the trained model.
        split: a split the model was evaluated on (``"train"``, ``"validation"``, ``"test"``).
        permutation_count: how many times each column is shuffled; more gives steadier numbers.
        refresh: compute again even when a stored result exists.
        sample_rows: permute a seeded random sample of at most this many rows of the split instead of all of
            them: the cost grows with rows x columns x permutations, so this bounds it on large splits.

    Returns:
        A DataFrame with ``feature``, ``importance_mean``, ``importance_std`` (NaN for one permutation),
        ``importance_min``, ``importance_max``: the score drop when the column is shuffled (positive = the
        model needs it), most important first. ``frame.attrs`` holds ``metric``, ``baseline`` (the unshuffled
        score), ``higher_is_better``, ``split`` and ``permutation_count``.

    Raises:
        assay.errors.ValidationError: unknown ``split`` or a ``permutation_count`` that is not a positive int.
    """
    predictor = Trained.load(predictor_id)
    _check(predictor, split, permutation_count)
    if sample_rows is not None and (not isinstance(sample_rows, int) or isinstance(sample_rows, bool)
                                    or sample_rows < 2):
        raise errors.ValidationError("sample_rows", f"must be an int >= 2 or None (every row), got {sample_rows!r}")
    stored = queries.feature_importance(predictor_id)  # fresh: another process may have stored one
    # a sampled result is kept apart from the one on every row
    key = str(permutation_count) if sample_rows is None else f"{permutation_count}:rows={sample_rows}"
    if not refresh and key in stored.get(split, {}):
        return _frame(stored[split][key], split, permutation_count)

    result = _compute(predictor, split, permutation_count, sample_rows)
    queries.store_feature_importance(predictor_id, split, key, result)
    return _frame(result, split, permutation_count)


def _compute(predictor: Trained, split: str, permutation_count: int, sample_rows: int | None = None,
             batch_rows: int = permutation.BATCH_ROWS) -> dict[str, Any]:
    queue = predictor.queue
    algorithm = predictor.algorithm
    analysis = plugins.analysis_type(algorithm.analysis_type)
    splitset = SplitsetData.load(queue.splitset_id)
    if splitset.window is not None:
        raise errors.ValidationError(
            "predictor", f"predictor {predictor.id} forecasts windows; permutation importance shuffles the rows of "
            "a split, which would scramble the time order the windows are made of, so it is not computed for them",
        )
    rows = np.asarray(predictor.prediction_arrays(split)["row_indices"], dtype=np.int64)
    rng = np.random.default_rng([int(queue.seed), int(predictor.id), permutation_count])
    positions = np.arange(len(rows))
    if sample_rows is not None and sample_rows < len(rows):
        positions = np.sort(rng.choice(len(rows), size=sample_rows, replace=False))
    rows = rows[positions]
    fold_index = predictor.job.fold_index

    if splitset.kind == multi_input.KIND:
        base, encode, columns = _multi_permuter(splitset, rows, fold_index)

        def encode_many(tasks: list[permutation.Task]) -> list[Any]:
            return [encode(task) for task in tasks]
    else:
        base, encode_many = _permuter(splitset, rows, fold_index)
        columns = splitset.feature_columns

    labels = splitset.samples_for(split, fold_index=fold_index)["labels"][positions]
    score, metric, better_high = _scorer(predictor, algorithm, analysis, splitset, rows, labels, base)

    [baseline] = score([base])
    tasks = [permutation.Task(column, rng.permutation(len(rows)))
             for column in columns for _ in range(permutation_count)]
    drops: dict[str, list[float]] = {column: [] for column in columns}
    for batch in permutation.batches(tasks, len(rows), batch_rows):
        for task, value in zip(batch, score(encode_many(batch)), strict=True):
            change = baseline - value
            drops[task.column].append(float(change if better_high else -change))
    return {"metric": metric, "higher_is_better": better_high, "baseline": float(baseline), "drops": drops}


def _permuter(splitset: Any, rows: np.ndarray, fold_index: int | None,
              ) -> tuple[np.ndarray, Callable[[list[permutation.Task]], list[np.ndarray]]]:
    """The encoded rows of one input and a function encoding them once per task, each with the task's column
    (feature, channel) shuffled."""
    def encode_all(data: Any) -> np.ndarray:
        return splitset.encode_features(data, fold_index=fold_index)

    if splitset.kind == "tabular":
        raw = splitset.frame().iloc[rows].reset_index(drop=True)
        permuted = permutation.PermutedEncoder(splitset.encoders(fold_index), raw, encode_all)
        return permuted.base, permuted.encode_many
    # raw samples as stored: every feature (sequences) or channel (images), before encoding
    raw = splitset._stored_array().rows(rows)

    def encode_many(tasks: list[permutation.Task]) -> list[np.ndarray]:
        return [encode_all(_shuffled(splitset, raw, task.column, task.order)) for task in tasks]

    return encode_all(raw), encode_many


def _multi_permuter(splitset: Any, rows: np.ndarray, fold_index: int | None,
                    ) -> tuple[list[np.ndarray], Callable[[permutation.Task], list[np.ndarray]], list[str]]:
    """Every input's encoded rows, a function re-encoding only the input whose column a task shuffles, and the
    columns as ``"<input>: <column>"``."""
    permuters, owners = [], {}
    for index, (name, data) in enumerate(splitset.inputs):
        permuters.append(_permuter(data, rows, fold_index))
        owners.update({multi_input.qualified(name, column): (index, column) for column in data.feature_columns})
    base = [permuter[0] for permuter in permuters]

    def encode(task: permutation.Task) -> list[np.ndarray]:
        index, column = owners[task.column]
        copy = list(base)
        [copy[index]] = permuters[index][1]([permutation.Task(column, task.order)])
        return copy

    return base, encode, list(owners)


def _shuffled(splitset: Any, raw: Any, column: str, order: np.ndarray) -> Any:
    """``raw`` with one feature's values dealt to other rows: a table column, a sequence feature's whole series
    or an image channel's whole plane (so permuting breaks the link between that input and the label)."""
    if splitset.kind == "tabular":
        shuffled = raw.copy()
        shuffled[column] = raw[column].to_numpy()[order]
        return shuffled
    index = splitset._stored_array().columns.index(column)
    shuffled = raw.copy()
    if splitset.kind == "sequence":
        shuffled[:, :, index] = raw[order, :, index]
    else:
        shuffled[:, index] = raw[order, index]
    return shuffled


def _scorer(predictor: Trained, algorithm: Any, analysis: Any, splitset: Any, rows: np.ndarray,
            labels: np.ndarray, base: np.ndarray) -> tuple[Callable[[list[np.ndarray]], list[float]], str, bool]:
    """A function scoring copies of the encoded rows, the metric's name and whether higher is better.

    The copies are stacked and predicted in one call, the way ``runner.evaluate_split`` predicts after
    training: the backend prepares the samples, ``fn_predict`` (or the backend's default) predicts, classes are
    compared as indices and regression values after decoding, and the metrics hooks compute the analysis type's
    main metric on each copy. When no plugin computes that metric, the backend's loss scores each copy instead
    (lower is better).
    """
    backend = plugins.backend(algorithm.library)
    functions = predictor.functions
    hyperparameters = predictor.hyperparameters
    fold_index = predictor.job.fold_index
    model = predictor.model()
    analysis_type = analysis.name
    features_shape = predictor.features_shape
    classes = list(splitset.label_classes) if analysis.is_classification else []
    y_true = predicting.true_coding(splitset.raw_labels(rows), classes)
    n = len(rows)

    def samples_of(copies: list[Any]) -> dict[str, Any]:
        features = multi_input.stack(copies)  # several inputs: one stacked array per input
        if splitset.kind == multi_input.KIND:
            features = library_features(features, splitset.layout, backend.channels_last())
        elif splitset.kind == "tabular":
            features = features.reshape((len(copies) * n, *features_shape))
        else:  # images go channels last to channels-last libraries, as in training
            features = library_features(features, splitset.layout, backend.channels_last())
        return backend.prepare_samples(analysis_type, {"features": features,
                                                       "labels": np.concatenate([labels] * len(copies))})

    def main_metrics(copies: list[np.ndarray]) -> list[float | None]:
        predictions, probabilities = predicting.predict(backend, analysis_type, functions["fn_predict"], model,
                                                        samples_of(copies))
        scores = []
        for predicted, probability in zip(permutation.split_outputs(predictions, len(copies), n),
                                          permutation.split_outputs(probabilities, len(copies), n), strict=True):
            decoded = None if classes else splitset.decode_labels(predicting.one_column(predicted, n),
                                                                  fold_index=fold_index)
            y_pred = predicting.predicted_coding(predicted, decoded, classes)
            scores.append(plugins.metrics(analysis_type, y_true, y_pred, probability, classes)
                          .get(analysis.main_metric))
        return scores

    def nan_if_none(values: list[float | None]) -> list[float]:
        # a metric may be undefined on shuffled rows (e.g. one class predicted): NaN then
        return [float("nan") if value is None else float(value) for value in values]

    if main_metrics([base])[0] is not None:
        return (lambda copies: nan_if_none(main_metrics(copies))), analysis.main_metric, analysis.higher_is_better

    loser = (functions["fn_lose"](**hyperparameters) if functions["fn_lose"] is not None
             else backend.default_loss(analysis_type))

    def losses(copies: list[np.ndarray]) -> list[float]:
        # the loss is one number per call: each copy is its own call
        return [float(backend.evaluate_loss(analysis_type, model, loser, samples_of([copy]))) for copy in copies]

    return losses, "loss", False
