"""Portable encoders (``assay_sklearn.portable``) transform exactly as the scikit-learn encoders they reproduce.

scikit-learn is the independent implementation: each test fits a real scikit-learn preprocessor on generated
data, writes its portable twin and reads it back through bytes (as a bundle does), then compares both on the
fitted rows and on new rows (unknown categories, NaN, values out of the fitted range). Every comparison is exact
(``np.testing.assert_array_equal``): the portable arithmetic is scikit-learn's, operation for operation, so no
tolerance is needed. Where scikit-learn raises (an unknown category with ``handle_unknown="error"``), the portable
encoder must raise too, never encode. The family (``SklearnEncoderFamily``) is called as assay calls it at
inference: a DataFrame of the encoder's columns in, a float64 2-D array out.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn import preprocessing

from assay import errors
from assay_sklearn import SklearnEncoderFamily, portable

FAMILY = SklearnEncoderFamily()
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def round_trip(fitted):
    """The portable twin of ``fitted``, through the bytes a bundle stores."""
    return FAMILY.portable_loads(FAMILY.portable_dumps(fitted))


def outcome(call, *args):
    """What ``call(*args)`` gives: ``("ok", array, warnings)`` or ``("error", exception type)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = call(*args)
        except ValueError:
            return ("error", ValueError)
    return ("ok", np.asarray(value), sorted(str(w.message) for w in caught))


def assert_encodes_alike(encoder, twin, fitted_rows, new_rows):
    """The portable ``twin`` transforms the fitted and the new rows as ``encoder`` does, directly and through the
    encoder family, and names the same output columns."""
    for table in (fitted_rows, new_rows):
        assert_same(outcome(encoder.transform, table), outcome(twin.transform, table))
        assert_same(outcome(FAMILY.transform, encoder, table), outcome(FAMILY.transform, twin, table))
    columns = list(fitted_rows.columns)
    assert FAMILY.output_names(twin, columns) == FAMILY.output_names(encoder, columns)


def assert_same(expected, got):
    assert expected[0] == got[0], f"scikit-learn: {expected[:1]}, portable: {got[:1]}"
    if expected[0] == "ok":
        assert expected[1].shape == got[1].shape
        assert expected[1].dtype == got[1].dtype
        np.testing.assert_array_equal(got[1], expected[1])
        assert expected[2] == got[2]


def frame(values: np.ndarray, dtype=None) -> pd.DataFrame:
    data = pd.DataFrame(values, columns=[f"c{i}" for i in range(values.shape[1])])
    return data.astype(dtype) if dtype is not None else data


# --------------------------------------------------------------------------------------------------------------
# Scalers
# --------------------------------------------------------------------------------------------------------------

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_subnormal=False)
maybe_nan = st.one_of(finite, st.just(np.nan))


@st.composite
def tables(draw, elements=finite):
    width = draw(st.integers(1, 4))
    fitted = draw(hnp.arrays(np.float64, (draw(st.integers(2, 30)), width), elements=elements))
    new = draw(hnp.arrays(np.float64, (draw(st.integers(1, 10)), width), elements=maybe_nan))
    return fitted, new


SCALERS = [
    lambda draw: preprocessing.StandardScaler(with_mean=draw(st.booleans()), with_std=draw(st.booleans())),
    lambda draw: preprocessing.MinMaxScaler(feature_range=draw(st.sampled_from([(0, 1), (-1, 1), (-2.5, 3)])),
                                            clip=draw(st.booleans())),
    lambda draw: preprocessing.MaxAbsScaler(clip=draw(st.booleans())),
    lambda draw: preprocessing.RobustScaler(with_centering=draw(st.booleans()), with_scaling=draw(st.booleans()),
                                            quantile_range=draw(st.sampled_from([(25.0, 75.0), (10.0, 90.0)]))),
]


