"""Interpolation of sequence samples (``Pipeline.Sequence.make(feature_interpolaters=...)``): each sample's gaps are
filled along its own timesteps before the encoders, the same way for training, ``predictor.infer``, bundles and
``assay predict``; gaps nothing fills are still refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler
from test_pipeline_errors import row_counts

import assay
from assay import cli, errors

#: (sample, timestep, feature) cells blanked: interior gaps, a leading and a trailing one, in both features
GAPS = [(0, 3, 0), (1, 0, 0), (2, 7, 1), (5, 2, 0), (5, 5, 1), (9, 4, 0), (14, 1, 1), (20, 6, 0)]


def ramps(samples: int = 24, timesteps: int = 8) -> np.ndarray:
    """Sample i, feature f at timestep t is ``1000 i + (f + 1) t``: linear along each sample's timesteps, and far
    from every other sample's values, so a value borrowed from another sample would show."""
    t = np.arange(timesteps, dtype=np.float64)
    return (1000.0 * np.arange(samples)[:, None, None] + t[None, :, None] * np.array([1.0, 2.0])[None, None, :])


def with_gaps(array: np.ndarray) -> np.ndarray:
    gappy = array.copy()
    for sample, step, feature in GAPS:
        gappy[sample, step, feature] = np.nan
    return gappy


def filled(array: np.ndarray) -> np.ndarray:
    """What linear interpolation with ``limit_direction="both"`` gives each sample of ``ramps``: the line inside,
    the nearest value at an edge."""
    expected = array.copy()
    for sample, step, feature in GAPS:
        if step == 0:
            expected[sample, 0, feature] = array[sample, 1, feature]
        elif step == array.shape[1] - 1:
            expected[sample, step, feature] = array[sample, step - 1, feature]
    return expected


