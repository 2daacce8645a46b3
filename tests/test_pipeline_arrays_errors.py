"""Bad input to Pipeline.Sequence.make and Pipeline.Image.make: a named assay.errors exception and no new rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from test_pipeline_arrays import labels, sequences, write_images
from test_pipeline_errors import row_counts

import assay
from assay import errors


def with_nan() -> np.ndarray:
    array = sequences()
    array[4, 1, 2] = np.nan
    return array


class PixelCounter:
    """A transformer that sums each row: it changes the width of what it encodes."""

    def fit(self, x, y=None):
        return self

    def transform(self, x):
        return np.asarray(x).sum(axis=1, keepdims=True)


SEQUENCE_CASES = {
    "2-D array": (dict(feature_ndarray3D_or_npyPath=np.zeros((60, 7))), errors.DataError,
                  "feature_ndarray3D_or_npyPath"),
    "ragged list": (dict(feature_ndarray3D_or_npyPath=[np.zeros((7, 3)), np.zeros((5, 3))]), errors.DataError,
                    "feature_ndarray3D_or_npyPath"),
    "object array": (dict(feature_ndarray3D_or_npyPath=np.array([np.zeros((7, 3)), np.zeros((5, 3))],
                                                                dtype=object)),
                     errors.DataError, "feature_ndarray3D_or_npyPath"),
    "text array": (dict(feature_ndarray3D_or_npyPath=np.full((60, 7, 3), "a")), errors.DataError,
                   "feature_ndarray3D_or_npyPath"),
    "not a .npy file": (dict(feature_ndarray3D_or_npyPath="signals.csv"), errors.DataError,
                        "feature_ndarray3D_or_npyPath"),
    "NaN no encoder imputes": (dict(feature_ndarray3D_or_npyPath=with_nan(),
                                    feature_encoders=[dict(sklearn_preprocess=StandardScaler())]),
                               errors.DataError, "feature_encoders"),
    "NaN without encoders": (dict(feature_ndarray3D_or_npyPath=with_nan()), errors.DataError, "feature_encoders"),
    "label rows differ from samples": (dict(label_df_or_path=labels(58)), errors.DataError, "label_df_or_path"),
    "label column missing": (dict(label_column="nope"), errors.DataError, "label_column"),
    "label encoder without labels": (dict(label_df_or_path=None, label_column=None, label_encoder=dict(
        sklearn_preprocess=OneHotEncoder())), errors.DataError, "label_encoder"),
    "bad label dtype": (dict(label_dtype="datetime64[ns]", label_df_or_path=labels(text=True)), errors.DataError,
                        "label_dtype"),
    "excluded feature unknown": (dict(feature_cols_excluded=[5]), errors.DataError, "feature_cols_excluded"),
    "every feature excluded": (dict(feature_cols_excluded=[0, 1, 2]), errors.DataError, "feature_cols_excluded"),
    "feature dtype not numeric": (dict(feature_dtype="str"), errors.DataError, "feature_dtype"),
    "dtypes selector on a sequence": (dict(feature_encoders=[dict(sklearn_preprocess=StandardScaler(),
                                                                  dtypes=["float64"])]),
                                      errors.EncoderError, "feature_encoders[0]"),
    "unknown column of a sequence": (dict(feature_encoders=[dict(sklearn_preprocess=StandardScaler(),
                                                                 columns=["feature_9"])]),
                                     errors.EncoderError, "feature_encoders[0].columns"),
    "encoder class instead of instance": (dict(feature_encoders=[dict(sklearn_preprocess=StandardScaler)]),
                                          errors.EncoderError, "feature_encoders[0]"),
    "reshape loses values": (dict(feature_reshape_indices=(0, 1)), errors.DataError, "feature_reshape_indices"),
    "reshape moves samples": (dict(feature_reshape_indices=(1, 0, 2)), errors.DataError,
                              "feature_reshape_indices"),
    "reshape axis missing": (dict(feature_reshape_indices=(0, 1, 7)), errors.DataError,
                             "feature_reshape_indices"),
    "too many folds": (dict(fold_count=40, size_test=0.2), errors.SplitError, "fold_count"),
    "bin count on classes": (dict(bin_count=3), errors.SplitError, "bin_count"),
}


def make_sequence(**overrides):
    arguments = dict(feature_ndarray3D_or_npyPath=sequences(), label_df_or_path=labels(), label_column="kind",
                     size_test=0.2)
    return assay.Pipeline.Sequence.make(**{**arguments, **overrides})


@pytest.mark.parametrize(("overrides", "error", "parameter"), SEQUENCE_CASES.values(), ids=list(SEQUENCE_CASES))
def test_bad_sequence_input_raises_a_named_error_and_writes_nothing(db, overrides, error, parameter):
    make_sequence()
    before = row_counts()
    with pytest.raises(error) as raised:
        make_sequence(**overrides)
    assert raised.value.parameter == parameter
    assert str(raised.value).startswith(parameter)
    assert row_counts() == before


def test_a_2d_array_error_says_how_to_add_the_feature_axis(db):
    with pytest.raises(errors.DataError, match=r"must be 3-D .* got 2-D shape \(60, 7\); add a feature axis"):
        make_sequence(feature_ndarray3D_or_npyPath=np.zeros((60, 7)))


def test_a_nan_error_names_the_features_holding_nans(db):
    with pytest.raises(errors.DataError, match=r"\['feature_2'\] hold NaNs .*SimpleImputer"):
        make_sequence(feature_ndarray3D_or_npyPath=with_nan())


def image_cases(tmp_path):
    good = tmp_path / "good"
    write_images(good, count=12)
    mixed_size = tmp_path / "mixed_size"
    write_images(mixed_size, count=12)
    Image.new("RGB", (9, 9)).save(mixed_size / "999.png")
    mixed_mode = tmp_path / "mixed_mode"
    write_images(mixed_mode, count=12)
    Image.new("L", (6, 4)).save(mixed_mode / "999.png")
    not_image = tmp_path / "not_image"
    write_images(not_image, count=12)
    (not_image / "notes.txt").write_text("not a picture")
    rgba = tmp_path / "rgba"
    rgba.mkdir()
    for i in range(12):
        Image.new("RGBA", (6, 4)).save(rgba / f"{i}.png")
    empty = tmp_path / "empty"
    empty.mkdir()
    return {
        "empty folder": (dict(feature_folder_or_urls=empty), errors.DataError, "feature_folder_or_urls"),
        "missing folder": (dict(feature_folder_or_urls=tmp_path / "nowhere"), errors.DataError,
                           "feature_folder_or_urls"),
        "non-image file": (dict(feature_folder_or_urls=not_image, label_df_or_path=None), errors.DataError,
                           "feature_folder_or_urls"),
        "mixed sizes": (dict(feature_folder_or_urls=mixed_size, label_df_or_path=None), errors.DataError,
                           "feature_folder_or_urls"),
        "mixed modes": (dict(feature_folder_or_urls=mixed_mode, label_df_or_path=None), errors.DataError,
                           "feature_folder_or_urls"),
        "RGBA mode": (dict(feature_folder_or_urls=rgba), errors.DataError, "feature_folder_or_urls"),
        "a URL": (dict(feature_folder_or_urls="https://example.com/images/"), errors.DataError,
                  "feature_folder_or_urls"),
        "a URL in a list": (dict(feature_folder_or_urls=[str(good / "000.png"), "https://example.com/a.png"]),
                            errors.DataError, "feature_folder_or_urls"),
        "label rows differ from images": (dict(feature_folder_or_urls=good, label_df_or_path=labels(10)),
                                          errors.DataError, "label_df_or_path"),
        "pixel encoder changes the width": (dict(feature_folder_or_urls=good, feature_encoders=[dict(
            sklearn_preprocess=__import__("sklearn.preprocessing").preprocessing.FunctionTransformer(
                PixelCounter().transform), axis="pixel")]), errors.EncoderError, "feature_encoders[0]"),
        "unknown axis": (dict(feature_folder_or_urls=good, feature_encoders=[dict(
            sklearn_preprocess=StandardScaler(), axis="row")]), errors.EncoderError, "feature_encoders[0].axis"),
        "reshape does not fit": (dict(feature_folder_or_urls=good, feature_reshape_indices=(0, 2, "5")),
                                 errors.DataError, "feature_reshape_indices"),
    }


IMAGE_CASE_NAMES = ["empty folder", "missing folder", "non-image file", "mixed sizes", "mixed modes", "RGBA mode",
                    "a URL", "a URL in a list", "label rows differ from images", "pixel encoder changes the width",
                    "unknown axis", "reshape does not fit"]


@pytest.mark.parametrize("case", IMAGE_CASE_NAMES)
def test_bad_image_input_raises_a_named_error_and_writes_nothing(db, tmp_path, case):
    cases = image_cases(tmp_path)
    assay.Pipeline.Image.make(tmp_path / "good", label_df_or_path=labels(12), size_test=0.25)
    before = row_counts()
    overrides, error, parameter = cases[case]
    arguments = dict(label_df_or_path=labels(12), size_test=0.25)
    with pytest.raises(error) as raised:
        assay.Pipeline.Image.make(**{**arguments, **overrides})
    assert raised.value.parameter == parameter
    assert row_counts() == before


def test_mixed_sizes_say_how_to_resize(db, tmp_path):
    image_cases(tmp_path)
    with pytest.raises(errors.DataError, match=r"mixed sizes .*resize\(\(6, 4\)\)"):
        assay.Pipeline.Image.make(tmp_path / "mixed_size")


def test_a_label_table_is_checked_before_any_image_is_decoded(db, tmp_path):
    write_images(tmp_path / "good", count=12)
    (tmp_path / "good" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(errors.DataError, match="label_df_or_path: has 12 rows but there are 13 samples"):
        assay.Pipeline.Image.make(tmp_path / "good", label_df_or_path=labels(12))


def test_a_label_file_that_cannot_be_read_names_label_df_or_path(db, tmp_path):
    (tmp_path / "labels.xlsx").write_bytes(b"")
    with pytest.raises(errors.DataError, match=r"^label_df_or_path: "):
        make_sequence(label_df_or_path=tmp_path / "labels.xlsx")
    with pytest.raises(errors.DataError, match=r"^label_column: the label table has columns"):
        make_sequence(label_df_or_path=pd.DataFrame({"a": range(60), "b": range(60)}), label_column=None)