@pytest.mark.parametrize("make", SCALERS, ids=["StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@SETTINGS
@given(data=st.data(), rows=tables(maybe_nan))
def test_a_portable_scaler_transforms_and_inverts_exactly_as_scikit_learn(make, dtype, data, rows):
    fitted_rows, new_rows = rows
    scaler = make(data.draw)
    assume_fits = outcome(scaler.fit, frame(fitted_rows, dtype))
    if assume_fits[0] == "error":
        return
    twin = round_trip(scaler)

    for values in (fitted_rows, new_rows):
        table = frame(values, dtype)
        assert_same(outcome(scaler.transform, table), outcome(twin.transform, table))
        assert_same(outcome(FAMILY.transform, scaler, table), outcome(FAMILY.transform, twin, table))
        with np.errstate(all="ignore"):  # float32 overflow in scikit-learn's own division; compared above
            encoded = FAMILY.transform(scaler, table)
        assert_same(outcome(FAMILY.inverse_transform, scaler, encoded.copy()),
                    outcome(FAMILY.inverse_transform, twin, encoded.copy()))
    assert FAMILY.output_names(twin, ["a"] * fitted_rows.shape[1]) == FAMILY.output_names(scaler, ["a"] *
                                                                                            fitted_rows.shape[1])


# --------------------------------------------------------------------------------------------------------------
# Categorical encoders
# --------------------------------------------------------------------------------------------------------------

KINDS = {
    "str": st.sampled_from(["a", "b", "c", "dd", "é"]),
    "str_or_missing": st.sampled_from(["a", "b", "c", None, np.nan]),
    "int": st.integers(-3, 3),
    "float": st.sampled_from([0.5, 1.0, 2.25, -7.0, np.nan]),
    "bool": st.booleans(),
}
UNSEEN = {"str": "zz", "str_or_missing": "zz", "int": 99, "float": 99.5, "bool": None}


@st.composite
def categorical_tables(draw):
    """Fitted and new rows of 1-3 columns of one kind each; new rows may hold a category never fitted."""
    kinds = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=3))
    count = draw(st.integers(2, 25))
    columns, new_columns = {}, {}
    for i, kind in enumerate(kinds):
        values = draw(st.lists(KINDS[kind], min_size=count, max_size=count))
        new = draw(st.lists(KINDS[kind], min_size=4, max_size=4))
        if draw(st.booleans()) and UNSEEN[kind] is not None:
            new[draw(st.integers(0, 3))] = UNSEEN[kind]
        dtype = {"str": object, "str_or_missing": object, "int": np.int64, "float": np.float64, "bool": bool}[kind]
        columns[f"c{i}"] = pd.Series(values, dtype=dtype)
        new_columns[f"c{i}"] = pd.Series(new, dtype=dtype)
    return pd.DataFrame(columns), pd.DataFrame(new_columns)


def fit_or_none(encoder, table):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return encoder.fit(table)
        except (ValueError, TypeError):  # e.g. None mixed with strings where scikit-learn refuses it
            return None


@SETTINGS
@given(data=st.data(), rows=categorical_tables())
def test_a_portable_one_hot_encoder_encodes_exactly_as_scikit_learn(data, rows):
    fitted_rows, new_rows = rows
    encoder = preprocessing.OneHotEncoder(
        sparse_output=False, handle_unknown=data.draw(st.sampled_from(["error", "ignore", "infrequent_if_exist",
                                                                       "warn"])),
        drop=data.draw(st.sampled_from([None, "first", "if_binary"])))
    if fit_or_none(encoder, fitted_rows) is None:
        return
    twin = round_trip(encoder)

    assert_encodes_alike(encoder, twin, fitted_rows, new_rows)


@SETTINGS
@given(data=st.data(), rows=categorical_tables())
def test_a_portable_ordinal_encoder_encodes_exactly_as_scikit_learn(data, rows):
    fitted_rows, new_rows = rows
    handle = data.draw(st.sampled_from(["error", "use_encoded_value"]))
    encoder = preprocessing.OrdinalEncoder(
        handle_unknown=handle, unknown_value=data.draw(st.sampled_from([-1, np.nan])) if handle != "error" else None,
        encoded_missing_value=data.draw(st.sampled_from([np.nan, -2])))
    if fit_or_none(encoder, fitted_rows) is None:
        return
    twin = round_trip(encoder)

    assert_encodes_alike(encoder, twin, fitted_rows, new_rows)


