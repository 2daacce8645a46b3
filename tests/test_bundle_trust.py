"""Bundles that load without trust: torch models as ``torch.export`` programs, encoders as skops files, the user's
functions only when the model cannot be exported, and ``load_bundle`` refusing what runs code unless trusted."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

import assay
from assay import datum, errors, plugins
from assay.inference import bundle as bundles
from assay.inference.manifest import Manifest

torch = pytest.importorskip("torch")
nn = torch.nn


# -- four architectures exported and compared with the eager model -------------------------------------------


class Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 6, batch_first=True)
        self.out = nn.Linear(6, 2)

    def forward(self, x):
        steps, _ = self.lstm(x)
        return torch.softmax(self.out(steps[:, -1, :]), dim=1)


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.table = nn.Linear(4, 3)
        self.sequence = nn.Sequential(nn.Flatten(), nn.Linear(10, 3))

    def forward(self, table, sequence):
        return self.table(table) + self.sequence(sequence)


def architectures():
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.BatchNorm1d(8), nn.Dropout(0.3), nn.Linear(8, 1), nn.Sigmoid())
    cnn = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 3 * 3, 3))
    return {
        "mlp": (mlp, [(4,)]),
        "cnn": (cnn, [(1, 8, 8)]),
        "lstm": (Recurrent(), [(5, 3)]),
        "two inputs": (TwoInputs(), [(4,), (5, 2)]),
    }


@pytest.mark.parametrize("name", list(architectures()))
def test_an_exported_torch_program_predicts_what_the_eager_model_predicts_for_any_batch_size(name):
    model, shapes = architectures()[name]
    model.eval()
    backend = plugins.backend("torch")
    rng = np.random.default_rng(1)
    example = [torch.as_tensor(rng.normal(size=(8, *shape)), dtype=torch.float32) for shape in shapes]

    exported = backend.model_export(model, example if len(example) > 1 else example[0])  # assay_model_export
    loaded = backend.model_from_export(exported.data, exported.format)  # assay_model_from_export

    assert exported.format == "torch.export"
    assert exported.suffix == ".pt2"
    for rows in (1, 3, 50):  # the batch dimension stays free, a single row included
        inputs = [torch.as_tensor(rng.normal(size=(rows, *shape)), dtype=torch.float32) for shape in shapes]
        loaded.eval()  # the prediction code calls eval() on every model
        with torch.no_grad():
            expected, got = model(*inputs).numpy(), loaded(*inputs).numpy()
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_a_model_torch_cannot_export_is_refused_with_the_reason():
    class DataDependent(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 1)

        def forward(self, x):
            if x.sum() > 0:  # a branch on the data: no single graph
                return self.linear(x)
            return -self.linear(x)

    with pytest.raises(errors.ModelExportError, match=r"torch\.export cannot trace DataDependent"):
        plugins.backend("torch").model_export(DataDependent().eval(), torch.ones(4, 4))


# -- bundles of trained models -------------------------------------------------------------------------------


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    class Branching(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(features_shape[0], 3)

        def forward(self, x):
            return self.linear(x) if x.sum() > -1e9 else -self.linear(x)  # data-dependent: not exportable

    if hp["kind"] == "branching":
        return Branching()
    return nn.Sequential(nn.Linear(features_shape[0], 8), nn.ReLU(), nn.Linear(8, 3))


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=2,
                                  batch_size=16, seed=0)


def log_petals(values):
    """A user's function in an encoder: a skops file refers to it by name, so loading it needs trust."""
    return np.log1p(values)


def train(kind: str, feature_encoders: list) -> assay.Predictor:
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()), feature_encoders=feature_encoders,
        size_test=0.3, size_validation=None, fold_count=None)
    queue = assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=fn_build,
                                  fn_train=fn_train, hyperparameters={"kind": [kind]}, splitset_id=splitset.id,
                                  seed=3)
    assert queue.run_jobs(progress=False).failed == 0, queue.status()["errors"]
    return queue.predictors[0]


