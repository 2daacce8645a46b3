"""Splits and folds: stratified to within one sample per class, disjoint, covering, seeded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import assay
from assay import datum, errors
from assay.data import splitting


def imbalanced(rows: int = 237) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    label = rng.choice(["common", "middle", "rare"], p=[0.7, 0.22, 0.08], size=rows)
    return pd.DataFrame({"x": rng.normal(size=rows), "y": rng.normal(size=rows), "label": label})


def make(df, label_column, **kwargs):
    return assay.Pipeline.Tabular.make(df, label_column=label_column,
                                       label_encoder=dict(sklearn_preprocess=OneHotEncoder()), **kwargs)


def assert_stratified(labels: pd.Series, parts: dict[str, list[int]]) -> None:
    """Each part holds every class to within one sample of the class's share of the whole."""
    whole = labels.value_counts()
    for rows in parts.values():
        got = labels.iloc[rows].value_counts().reindex(whole.index, fill_value=0)
        expected = whole * len(rows) / len(labels)
        assert (got - expected).abs().max() <= 1, (got.to_dict(), expected.to_dict())


def assert_partition(parts: dict[str, list[int]], rows: list[int]) -> None:
    together = [row for part in parts.values() for row in part]
    assert len(together) == len(set(together))  # disjoint
    assert sorted(together) == sorted(rows)  # covering


CASES = [
    ("iris.tsv", "species", 0.22, 0.12),
    ("sonar.csv", "object", 0.3, 0.15),
    ("heart_failure.parquet", "died", 0.17, 0.21),
]


@pytest.mark.parametrize(("name", "label", "size_test", "size_validation"), CASES)
def test_splits_are_stratified_disjoint_and_cover_every_row(db, name, label, size_test, size_validation):
    df = datum.to_pandas(name)
    splitset = make(df, label, size_test=size_test, size_validation=size_validation)
    assert_partition(splitset.samples, list(range(len(df))))
    assert_stratified(df[label], splitset.samples)
    assert len(splitset.samples["test"]) == round(size_test * len(df))
    assert len(splitset.samples["validation"]) == round(size_validation * len(df))


def test_imbalanced_classes_keep_their_proportions_in_every_split(db):
    df = imbalanced()
    splitset = make(df, "label", size_test=0.19, size_validation=0.13)
    assert_stratified(df["label"], splitset.samples)


def test_same_seed_gives_the_same_splits_and_another_seed_other_ones(db):
    df = datum.to_pandas("iris.tsv")
    first = make(df, "species", size_test=0.2, fold_count=3)
    again = make(df, "species", size_test=0.2, fold_count=3)
    other = make(df, "species", size_test=0.2, fold_count=3, seed=7)
    assert first.samples == again.samples
    assert [f.samples for f in first.folds] == [f.samples for f in again.folds]
    assert first.samples != other.samples


def test_folds_partition_the_train_split_and_are_stratified(db):
    df = datum.to_pandas("iris_10x.tsv")
    splitset = make(df, "species", size_test=0.2, fold_count=5)
    train = splitset.samples["train"]
    assert set(splitset.samples) == {"train", "test"}
    assert len(splitset.folds) == 5
    assert [fold.fold_index for fold in splitset.folds] == list(range(5))
    assert_partition({i: f.samples["validation"] for i, f in enumerate(splitset.folds)}, train)
    assert_stratified(df["species"].iloc[train].reset_index(drop=True),
                      {i: [train.index(r) for r in f.samples["validation"]] for i, f in enumerate(splitset.folds)})
    for fold in splitset.folds:
        assert_partition(fold.samples, train)
        assert splitset.row_indices("validation", fold.fold_index) == fold.samples["validation"]
        assert splitset.row_indices("test", fold.fold_index) == splitset.samples["test"]
        assert len(splitset.samples_for("validation", fold.fold_index)["features"]) == 240


