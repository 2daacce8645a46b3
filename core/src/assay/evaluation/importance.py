"""Permutation feature importance per original feature column, computed on request and stored with the model.

For each column the user gave (before encoding: a one-hot encoded category counts as one column), the column's
values are shuffled across the rows of a split (for sequences each feature's whole series, for images each
channel's whole plane, is dealt to another sample: importance per feature and per channel), the rows are
encoded with the model's own fitted encoders and predicted again exactly as the runner predicts after training,
and the score drop is recorded. A large drop
means the model relies on that column; around zero means it does not.

The score is the analysis type's main metric (accuracy, r2, ...), or the loss when the metrics lack it.
Results are stored in ``PredictorRow.feature_importance`` as
``{split: {key: {"metric", "higher_is_better", "baseline", "drops": {column: [...]}, "rows", "sample_rows"}}}``,
the key ``str(permutation_count)`` on every row and ``"<count>:rows=<sample_rows>"`` on a row sample, and read
back on the next request.

The cost: one permutation round predicts one permuted copy of the split per column, so columns x rows samples.
The copies are encoded and predicted in batches (:mod:`assay.evaluation.permutation`), a few prediction calls
per round, not one per column, but a model whose forward pass is compute-bound (a recurrent network) still
spends about columns x one pass's forward time per round. ``sample_rows="auto"`` (the default) therefore
permutes every row only while the split has at most :data:`ROUND_BUDGET` columns; wider data permutes a fresh
random sample of ``ceil(ROUND_BUDGET * rows / columns)`` rows each round, so a round predicts at most
``ROUND_BUDGET`` times the split's rows, whatever the width. Each round draws its own sample, so together the
rounds see more of the split than any one of them, and each copy's drop is measured against its round's own
unshuffled score. ``sample_rows=None`` permutes every row, ``sample_rows=<int>`` that many per round.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from assay import errors, plugins
from assay.data.read import multi_input
from assay.data.read.arrays import library_features
from assay.data.read.splitsets import SplitsetData
from assay.db.queries import experiments as queries
from assay.evaluation import permutation
from assay.experiment import predicting
from assay.experiment.trained import Trained

COLUMNS = ["feature", "importance_mean", "importance_std", "importance_min", "importance_max"]

#: ``sample_rows="auto"``: rows predicted per permutation round, in multiples of the split's rows
ROUND_BUDGET = 20
#: ``sample_rows="auto"`` never samples fewer rows per round than this (nor more than the split has)
MIN_SAMPLE_ROWS = 20


def _check(predictor: Trained, split: str, permutation_count: int) -> None:
    if not isinstance(permutation_count, int) or isinstance(permutation_count, bool) or permutation_count < 1:
        raise errors.ValidationError("permutation_count", f"must be a positive int, got {permutation_count!r}")
    splits = predictor.evaluated_splits()
    if split not in splits:
        raise errors.ValidationError(
            "split", f"predictor {predictor.id} has no predictions on {split!r}; use one of: {', '.join(splits)}"
        )


def sample_size(sample_rows: Any, row_count: int, column_count: int) -> int | None:
    """The rows each permutation round permutes: ``None`` for every row, else the size of a random sample.

    Raises:
        assay.errors.ValidationError: ``sample_rows`` is neither ``"auto"``, ``None`` nor an int >= 2.
    """
    if sample_rows == "auto" and isinstance(sample_rows, str):
        if column_count <= ROUND_BUDGET:
            return None
        size = max(MIN_SAMPLE_ROWS, -(-ROUND_BUDGET * row_count // column_count))
    elif sample_rows is None:
        return None
    elif isinstance(sample_rows, int) and not isinstance(sample_rows, bool) and sample_rows >= 2:
        size = sample_rows
    else:
        raise errors.ValidationError(
            "sample_rows", f"must be 'auto' (sample wide splits), None (every row) or an int >= 2 (rows per "
            f"permutation round), got {sample_rows!r}"
        )
    return None if size >= row_count else size


def result_key(permutation_count: int, sample_size: int | None) -> str:
    """The key a result is stored under: every row and each sample size are kept apart."""
    return str(permutation_count) if sample_size is None else f"{permutation_count}:rows={sample_size}"


def parse_key(key: str) -> tuple[int, int | None]:
    """``(permutation_count, sample size or None)`` of a stored result's key."""
    count, _, rows = key.partition(":rows=")
    return int(count), (int(rows) if rows else None)


