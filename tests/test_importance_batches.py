"""Permutation importance in batches: permuted copies re-encode only what the shuffled column feeds, many
copies are predicted per call, and the result equals predicting each copy on its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import assay
from assay import datum, errors
from assay.db import session_scope
from assay.db.models import PredictorRow
from assay.evaluation import importance, permutation
from assay.experiment.trained import Trained

pytest.importorskip("assay_torch")


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], 6), nn.ReLU(), nn.Linear(6, label_shape[0]))


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=3,
                                  batch_size=16, seed=0)


@pytest.fixture
def predictor(db):
    df = datum.to_pandas("houses.csv")
    df["district"] = np.where(df["rad"] > 5, "far", "near")  # a one-hot encoded text column
    splitset = assay.Pipeline.Tabular.make(
        df, label_column="price", label_encoder=dict(sklearn_preprocess=StandardScaler()),
        feature_encoders=[dict(sklearn_preprocess=OneHotEncoder(), columns=["district"]),
                          dict(sklearn_preprocess=StandardScaler(), columns=["crim", "nox", "rm"])],
        size_test=0.3, fold_count=2,
    )
    queue = assay.Experiment.make(library="torch", analysis_type="regression", fn_build=fn_build,
                                  fn_train=fn_train, splitset_id=splitset.id, seed=8)
    assert queue.run_jobs(progress=False).failed == 0, queue.status()["errors"]
    return next(p for p in queue.predictors if p.fold_index == 1)


def test_a_permuted_copy_encodes_like_the_whole_shuffled_frame(predictor):
    splitset = predictor.queue.splitset
    raw = assay.Dataset.get(splitset.dataset_id).to_pandas().iloc[splitset.samples["test"]].reset_index(drop=True)
    permuted = permutation.PermutedEncoder(splitset.encoders(1), raw, lambda df: splitset.encode_features(df, 1))
    order = np.random.default_rng(0).permutation(len(raw))

    for column in ["district", "crim", "zn"]:  # one-hot, scaled with other columns, passthrough
        shuffled = raw.copy()
        shuffled[column] = raw[column].to_numpy()[order]
        np.testing.assert_array_equal(permuted.encode(permutation.Task(column, order)),
                                      splitset.encode_features(shuffled, 1))


def test_copies_encoded_together_equal_copies_encoded_one_by_one(predictor):
    splitset = predictor.queue.splitset
    raw = assay.Dataset.get(splitset.dataset_id).to_pandas().iloc[splitset.samples["test"]].reset_index(drop=True)
    before = raw.copy()
    permuted = permutation.PermutedEncoder(splitset.encoders(1), raw, lambda df: splitset.encode_features(df, 1))
    rng = np.random.default_rng(1)
    # one-hot, two copies of a column scaled with others, passthrough: each encoder called once for its copies
    tasks = [permutation.Task(column, rng.permutation(len(raw))) for column in ["district", "crim", "zn", "crim", "rm"]]

    together = permuted.encode_many(tasks)

    assert len(together) == len(tasks)
    for task, encoded in zip(tasks, together, strict=True):
        np.testing.assert_array_equal(encoded, permuted.encode(task))
    assert not np.array_equal(together[1], together[3])  # each copy keeps its own shuffle
    assert raw.equals(before)


def test_batched_importance_equals_one_prediction_call_per_copy(predictor):
    trained = Trained.load(predictor.id)  # what the public Predictor hands down: its id
    one_by_one = importance._compute(trained, "test", 2, batch_rows=1)
    batched = importance._compute(trained, "test", 2)

    assert batched == one_by_one
    assert len(batched["drops"]) == 13
    assert all(len(values) == 2 for values in batched["drops"].values())
    assert max(np.mean(values) for values in batched["drops"].values()) > 0  # the model uses some column


def test_sample_rows_bounds_the_rows_permuted_and_is_stored_apart(predictor):
    sampled = predictor.feature_importance(split="test", permutation_count=2, sample_rows=40)
    full = predictor.feature_importance(split="test", permutation_count=2, sample_rows=None)

    stored = predictor._column("feature_importance")["test"]
    assert set(stored) == {"2", "2:rows=40"}
    rows = len(predictor.predictions["test"].row_indices)
    assert (sampled.attrs["sample_rows"], sampled.attrs["rows"]) == (40, rows)
    assert (full.attrs["sample_rows"], full.attrs["rows"]) == (None, rows)
    # the baseline is the score on every row either way; the drops differ, measured on other rows
    assert sampled.attrs["baseline"] == pytest.approx(full.attrs["baseline"])
    assert not sampled.set_index("feature")["importance_mean"].equals(full.set_index("feature")["importance_mean"])
    for bad in (1, True, "all", 2.5):
        with pytest.raises(errors.ValidationError, match="sample_rows"):
            predictor.feature_importance(sample_rows=bad)


def test_auto_permutes_every_row_of_a_narrow_split(predictor):
    table = predictor.feature_importance(split="test", permutation_count=2)  # 13 columns: at most 20

    assert table.attrs["sample_rows"] is None
    assert set(predictor._column("feature_importance")["test"]) == {"2"}
    assert importance.sample_size("auto", 1000, importance.ROUND_BUDGET) is None


def fn_build_binary(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], 4), nn.ReLU(), nn.Linear(4, label_shape[0]), nn.Sigmoid())


def test_auto_samples_a_wide_split_so_a_round_predicts_at_most_twenty_splits(db, tmp_path):
    df = datum.to_pandas("sonar.csv")  # 60 feature columns
    splitset = assay.Pipeline.Tabular.make(
        df, label_column="object", label_encoder=dict(sklearn_preprocess=OneHotEncoder(sparse_output=False,
                                                                                       drop="first")),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler())], size_test=0.4,
    )
    queue = assay.Experiment.make(library="torch", analysis_type="classification_binary",
                                  fn_build=fn_build_binary, fn_train=fn_train, splitset_id=splitset.id, seed=3)
    assert queue.run_jobs(progress=False).failed == 0, queue.status()["errors"]
    [predictor] = queue.predictors
    rows = len(predictor.predictions["test"].row_indices)
    expected = -(-importance.ROUND_BUDGET * rows // 60)
    assert expected < rows

    table = predictor.feature_importance(split="test", permutation_count=3)

    assert (table.attrs["sample_rows"], table.attrs["rows"]) == (expected, rows)
    assert len(table) == 60
    stored = predictor._column("feature_importance")["test"]
    assert set(stored) == {f"3:rows={expected}"}
    assert all(len(drops) == 3 for drops in stored[f"3:rows={expected}"]["drops"].values())
    full = predictor.feature_importance(split="test", permutation_count=3, sample_rows=None)
    assert table.attrs["baseline"] == pytest.approx(full.attrs["baseline"])  # the split's own score
    # read back, not computed again; and the same seed gives the same sample and shuffles when refreshed
    again = predictor.feature_importance(split="test", permutation_count=3)
    refreshed = predictor.feature_importance(split="test", permutation_count=3, refresh=True)
    pd.testing.assert_frame_equal(again, table)
    pd.testing.assert_frame_equal(refreshed, table)
    # the report draws the stored result (a sampled one: the every-row result is removed) and computes nothing
    predictor.feature_importance(split="test", permutation_count=3, sample_rows=None)
    before = Path(queue.report(tmp_path / "before.html")).read_text(encoding="utf-8")
    with session_scope() as session:
        row = session.get(PredictorRow, predictor.id)
        row.feature_importance = {"test": {key: row.feature_importance["test"][key] for key in [f"3:rows={expected}"]}}
    after = Path(queue.report(tmp_path / "after.html")).read_text(encoding="utf-8")
    assert after.count("data:image/png") == before.count("data:image/png")
    assert "feature importance (test)" not in after  # named only when its figure fails
