"""Bad input to Pipeline.Tabular.make: a clear assay.errors exception naming the parameter, and no new rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from sqlalchemy import func, select

import assay
from assay import errors
from assay.db import session_scope
from assay.db.models import Base


def row_counts() -> dict[str, int]:
    """Rows in every table of the schema."""
    with session_scope() as session:
        return {
            table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
        }


def small_frame(rows: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "x": rng.normal(size=rows),
        "y": rng.normal(size=rows),
        "color": pd.Series(rng.choice(["red", "blue"], size=rows), dtype="str"),
        "target": np.tile(["a", "b", "c"], rows // 3),
        "amount": rng.uniform(1, 100, size=rows),
    })


ONE_HOT_LABEL = dict(sklearn_preprocess=OneHotEncoder())
ENCODE_COLOR = dict(sklearn_preprocess=OneHotEncoder(), columns=["color"])


def make(**overrides):
    """A valid call, with the given parameters replaced."""
    kwargs = dict(
        df_or_path=small_frame(), label_column="target", label_encoder=ONE_HOT_LABEL,
        feature_encoders=[ENCODE_COLOR], size_test=0.2, size_validation=0.2,
    )
    kwargs.update(overrides)
    return assay.Pipeline.Tabular.make(**kwargs)


def with_nans() -> pd.DataFrame:
    df = small_frame()
    df.loc[[3, 7], "x"] = np.nan
    return df


def with_label_nan() -> pd.DataFrame:
    df = small_frame()
    df["amount_label"] = df["amount"]
    df.loc[5, "amount_label"] = np.nan
    return df


def duplicated_columns() -> pd.DataFrame:
    df = small_frame()
    df.columns = ["x", "x", "color", "target", "amount"]
    return df


def rare_class() -> pd.DataFrame:
    df = small_frame()
    df.loc[0, "target"] = "rare"  # one row of a class cannot be in train, validation and test at once
    return df


CASES = {
    "unknown label column": (dict(label_column="species"), errors.DataError, "label_column"),
    "excluded column that does not exist": (dict(feature_cols_excluded=["nope"]), errors.DataError,
                                            "feature_cols_excluded"),
    "every feature excluded": (dict(feature_cols_excluded=["x", "y", "color", "amount"], feature_encoders=None),
                               errors.DataError, "feature_cols_excluded"),
    "label selected as a feature": (dict(feature_encoders=[ENCODE_COLOR, dict(sklearn_preprocess=StandardScaler(),
                                                                              columns=["target"])]),
                                    errors.EncoderError, "feature_encoders[1].columns"),
    "size_test of 1": (dict(size_test=1.0), errors.SplitError, "size_test"),
    "size_test of 0": (dict(size_test=0.0, size_validation=None), errors.SplitError, "size_test"),
    "negative size_validation": (dict(size_validation=-0.1), errors.SplitError, "size_validation"),
    "sizes summing to 1": (dict(size_test=0.5, size_validation=0.5), errors.SplitError, "size_validation"),
    "size_validation without size_test": (dict(size_test=None), errors.SplitError, "size_validation"),
    "validation split too small for every class": (dict(size_validation=0.04), errors.SplitError,
                                                   "size_validation"),
    "a class too rare for every split": (dict(df_or_path=rare_class()), errors.SplitError, "size_"),
    "fold_count of 1": (dict(size_validation=None, fold_count=1), errors.SplitError, "fold_count"),
    "fold_count larger than the smallest class": (dict(size_validation=None, fold_count=17), errors.SplitError,
                                                  "fold_count"),
    "fold_count with size_validation": (dict(fold_count=3), errors.SplitError, "size_validation"),
    "bin_count on a text label": (dict(bin_count=3), errors.SplitError, "bin_count"),
    "bin_count without a label": (dict(label_column=None, label_encoder=None, bin_count=3, size_validation=None,
                                       feature_cols_excluded="target"),
                                  errors.SplitError, "bin_count"),
    "encoder that is not a transformer": (dict(feature_encoders=[dict(sklearn_preprocess=LinearRegression())]),
                                          errors.EncoderError, "feature_encoders[0]"),
    "encoder class instead of instance": (dict(label_encoder=dict(sklearn_preprocess=OneHotEncoder)),
                                          errors.EncoderError, "label_encoder"),
    "object that is no encoder": (dict(feature_encoders=[dict(sklearn_preprocess="scale")]), errors.EncoderError,
                                  "feature_encoders[0]"),
    "unknown key in an encoder dict": (dict(feature_encoders=[dict(sklearn_preprocess=StandardScaler(),
                                                                   dtype="float64")]),
                                       errors.EncoderError, "feature_encoders[0]"),
    "unknown key in the label encoder": (dict(label_encoder=dict(sklearn_preprocess=OneHotEncoder(),
                                                                 columns=["target"])),
                                         errors.EncoderError, "label_encoder"),
    "dtype selector matching nothing": (dict(feature_encoders=[ENCODE_COLOR, dict(sklearn_preprocess=StandardScaler(),
                                                                                  dtypes=["int64"])]),
                                        errors.EncoderError, "feature_encoders[1].dtypes"),
    "dtype that is no dtype": (dict(feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["floaty"])]),
                               errors.EncoderError, "feature_encoders[0].dtypes"),
    "column selector matching no column": (dict(feature_encoders=[dict(sklearn_preprocess=OneHotEncoder(),
                                                                       columns=["colour"])]),
                                           errors.EncoderError, "feature_encoders[0].columns"),
    "text feature left unencoded": (dict(feature_encoders=None), errors.EncoderError, "feature_encoders"),
    "NaNs in a passthrough feature": (dict(df_or_path=with_nans()), errors.DataError, "feature_encoders"),
    "NaNs in a feature whose encoder keeps them": (
        dict(df_or_path=with_nans(), feature_encoders=[ENCODE_COLOR, dict(sklearn_preprocess=StandardScaler())]),
        errors.DataError, "feature_encoders[1]"),
    "NaNs in the label": (dict(df_or_path=with_label_nan(), label_column="amount_label",
                               label_encoder=dict(sklearn_preprocess=StandardScaler()),
                               feature_cols_excluded="target"), errors.DataError, "label_column"),
    "text label without a label encoder": (dict(label_encoder=None), errors.EncoderError, "label_encoder"),
    "label encoder without a label": (dict(label_column=None), errors.EncoderError, "label_encoder"),
    "label encoder that merges classes": (dict(label_encoder=dict(sklearn_preprocess=OneHotEncoder(drop="first"))),
                                          errors.EncoderError, "label_encoder"),
    "empty DataFrame": (dict(df_or_path=pd.DataFrame({"x": [], "target": []})), errors.DataError, "df_or_path"),
    "duplicate column names": (dict(df_or_path=duplicated_columns()), errors.DataError, "df_or_path"),
    "not a DataFrame or path": (dict(df_or_path=[[1, 2], [3, 4]]), errors.DataError, "df_or_path"),
    "missing file": (dict(df_or_path="/nonexistent/data.csv"), errors.DataError, "df_or_path"),
    "unsupported file type": (dict(df_or_path="data.xlsx"), errors.DataError, "df_or_path"),
    "seed that is not an integer": (dict(seed="abc"), errors.SplitError, "seed"),
}


@pytest.mark.parametrize(("overrides", "error", "parameter"), CASES.values(), ids=list(CASES))
def test_bad_input_raises_a_named_error_and_writes_nothing(db, overrides, error, parameter):
    make()  # the database already holds a splitset: failures must not add to it or touch it
    before = row_counts()
    with pytest.raises(error) as raised:
        make(**overrides)
    assert raised.value.parameter.startswith(parameter)
    assert str(raised.value).startswith(raised.value.parameter)
    assert isinstance(raised.value, errors.AssayError)
    assert row_counts() == before


def test_unreadable_file_raises_naming_df_or_path(db, tmp_path):
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"this is not parquet")
    with pytest.raises(errors.DataError, match="df_or_path: cannot read"):
        assay.Pipeline.Tabular.make(broken, label_column="target")
    assert sum(row_counts().values()) == 0


def test_nan_error_names_the_columns_that_hold_nans(db):
    with pytest.raises(errors.DataError, match=r"\['x'\]"):
        make(df_or_path=with_nans())


def test_ordinal_label_encoder_with_text_label_is_accepted(db):
    splitset = make(label_encoder=dict(sklearn_preprocess=OrdinalEncoder()))
    assert splitset.label_classes == ["a", "b", "c"]


def test_a_date_column_left_unencoded_is_refused_with_a_fix_for_dates_not_one_hot(db):
    df = small_frame().assign(day=pd.date_range("2024-01-01", periods=60, tz="UTC"))
    before = row_counts()

    with pytest.raises(errors.EncoderError) as raised:
        make(df_or_path=df, feature_encoders=[])

    message = str(raised.value)
    assert "OneHotEncoder(), columns=['color'])" in message
    assert "turn the dates ['day'] into numbers before make()" in message
    assert row_counts() == before


def test_whole_numbers_that_are_not_class_indices_are_refused_with_the_regression_fix_too(db):
    df = small_frame().assign(rooms=np.tile([2, 3, 5], 20))

    with pytest.raises(errors.EncoderError, match=r"are not class indices 0\.\.2; pass .*OrdinalEncoder.*"
                       r"for a regression label of whole numbers, a scaler such as StandardScaler\(\)"):
        make(df_or_path=df, label_column="rooms", label_encoder=None, feature_cols_excluded=["target"])


def test_an_id_column_left_unencoded_is_refused_with_advice_to_exclude_it_not_one_hot_it(db):
    df = small_frame().assign(patient=[f"P{i:03d}" for i in range(60)])

    with pytest.raises(errors.EncoderError) as raised:
        make(df_or_path=df)

    message = str(raised.value)
    assert "['patient'] hold a different value in every row (ids or free text): exclude them" in message
    assert "OneHotEncoder(), columns=['patient']" not in message