@pytest.mark.parametrize("handle_unknown", ["error", "ignore"])
def test_a_portable_one_hot_encoder_drops_the_categories_given_as_an_array_as_scikit_learn(handle_unknown):
    fitted_rows = pd.DataFrame({"a": ["x", "y", "z", "x"], "b": [1, 2, 1, 3]})
    new_rows = pd.DataFrame({"a": ["z", "y", "x", "w"], "b": [3, 3, 1, 2]})
    encoder = preprocessing.OneHotEncoder(sparse_output=False, drop=["y", 3], handle_unknown=handle_unknown)
    encoder.fit(fitted_rows)
    twin = round_trip(encoder)

    for rows in (fitted_rows, new_rows):
        assert_same(outcome(encoder.transform, rows), outcome(twin.transform, rows))
    assert FAMILY.output_names(twin, ["a", "b"]) == FAMILY.output_names(encoder, ["a", "b"]) == [
        "a=x", "a=z", "b=1", "b=2"]


def label_values(kind):
    return {"str": st.sampled_from(["setosa", "versicolor", "virginica", "x"]), "int": st.integers(-2, 4),
            "float": st.sampled_from([0.0, 1.0, 2.0, 5.0])}[kind]


@SETTINGS
@given(data=st.data(), kind=st.sampled_from(["str", "int", "float"]))
def test_a_portable_label_encoder_encodes_and_decodes_exactly_as_scikit_learn(data, kind):
    fitted_labels = pd.Series(data.draw(st.lists(label_values(kind), min_size=1, max_size=20)), name="y")
    new_labels = pd.Series(data.draw(st.lists(label_values(kind), min_size=1, max_size=6)), name="y")
    encoder = preprocessing.LabelEncoder().fit(fitted_labels)
    twin = round_trip(encoder)

    for labels in (fitted_labels, new_labels):
        table = labels.to_frame()
        assert_same(outcome(FAMILY.transform, encoder, table), outcome(FAMILY.transform, twin, table))
    codes = np.arange(len(encoder.classes_) + 1, dtype=np.float64).reshape(-1, 1)  # the last one is no class
    assert_same(outcome(FAMILY.inverse_transform, encoder, codes[:-1]),
                outcome(FAMILY.inverse_transform, twin, codes[:-1]))
    assert_same(outcome(FAMILY.inverse_transform, encoder, codes),
                outcome(FAMILY.inverse_transform, twin, codes))
    assert FAMILY.output_names(twin, ["y"]) == FAMILY.output_names(encoder, ["y"])


@SETTINGS
@given(data=st.data(), kind=st.sampled_from(["str", "int"]),
       labels=st.sampled_from([(0, 1), (-1, 1), (-3, 0), (2, 5)]))
def test_a_portable_label_binarizer_encodes_and_decodes_exactly_as_scikit_learn(data, kind, labels):
    fitted_labels = pd.Series(data.draw(st.lists(label_values(kind), min_size=1, max_size=20)), name="y")
    encoder = preprocessing.LabelBinarizer(neg_label=labels[0], pos_label=labels[1]).fit(fitted_labels)
    twin = round_trip(encoder)
    known = pd.Series(data.draw(st.lists(st.sampled_from(list(encoder.classes_)), min_size=1, max_size=8)), name="y")

    for values in (fitted_labels, known):
        table = values.to_frame()
        assert_same(outcome(FAMILY.transform, encoder, table), outcome(FAMILY.transform, twin, table))
        encoded = FAMILY.transform(encoder, table)
        assert_same(outcome(FAMILY.inverse_transform, encoder, encoded.copy()),
                    outcome(FAMILY.inverse_transform, twin, encoded.copy()))
    assert FAMILY.output_names(twin, ["y"]) == FAMILY.output_names(encoder, ["y"])


def test_a_portable_label_binarizer_refuses_a_label_it_never_saw_where_scikit_learn_would_change_its_output():
    encoder = preprocessing.LabelBinarizer().fit(pd.Series(["no", "yes"]))
    twin = round_trip(encoder)

    with pytest.raises(ValueError, match="did not see"):
        FAMILY.transform(twin, pd.DataFrame({"y": ["no", "maybe", "yes"]}))


# --------------------------------------------------------------------------------------------------------------
# What has no portable form, and damaged data
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoder", [
    preprocessing.OneHotEncoder(sparse_output=False, min_frequency=2),
    preprocessing.OrdinalEncoder(max_categories=2),
    preprocessing.PowerTransformer(),
    preprocessing.QuantileTransformer(n_quantiles=5),
    preprocessing.OneHotEncoder(sparse_output=True),
], ids=["infrequent one-hot", "infrequent ordinal", "PowerTransformer", "QuantileTransformer", "sparse one-hot"])
def test_an_encoder_without_a_portable_form_is_refused_so_the_bundle_keeps_skops(encoder):
    fitted = encoder.fit(pd.DataFrame({"a": ["x", "x", "y", "z", "x"]}) if "Encoder" in type(encoder).__name__
                         else pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 8.0]}))

    with pytest.raises(portable.NotPortable):
        FAMILY.portable_dumps(fitted)


