"""Every JSON column stores NaN, infinities, tuples, numpy scalars, dtypes and classes on SQLite and PostgreSQL,
and reads them back equal; so any encoder's parameters can be stored."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    KBinsDiscretizer,
    LabelBinarizer,
    LabelEncoder,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)
from sqlalchemy import select, text

import assay
from assay.db import session_scope
from assay.db.jsontype import decode, encode, storable
from assay.db.models import EncoderSpecRow, HyperparamsetRow

TRICKY = {
    "nan": math.nan, "inf": math.inf, "minus_inf": -math.inf, "numpy_float": np.float32(0.5),
    "numpy_int": np.int64(7), "numpy_bool": np.bool_(True), "numpy_nan": np.float64("nan"),
    "dtype": np.dtype("float32"), "class": np.float64, "tuple": (1, (2.5, "x")), "int_keys": {1: "a", 2: "b"},
    "looks_like_a_tag": {"$float": "nan"}, "array": np.arange(3), "nested": [{"deep": [math.inf, None]}],
}


def same(a, b) -> bool:
    """Equality where NaN equals NaN, through containers."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b if not isinstance(a, (np.generic, np.dtype, type)) else a == b


def test_tricky_values_survive_a_round_trip_through_the_database(any_db):
    with session_scope() as session:
        row = HyperparamsetRow(grid={"values": [TRICKY]}, combination_count=1)
        session.add(row)
        session.flush()
        row_id = row.id
    with session_scope() as session:
        stored = session.get(HyperparamsetRow, row_id).grid["values"][0]
        raw = session.execute(text("SELECT grid FROM hyperparamset WHERE id = :id"), {"id": row_id}).scalar_one()
    expected = dict(TRICKY, numpy_float=0.5, numpy_int=7, numpy_bool=True, array=[0, 1, 2])
    assert same(stored, expected)
    assert stored["dtype"] == np.dtype("float32")
    assert stored["class"] is np.float64
    assert type(stored["numpy_int"]) is int
    assert type(stored["tuple"]) is tuple
    assert "NaN" not in str(raw)
    assert "Infinity" not in str(raw)


@pytest.mark.parametrize("encoder", [
    OrdinalEncoder(), OrdinalEncoder(encoded_missing_value=np.nan, unknown_value=np.nan,
                                     handle_unknown="use_encoded_value"),
    OneHotEncoder(dtype=np.float32, handle_unknown="ignore"), LabelBinarizer(), LabelEncoder(),
], ids=lambda encoder: type(encoder).__name__)
def test_every_categorical_label_encoder_is_stored_with_its_parameters(any_db, encoder):
    df = pd.DataFrame({"x": np.arange(24, dtype="float64"), "y": ["a", "b", "c"] * 8})
    splitset = assay.Pipeline.Tabular.make(df, label_column="y", label_encoder=dict(sklearn_preprocess=encoder),
                                           size_test=0.25)
    with session_scope() as session:
        params = session.scalars(select(EncoderSpecRow.params).where(EncoderSpecRow.splitset_id == splitset.id)
                                 ).one()
    expected = dict(encoder.get_params(deep=False).items())
    assert same(params["params"], {key: storable(value) for key, value in expected.items()})
    assert splitset.label_classes == ["a", "b", "c"]


@pytest.mark.parametrize("encoder", [
    StandardScaler(), MinMaxScaler(feature_range=(-1, 1)), RobustScaler(quantile_range=(10.0, 90.0)),
    PowerTransformer(), QuantileTransformer(n_quantiles=10), KBinsDiscretizer(n_bins=3, encode="ordinal"),
    make_pipeline(SimpleImputer(missing_values=np.nan), StandardScaler()),
], ids=lambda encoder: type(encoder).__name__)
def test_every_feature_encoder_is_stored_with_its_parameters(any_db, encoder):
    df = pd.DataFrame({"x": np.linspace(0, 1, 24), "z": np.linspace(5, 9, 24), "y": [0, 1] * 12})
    splitset = assay.Pipeline.Tabular.make(df, label_column="y", feature_encoders=[dict(sklearn_preprocess=encoder)],
                                           size_test=0.25)
    with session_scope() as session:
        params = session.scalars(select(EncoderSpecRow.params).where(EncoderSpecRow.splitset_id == splitset.id)
                                 ).one()
    assert same(params["params"], {key: storable(value)
                                   for key, value in encoder.get_params(deep=False).items()})
    assert np.isfinite(splitset.samples_for("train")["features"]).all()


json_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-2**53, 2**53), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5), st.sampled_from([np.dtype("int8"), np.dtype("float64"), np.float32, int, OneHotEncoder]),
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.tuples(children, children),
        st.dictionaries(st.one_of(st.text(max_size=6), st.sampled_from(["$float", "$tuple", "$dict"])), children,
                        max_size=3),
        st.dictionaries(st.integers(-5, 5), children, max_size=3),
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_encoded_values_are_plain_json_and_decode_to_themselves(value):
    import json

    encoded = encode(value)
    json.dumps(encoded, allow_nan=False)  # plain JSON, no NaN token: PostgreSQL accepts it
    assert same(decode(json.loads(json.dumps(encoded))), value)


def test_objects_json_cannot_hold_are_refused_by_encode_and_described_by_storable():
    with pytest.raises(TypeError, match="StandardScaler"):
        encode({"step": StandardScaler()})
    assert storable({"step": StandardScaler(), "n": math.nan})["step"] == "StandardScaler()"