def shown(keys: Any, permutation_count: int | None = None) -> tuple[int, int | None] | None:
    """Which stored result of a split a report or the dashboard shows, as ``(permutation_count, sample size)``:
    the most permutations (or ``permutation_count``'s), on every row if computed so, else the largest sample;
    ``None`` when nothing (of that count) is stored."""
    parsed = [parse_key(key) for key in keys]
    counts = [count for count, _ in parsed if permutation_count in (None, count)]
    if not counts:
        return None
    sizes = [size for count, size in parsed if count == max(counts)]
    return max(counts), (None if None in sizes else max(sizes))


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
                       higher_is_better=result["higher_is_better"], baseline=result["baseline"],
                       rows=result.get("rows"), sample_rows=result.get("sample_rows"))
    return table


def feature_importance(predictor_id: int, split: str = "test", permutation_count: int = 5,
                       refresh: bool = False, sample_rows: int | str | None = "auto") -> pd.DataFrame:
    """Permutation importance of each original feature column on one split.

    Args:
        predictor_id: the trained model.
        split: a split the model was evaluated on (``"train"``, ``"validation"``, ``"test"``).
        permutation_count: how many times each column is shuffled (permutation rounds); more gives steadier
            numbers.
        refresh: compute again even when a stored result exists.
        sample_rows: rows permuted per round. ``"auto"`` (default): every row while the split has at most
            :data:`ROUND_BUDGET` (20) feature columns, else a fresh seeded random sample of
            ``ceil(20 * rows / columns)`` rows (at least 20) each round, which bounds a round's cost at about
            20 prediction passes of the split however wide it is. ``None``: every row, at any cost. An int:
            a sample of that many rows each round.

    Returns:
        A DataFrame with ``feature``, ``importance_mean``, ``importance_std`` (NaN for one permutation),
        ``importance_min``, ``importance_max``: the score drop when the column is shuffled (positive = the
        model needs it), most important first. ``frame.attrs`` holds ``metric``, ``baseline`` (the unshuffled
        score on every row of the split), ``higher_is_better``, ``split``, ``permutation_count``, ``rows`` (the
        split's rows) and ``sample_rows`` (rows permuted per round; ``None`` for every row).

    Raises:
        assay.errors.ValidationError: unknown ``split``, a ``permutation_count`` that is not a positive int, or
            a ``sample_rows`` that is none of the above.
    """
    predictor = Trained.load(predictor_id)
    _check(predictor, split, permutation_count)
    splitset, rows = _split_of(predictor, split)
    size = sample_size(sample_rows, len(rows), len(_columns(splitset)))
    stored = queries.feature_importance(predictor_id)  # fresh: another process may have stored one
    key = result_key(permutation_count, size)  # a sampled result is kept apart from the one on every row
    if not refresh and key in stored.get(split, {}):
        return _frame(stored[split][key], split, permutation_count)

    result = _compute(predictor, split, permutation_count, size, splitset=splitset, rows=rows)
    queries.store_feature_importance(predictor_id, split, key, result)
    return _frame(result, split, permutation_count)


def _columns(splitset: Any) -> list[str]:
    """The columns importance shuffles: the original feature columns (``"<input>: <column>"`` per input)."""
    if splitset.kind == multi_input.KIND:
        return [multi_input.qualified(name, column)
                for name, data in splitset.inputs for column in data.feature_columns]
    return list(splitset.feature_columns)


def _split_of(predictor: Trained, split: str) -> tuple[Any, np.ndarray]:
    """The model's splitset and the rows of ``split`` it was evaluated on (in that order)."""
    return (SplitsetData.load(predictor.queue.splitset_id),
            np.asarray(predictor.prediction_arrays(split)["row_indices"], dtype=np.int64))