@pytest.fixture(scope="module")
def trained_ids(tmp_path_factory):
    from assay.db import engine as db_engine

    url = f"sqlite:///{tmp_path_factory.mktemp('bundle-trust') / 'assay.sqlite3'}"
    assay.setup(url)
    scaler = [dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])]
    ids = {
        "safe": train("plain", scaler).id,
        "branching": train("branching", scaler).id,
        "user encoder": train("plain", [dict(sklearn_preprocess=FunctionTransformer(log_petals),
                                             columns=["petal_length", "petal_width"]),
                                        dict(sklearn_preprocess=StandardScaler(),
                                             columns=["sepal_length", "sepal_width"])]).id,
    }
    db_engine.dispose()
    return url, ids


@pytest.fixture
def trained(trained_ids):
    url, ids = trained_ids
    assay.setup(url)
    return {name: assay.Predictor.get(id) for name, id in ids.items()}


def rows() -> pd.DataFrame:
    return datum.to_pandas("iris.tsv").drop(columns="species").sample(15, random_state=2)


def test_a_torch_bundle_is_an_exported_program_and_skops_encoders_and_loads_without_trust(trained, tmp_path):
    path = trained["safe"].export(tmp_path / "iris.assay")

    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
    bundle = assay.load_bundle(path)
    predicted = bundle.predict(rows())

    assert "model.pt2" in names
    assert "functions.cloudpickle" not in names
    assert {"encoders/label.skops", "encoders/feature_0.skops"} <= names
    assert bundle.needs_trust == {}
    assert bundle.manifest.functions_file is None
    assert bundle.manifest.export.exported
    assert bundle.manifest.export.max_difference <= 1e-5
    assert bundle.manifest.metrics["test"]["accuracy"] == pytest.approx(
        trained["safe"].predictions["test"].metrics["accuracy"])
    expected = trained["safe"].infer(rows())
    pd.testing.assert_frame_equal(predicted, expected, check_exact=False, rtol=1e-5, atol=1e-6)


def test_a_model_that_cannot_be_exported_keeps_its_functions_and_is_refused_without_trust(trained, tmp_path):
    path = trained["branching"].export(tmp_path / "branching.assay")

    with pytest.raises(errors.TrustError) as refused:
        assay.load_bundle(path)

    message = str(refused.value)
    assert "functions.cloudpickle" in message
    assert "fn_build" in message
    assert "torch.export cannot trace Branching" in message  # why it was not exported
    assert "trust=True" in message
    assert "--trust" in message
    bundle = assay.load_bundle(path, trust=True)
    assert bundle.manifest.functions == ["fn_build"]
    assert not bundle.manifest.export.exported
    pd.testing.assert_frame_equal(bundle.predict(rows()), trained["branching"].infer(rows()), check_exact=False,
                                  rtol=1e-5, atol=1e-6)


def test_damaged_functions_of_a_trusted_bundle_are_a_bundle_error(trained, tmp_path):
    members = bundles._read_members(Path(trained["branching"].export(tmp_path / "branching.assay")))
    members["functions.cloudpickle"] = b"junk"

    bundle = bundles.bundle_from_members(tmp_path / "damaged.assay", members, trust=True)
    with pytest.raises(errors.BundleError, match=r"functions\.cloudpickle cannot be loaded"):
        bundle.predict(rows())


def test_an_encoder_referring_to_a_users_function_needs_trust_named_by_its_class_and_function(trained, tmp_path):
    path = trained["user encoder"].export(tmp_path / "user-encoder.assay")

    with pytest.raises(errors.TrustError) as refused:
        assay.load_bundle(path)

    message = str(refused.value)
    assert "encoder FunctionTransformer" in message
    assert "log_petals" in message
    assert "model.pt2" not in message  # the model itself needs no trust
    bundle = assay.load_bundle(path, trust=True)
    pd.testing.assert_frame_equal(bundle.predict(rows()), trained["user encoder"].infer(rows()),
                                  check_exact=False, rtol=1e-5, atol=1e-6)


