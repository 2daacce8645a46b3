"""Property-based tests (Hypothesis) of the two doors bad data comes through: ``Pipeline.Tabular.make`` and
``infer``. Whatever the frame (NaN, ±inf, empty strings, mixed dtypes, tiny classes, random split sizes), the
outcome is a valid splitset or prediction, or an ``AssayError``; and a refused call writes no row. On SQLite
and PostgreSQL."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from edge_helpers import row_counts, trained_database
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

import assay
from assay import errors

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])

SPECIAL_FLOATS = st.sampled_from([math.nan, math.inf, -math.inf])


@st.composite
def tabular_inputs(draw):
    """A frame and the arguments of ``Pipeline.Tabular.make`` for it."""
    rows = draw(st.integers(4, 30))
    floats = draw(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=rows, max_size=rows))
    if draw(st.integers(0, 2)) == 0:  # a third of the frames hold NaN or ±inf in a feature
        for position in draw(st.lists(st.integers(0, rows - 1), min_size=1, max_size=3)):
            floats[position] = draw(SPECIAL_FLOATS)
    texts = draw(st.lists(st.sampled_from(["x", "y", "", " ", None] if draw(st.booleans()) else ["x", "y", ""]),
                          min_size=rows, max_size=rows))
    label_kind = draw(st.sampled_from(["classes", "tiny_classes", "integers", "floats"]))
    if label_kind == "classes":
        label = [["a", "b", "c"][i % 3] for i in range(rows)]
    elif label_kind == "tiny_classes":
        label = ["common"] * (rows - 1) + ["rare"]
    elif label_kind == "integers":
        label = draw(st.lists(st.integers(0, 1), min_size=rows, max_size=rows))
    else:
        label = draw(st.lists(st.floats(-10, 10, allow_nan=False), min_size=rows, max_size=rows))
        if draw(st.booleans()):
            label[draw(st.integers(0, rows - 1))] = draw(SPECIAL_FLOATS)
    df = pd.DataFrame({
        "num": floats, "count": draw(st.lists(st.integers(-5, 5), min_size=rows, max_size=rows)),
        "text": pd.Series(texts, dtype=object), "flag": [i % 2 == 0 for i in range(rows)],
        "y": label,
    })
    if draw(st.integers(0, 4)) == 0:  # ints, text and floats in one column: cannot be stored
        df.insert(4, "mixed", pd.Series([1, "one", 2.5, None] * rows, dtype=object)[:rows].to_numpy())
    # mostly coherent arguments, so that many examples make a splitset; sometimes not, to see the refusal
    excluded = [c for c in draw(st.sampled_from([["mixed"], ["mixed", "text"], ["mixed", "text"], []]))
                if c in df.columns]
    numeric_only = [None, [dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
                    [dict(sklearn_preprocess=make_pipeline(SimpleImputer(), StandardScaler()), columns=["num"])]]
    with_text = [[dict(sklearn_preprocess=make_pipeline(SimpleImputer(), StandardScaler()), columns=["num"]),
                  dict(sklearn_preprocess=OneHotEncoder(handle_unknown="ignore"), columns=["text"])],
                 [dict(sklearn_preprocess=OneHotEncoder(), dtypes=["object"])]]
    encoders = draw(st.sampled_from(numeric_only if "text" in excluded else with_text))
    label_encoder = None
    if label_kind in ("classes", "tiny_classes"):
        label_encoder = dict(sklearn_preprocess=draw(st.sampled_from([OneHotEncoder(), OrdinalEncoder()])))
    elif label_kind == "floats" and draw(st.booleans()):
        label_encoder = dict(sklearn_preprocess=StandardScaler())
    size_test = draw(st.one_of(st.none(), st.floats(0.05, 0.6)))
    size_validation = draw(st.one_of(st.none(), st.floats(0.05, 0.4))) if size_test else None
    fold_count = draw(st.one_of(st.none(), st.integers(2, 4))) if not size_validation else None
    return df, dict(label_column="y", label_encoder=label_encoder, feature_cols_excluded=excluded,
                    feature_encoders=encoders, size_test=size_test, size_validation=size_validation,
                    fold_count=fold_count,
                    bin_count=draw(st.one_of(st.none(), st.integers(2, 4))) if label_kind == "floats" else None)


def check_splitset(splitset, df: pd.DataFrame) -> None:
    """What a usable splitset guarantees: splits partition the rows, and every split encodes to finite samples."""
    rows = sorted(i for split in splitset.samples.values() for i in split)
    assert rows == list(range(len(df)))
    for fold_index in [None, *(fold.fold_index for fold in splitset.folds)]:
        for split in splitset.samples:
            samples = splitset.samples_for(split, fold_index)
            count = len(splitset.row_indices(split, fold_index))
            assert samples["features"].shape == (count, *splitset.features_shape)
            assert np.isfinite(samples["features"]).all()
            assert len(samples["labels"]) == count


@SETTINGS
@given(inputs=tabular_inputs())
def test_make_gives_a_valid_splitset_or_an_assay_error_that_wrote_nothing(any_db, inputs):
    df, arguments = inputs
    original = df.copy()
    before = row_counts()
    try:
        splitset = assay.Pipeline.Tabular.make(df, **arguments)
    except errors.AssayError as exc:
        event(f"refused: {type(exc).__name__} {getattr(exc, 'parameter', '')}")
        assert row_counts() == before
    else:
        event("made a splitset")
        check_splitset(splitset, df)
    pd.testing.assert_frame_equal(df, original)  # the user's frame is never written to


# --------------------------------------------------------------------------------------------------------------
# infer
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def trained(request, tmp_path_factory):
    yield from trained_database(request.param, tmp_path_factory, "properties")


@st.composite
def inference_frames(draw):
    """Frames shaped more or less like the training data of ``edge_helpers.frame``."""
    rows = draw(st.integers(0, 12))
    numbers = st.floats(-1e3, 1e3, allow_nan=False)
    df = pd.DataFrame({
        "scaled": draw(st.lists(numbers, min_size=rows, max_size=rows)),
        "imputed": draw(st.lists(numbers, min_size=rows, max_size=rows)),
        "raw": draw(st.lists(numbers, min_size=rows, max_size=rows)),
        "city": draw(st.lists(st.sampled_from(["oslo", "lima", "pune", "", "rome"]), min_size=rows, max_size=rows)),
    }).astype({"scaled": "float64", "imputed": "float64", "raw": "float64", "city": object})
    if rows:
        for _ in range(draw(st.integers(0, 3))):
            column = draw(st.sampled_from(["scaled", "imputed", "raw"]))
            df.loc[draw(st.integers(0, rows - 1)), column] = draw(SPECIAL_FLOATS)
    change = draw(st.sampled_from(["none", "none", "label", "drop", "extra", "as_text", "ints", "city_nan"]))
    if change == "label":
        df["kind"] = draw(st.lists(st.sampled_from(["a", "b", "c", "zzz"]), min_size=rows, max_size=rows))
    elif change == "drop":
        df = df.drop(columns=draw(st.sampled_from(list(df.columns))))
    elif change == "extra":
        df["surprise"] = 1.0
    elif change == "as_text":
        df["raw"] = df["raw"].astype(str)
    elif change == "ints":
        df["scaled"] = df["scaled"].fillna(0).replace([np.inf, -np.inf], 0).round().astype("int64")
    elif change == "city_nan" and rows:
        df.loc[0, "city"] = None
    return df


@SETTINGS
@given(df=inference_frames())
def test_infer_gives_a_valid_prediction_or_an_assay_error_that_stored_nothing(trained, df):
    url, predictor_id = trained
    assay.setup(url)
    predictor = assay.Predictor.get(predictor_id)
    before = row_counts()
    try:
        result = predictor.infer(df)
    except errors.AssayError as exc:
        event(f"refused: {type(exc).__name__}")
        assert row_counts() == before
        return
    event("predicted")
    assert len(result) == len(df)
    assert list(result.index) == list(df.index)
    assert result["prediction"].isin(["a", "b", "c"]).all()
    probabilities = result[[f"probability_{c}" for c in "abc"]].to_numpy()
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-4)
    assert row_counts()["prediction"] == before["prediction"] + 1