def test_folds_without_size_test_make_no_test_rows(db):
    df = datum.to_pandas("iris.tsv")
    splitset = make(df, "species", fold_count=4)
    assert set(splitset.samples) == {"train"}
    assert len(splitset.samples["train"]) == 150


def test_continuous_label_is_stratified_by_quantile_bins(db):
    df = datum.to_pandas("exoplanets.parquet")
    splitset = assay.Pipeline.Tabular.make(
        df, label_column="SurfaceTempK", label_encoder=dict(sklearn_preprocess=StandardScaler()),
        size_test=0.2, size_validation=0.15, bin_count=5,
    )
    bins = pd.Series(pd.qcut(df["SurfaceTempK"].rank(method="first"), 5, labels=False))
    assert_partition(splitset.samples, list(range(len(df))))
    assert_stratified(bins, splitset.samples)
    assert splitset.bin_count == 5


@pytest.mark.parametrize(("rows", "bin_count"), [(20, None), (80, 40)])
def test_folds_of_a_small_or_finely_binned_continuous_label_merge_neighbouring_bins(db, rows, bin_count):
    # 16 train rows in 4 default bins, or 64 in 40 bins: every bin is smaller than the 5 (3) folds, which
    # scikit-learn's StratifiedKFold refuses with a bare ValueError
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=rows), "target": rng.normal(size=rows)})
    fold_count = 5 if bin_count is None else 3

    splitset = assay.Pipeline.Tabular.make(df, label_column="target", size_test=0.2, fold_count=fold_count,
                                           bin_count=bin_count)

    train = splitset.samples["train"]
    held_out = [fold.samples["validation"] for fold in splitset.folds]
    assert_partition(dict(enumerate(held_out)), train)
    assert max(map(len, held_out)) - min(map(len, held_out)) <= 1
    # still stratified on the label: each fold holds rows from the low and the high half of the train labels
    median = df["target"].iloc[train].median()
    for rows_of_fold in held_out:
        values = df["target"].iloc[rows_of_fold]
        assert (values < median).any()
        assert (values > median).any()


def test_a_rare_whole_number_class_is_refused_with_a_hint_that_quantities_need_a_scaler(db):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=60), "visits": rng.poisson(5, size=60)})

    with pytest.raises(errors.SplitError, match=r"no row of class\(es\).*pass a scaler as label_encoder"):
        assay.Pipeline.Tabular.make(df, label_column="visits", size_test=0.25, size_validation=0.25)

    splitset = assay.Pipeline.Tabular.make(df, label_column="visits", size_test=0.25, size_validation=0.25,
                                           label_encoder=dict(sklearn_preprocess=StandardScaler()))
    assert splitset.label_classes == []


def test_unsupervised_splits_take_the_requested_sizes(db):
    df = datum.to_pandas("delhi_climate.parquet")
    splitset = assay.Pipeline.Tabular.make(df, size_test=0.25, fold_count=3)
    assert len(splitset.samples["test"]) == round(0.25 * len(df))
    assert_partition(splitset.samples, list(range(len(df))))
    assert_partition({i: f.samples["validation"] for i, f in enumerate(splitset.folds)}, splitset.samples["train"])


def test_apportioning_keeps_every_cell_within_one_of_its_share_for_many_shapes():
    rng = np.random.default_rng(0)
    for _ in range(300):
        strata = rng.integers(1, 9)
        counts = rng.integers(1, 60, size=strata)
        n = int(counts.sum())
        size_test, size_validation = rng.uniform(0.05, 0.45), rng.uniform(0.05, 0.45)
        targets = splitting._targets(n, size_test, size_validation)
        table = splitting._apportion(counts, targets, rng)
        shares = counts[:, None] * np.array([targets[s] for s in splitting.SPLITS])[None, :] / n
        assert (table >= 0).all()
        assert (np.abs(table - shares) <= 1 + 1e-9).all()
        assert table.sum(axis=1).tolist() == counts.tolist()
        assert table.sum(axis=0).tolist() == [targets[s] for s in splitting.SPLITS]