def test_a_bundle_whose_manifest_hides_a_function_is_still_refused_by_skops(trained, tmp_path):
    path = trained["user encoder"].export(tmp_path / "user-encoder.assay")
    members = bundles._read_members(Path(path))
    manifest = json.loads(members["manifest.json"])
    manifest["trusts"] = {}  # a forged manifest claiming nothing needs trust
    members["manifest.json"] = json.dumps(manifest).encode()

    bundle = bundles.bundle_from_members(path, members)
    with pytest.raises(errors.TrustError, match="log_petals"):
        bundle.predict(rows())


def test_a_bundle_of_format_1_loads_only_with_trust_and_the_message_says_why(trained, tmp_path):
    members = bundles._read_members(Path(trained["branching"].export(tmp_path / "new.assay")))
    document = json.loads(members.pop("manifest.json"))
    family = plugins.encoder_family_named("sklearn")
    for entry in [document["encoders"]["label"], *document["encoders"]["features"]]:  # as assay 1 wrote them
        fitted = family.safe_loads(members.pop(entry["file"]), [])
        entry["file"] = entry["file"].replace(".skops", ".bin")
        members[entry["file"]] = family.dumps(fitted)
        del entry["format"], entry["trusts"]
    for key in ("export", "metrics"):
        del document[key]
    document["format_version"] = 1
    document["trusts"] = {"functions.cloudpickle": "cloudpickle of the user's functions",
                          "encoders/label.bin": "fitted OneHotEncoder (pickle for scikit-learn)",
                          "encoders/feature_0.bin": "fitted StandardScaler (pickle for scikit-learn)"}
    members["manifest.json"] = json.dumps(document).encode()
    old = tmp_path / "old.assay"
    with zipfile.ZipFile(old, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)

    with pytest.raises(errors.TrustError, match="bundle format 1") as refused:
        assay.load_bundle(old)

    assert "encoders/label.bin" in str(refused.value)
    predicted = assay.load_bundle(old, trust=True).predict(rows())
    pd.testing.assert_frame_equal(predicted, trained["branching"].infer(rows()), check_exact=False, rtol=1e-5,
                                  atol=1e-6)


def test_assay_inspect_describes_a_bundle_without_loading_it(trained, tmp_path, capsys):
    from assay import cli

    safe = trained["safe"].export(tmp_path / "iris.assay")
    branching = trained["branching"].export(tmp_path / "branching.assay")

    assert cli.main(["inspect", safe]) == 0
    text = capsys.readouterr().out
    assert cli.main(["inspect", branching, "--json"]) == 0
    described = json.loads(capsys.readouterr().out)

    assert "torch classification_multi" in text
    assert "sepal_length (float64)" in text
    assert "classes ['setosa', 'versicolor', 'virginica']" in text
    assert "torch.export, exported" in text
    assert "needs trust      no" in text
    assert "metrics test" in text
    assert described["needs_trust"].keys() == {"functions.cloudpickle"}
    assert described["model"]["exported"] is False
    assert "Branching" in described["model"]["why_not_exported"]
    assert described["versions"]["torch"] == torch.__version__
    assert described["size_bytes"] > 0
    assert described["encoders"][0]["format"] == "skops"
    assert described["encoders"][0]["portable_format"] == "npz"
    assert "encoder          StandardScaler on ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] " \
        "(skops, and npz read first)" in text


def test_assay_predict_refuses_a_bundle_that_needs_trust_unless_given_trust(trained, tmp_path, capsys):
    from assay import cli

    path = trained["branching"].export(tmp_path / "branching.assay")
    input_path = tmp_path / "rows.csv"
    rows().to_csv(input_path, index=False)

    assert cli.main(["predict", path, str(input_path)]) != 0
    assert "--trust" in capsys.readouterr().err
    assert cli.main(["predict", path, str(input_path), "--trust", "-o", str(tmp_path / "out.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "out.csv")) == 15


def test_the_manifest_of_format_2_round_trips_through_its_declared_schema(trained, tmp_path):
    members = bundles._read_members(Path(trained["safe"].export(tmp_path / "iris.assay")))
    manifest = Manifest.from_json(members["manifest.json"], "iris.assay", set(members))
    assert Manifest.from_json(manifest.to_json(), "iris.assay", set(members)) == manifest