def _compute(predictor: Trained, split: str, permutation_count: int, sample_size: int | None = None,
             batch_rows: int = permutation.BATCH_ROWS, splitset: Any = None, rows: np.ndarray | None = None,
             ) -> dict[str, Any]:
    """The drops of every column over ``permutation_count`` rounds: every row in each round (``sample_size``
    ``None``), or a fresh random sample of ``sample_size`` rows per round, each scored against its own
    unshuffled rows. ``splitset`` and ``rows`` are :func:`_split_of`'s, when the caller read them already."""
    queue = predictor.queue
    if splitset is None or rows is None:
        splitset, rows = _split_of(predictor, split)
    if splitset.window is not None:
        raise errors.ValidationError(
            "predictor", f"predictor {predictor.id} forecasts windows; permutation importance shuffles the rows of "
            "a split, which would scramble the time order the windows are made of, so it is not computed for them",
        )
    rng = np.random.default_rng([int(queue.seed), int(predictor.id), permutation_count])
    labels = splitset.samples_for(split, fold_index=predictor.job.fold_index)["labels"]
    scoring = _Scoring(predictor, splitset, rows, labels)

    if sample_size is None:  # one set of rows: every round's copies batch together
        baseline, drops = scoring.drops(None, permutation_count, rng, batch_rows)
    else:
        samples = [np.sort(rng.choice(len(rows), size=sample_size, replace=False)) for _ in range(permutation_count)]
        drops = {column: [] for column in scoring.columns}
        for positions in samples:
            for column, values in scoring.drops(positions, 1, rng, batch_rows)[1].items():
                drops[column].extend(values)
        baseline = scoring.baseline()  # the score on every row, as a user reads it
    return {"metric": scoring.metric, "higher_is_better": scoring.higher_is_better, "baseline": float(baseline),
            "drops": drops, "rows": len(rows), "sample_rows": sample_size}


class _Scoring:
    """The rows of one split, encoded once, and their permuted copies scored with one loaded model."""

    def __init__(self, predictor: Trained, splitset: Any, rows: np.ndarray, labels: np.ndarray):
        self.predictor = predictor
        self.splitset = splitset
        self.rows = rows
        self.labels = labels
        self.model = predictor.model()
        self.permuter = _permuter(splitset, rows, predictor.job.fold_index)
        self.columns = self.permuter.columns
        self.metric, self.higher_is_better = "", True

    def baseline(self) -> float:
        """The unshuffled score of every row."""
        return self._scorer(self.rows, self.labels, self.permuter.base)[1]

    def drops(self, positions: np.ndarray | None, count: int, rng: np.random.Generator,
              batch_rows: int) -> tuple[float, dict[str, list[float]]]:
        """The unshuffled score of the rows at ``positions`` (``None``: every row) and each column's drops over
        ``count`` shuffles of them."""
        permuter = self.permuter if positions is None else self.permuter.subset(positions)
        rows, labels = (self.rows, self.labels) if positions is None else (self.rows[positions],
                                                                             self.labels[positions])
        score, baseline = self._scorer(rows, labels, permuter.base)
        tasks = [permutation.Task(column, rng.permutation(len(rows)))
                 for column in self.columns for _ in range(count)]
        drops: dict[str, list[float]] = {column: [] for column in self.columns}
        for batch in permutation.batches(tasks, len(rows), batch_rows):
            for task, value in zip(batch, score(permuter.encode_many(batch)), strict=True):
                change = baseline - value
                drops[task.column].append(float(change if self.higher_is_better else -change))
        return baseline, drops

    def _scorer(self, rows: np.ndarray, labels: np.ndarray, base: Any) -> tuple[Callable[[list[Any]], list[float]],
                                                                               float]:
        algorithm = self.predictor.algorithm
        score, self.metric, self.higher_is_better, baseline = _scorer(
            self.predictor, algorithm, plugins.analysis_type(algorithm.analysis_type), self.splitset, rows, labels,
            base, self.model)
        return score, baseline


