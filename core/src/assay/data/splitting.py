"""Stratified, seeded train/validation/test splits and K folds on the train split.

Rows are grouped into strata (the label's classes, quantile bins of a continuous label, or one stratum when
unsupervised). Each split takes from every stratum its share rounded down or up, chosen so that the split
sizes hit their targets exactly: every class is represented in each split to within one sample of its
proportion in the whole.

Folds are scikit-learn's ``StratifiedKFold`` (shuffled, seeded): it deals each stratum's rows round-robin, so
every fold holds each stratum to within one row of its share. The three-way split keeps its own allocation
(:func:`_apportion`) because scikit-learn's way to get three parts, two ``StratifiedShuffleSplit`` in a row,
does not keep that guarantee: the validation split inherits the test split's rounding error and can land a
class more than one sample off its share (``benchmarks/splitting.py`` counts how often).
"""

from __future__ import annotations

import warnings
from typing import Any

import attrs
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from assay import errors

DEFAULT_SEED = 42
DEFAULT_BIN_COUNT = 4
SPLITS = ("train", "validation", "test")


@attrs.frozen
class Strata:
    """Stratum code (0..k-1) per row; ``is_classes`` when the strata are the label's classes."""

    codes: np.ndarray
    names: list[Any]
    is_classes: bool

    @property
    def count(self) -> int:
        return len(self.names)


