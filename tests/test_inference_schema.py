"""The input schema check that new data passes before a model predicts it (no model needed)."""

from __future__ import annotations

import pandas as pd
import pytest

from assay import errors
from assay.inference.schema import InputSchema, check

SCHEMA = InputSchema(
    feature_columns=["height", "legs", "colour", "alive"],
    feature_dtypes={"height": "float64", "legs": "int64", "colour": "str", "alive": "bool"},
    label_column="species",
    ignored_columns=["animal_id"],
)


def frame(**changes) -> pd.DataFrame:
    data = {"height": [1.5, 0.3], "legs": [2, 4], "colour": ["red", "grey"], "alive": [True, False]}
    data.update(changes)
    return pd.DataFrame(data)


def test_matching_data_comes_back_as_the_features_in_training_order_and_dtypes():
    df = frame(legs=[2.0, 4.0], height=[2, 1])[["alive", "colour", "legs", "height"]]
    df["colour"] = df["colour"].astype(object)

    checked = check(df.assign(species=["cat", "dog"], animal_id=[7, 8]), SCHEMA)

    assert list(checked.columns) == SCHEMA.feature_columns
    assert {c: str(t) for c, t in checked.dtypes.items()} == SCHEMA.feature_dtypes
    assert checked["legs"].tolist() == [2, 4]


def test_every_problem_is_named_in_one_error():
    df = frame(height=["tall", "1.0"], legs=[2.5, 4.0]).drop(columns="alive").assign(wings=[0, 2])

    with pytest.raises(errors.SchemaMismatchError) as raised:
        check(df, SCHEMA)

    message = str(raised.value)
    assert raised.value.parameter == "df_or_path"
    assert "missing feature columns ['alive']" in message
    assert "unexpected columns ['wings']" in message
    assert "'height' holds text" in message
    assert "trained on float64" in message
    assert "'legs' holds fractional or missing values" in message


def test_text_is_not_accepted_where_numbers_or_flags_were_and_numbers_not_where_text_was():
    with pytest.raises(errors.SchemaMismatchError, match="'colour' has dtype int64 where the model was trained on str"):
        check(frame(colour=[1, 2]), SCHEMA)
    with pytest.raises(errors.SchemaMismatchError, match="'alive' has dtype int64 where the model was trained on bool"):
        check(frame(alive=[1, 0]), SCHEMA)


def test_categories_stand_in_for_text_and_the_schema_survives_a_round_trip_through_json():
    checked = check(frame(colour=pd.Categorical(["red", "grey"])), SCHEMA)

    assert checked["colour"].tolist() == ["red", "grey"]
    assert InputSchema.from_dict(SCHEMA.to_dict()) == SCHEMA