def test_the_family_names_the_portable_format_its_module_writes():
    assert FAMILY.portable_format == portable.FORMAT


def test_a_portable_encoder_module_never_imports_scikit_learn_or_scipy():
    import subprocess
    import sys

    code = ("import sys, numpy as np, pandas as pd\n"
            "from assay_sklearn import portable\n"
            "import assay_sklearn\n"
            "assert not {m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy', 'skops'}, sorted(sys.modules)\n")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]


def tampered(fitted, change):
    """The portable bytes of ``fitted`` with ``change(meta, arrays)`` applied, as a tampered bundle member."""
    import io
    import json

    with np.load(io.BytesIO(FAMILY.portable_dumps(fitted)), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(arrays.pop("meta").tobytes())
    change(meta, arrays)
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    return buffer.getvalue()


SCALER = preprocessing.StandardScaler().fit(pd.DataFrame({"a": [1.0, 2.0, 4.0], "b": [0.0, 1.0, 1.0]}))
ONE_HOT = preprocessing.OneHotEncoder(sparse_output=False).fit(pd.DataFrame({"a": ["x", "y", "x"]}))


@pytest.mark.parametrize(("fitted", "change", "message"), [
    (SCALER, lambda meta, arrays: arrays.update(mean_=np.zeros(3)), "'mean_' has shape"),
    (SCALER, lambda meta, arrays: arrays.update(scale_=np.array(["a", "b"])), "'scale_' has shape"),
    (SCALER, lambda meta, arrays: arrays.pop("scale_"), "'scale_' is missing"),
    (SCALER, lambda meta, arrays: meta.update({"class": "FunctionTransformer"}), "unknown class"),
    (SCALER, lambda meta, arrays: meta.update(version=99), "format version 99"),
    (SCALER, lambda meta, arrays: meta.update(with_mean="yes"), "with_mean"),
    (ONE_HOT, lambda meta, arrays: meta.update(drop_idx=[5]), "drop_idx"),
    (ONE_HOT, lambda meta, arrays: meta.update(categories=[{"list": [["x"], "y"]}]), "categories"),
    (ONE_HOT, lambda meta, arrays: meta.update(handle_unknown="guess"), "handle_unknown"),
], ids=["wrong shape", "strings for floats", "missing array", "unknown class", "newer format", "mistyped setting",
        "drop index out of range", "a list as a category", "unknown setting value"])
def test_a_tampered_portable_encoder_is_a_bundle_error_naming_what_is_wrong(fitted, change, message):
    with pytest.raises(errors.BundleError, match=message):
        FAMILY.portable_loads(tampered(fitted, change))


@pytest.mark.parametrize("data", [b"", b"not an archive", b"PK\x03\x04broken"])
def test_bytes_that_are_not_a_portable_encoder_are_a_bundle_error(data):
    with pytest.raises(errors.BundleError, match="damaged portable encoder"):
        FAMILY.portable_loads(data)


def test_a_portable_encoder_given_another_number_of_columns_refuses_them_as_scikit_learn_does():
    twin = round_trip(SCALER)

    with pytest.raises(ValueError, match="expecting 2 features"):
        twin.transform(pd.DataFrame({"a": [1.0]}))


# --------------------------------------------------------------------------------------------------------------
# Bundles
# --------------------------------------------------------------------------------------------------------------


def table() -> pd.DataFrame:
    """iris with a text column (one missing value) and a boolean column, so every kind of encoder has a column."""
    from assay import datum

    df = datum.to_pandas("iris.tsv")
    df["size"] = np.where(df["petal_length"] > 4.5, "large", np.where(df["petal_length"] > 2, "medium", "small"))
    df["wide"] = df["sepal_width"] > 3.0
    return df


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], 8), nn.ReLU(), nn.Linear(8, int(np.prod(label_shape))))


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=2,
                                  batch_size=16, seed=0)


