"""NaN and ±inf at inference are refused with the columns and row positions, in ``infer``, in bundles and in
``assay predict``, and nothing is stored; the same data is refused by ``Pipeline.Tabular.make``. On SQLite and
PostgreSQL."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from edge_helpers import SPLITSET, frame, row_counts, trained_database

import assay
from assay import errors

pytest.importorskip("assay_torch")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def trained(request, tmp_path_factory):
    yield from trained_database(request.param, tmp_path_factory, "edges")


@pytest.fixture
def predictor(trained):
    url, predictor_id = trained
    assay.setup(url)
    return assay.Predictor.get(predictor_id)


def new_rows() -> pd.DataFrame:
    return frame(8, seed=1).drop(columns="kind")


@pytest.mark.parametrize(("column", "value", "fragment"), [
    ("scaled", math.nan, "'scaled' (rows 2, 5) hold missing or infinite values that the model's encoders do not "
                         "impute"),
    ("raw", math.nan, "'raw' (rows 2, 5) hold missing or infinite values"),
    ("raw", math.inf, "'raw' (rows 2, 5) holds ±inf"),
    ("imputed", -math.inf, "'imputed' (rows 2, 5) holds ±inf"),
    ("scaled", math.inf, "'scaled' (rows 2, 5) holds ±inf"),
])
def test_infer_refuses_nan_and_inf_naming_columns_and_rows_and_stores_nothing(predictor, column, value, fragment):
    rows = new_rows()
    rows.loc[[2, 5], column] = value
    before = row_counts()
    with pytest.raises(errors.DataError, match=r"^df_or_path: ") as caught:
        predictor.infer(rows)
    assert fragment in str(caught.value)
    assert row_counts() == before


def test_nan_that_an_encoder_imputes_is_predicted_with_finite_probabilities(predictor):
    rows = new_rows()
    rows.loc[[0, 3], "imputed"] = np.nan
    result = predictor.infer(rows)
    assert result["prediction"].isin(["a", "b", "c"]).all()
    assert np.isfinite(result.filter(like="probability_").to_numpy()).all()


def test_rows_are_named_by_position_and_by_index_label_when_the_index_is_not_the_default(predictor):
    rows = new_rows().set_axis([f"r{i}" for i in range(8)])
    rows.loc["r4", "raw"] = np.nan
    with pytest.raises(errors.DataError, match=r"'raw' \(row 4 \(index \['r4'\]\)\)"):
        predictor.infer(rows)


def test_a_category_unseen_in_training_is_refused_naming_the_encoder_and_how_to_tolerate_it(db):
    from edge_helpers import fn_build, fn_train
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    splitset = assay.Pipeline.Tabular.make(
        frame(), label_column="kind", label_encoder=dict(sklearn_preprocess=OrdinalEncoder()),
        feature_encoders=[dict(sklearn_preprocess=OneHotEncoder(), columns=["city"])], feature_cols_excluded=[
            "imputed"], size_test=0.25)
    queue = assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=fn_build,
                                  fn_train=fn_train, splitset_id=splitset.id, seed=3)
    queue.run_jobs(progress=False)
    rows = new_rows().drop(columns="imputed")
    rows.loc[3, "city"] = "quito"
    before = row_counts()

    with pytest.raises(errors.EncoderError, match=r"^feature_encoders\[0\]: OneHotEncoder failed to encode "
                       r"\['city'\].*'quito'.*never saw.*handle_unknown='ignore'"):
        queue.predictors[0].infer(rows)

    assert row_counts() == before


def test_a_bundle_and_assay_predict_refuse_the_same_rows(predictor, tmp_path, capsys):
    from assay import cli

    bundle = assay.load_bundle(predictor.export(tmp_path / "model.assay"))
    rows = new_rows()
    rows.loc[6, "scaled"] = np.nan
    with pytest.raises(errors.DataError, match=r"^df: 'scaled' \(row 6\) hold missing or infinite values"):
        bundle.predict(rows)
    rows.to_csv(tmp_path / "input.csv", index=False)
    output = tmp_path / "out.csv"
    assert cli.main(["predict", str(tmp_path / "model.assay"), str(tmp_path / "input.csv"), "-o", str(output)]) == 1
    printed = capsys.readouterr().err
    assert printed.startswith("assay: error: df: 'scaled' (row 6) hold missing or infinite values")
    assert len(printed.strip().splitlines()) == 1
    assert not output.exists()


@pytest.mark.parametrize(("column", "value", "parameter", "fragment"), [
    ("raw", math.inf, "df_or_path", "'raw' (rows 2, 5) holds ±inf"),
    ("scaled", -math.inf, "df_or_path", "'scaled' (rows 2, 5) holds ±inf"),
    ("raw", math.nan, "feature_encoders", "columns ['raw'] hold NaNs and no encoder imputes them: 'raw' (rows 2, 5)"),
])
def test_make_refuses_the_same_values_naming_columns_and_rows_and_writes_nothing(any_db, column, value, parameter,
                                                                                 fragment):
    data = frame()
    data.loc[[2, 5], column] = value
    before = row_counts()
    with pytest.raises(errors.DataError, match=rf"^{parameter}: ") as caught:
        assay.Pipeline.Tabular.make(data, **SPLITSET)
    assert fragment in str(caught.value)
    assert row_counts() == before


def test_make_refuses_an_infinite_regression_label(any_db):
    data = pd.DataFrame({"x": np.arange(20.0), "y": np.linspace(0, 1, 20)})
    data.loc[7, "y"] = -np.inf
    with pytest.raises(errors.DataError, match=r"^label_column: 'y' is missing or infinite in 1 row\(s\) \('y' "
                                               r"\(row 7\)\)"):
        assay.Pipeline.Tabular.make(data, label_column="y", size_test=0.25)


# --------------------------------------------------------------------------------------------------------------
# Tampered bundles: the manifest is validated against its declared schema, model loading failures are named
# --------------------------------------------------------------------------------------------------------------


def rewrite(path, tampered, **members: bytes | None):
    """Copy the bundle at ``path`` to ``tampered`` with some members replaced (``None``: left out)."""
    import zipfile

    with zipfile.ZipFile(path) as source, zipfile.ZipFile(tampered, "w") as target:
        for name in source.namelist():
            content = members.get(name, source.read(name)) if name in members else source.read(name)
            if content is not None:
                target.writestr(name, content)
    return tampered


def manifest_of(path) -> dict:
    import json
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("manifest.json"))


def with_manifest(path, tmp_path, change) -> str:
    import json

    document = manifest_of(path)
    document = change(document) or document
    return str(rewrite(path, tmp_path / "tampered.assay", **{"manifest.json": json.dumps(document).encode()}))


@pytest.fixture
def bundle_path(predictor, tmp_path):
    return predictor.export(tmp_path / "model.assay")


def test_an_exported_bundle_gets_the_permissions_of_an_ordinary_new_file(bundle_path):
    import os
    import stat

    umask = os.umask(0o022)
    os.umask(umask)
    # not the private 0600 of the temporary file it was written to: a bundle is exported to be deployed and shared
    assert stat.S_IMODE(os.stat(bundle_path).st_mode) == 0o666 & ~umask


@pytest.mark.parametrize(("change", "fragment"), [
    (lambda m: [m], "has a manifest.json that is not a JSON object but a list"),
    (lambda m: m.pop("encoders") and None, "has a damaged manifest.json: encoders: is missing"),
    (lambda m: m["encoders"].pop("features") and None, "encoders.features: is missing"),
    (lambda m: m.update(features_shape="4"), 'features_shape: expected a list, got "4"'),
    (lambda m: m["encoders"]["features"][0].update(columns="scaled"),
     'encoders.features[0].columns: expected a list, got "scaled"'),
    (lambda m: m["schema"]["feature_dtypes"].update(scaled=1), "schema.feature_dtypes.scaled: expected a string"),
    (lambda m: m.update(library=["torch"]), "library: expected a string"),
    (lambda m: m.update(label_shape=True), "label_shape: expected a list or null, got true"),
    (lambda m: m["encoders"]["features"][0].update(file="encoders/nothing.bin"),
     "is incomplete: it lacks ['encoders/nothing.bin']"),
    (lambda m: m.update(format_version=99), "is a version 99 bundle; this assay reads up to version 2"),
])
def test_a_manifest_that_breaks_its_schema_is_refused_naming_the_field(bundle_path, tmp_path, change, fragment):
    tampered = with_manifest(bundle_path, tmp_path, change)
    with pytest.raises(errors.BundleError, match=r"^path: ") as caught:
        assay.load_bundle(tampered)
    assert fragment in str(caught.value)
    assert repr(tampered) in str(caught.value)


def test_a_manifest_that_is_not_json_or_is_absent_is_refused(bundle_path, tmp_path):
    with pytest.raises(errors.BundleError, match=r"has a manifest\.json that is not JSON"):
        assay.load_bundle(rewrite(bundle_path, tmp_path / "a.assay", **{"manifest.json": b"{not json"}))
    with pytest.raises(errors.BundleError, match=r"holds no manifest\.json"):
        assay.load_bundle(rewrite(bundle_path, tmp_path / "b.assay", **{"manifest.json": None}))


def test_keys_added_by_a_newer_assay_of_the_same_format_are_ignored(bundle_path, tmp_path):
    tampered = with_manifest(bundle_path, tmp_path, lambda m: m.update(signature="abc"))
    rows = new_rows()
    expected = assay.load_bundle(bundle_path).predict(rows)
    pd.testing.assert_frame_equal(assay.load_bundle(tampered).predict(rows), expected)


@pytest.mark.parametrize(("model", "fragment"), [
    (b"definitely not weights", "the exported torch program cannot be read"),
    (lambda data: data[: len(data) // 2], "the exported torch program cannot be read"),
])
def test_a_corrupt_model_file_is_a_model_load_error_naming_the_bundle(bundle_path, tmp_path, model, fragment):
    import zipfile

    with zipfile.ZipFile(bundle_path) as archive:
        original = archive.read("model.pt2")  # a torch.export program
    data = model(original) if callable(model) else model
    bundle = assay.load_bundle(rewrite(bundle_path, tmp_path / "corrupt.assay", **{"model.pt2": data}))
    with pytest.raises(errors.ModelLoadError, match=rf"corrupt.assay'?: model.pt2: {fragment}"):
        bundle.predict(new_rows())


def test_a_manifest_naming_the_wrong_library_is_a_model_load_error(bundle_path, tmp_path):
    pytest.importorskip("assay_keras")
    bundle = assay.load_bundle(with_manifest(bundle_path, tmp_path, lambda m: m.update(library="keras")))
    with pytest.raises(errors.ModelLoadError, match=r"has format 'torch\.export'; assay-keras reads 'keras'"):
        bundle.predict(new_rows())
    unknown = assay.load_bundle(with_manifest(bundle_path, tmp_path, lambda m: m.update(library="sklearnish")))
    with pytest.raises(errors.LibraryNotFoundError, match="library='sklearnish'"):
        unknown.predict(new_rows())


@pytest.mark.parametrize("damaged", [
    {"encoders/feature_0.skops": b"junk", "encoders/feature_0.npz": b"junk"},
    {"encoders/feature_0.npz": b"junk"},
], ids=["both forms", "the portable form read first"])
def test_damaged_encoders_are_bundle_errors(bundle_path, tmp_path, damaged):
    # damaged functions: tests/test_bundle_trust.py (this model is exported, so its bundle holds none); a damaged
    # portable member is refused, never replaced by its skops file silently: tests/test_portable_encoders.py
    bundle = assay.load_bundle(rewrite(bundle_path, tmp_path / "enc.assay", **damaged))
    with pytest.raises(errors.BundleError, match="the StandardScaler encoder cannot be loaded"):
        bundle.predict(new_rows())


def test_a_damaged_skops_encoder_of_a_bundle_without_portable_encoders_is_a_bundle_error(bundle_path, tmp_path):
    import json
    import zipfile

    with zipfile.ZipFile(bundle_path) as source:
        manifest = json.loads(source.read("manifest.json"))
    for entry in [manifest["encoders"]["label"], *manifest["encoders"]["features"]]:
        entry.pop("portable_file", None)
        entry.pop("portable_format", None)
    bundle = assay.load_bundle(rewrite(bundle_path, tmp_path / "enc.assay", **{
        "encoders/feature_0.skops": b"junk", "manifest.json": json.dumps(manifest).encode()}))
    with pytest.raises(errors.BundleError, match=r"the StandardScaler encoder cannot be loaded from encoders/feature_0"
                                                 r"\.skops"):
        bundle.predict(new_rows())