def check_sizes(size_test: float | None, size_validation: float | None, fold_count: int | None) -> None:
    """Validate the split sizes and fold count on their own (before looking at the data)."""
    for parameter, value in (("size_test", size_test), ("size_validation", size_validation)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0 < value < 1:
            raise errors.SplitError(parameter, f"must be a fraction of all rows between 0 and 1, got {value!r}")
    if size_validation is not None and size_test is None:
        raise errors.SplitError(
            "size_validation", "needs size_test as well (validation is carved out next to test); set size_test"
        )
    if size_test is not None and size_validation is not None and size_test + size_validation >= 1:
        raise errors.SplitError(
            "size_validation",
            f"size_test + size_validation = {size_test + size_validation:g} leaves no rows to train on; "
            "make their sum less than 1",
        )
    if fold_count is not None:
        if isinstance(fold_count, bool) or not isinstance(fold_count, (int, np.integer)) or fold_count < 2:
            raise errors.SplitError("fold_count", f"must be an integer of at least 2, got {fold_count!r}")
        if size_validation is not None:
            raise errors.SplitError(
                "size_validation",
                "folds hold out their own validation rows; drop size_validation when fold_count is set",
            )


def make_strata(label: pd.Series | None, is_categorical: bool, bin_count: int | None) -> Strata:
    """Strata for stratification: classes, quantile bins of a continuous label, or a single stratum."""
    if label is None:
        if bin_count is not None:
            raise errors.SplitError("bin_count", "needs a label_column to bin; leave bin_count=None when unsupervised")
        return Strata(np.zeros(0, dtype=np.int64), [None], is_classes=False)
    if bin_count is not None:
        if isinstance(bin_count, bool) or not isinstance(bin_count, (int, np.integer)) or bin_count < 2:
            raise errors.SplitError("bin_count", f"must be an integer of at least 2, got {bin_count!r}")
        if not pd.api.types.is_numeric_dtype(label.dtype) or pd.api.types.is_bool_dtype(label.dtype):
            raise errors.SplitError(
                "bin_count", f"bins a continuous label, but {label.name!r} holds {label.dtype} values; drop bin_count"
            )
        if is_categorical:
            raise errors.SplitError(
                "bin_count",
                f"the label {label.name!r} is categorical and is stratified by class; drop bin_count, or use a "
                "scaler such as StandardScaler() as label_encoder for a regression label",
            )
    if is_categorical:
        codes, uniques = pd.factorize(label, sort=True)
        return Strata(codes.astype(np.int64), list(uniques), is_classes=True)
    bins = bin_count or DEFAULT_BIN_COUNT
    # quantile edges; duplicate edges (many equal values) merge bins instead of failing
    codes = pd.qcut(label.rank(method="first"), q=bins, labels=False, duplicates="drop")
    codes = np.asarray(codes, dtype=np.int64)
    return Strata(codes, [f"bin {i}" for i in range(int(codes.max()) + 1)], is_classes=False)


def _targets(n: int, size_test: float | None, size_validation: float | None) -> dict[str, int]:
    test = round(size_test * n) if size_test else 0
    validation = round(size_validation * n) if size_validation else 0
    return {"train": n - test - validation, "validation": validation, "test": test}


def _apportion(counts: np.ndarray, targets: dict[str, int], rng: np.random.Generator) -> np.ndarray:
    """Rows per (stratum, split): each cell its exact share rounded down or up, rows and columns summing exactly.

    The ideal shares form a matrix whose rows sum to the stratum sizes and columns to the split targets;
    rounding it so both sums hold is a 0/1 matrix problem with known margins, solved greedily by Ryser's
    construction (largest remaining deficits first), which succeeds whenever such a rounding exists, and one
    always does for a matrix of fractions.
    """
    n = counts.sum()
    sizes = np.array([targets[s] for s in SPLITS], dtype=np.float64)
    ideal = counts[:, None] * sizes[None, :] / n
    result = np.floor(ideal).astype(np.int64)
    row_left = counts - result.sum(axis=1)
    column_left = np.array([targets[s] for s in SPLITS]) - result.sum(axis=0)
    fraction = ideal - result
    jitter = rng.random(len(counts))  # seeded tie-break, so no stratum is always the one rounded down
    for split in np.argsort(-column_left, kind="stable"):
        need = int(column_left[split])
        if need == 0:
            continue
        order = np.lexsort((jitter, -fraction[:, split], -row_left))
        chosen = [stratum for stratum in order if row_left[stratum] > 0][:need]
        result[chosen, split] += 1
        row_left[chosen] -= 1
    return result


def split_rows(strata: Strata, n: int, size_test: float | None, size_validation: float | None,
               seed: int) -> dict[str, np.ndarray]:
    """Disjoint, sorted row indices per split covering every row; only the splits that exist."""
    rng = np.random.default_rng(seed)
    codes = strata.codes if len(strata.codes) else np.zeros(n, dtype=np.int64)
    targets = _targets(n, size_test, size_validation)
    sizes = (("size_test", size_test, "test"), ("size_validation", size_validation, "validation"))
    for parameter, size, split in sizes:
        if size and targets[split] == 0:
            raise errors.SplitError(parameter, f"{size:g} of {n} rows is less than one row; make it larger")
    counts = np.bincount(codes, minlength=strata.count)
    table = _apportion(counts, targets, rng)
    if strata.is_classes:
        _check_every_class(table, strata, targets)
    if targets["train"] < 1:
        raise errors.SplitError("size_test", "leaves no rows to train on; lower size_test or size_validation")
    # shuffle all rows once, then a stable sort by stratum keeps each stratum's rows in shuffled order
    order = rng.permutation(n)
    order = order[np.argsort(codes[order], kind="stable")]
    starts = np.concatenate(([0], np.cumsum(counts)))
    parts: dict[str, list[np.ndarray]] = {split: [] for split in SPLITS}
    for stratum in range(strata.count):
        rows = order[starts[stratum]:starts[stratum + 1]]
        edges = np.cumsum(table[stratum])
        for split, chunk in zip(SPLITS, np.split(rows, edges[:-1]), strict=True):
            parts[split].append(chunk)
    return {split: np.sort(np.concatenate(parts[split])) for split in SPLITS if targets[split] > 0}


def _check_every_class(table: np.ndarray, strata: Strata, targets: dict[str, int]) -> None:
    parameter = {"train": "size_test", "validation": "size_validation", "test": "size_test"}
    for column, split in enumerate(SPLITS):
        if targets[split] == 0:
            continue
        missing = [strata.names[i] for i in np.flatnonzero(table[:, column] == 0)]
        if missing:
            whole = all(isinstance(name, (int, np.integer)) and not isinstance(name, (bool, np.bool_))
                        for name in strata.names)
            hint = ("; if the label is a quantity rather than classes, pass a scaler as label_encoder (e.g. "
                    "dict(sklearn_preprocess=StandardScaler())) or cast it to float: whole numbers without a label "
                    "encoder are taken as classes") if whole else ""
            raise errors.SplitError(
                parameter[split],
                f"the {split} split would get {targets[split]} rows and no row of class(es) {missing[:5]!r}; "
                f"every class needs a row in every split: make the {split} split larger (or the others smaller), "
                f"or add rows of the rare classes{hint}",
            )


def _coarser_bins(codes: np.ndarray, fold_count: int) -> np.ndarray:
    """Quantile bin codes, neighbouring bins merged until one holds at least ``fold_count`` rows.

    ``StratifiedKFold`` refuses strata that are all smaller than the number of folds (a small regression label
    with the default bins, or many bins): merging neighbours keeps the folds stratified on the label, only
    coarser.
    """
    while np.bincount(codes).max() < fold_count:
        codes = codes // 2
    return codes


def fold_rows(strata: Strata, train_rows: np.ndarray, fold_count: int, seed: int) -> list[dict[str, np.ndarray]]:
    """``fold_count`` stratified folds of ``train_rows``: each row is in exactly one fold's validation."""
    rows = np.asarray(train_rows, dtype=np.int64)
    codes = strata.codes[rows] if len(strata.codes) else np.zeros(len(rows), dtype=np.int64)
    if fold_count > len(rows):
        raise errors.SplitError("fold_count", f"{fold_count} folds need at least as many train rows ({len(rows)})")
    if strata.is_classes:
        counts = np.bincount(codes, minlength=strata.count)
        smallest = int(counts.min())
        if fold_count > smallest:
            name = strata.names[int(counts.argmin())]
            raise errors.SplitError(
                "fold_count",
                f"{fold_count} folds need at least {fold_count} train rows of every class, but class {name!r} has "
                f"{smallest}; use fold_count <= {smallest}",
            )
    elif len(codes):
        codes = _coarser_bins(codes, fold_count)
    # a seed of its own: adding folds does not move the splits
    random_state = int(np.random.SeedSequence([seed, 1]).generate_state(1)[0])
    splitter = StratifiedKFold(n_splits=fold_count, shuffle=True, random_state=random_state)
    folds = []
    with warnings.catch_warnings():
        # quantile bins smaller than fold_count only make those bins unevenly spread; classes were checked above
        warnings.simplefilter("ignore", UserWarning)
        for train_positions, held_out_positions in splitter.split(np.zeros(len(rows)), codes):
            folds.append({"train": np.sort(rows[train_positions]), "validation": np.sort(rows[held_out_positions])})
    return folds