FEATURES = [
    dict(sklearn_preprocess=preprocessing.StandardScaler(), columns=["sepal_length", "sepal_width"]),
    dict(sklearn_preprocess=preprocessing.RobustScaler(), columns=["petal_length"]),
    dict(sklearn_preprocess=preprocessing.OneHotEncoder(handle_unknown="ignore"), columns=["size"]),
    dict(sklearn_preprocess=preprocessing.OrdinalEncoder(), columns=["wide"]),
]


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """Bundles of three torch models: classification (one-hot label), regression (scaled label), and one with an
    encoder that has no portable form (QuantileTransformer)."""
    import assay
    from assay.db import engine as db_engine

    pytest.importorskip("assay_torch")
    folder = tmp_path_factory.mktemp("portable-bundles")
    assay.setup(f"sqlite:///{folder / 'assay.sqlite3'}")
    df = table()

    def export(label, label_encoder, analysis_type, features, name, dropped=()):
        splitset = assay.Pipeline.Tabular.make(
            df_or_path=df.drop(columns=["species"] if label != "species" else []), label_column=label,
            feature_cols_excluded=list(dropped) or None,
            label_encoder=dict(sklearn_preprocess=label_encoder), feature_encoders=features, size_test=0.3)
        queue = assay.Experiment.make(library="torch", analysis_type=analysis_type, fn_build=fn_build,
                                      fn_train=fn_train, splitset_id=splitset.id, seed=1)
        assert queue.run_jobs(progress=False).failed == 0, queue.status()["errors"]
        return queue.predictors[0].export(folder / f"{name}.assay")

    made = {
        "classification": export("species", preprocessing.OneHotEncoder(), "classification_multi", FEATURES,
                                 "classification"),
        "regression": export("petal_width", preprocessing.MinMaxScaler(), "regression", FEATURES, "regression"),
        "quantiles": export("species", preprocessing.LabelBinarizer(), "classification_multi",
                            [*FEATURES[:1], dict(sklearn_preprocess=preprocessing.QuantileTransformer(n_quantiles=20),
                                                 columns=["petal_length", "petal_width"])], "quantiles",
                            dropped=["size", "wide"]),
    }
    db_engine.dispose()
    return made


def members_of(path) -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rewritten(path, target, change) -> str:
    """A copy of the bundle at ``path`` with ``change(manifest, members)`` applied."""
    import json

    from assay.inference.export import write_archive

    members = members_of(path)
    manifest = json.loads(members["manifest.json"])
    change(manifest, members)
    members["manifest.json"] = json.dumps(manifest).encode()
    return write_archive(target, members)


def skops_only(manifest, members):
    """The bundle as assay wrote it before portable encoders: skops files only, no portable keys."""
    for entry in [manifest["encoders"]["label"], *manifest["encoders"]["features"]]:
        members.pop(entry.pop("portable_file", None) or "", None)
        entry.pop("portable_format", None)


def new_rows() -> pd.DataFrame:
    rows = table().drop(columns=["species"]).sample(20, random_state=4).reset_index(drop=True)
    rows.loc[3, "size"] = "enormous"  # a category never fitted: handle_unknown="ignore" encodes zeros
    rows.loc[5, "sepal_length"] = 40.0  # far outside the fitted range
    return rows


@pytest.mark.parametrize("name", ["classification", "regression"])
def test_a_bundle_writes_every_encoder_beside_its_skops_file_in_portable_form(bundles, name):
    import json

    members = members_of(bundles[name])
    manifest = json.loads(members["manifest.json"])
    entries = [manifest["encoders"]["label"], *manifest["encoders"]["features"]]

    assert [entry["portable_format"] for entry in entries] == ["npz"] * 5
    for entry in entries:
        assert entry["file"].endswith(".skops")
        assert entry["file"] in members
        assert entry["portable_file"] == entry["file"].replace(".skops", ".npz")
        assert entry["portable_file"] in members


