"""Why the three-way split keeps its own allocation: how often scikit-learn's would miss the guarantee.

assay promises every class in every split to within one sample of its share of the whole. scikit-learn makes
three parts with two ``StratifiedShuffleSplit`` in a row (test from all rows, then validation from the rest);
this script draws many class-count shapes and split sizes and counts the splitsets where that puts a class more
than one sample off, next to assay's own allocation (``assay.data.splitting._apportion``), which never does.

Run: ``python benchmarks/splitting.py`` (a few seconds, no database).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.model_selection import StratifiedShuffleSplit

from assay.data import splitting

SHAPES = 2000


def worst_miss(labels: np.ndarray, parts: list[np.ndarray], class_count: int) -> float:
    """The largest distance between a class's count in a part and its share of the whole."""
    whole = np.bincount(labels, minlength=class_count)
    return max(float(np.abs(np.bincount(labels[part], minlength=class_count) - whole * len(part) / len(labels)).max())
               for part in parts)


def main() -> None:
    rng = np.random.default_rng(0)
    misses = {"two StratifiedShuffleSplit": [], "assay _apportion": []}
    for shape in range(SHAPES):
        counts = rng.integers(3, 60, size=rng.integers(2, 9))
        labels = np.repeat(np.arange(len(counts)), counts)
        n = len(labels)
        size_test, size_validation = rng.uniform(0.05, 0.4), rng.uniform(0.05, 0.4)
        targets = splitting._targets(n, size_test, size_validation)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                rest, test = next(StratifiedShuffleSplit(1, test_size=targets["test"], random_state=shape)
                                  .split(labels, labels))
                train, validation = next(StratifiedShuffleSplit(1, test_size=targets["validation"],
                                                                random_state=shape).split(rest, labels[rest]))
            except ValueError:  # a class too small for scikit-learn's split: not comparable
                continue
        misses["two StratifiedShuffleSplit"].append(
            worst_miss(labels, [test, rest[validation], rest[train]], len(counts)))
        table = splitting._apportion(counts, targets, rng)
        ideal = counts[:, None] * np.array([targets[s] for s in splitting.SPLITS])[None, :] / n
        misses["assay _apportion"].append(float(np.abs(table - ideal).max()))
    print(f"{'allocation':<28} {'splitsets':>9} {'> 1 sample off':>15} {'worst miss':>11}")
    for name, values in misses.items():
        values = np.asarray(values)
        print(f"{name:<28} {len(values):>9} {int((values > 1 + 1e-9).sum()):>15} {values.max():>11.2f}")


if __name__ == "__main__":
    main()
