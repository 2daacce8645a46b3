"""Interpolation of float feature and label columns: each split is filled from its own rows only, the steps are
stored with the splitset and applied again at inference (stored predictors and bundles)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler
from test_pipeline_errors import row_counts

import assay
from assay import errors
from assay.db import engine as db_engine


def split_world(rows: int = 40) -> pd.DataFrame:
    """``x`` is the row number; ``y`` is the row number times ten (the label); a few gaps in both."""
    index = np.arange(rows, dtype=np.float64)
    return pd.DataFrame({"x": index, "z": np.ones(rows), "y": index * 10.0})


def make(df: pd.DataFrame, **overrides):
    kwargs = dict(df_or_path=df, label_column="y", size_test=0.25, size_validation=0.25,
                  feature_interpolaters=[dict(interpolate_kwargs=dict(method="linear"), columns=["x"])])
    kwargs.update(overrides)
    return assay.Pipeline.Tabular.make(**kwargs)


def gaps_in(splitset, split: str) -> list[int]:
    """Some rows of ``split`` to blank out, never its first or last."""
    return splitset.samples[split][1:-1:3]


def test_each_split_is_interpolated_from_its_own_rows_only(db):
    df = split_world()
    # mark every split's rows with a value of its own, so a borrowed value would show
    probe = make(df.assign(x=np.where(df["x"] >= 0, 1.0, 0.0)))
    marks = {"train": 1.0, "validation": 500.0, "test": -500.0}
    df["x"] = 0.0
    for split, value in marks.items():
        df.loc[probe.samples[split], "x"] = value
    blanked = {split: gaps_in(probe, split) for split in marks}
    for rows in blanked.values():
        df.loc[rows, "x"] = np.nan
    splitset = make(df)
    assert splitset.samples == probe.samples  # interpolation does not move the splits
    for split, value in marks.items():
        features = splitset.samples_for(split)["features"]
        column = splitset.feature_names.index("x")
        assert np.isfinite(features).all()
        # a linear fill between rows of this split only gives back this split's own value
        np.testing.assert_allclose(features[:, column], value)
    assert np.isnan(assay.Dataset.get(splitset.dataset_id).to_pandas().loc[blanked["test"], "x"]).all()  # stored raw


def test_encoders_are_fitted_on_the_interpolated_train_rows(db):
    df = split_world()
    df.loc[[5, 6, 17, 30], "x"] = np.nan
    splitset = make(df, feature_encoders=[dict(sklearn_preprocess=StandardScaler(), columns=["x"])])
    fitted = splitset.encoders().features[0].load()
    train = df.loc[splitset.samples["train"], "x"].interpolate(method="linear", limit_direction="both")
    assert fitted.mean_[0] == pytest.approx(train.mean())
    assert np.isfinite(splitset.samples_for("test")["features"]).all()


def test_folds_interpolate_their_train_and_validation_rows_apart(db):
    df = split_world(48)
    df.loc[[4, 9, 21, 33, 40], "x"] = np.nan
    splitset = make(df, size_validation=None, fold_count=2)
    for fold_index in (0, 1):
        rows = splitset.row_indices("validation", fold_index)
        expected = df.loc[rows, "x"].interpolate(method="linear", limit_direction="both").to_numpy()
        got = splitset.samples_for("validation", fold_index)["features"][:, splitset.feature_names.index("x")]
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_label_gaps_are_interpolated_per_split_for_training_and_metrics(db):
    df = split_world()
    probe = make(df)
    blanked = probe.samples["test"][1:-1]
    df.loc[blanked, "y"] = np.nan
    splitset = make(df, label_interpolater=dict(interpolate_kwargs=dict(method="linear")))
    rows = splitset.samples["test"]
    expected = df.loc[rows, "y"].interpolate(method="linear", limit_direction="both").to_numpy()
    np.testing.assert_allclose(splitset.samples_for("test")["labels"].ravel(), expected)
    np.testing.assert_allclose(splitset.raw_labels(rows), expected)  # what metrics compare predictions with
    # only the test split's first and last labels are known: the gaps are a line between them
    assert expected[0] == df.loc[rows[0], "y"]
    assert expected[-1] == df.loc[rows[-1], "y"]
    # borrowing the train rows between them would have given back the true line y = 10 * row
    assert not np.allclose(expected, np.asarray(rows) * 10.0)


def test_the_steps_are_stored_with_the_splitset_and_read_back(db):
    df = split_world()
    df.loc[[3, 11, 25], "x"] = np.nan
    df.loc[[8], "y"] = np.nan
    made = make(df, label_interpolater=dict(interpolate_kwargs=dict(method="nearest")))
    before = made.samples_for("train")
    db_engine.dispose()
    assay.setup(db)
    loaded = assay.Splitset.get(made.id)
    assert [step.parameter for step in loaded.interpolaters] == ["feature_interpolaters[0]", "label_interpolater"]
    assert loaded.interpolaters[1].kwargs == {"method": "nearest", "limit_direction": "both"}
    after = loaded.samples_for("train")
    np.testing.assert_array_equal(after["features"], before["features"])
    np.testing.assert_array_equal(after["labels"], before["labels"])


def test_new_rows_are_interpolated_among_themselves_at_encoding(db):
    df = split_world()
    df.loc[[3], "x"] = np.nan
    splitset = make(df)
    new = pd.DataFrame({"x": [1.0, np.nan, np.nan, 4.0], "z": [1.0] * 4})
    encoded = splitset.encode_features(new)
    np.testing.assert_allclose(encoded[:, splitset.feature_names.index("x")], [1.0, 2.0, 3.0, 4.0])
    assert new["x"].isna().sum() == 2  # the caller's frame is untouched


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], 4), nn.ReLU(), nn.Linear(4, 1))


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=1,
                                  batch_size=8, seed=0)


def test_a_predictor_and_its_bundle_interpolate_new_rows_before_predicting(db, tmp_path):
    pytest.importorskip("assay_torch")
    df = split_world()
    df.loc[[3, 14, 22], "x"] = np.nan
    df.loc[[9], "y"] = np.nan
    splitset = make(df, feature_encoders=[dict(sklearn_preprocess=StandardScaler(), columns=["x"])],
                    label_interpolater=dict())
    queue = assay.Experiment.make(library="torch", analysis_type="regression", fn_build=fn_build,
                                  fn_train=fn_train, hyperparameters={"unused": [0]}, splitset_id=splitset.id)
    queue.run_jobs()
    predictor = queue.jobs[0].predictor
    gappy = pd.DataFrame({"x": [2.0, np.nan, 6.0], "z": [1.0] * 3})
    filled = pd.DataFrame({"x": [2.0, 4.0, 6.0], "z": [1.0] * 3})
    predicted = predictor.infer(gappy)["prediction"].to_numpy()
    assert np.isfinite(predicted).all()
    np.testing.assert_allclose(predicted, predictor.infer(filled)["prediction"].to_numpy(), rtol=1e-6)
    bundle = assay.load_bundle(predictor.export(tmp_path / "gaps.assay"))
    np.testing.assert_allclose(bundle.predict(gappy)["prediction"].to_numpy(), predicted, rtol=1e-6)


@pytest.mark.parametrize(("overrides", "parameter", "message"), [
    (dict(feature_interpolaters=[dict(columns=["n"])]), "feature_interpolaters[0].columns", "float columns only"),
    (dict(feature_interpolaters=[dict(dtypes=["int64"])]), "feature_interpolaters[0].dtypes", "float columns only"),
    (dict(feature_interpolaters=[dict(columns=["nope"])]), "feature_interpolaters[0].columns", "not feature"),
    (dict(feature_interpolaters=[dict(sklearn_preprocess=None)]), "feature_interpolaters[0]", "unknown key"),
    (dict(feature_interpolaters=[dict(interpolate_kwargs=dict(inplace=True))]),
     "feature_interpolaters[0].interpolate_kwargs", "inplace"),
    (dict(feature_interpolaters=[dict(interpolate_kwargs=dict(method="bogus"))]),
     "feature_interpolaters[0].interpolate_kwargs", "bogus"),
    (dict(feature_interpolaters=[dict(columns=["x"]), dict(columns=["x"])]), "feature_interpolaters[1]",
     "already interpolated"),
    (dict(feature_interpolaters=[dict(dtypes=["float64"]), dict(dtypes="float64")]),
     "feature_interpolaters[1].dtypes", "matches only columns earlier feature interpolaters take"),
    (dict(feature_interpolaters="linear"), "feature_interpolaters", "list of dicts"),
    (dict(label_column="word", label_interpolater=dict()), "label_interpolater", "float columns only"),
    (dict(label_column=None, size_test=0.25, size_validation=None, label_interpolater=dict()),
     "label_interpolater", "needs a label_column"),
    (dict(label_interpolater=dict(interpolate_kwargs=dict(method="linear", limit=1))), "label_interpolater",
     "still hold missing values"),
])
def test_bad_interpolation_input_names_the_parameter_and_writes_nothing(db, overrides, parameter, message):
    df = split_world()
    df["n"] = np.arange(len(df))
    df["word"] = pd.Series(["a", "b"] * (len(df) // 2), dtype="str")
    df.loc[[3, 4, 5, 6, 7, 8, 9, 10, 11, 12], "y"] = np.nan  # a long gap no split can fill with limit=1
    before = row_counts()
    kwargs = dict(feature_interpolaters=None, feature_cols_excluded=["word"])
    kwargs.update(overrides)
    if kwargs.get("label_column") == "word":
        kwargs["feature_cols_excluded"] = ["y"]
    with pytest.raises(errors.ValidationError) as caught:
        make(df, **kwargs)
    assert caught.value.parameter == parameter
    assert message in str(caught.value)
    assert row_counts() == before
