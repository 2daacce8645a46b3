"""A torch bundle's ``model.pt2`` run by assay's own reader: the same outputs as ``torch.export.load``'s module,
bit for bit, without importing ``torch._dynamo`` or ``sympy``; ``torch.export.load`` for what the reader does not
run; and an archive altered to run code refused by both."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile

import pandas as pd
import pytest
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import assay
from assay import datum, errors

torch = pytest.importorskip("torch")
nn = torch.nn
from assay_torch import exporting, program_archive, program_reader  # noqa: E402

#: what ``torch.export.load`` imports and assay's reader must not (``import torch`` itself brings torch.export)
SLOW_MODULES = ["torch._dynamo", "sympy", "torch._export.serde.serialize", "torch.export.pt2_archive",
                "torch.fx.experimental.symbolic_shapes"]


# -- a zoo of exported models --------------------------------------------------------------------------------


class Recurrent(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.rnn = cell(3, 6, num_layers=2, batch_first=True)
        self.out = nn.Linear(6, 2)

    def forward(self, x):
        steps, _ = self.rnn(x)
        return torch.softmax(self.out(steps[:, -1, :]), dim=1)


class Embedded(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(20, 5)
        self.out = nn.Linear(5 * 6, 1)

    def forward(self, tokens):
        return torch.sigmoid(self.out(self.embedding(tokens).flatten(1)))


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = nn.MultiheadAttention(8, 2, batch_first=True)
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        attended, _ = self.attention(x, x, x)
        return self.out(attended.mean(1))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True)
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        return self.out(self.layer(x).mean(1))


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.table = nn.Linear(4, 3)
        self.sequence = nn.Sequential(nn.Flatten(), nn.Linear(10, 3))

    def forward(self, table, sequence):
        return torch.softmax(self.table(table) + self.sequence(sequence), dim=1)


class Constants(nn.Module):
    """A non-persistent buffer and a plain tensor attribute: stored with the program's constants, not weights."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.randn(4), persistent=False)
        self.scale = torch.tensor([2.0, 3.0, 0.5, 1.0])
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        return self.out((x - self.mean) * self.scale)


class SymbolicSizes(nn.Module):
    """Sizes computed from the free batch size: ``sym_size`` nodes and ``_operator.mul`` on them."""

    def __init__(self):
        super().__init__()
        self.out = nn.Linear(2, 3)

    def forward(self, x):
        pairs = self.out(x.reshape(x.shape[0] * 2, 2)).reshape(x.shape[0], -1)
        return pairs * (x.shape[0] * 3 - x.shape[0])


class Branches(nn.Module):
    """``torch.cond``: a higher-order operator with subgraphs, which the reader leaves to ``torch.export.load``."""

    def __init__(self):
        super().__init__()
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        return torch.cond(x.sum() > 0, lambda x: self.out(x), lambda x: -self.out(x), (x,))


def zoo() -> dict[str, tuple[nn.Module, list[tuple[int, ...]], torch.dtype]]:
    torch.manual_seed(0)
    return {
        "mlp": (nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.BatchNorm1d(8), nn.Dropout(0.3), nn.Linear(8, 1),
                              nn.Sigmoid()), [(4,)], torch.float32),
        "conv2d": (nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                 nn.Linear(36, 3), nn.Softmax(dim=1)), [(1, 8, 8)], torch.float32),
        "conv1d": (nn.Sequential(nn.Conv1d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(32, 2)), [(3, 10)],
                   torch.float32),
        "lstm": (Recurrent(nn.LSTM), [(5, 3)], torch.float32),
        "gru": (Recurrent(nn.GRU), [(5, 3)], torch.float32),
        "embedding": (Embedded(), [(6,)], torch.int64),
        "layernorm": (nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 2)), [(4,)],
                      torch.float32),
        "multihead attention": (Attention(), [(5, 8)], torch.float32),
        "transformer encoder": (Encoder(), [(5, 8)], torch.float32),
        "two inputs": (TwoInputs(), [(4,), (5, 2)], torch.float32),
        "constants": (Constants(), [(4,)], torch.float32),
        "symbolic sizes": (SymbolicSizes(), [(4,)], torch.float32),
    }


def inputs(shapes, dtype, rows: int) -> list[torch.Tensor]:
    if dtype == torch.int64:
        return [torch.randint(0, 20, (rows, *shape)) for shape in shapes]
    return [torch.randn(rows, *shape) for shape in shapes]