@pytest.mark.parametrize("name", ["classification", "regression", "quantiles"])
def test_a_bundle_predicts_with_portable_encoders_exactly_what_its_skops_encoders_predict(bundles, name, tmp_path):
    import assay

    old = rewritten(bundles[name], tmp_path / "skops.assay", skops_only)
    rows = new_rows()
    label = "petal_width" if name == "regression" else "species"
    labelled = table().drop(columns=["species"] if label != "species" else []).sample(30, random_state=5)

    portable_bundle, skops_bundle = assay.load_bundle(bundles[name]).load(), assay.load_bundle(old).load()

    if name != "quantiles":  # whose QuantileTransformer has no portable form
        assert all(isinstance(e.load(), portable.Portable) for e in portable_bundle._inference.encoders)
    assert all(type(e.load()).__module__.startswith("sklearn.") for e in skops_bundle._inference.encoders)
    pd.testing.assert_frame_equal(portable_bundle.predict(rows), skops_bundle.predict(rows), check_exact=True)
    with_metrics, expected = portable_bundle.predict(labelled), skops_bundle.predict(labelled)
    pd.testing.assert_frame_equal(with_metrics, expected, check_exact=True)
    assert with_metrics.attrs["metrics"] == expected.attrs["metrics"]


def test_an_encoder_without_a_portable_form_is_bundled_as_skops_alone(bundles):
    import json

    manifest = json.loads(members_of(bundles["quantiles"])["manifest.json"])
    portable_files = {entry["class_name"]: entry["portable_file"]
                      for entry in [manifest["encoders"]["label"], *manifest["encoders"]["features"]]}

    assert portable_files == {"LabelBinarizer": "encoders/label.npz", "StandardScaler": "encoders/feature_0.npz",
                              "QuantileTransformer": None}


def test_a_portable_form_that_encodes_differently_from_the_encoder_is_not_written(tmp_path, monkeypatch):
    """The export checks the portable encoder on the fitted rows: one that is off by the last bit is dropped."""
    import json

    import assay
    from assay.db import engine as db_engine
    from assay_sklearn.portable import StandardScaler

    pytest.importorskip("assay_torch")
    original = StandardScaler.transform
    monkeypatch.setattr(StandardScaler, "transform", lambda self, X: np.nextafter(original(self, X), np.inf))
    assay.setup(f"sqlite:///{tmp_path / 'assay.sqlite3'}")
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=table(), label_column="species",
        label_encoder=dict(sklearn_preprocess=preprocessing.OneHotEncoder()),
        feature_encoders=FEATURES[:3], size_test=0.3)
    queue = assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=fn_build,
                                  fn_train=fn_train, splitset_id=splitset.id, seed=1)
    queue.run_jobs(progress=False)
    path = queue.predictors[0].export(tmp_path / "model.assay")
    db_engine.dispose()

    manifest = json.loads(members_of(path)["manifest.json"])
    written = {entry["class_name"]: entry["portable_file"] for entry in manifest["encoders"]["features"]}
    assert written == {"StandardScaler": None, "RobustScaler": "encoders/feature_1.npz",
                       "OneHotEncoder": "encoders/feature_2.npz"}
    assert "encoders/feature_0.npz" not in members_of(path)


def replace_member(name, data):
    def change(manifest, members):
        members[name] = data
    return change


@pytest.mark.parametrize(("member", "make", "message"), [
    ("encoders/feature_0.npz",
     lambda: FAMILY.portable_dumps(preprocessing.MaxAbsScaler().fit(np.ones((3, 2)))), "holds a MaxAbsScaler"),
    ("encoders/feature_2.npz",
     lambda: FAMILY.portable_dumps(preprocessing.OneHotEncoder(sparse_output=False).fit(
         pd.DataFrame({"size": ["large", "medium", "small", "tiny"]}))), "4 outputs, the manifest 3"),
    ("encoders/feature_0.npz",
     lambda: FAMILY.portable_dumps(preprocessing.StandardScaler().fit(np.ones((3, 3)))), "3 features"),
    ("encoders/label.npz", lambda: b"garbage", "damaged portable encoder"),
    ("encoders/feature_1.npz", lambda: tampered(SCALER, lambda meta, arrays: meta.update({"class": "Pickled"})),
     "unknown class 'Pickled'"),
], ids=["another class", "another width", "another number of columns", "not an archive", "unknown class"])
def test_a_tampered_portable_member_is_a_bundle_error_not_a_prediction(bundles, tmp_path, member, make, message):
    import assay

    path = rewritten(bundles["classification"], tmp_path / "tampered.assay", replace_member(member, make()))
    bundle = assay.load_bundle(path)

    with pytest.raises(errors.AssayError, match=message):
        bundle.predict(new_rows())