def _permuter(splitset: Any, rows: np.ndarray, fold_index: int | None) -> Any:
    """The encoded rows of a split, which encode copies with one column shuffled (``encode_many``) and give
    the same for some of the rows (``subset``): a table's :class:`~assay.evaluation.permutation.PermutedEncoder`,
    an array input's :class:`_ArrayPermuter`, a multi-input splitset's :class:`_MultiPermuter`."""
    if splitset.kind == multi_input.KIND:
        return _MultiPermuter(splitset, rows, fold_index)

    def encode_all(data: Any) -> np.ndarray:
        return splitset.encode_features(data, fold_index=fold_index)

    if splitset.kind == "tabular":
        raw = splitset.frame().iloc[rows].reset_index(drop=True)
        return permutation.PermutedEncoder(splitset.encoders(fold_index), raw, encode_all,
                                           list(splitset.feature_columns))
    # raw samples as stored: every feature (sequences) or channel (images), before encoding
    return _ArrayPermuter(splitset, splitset._stored_array().rows(rows), encode_all)


class _ArrayPermuter:
    """Sequences or images: a copy deals one feature's whole series (one channel's whole plane) to other
    samples and is encoded again."""

    def __init__(self, splitset: Any, raw: np.ndarray, encode_all: Callable[[Any], np.ndarray]):
        self.splitset, self.raw, self.encode_all = splitset, raw, encode_all
        self.columns = list(splitset.feature_columns)
        self.base = encode_all(raw)

    def encode_many(self, tasks: list[permutation.Task]) -> list[np.ndarray]:
        return [self.encode_all(_shuffled(self.splitset, self.raw, task.column, task.order)) for task in tasks]

    def subset(self, positions: np.ndarray) -> _ArrayPermuter:
        return _ArrayPermuter(self.splitset, self.raw[positions], self.encode_all)


class _MultiPermuter:
    """Several inputs: a copy re-encodes only the input whose column it shuffles; columns are named
    ``"<input>: <column>"``."""

    def __init__(self, splitset: Any, rows: np.ndarray, fold_index: int | None, permuters: list[Any] | None = None):
        self.splitset, self.rows, self.fold_index = splitset, rows, fold_index
        self.permuters = permuters or [_permuter(data, rows, fold_index) for _, data in splitset.inputs]
        self.owners = {multi_input.qualified(name, column): (index, column)
                       for index, (name, data) in enumerate(splitset.inputs) for column in data.feature_columns}
        self.columns = list(self.owners)
        self.base = [permuter.base for permuter in self.permuters]

    def encode_many(self, tasks: list[permutation.Task]) -> list[list[np.ndarray]]:
        copies = []
        for task in tasks:
            index, column = self.owners[task.column]
            copy = list(self.base)
            [copy[index]] = self.permuters[index].encode_many([permutation.Task(column, task.order)])
            copies.append(copy)
        return copies

    def subset(self, positions: np.ndarray) -> _MultiPermuter:
        return _MultiPermuter(self.splitset, self.rows[positions], self.fold_index,
                              [permuter.subset(positions) for permuter in self.permuters])


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
            labels: np.ndarray, base: np.ndarray, model: Any = None,
            ) -> tuple[Callable[[list[np.ndarray]], list[float]], str, bool, float]:
    """A function scoring copies of the encoded rows, the metric's name, whether higher is better, and the
    score of ``base`` (the unshuffled rows).

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
    model = predictor.model() if model is None else model
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
                                                        samples_of(copies), class_count=len(classes) or None)
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

    [baseline] = main_metrics([base])
    if baseline is not None:
        return ((lambda copies: nan_if_none(main_metrics(copies))), analysis.main_metric, analysis.higher_is_better,
                float(baseline))

    loser = (functions["fn_lose"](**hyperparameters) if functions["fn_lose"] is not None
             else backend.default_loss(analysis_type))

    def losses(copies: list[np.ndarray]) -> list[float]:
        # the loss is one number per call: each copy is its own call
        return [float(backend.evaluate_loss(analysis_type, model, loser, samples_of([copy]))) for copy in copies]

    [baseline] = losses([base])
    return losses, "loss", False, baseline
