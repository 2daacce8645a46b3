"""The assay-sklearn plugin: scikit-learn transformers as an encoder family, found through its entry point."""

from __future__ import annotations

import importlib.metadata

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    KBinsDiscretizer,
    LabelBinarizer,
    LabelEncoder,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
)

from assay import errors, plugins
from assay_sklearn import SklearnEncoderFamily


@pytest.fixture
def family() -> SklearnEncoderFamily:
    return plugins.encoder_family_named("sklearn")


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"color": pd.Series(["red", "blue", "red", "green"], dtype="str"),
                         "size": [1.0, 2.0, 3.0, 4.0]})


def test_plugin_is_registered_through_its_entry_point_and_handles_transformers():
    (entry_point,) = [ep for ep in importlib.metadata.entry_points(group="assay.plugins") if ep.name == "sklearn"]
    assert entry_point.value == "assay_sklearn.hooks"
    family = plugins.encoder_family_for(StandardScaler(), "feature_encoders[0]")
    assert isinstance(family, SklearnEncoderFamily)
    assert family.name == "sklearn"


def test_class_given_instead_of_instance_is_explained(family):
    assert family.accepts(StandardScaler)
    with pytest.raises(errors.EncoderError, match=r"label_encoder: got the class StandardScaler.*StandardScaler\(\)"):
        family.validate(StandardScaler, "label_encoder")


def test_estimator_that_cannot_transform_is_rejected(family):
    with pytest.raises(errors.EncoderError, match="LogisticRegression is not a transformer"):
        family.validate(LogisticRegression(), "feature_encoders[2]")


def test_objects_outside_scikit_learn_are_left_to_other_families(family):
    assert not family.accepts("StandardScaler")
    with pytest.raises(errors.EncoderError, match="feature_encoders"):
        plugins.encoder_family_for(object(), "feature_encoders")


@pytest.mark.parametrize(("encoder", "categorical"), [
    (OneHotEncoder(), True), (OrdinalEncoder(), True), (LabelBinarizer(), True), (LabelEncoder(), True),
    (StandardScaler(), False), (MinMaxScaler(), False), (SimpleImputer(), False), (PCA(), False),
    (KBinsDiscretizer(), False),  # learns bin edges from the data: fitting on all rows would leak
    (make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder()), False),
    (make_pipeline(OrdinalEncoder(), OneHotEncoder()), True),
])
def test_only_pure_category_mappers_count_as_categorical(family, encoder, categorical):
    assert family.is_categorical(encoder) is categorical


def test_fit_leaves_the_users_encoder_unfitted_and_forces_dense_output(family, frame):
    encoder = OneHotEncoder(sparse_output=True)
    fitted = family.fit(encoder, frame[["color"]])
    assert not hasattr(encoder, "categories_")
    assert encoder.sparse_output is True
    out = family.transform(fitted, frame[["color"]])
    assert isinstance(out, np.ndarray)
    assert out.tolist() == [[0, 0, 1], [1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert family.output_names(fitted, ["color"]) == ["color=blue", "color=green", "color=red"]


def test_one_hot_names_leave_out_the_dropped_category(family, frame):
    fitted = family.fit(OneHotEncoder(drop="first"), frame[["color"]])
    assert family.output_names(fitted, ["color"]) == ["color=green", "color=red"]
    assert family.transform(fitted, frame[["color"]]).shape == (4, 2)


def test_one_dimensional_label_encoders_take_a_one_column_frame(family, frame):
    label = frame[["color"]]
    encoder = family.fit(LabelEncoder(), label)
    assert family.transform(encoder, label).ravel().tolist() == [2, 0, 2, 1]
    assert family.inverse_transform(encoder, np.array([[0], [1]])).tolist() == ["blue", "green"]
    binarizer = family.fit(LabelBinarizer(), label)
    assert family.transform(binarizer, label).shape == (4, 3)
    assert family.output_names(binarizer, ["color"]) == ["color=blue", "color=green", "color=red"]
    two = family.fit(LabelBinarizer(), pd.DataFrame({"y": ["no", "yes", "no"]}))
    assert family.output_names(two, ["y"]) == ["y=yes"]


def test_scaler_inverse_transform_returns_original_values(family, frame):
    fitted = family.fit(StandardScaler(), frame[["size"]])
    encoded = family.transform(fitted, frame[["size"]])
    np.testing.assert_allclose(family.inverse_transform(fitted, encoded), frame["size"])
    assert family.output_names(fitted, ["size"]) == ["size"]


def test_dumped_encoders_load_back_with_identical_output(family, frame):
    fitted = family.fit(make_pipeline(SimpleImputer(), StandardScaler()), frame[["size"]])
    loaded = family.loads(family.dumps(fitted))
    np.testing.assert_array_equal(family.transform(loaded, frame[["size"]]), family.transform(fitted, frame[["size"]]))


def test_describe_keeps_storable_parameters_and_gives_the_repr_of_other_objects(family):
    described = family.describe(OneHotEncoder(dtype=np.float32, handle_unknown="ignore"))
    assert described["class"] == "OneHotEncoder"
    assert described["params"]["handle_unknown"] == "ignore"
    assert described["params"]["dtype"] is np.float32  # a class: assay's JSON columns store it as it is
    steps = family.describe(make_pipeline(SimpleImputer(), StandardScaler()))["params"]["steps"]
    assert steps[0][0] == "simpleimputer"
    assert steps[0][1] == "SimpleImputer()"
