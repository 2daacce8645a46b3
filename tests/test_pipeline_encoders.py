"""Encoders in the pipeline: fitted without leakage, persisted, and identical after reloading in a new process."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sqlalchemy import select

import assay
from assay import datum
from assay.db import session_scope
from assay.db.models import EncoderSpecRow, FittedEncoderRow


def mixed_frame(rows: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({
        # a trend along the rows makes train, fold and all-row statistics clearly different
        "a": rng.normal(size=rows) + np.linspace(0, 10, rows),
        "b": rng.exponential(size=rows) * 5,
        "city": pd.Series(rng.choice(["oslo", "rome", "lima"], size=rows), dtype="str"),
        "price": rng.normal(100, 20, size=rows) + np.linspace(0, 50, rows),
        "label": np.tile(["x", "y", "z"], rows // 3),
    })


def scaler_spec():
    return [dict(sklearn_preprocess=OneHotEncoder(), dtypes="str"),
            dict(sklearn_preprocess=StandardScaler(), columns=["a", "b"])]


def test_scaler_is_fitted_on_train_rows_only_and_per_fold_on_the_fold_train_rows(any_db):
    df = mixed_frame()
    splitset = assay.Pipeline.Tabular.make(
        df, label_column="label", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=scaler_spec(), feature_cols_excluded="price", size_test=0.25, fold_count=3,
    )
    scaler = splitset.encoders().features[1].load()
    train = splitset.samples["train"]
    np.testing.assert_allclose(scaler.mean_, df[["a", "b"]].iloc[train].mean())
    assert not np.allclose(scaler.mean_, df[["a", "b"]].mean())  # not all rows: no leakage from test
    for fold in splitset.folds:
        fold_scaler = splitset.encoders(fold.fold_index).features[1].load()
        np.testing.assert_allclose(fold_scaler.mean_, df[["a", "b"]].iloc[fold.samples["train"]].mean())
        # the fold's validation features are scaled with the fold-train statistics
        validation = splitset.samples_for("validation", fold.fold_index)["features"]
        expected = (df[["a", "b"]].iloc[fold.samples["validation"]] - fold_scaler.mean_) / fold_scaler.scale_
        np.testing.assert_allclose(validation[:, 3:5], expected, rtol=1e-5)
    with session_scope() as session:
        rows = session.execute(
            select(EncoderSpecRow.class_name, FittedEncoderRow.fold_id)
            .join(FittedEncoderRow, FittedEncoderRow.encoderspec_id == EncoderSpecRow.id)
        ).all()
    per_class = pd.DataFrame(rows, columns=["class_name", "fold_id"]).groupby("class_name").size().to_dict()
    # categorical encoders: one fit on all rows; the scaler: the train split plus one fit per fold
    assert per_class == {"OneHotEncoder": 2, "StandardScaler": 4}


def test_categorical_encoder_is_fitted_on_all_rows(any_db):
    df = mixed_frame()
    df.loc[0, "city"] = "quito"  # a category seen in a single row, wherever that row lands
    splitset = assay.Pipeline.Tabular.make(
        df, label_column="label", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=scaler_spec(), size_test=0.25, size_validation=0.2,
    )
    assert "city=quito" in splitset.feature_names
    assert sorted(splitset.encoders().features[0].load().categories_[0]) == ["lima", "oslo", "quito", "rome"]


def test_regression_label_scaler_is_fitted_on_train_and_per_fold(any_db):
    df = datum.to_pandas("exoplanets.parquet")
    splitset = assay.Pipeline.Tabular.make(
        df, label_column="SurfaceTempK", label_encoder=dict(sklearn_preprocess=StandardScaler()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler())], size_test=0.2, fold_count=3,
    )
    label = df["SurfaceTempK"]
    assert splitset.encoders().label.load().mean_[0] == pytest.approx(label.iloc[splitset.samples["train"]].mean())
    for fold in splitset.folds:
        fitted = splitset.encoders(fold.fold_index).label.load()
        assert fitted.mean_[0] == pytest.approx(label.iloc[fold.samples["train"]].mean())
        encoded = splitset.samples_for("validation", fold.fold_index)["labels"]
        decoded = splitset.decode_labels(encoded, fold_index=fold.fold_index)
        np.testing.assert_allclose(decoded, label.iloc[fold.samples["validation"]], rtol=1e-5)


def test_unfitted_specifications_are_stored_beside_the_fitted_encoders(any_db):
    splitset = assay.Pipeline.Tabular.make(
        mixed_frame(), label_column="label", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=scaler_spec(), size_test=0.25,
    )
    with session_scope() as session:
        specs = session.scalars(select(EncoderSpecRow).where(EncoderSpecRow.splitset_id == splitset.id)
                                .order_by(EncoderSpecRow.role, EncoderSpecRow.position)).all()
        blobs = [pickle.loads(spec.blob) for spec in specs]
    assert [(s.role, s.class_name, s.columns_matched) for s in specs] == [
        ("feature", "OneHotEncoder", ["city"]), ("feature", "StandardScaler", ["a", "b"]),
        ("label", "OneHotEncoder", ["label"]),
    ]
    assert specs[0].dtypes == ["str"]
    assert specs[1].columns_selected == ["a", "b"]
    assert not hasattr(blobs[1], "mean_")  # stored unfitted
    assert specs[1].params["params"]["with_mean"] is True


def test_encoders_apply_in_order_to_the_columns_earlier_ones_left(any_db):
    df = mixed_frame()
    splitset = assay.Pipeline.Tabular.make(
        df, label_column="label", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), columns=["price"]),
                          dict(sklearn_preprocess=OneHotEncoder(), dtypes=["str"]),
                          dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.25,
    )
    encoders = splitset.encoders()
    assert [e.columns for e in encoders.features] == [["price"], ["city"], ["a", "b"]]
    assert encoders.passthrough == []
    assert splitset.feature_names == ["price", "city=lima", "city=oslo", "city=rome", "a", "b"]


def test_dtypes_may_be_given_as_numpy_and_python_types_as_pandas_select_dtypes_takes_them(db):
    splitset = assay.Pipeline.Tabular.make(
        mixed_frame(), label_column="label", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=OneHotEncoder(), dtypes=[str]),
                          dict(sklearn_preprocess=StandardScaler(), dtypes=[np.number])],
        size_test=0.25,
    )

    assert [e.columns for e in splitset.encoders().features] == [["city"], ["a", "b", "price"]]


def test_an_encoder_that_turns_finite_values_into_inf_is_named_when_the_samples_are_encoded(db):
    from sklearn.preprocessing import FunctionTransformer

    df = mixed_frame().assign(visits=np.tile([0.0, 1.0, 4.0], 40))  # log(0) = -inf
    splitset = assay.Pipeline.Tabular.make(
        df, label_column="label", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=FunctionTransformer(np.log), columns=["visits"]),
                          dict(sklearn_preprocess=OneHotEncoder(), columns=["city"])],
        size_test=0.25)

    with pytest.raises(assay.errors.DataError, match=r"^feature_encoders: the encoders turn \d+ row\(s\) of the "
                       r"train split .* into NaN or ±inf in the encoded features \['visits'\]"):
        splitset.samples_for("train")


def test_imputer_pipeline_fills_nans_so_samples_are_finite(any_db):
    df = mixed_frame()
    df.loc[[2, 50, 90], "a"] = np.nan
    splitset = assay.Pipeline.Tabular.make(
        df, label_column="label", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=OneHotEncoder(), dtypes="str"),
                          dict(sklearn_preprocess=make_pipeline(SimpleImputer(), StandardScaler()),
                               dtypes="float64")],
        size_test=0.25, size_validation=0.2,
    )
    for split in ("train", "validation", "test"):
        assert np.isfinite(splitset.samples_for(split)["features"]).all()


NEW_PROCESS = textwrap.dedent("""
    import json, sys
    import numpy as np
    import assay
    assay.setup(sys.argv[1])
    splitset = assay.Splitset.get(int(sys.argv[2]))
    out = {}
    for fold_index in (None, 0, 1):
        samples = splitset.samples_for("test", fold_index)
        out[str(fold_index)] = [samples["features"].tolist(), samples["labels"].tolist()]
    out["decoded"] = splitset.decode_labels([0, 1, 2]).tolist()
    print(json.dumps(out))
""")


def test_fitted_encoders_reloaded_in_a_new_process_give_identical_output(any_db):
    splitset = assay.Pipeline.Tabular.make(
        mixed_frame(), label_column="label", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=scaler_spec(), size_test=0.25, fold_count=2,
    )
    result = subprocess.run([sys.executable, "-c", NEW_PROCESS, any_db, str(splitset.id)],
                            capture_output=True, text=True, check=True, timeout=120)
    other = json.loads(result.stdout)
    for fold_index in (None, 0, 1):
        here = splitset.samples_for("test", fold_index)
        features, labels = other[str(fold_index)]
        np.testing.assert_array_equal(np.asarray(features, dtype=np.float32), here["features"])
        np.testing.assert_array_equal(np.asarray(labels, dtype=np.float32), here["labels"])
    assert other["decoded"] == ["x", "y", "z"]