def labels(samples: int = 24) -> pd.DataFrame:
    return pd.DataFrame({"kind": np.tile([0, 1], samples // 2)})


def make(array, **overrides):
    arguments = dict(feature_ndarray3D_or_npyPath=array, label_df_or_path=labels(len(array)), size_test=0.25,
                     size_validation=0.25, feature_interpolaters=[dict(interpolate_kwargs=dict(method="linear"))])
    return assay.Pipeline.Sequence.make(**{**arguments, **overrides})


def test_each_sample_is_interpolated_along_its_own_timesteps_only(db):
    array = ramps()
    splitset = make(with_gaps(array))
    expected = filled(array)
    for split, rows in splitset.samples.items():
        np.testing.assert_allclose(splitset.samples_for(split)["features"], expected[rows], rtol=1e-6)
    [step] = splitset.interpolaters
    assert (step.columns, step.kwargs) == (["feature_0", "feature_1"], {"method": "linear", "limit_direction": "both"})
    stored = assay.Dataset.get(splitset.dataset_id).to_numpy()
    assert np.isnan(stored).sum() == len(GAPS)  # the stored samples keep their gaps


def test_encoders_are_fitted_on_interpolated_samples_and_columns_limit_the_features(db):
    array = ramps()
    splitset = make(with_gaps(array), feature_interpolaters=[dict(columns=["0"]), dict(dtypes="float64")],
                    feature_encoders=[dict(sklearn_preprocess=StandardScaler())])
    assert [step.columns for step in splitset.interpolaters] == [["feature_0"], ["feature_1"]]
    scaler = splitset.encoders().features[0].load()
    train = filled(array)[splitset.samples["train"]].reshape(-1, 2)
    np.testing.assert_allclose(scaler.mean_, train.mean(axis=0))
    assert np.isfinite(splitset.samples_for("test")["features"]).all()


def tiny_fn_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Flatten(), nn.Linear(features_shape[0] * features_shape[1], label_shape[0]), nn.Sigmoid())


def tiny_fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=1, batch_size=8)


def test_inference_bundles_and_assay_predict_interpolate_new_samples_the_same_way(db, tmp_path, capsys):
    pytest.importorskip("assay_torch")
    array = ramps() / 1000.0
    splitset = make(with_gaps(array), feature_encoders=[dict(sklearn_preprocess=StandardScaler())])
    queue = assay.Experiment.make(library="torch", analysis_type="classification_binary", fn_build=tiny_fn_build,
                                  fn_train=tiny_fn_train, hyperparameters={"units": [1]}, splitset_id=splitset.id)
    assert queue.run_jobs(progress=False).failed == 0
    predictor = queue.predictors[0]
    new, complete = with_gaps(array)[:10], filled(array)[:10]

    inferred = predictor.infer(new)["probability_1"].to_numpy()

    np.testing.assert_allclose(inferred, predictor.infer(complete)["probability_1"].to_numpy(), rtol=1e-6)
    bundle_path = predictor.export(tmp_path / "ramps.assay")
    np.testing.assert_allclose(assay.load_bundle(bundle_path).predict(new)["probability_1"], inferred, rtol=1e-6)
    np.save(tmp_path / "new.npy", new)
    assert cli.main(["predict", str(bundle_path), str(tmp_path / "new.npy"), "-o", str(tmp_path / "out.csv")]) == 0
    np.testing.assert_allclose(pd.read_csv(tmp_path / "out.csv")["probability_1"], inferred, rtol=1e-5)

    # a feature with no value in a sample is no gap interpolation can fill: refused, nothing predicted
    unfillable = complete.copy()
    unfillable[3, :, 1] = np.nan
    inferences = len(predictor.inferences)
    with pytest.raises(errors.DataError, match=r"^df_or_path: samples 3 hold NaN"):
        predictor.infer(unfillable)
    assert len(predictor.inferences) == inferences
    with pytest.raises(errors.DataError, match="samples 3 hold NaN"):
        assay.load_bundle(bundle_path).predict(unfillable)


def test_a_gap_no_interpolater_fills_is_still_refused_unless_an_encoder_imputes_it(db):
    gappy = with_gaps(ramps())
    gappy[7, :, 0] = np.nan  # feature_0 has no value at all in sample 7
    before = row_counts()
    with pytest.raises(errors.DataError, match=r"^feature_encoders: features \['feature_0'\] hold NaNs \(e\.g\. "
                                               r"sample 7\) that no feature interpolater fills"):
        make(gappy, feature_encoders=[dict(sklearn_preprocess=StandardScaler())])
    with pytest.raises(errors.DataError, match="no feature interpolater fills"):
        make(gappy)
    assert row_counts() == before
    splitset = make(gappy, feature_encoders=[dict(sklearn_preprocess=SimpleImputer())])
    for split in splitset.samples:
        assert np.isfinite(splitset.samples_for(split)["features"]).all()


BAD = {
    "dtypes of another dtype": (dict(feature_interpolaters=[dict(dtypes="float32")]),
                                "feature_interpolaters[0].dtypes", "every feature of these samples is float64"),
    "not float samples": (dict(feature_ndarray3D_or_npyPath=ramps().astype("int64"),
                               feature_interpolaters=[dict(dtypes="int64")]),
                          "feature_interpolaters[0]", "float samples only"),
    "unknown feature": (dict(feature_interpolaters=[dict(columns=["feature_7"])]), "feature_interpolaters[0].columns",
                        "is not a feature"),
    "a feature twice": (dict(feature_interpolaters=[dict(columns=[0]), dict(columns=["0"])]),
                        "feature_interpolaters[1].columns", "already interpolated"),
    "nothing left": (dict(feature_interpolaters=[dict(), dict(dtypes="float64")]), "feature_interpolaters[1].dtypes",
                     "earlier feature interpolaters take"),
    "unknown key": (dict(feature_interpolaters=[dict(include=False)]), "feature_interpolaters[0]", "unknown key"),
    "across samples": (dict(feature_interpolaters=[dict(interpolate_kwargs=dict(axis=1))]),
                       "feature_interpolaters[0].interpolate_kwargs", "'axis' is not allowed"),
    "bogus method": (dict(feature_interpolaters=[dict(interpolate_kwargs=dict(method="bogus"))]),
                     "feature_interpolaters[0].interpolate_kwargs", "bogus"),
    "not a list": (dict(feature_interpolaters="linear"), "feature_interpolaters", "list of dicts"),
}


@pytest.mark.parametrize(("overrides", "parameter", "message"), BAD.values(), ids=list(BAD))
def test_bad_sequence_interpolation_names_the_parameter_and_writes_nothing(db, overrides, parameter, message):
    before = row_counts()
    with pytest.raises(errors.DataError) as caught:
        make(with_gaps(ramps()), **overrides)
    assert caught.value.parameter == parameter
    assert message in str(caught.value)
    assert row_counts() == before