def exported(model: nn.Module, shapes, dtype) -> bytes:
    example = inputs(shapes, dtype, 8)
    return exporting.export(model, example if len(example) > 1 else example[0]).data


@pytest.mark.parametrize("name", list(zoo()))
def test_the_reader_predicts_exactly_what_torch_export_load_predicts_for_any_batch_size(name):
    model, shapes, dtype = zoo()[name]
    data = exported(model, shapes, dtype)

    loaded = exporting.load(data, exporting.FORMAT)
    reference = torch.export.load(io.BytesIO(data)).module()

    assert isinstance(loaded.program, program_reader.Program)  # the fast path, not the fallback
    torch.manual_seed(1)
    for rows in (1, 7, 64):
        batch = inputs(shapes, dtype, rows)
        loaded.eval()
        # both under no_grad, as assay predicts: with autograd on, torch's module runs an LSTM through another
        # kernel (its weights require grad), whose float sums round differently
        with torch.no_grad():
            expected, got = reference(*batch), loaded(*batch)
        assert torch.equal(got, expected), (name, rows)


def test_a_program_with_a_higher_order_operator_is_read_by_torch_export_load_instead():
    torch.manual_seed(0)
    model = Branches().eval()
    data = exported(model, [(4,)], torch.float32)

    with pytest.raises(program_archive.Unsupported, match=r"higher_order\.cond"):
        program_reader.read(data)
    loaded = exporting.load(data, exporting.FORMAT)

    assert not isinstance(loaded.program, program_reader.Program)
    for batch in (torch.randn(5, 4), -torch.rand(5, 4)):  # both branches
        with torch.no_grad():
            assert torch.equal(loaded(batch), model(batch))


def test_inputs_of_another_shape_than_the_program_takes_are_refused_naming_the_input():
    model, shapes, dtype = zoo()["two inputs"]
    loaded = exporting.load(exported(model, shapes, dtype), exporting.FORMAT)

    takes = "where the exported torch program takes"
    with pytest.raises(errors.DataError, match=rf"inputs\[1\]: axis 1 has size 3 {takes} 5"):
        loaded(torch.randn(4, 4), torch.randn(4, 3, 2))
    with pytest.raises(errors.DataError, match=rf"inputs\[1\]: axis 0 has size 5 {takes} 4"):  # one batch size
        loaded(torch.randn(4, 4), torch.randn(5, 5, 2))
    with pytest.raises(errors.DataError, match="takes 2 inputs, not 1"):
        loaded(torch.randn(4, 4))


def test_the_symbolic_functions_the_reader_runs_are_the_ones_torch_serialises():
    from torch._export.serde import serialize

    assert set(program_archive.SYM_OPS) == {f"{op.__module__}.{op.__name__}" for op in serialize._SYM_OPS}


# -- altered archives ----------------------------------------------------------------------------------------


def altered(data: bytes, member: str, change) -> bytes:
    """The archive with one member (its path under the root folder) replaced by ``change(old bytes)``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename.split("/", 1)[1] == member:
                content = change(content)
            target.writestr(info.filename, content)
    return out.getvalue()


def retarget(target: str):
    def change(content: bytes) -> bytes:
        program = json.loads(content)
        program["graph_module"]["graph"]["nodes"][1]["target"] = target  # the ReLU
        return json.dumps(program).encode()
    return change


@pytest.fixture
def mlp_archive() -> bytes:
    torch.manual_seed(0)
    return exported(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)), [(4,)], torch.float32)


@pytest.fixture
def torch_export_load_calls(monkeypatch) -> list:
    """Calls of ``torch.export.load`` (the fallback), which an altered archive must never reach."""
    calls = []
    real = torch.export.load
    monkeypatch.setattr(torch.export, "load", lambda *args, **kwargs: calls.append(args) or real(*args, **kwargs))
    return calls


@pytest.mark.parametrize("target", ["builtins.eval", "os.system", "torch.serialization.os.system", "torch.load",
                                    "torch.ops.load_library", "torch.ops.aten.__class__.default",
                                    "torch.ops.aten.from_file.default", "torch.ops.nowhere.op.default"])
def test_an_archive_whose_graph_names_an_operation_outside_torchs_operators_is_refused_by_both_readers(
        mlp_archive, torch_export_load_calls, target):
    data = altered(mlp_archive, "models/model.json", retarget(target))

    with pytest.raises(errors.ModelLoadError, match="not an operator registered with torch"):
        exporting.load(data, exporting.FORMAT)
    assert torch_export_load_calls == []


def test_an_archive_holding_a_pickled_weight_is_refused_without_unpickling_it(mlp_archive, torch_export_load_calls):
    def pickled(content: bytes) -> bytes:
        config = json.loads(content)
        config["config"]["0.weight"]["use_pickle"] = True
        return json.dumps(config).encode()

    with pytest.raises(errors.ModelLoadError, match=r"holds '0\.weight' as a pickle"):
        exporting.load(altered(mlp_archive, "data/weights/model_weights_config.json", pickled), exporting.FORMAT)
    assert torch_export_load_calls == []


class Opens:
    """A pickle that creates a file when loaded: proof of whether anyone unpickled it."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def test_an_archive_whose_sample_inputs_run_code_when_unpickled_is_refused(mlp_archive, torch_export_load_calls,
                                                                           tmp_path):
    proof = tmp_path / "unpickled"
    data = altered(mlp_archive, "data/sample_inputs/model.pt", lambda _: pickle.dumps(Opens(proof)))

    with pytest.raises(errors.ModelLoadError, match="sample inputs that are not plain tensors"):
        exporting.load(data, exporting.FORMAT)
    assert not proof.exists()
    assert torch_export_load_calls == []


def test_an_archive_holding_a_compiled_library_is_refused(mlp_archive, torch_export_load_calls):
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(mlp_archive)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        target.writestr("archive/data/aotinductor/model/model.so", b"\x7fELF")  # torch.export.load would dlopen it

    with pytest.raises(errors.ModelLoadError, match=r"aotinductor.*which torch\.export\.save does not write"):
        exporting.load(out.getvalue(), exporting.FORMAT)
    assert torch_export_load_calls == []


def test_a_truncated_archive_is_refused_as_damaged(mlp_archive):
    with pytest.raises(errors.ModelLoadError, match=r"cannot be read .* it is damaged"):
        exporting.load(mlp_archive[: len(mlp_archive) // 2], exporting.FORMAT)


# -- a bundle in a fresh process -----------------------------------------------------------------------------


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], 12), nn.ReLU(), nn.Linear(12, label_shape[0]))


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=2,
                                  batch_size=16, seed=0)


PREDICT_IN_A_FRESH_PROCESS = """
import json, sys
import pandas as pd
import assay
bundle = assay.load_bundle(sys.argv[1])
predicted = bundle.predict(pd.read_csv(sys.argv[2]))
print(json.dumps({"imported": [name for name in json.loads(sys.argv[3]) if name in sys.modules],
                  "program": type(bundle.model.program).__name__, "predictions": predicted.to_dict("list")}))
"""


def test_a_torch_bundle_predicts_in_a_fresh_process_without_importing_torch_dynamo_or_sympy(
        sqlite_url, tmp_path, monkeypatch):
    assay.setup(sqlite_url)
    df = datum.to_pandas("iris.tsv")
    df.drop(columns="species").sample(6, random_state=0).to_csv(tmp_path / "rows.csv", index=False)
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=df, label_column="species", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])], size_test=0.2)
    queue = assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=fn_build,
                                  fn_train=fn_train, splitset_id=splitset.id, seed=0)
    assert queue.run_jobs(progress=False).failed == 0, queue.status()["errors"]
    predictor = queue.predictors[0]
    # the export's check (the loaded program predicts what the model predicts) goes through the reader: with
    # torch.export.load unusable the bundle still holds the exported program
    with monkeypatch.context() as patched:
        patched.setattr(torch.export, "load", lambda *args, **kwargs: pytest.fail("torch.export.load was called"))
        path = predictor.export(tmp_path / "iris.assay")

    completed = subprocess.run(
        [sys.executable, "-c", PREDICT_IN_A_FRESH_PROCESS, path, str(tmp_path / "rows.csv"), json.dumps(SLOW_MODULES)],
        capture_output=True, text=True, env=os.environ, check=False)

    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["imported"] == []
    assert result["program"] == "Program"
    expected = predictor.infer(datum.to_pandas("iris.tsv").drop(columns="species").sample(6, random_state=0))
    got = pd.DataFrame(result["predictions"])
    pd.testing.assert_frame_equal(got, expected.reset_index(drop=True)[list(got.columns)], check_exact=False,
                                  rtol=0, atol=1e-5)  # the export check's tolerance against the trained model
    assert assay.load_bundle(path).manifest.export.exported
