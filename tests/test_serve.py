"""``assay serve``: the real server (uvicorn in a subprocess) answering HTTP requests with a bundle."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx  # the HTTP client the tests install (plain httpx is deprecated by starlette)
import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import assay
from assay import datum

pytest.importorskip("assay_torch")


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    class Branching(nn.Module):  # data-dependent: not exportable, so its bundle needs trust
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(features_shape[0], 3)

        def forward(self, x):
            return self.linear(x) if x.sum() > -1e9 else -self.linear(x)

    if hp["kind"] == "branching":
        return Branching()
    model = nn.Sequential(nn.Linear(features_shape[0], 8), nn.ReLU(), nn.Linear(8, 3))
    if "lean" in hp:  # the ensemble's candidates each lean to another class: together they predict better
        import torch

        with torch.no_grad():
            model[2].bias[hp["lean"]] += 3.0
    return model


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=2,
                                  batch_size=16, seed=0)


def iris() -> pd.DataFrame:
    return datum.to_pandas("iris.tsv")


@pytest.fixture(scope="module")
def bundle_paths(tmp_path_factory):
    from assay.db import engine as db_engine

    folder = tmp_path_factory.mktemp("serve")
    assay.setup(f"sqlite:///{folder / 'assay.sqlite3'}")
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=iris(), label_column="species", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.3, size_validation=None, fold_count=None)
    paths = {}
    for kind in ("plain", "branching"):
        queue = assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=fn_build,
                                      fn_train=fn_train, hyperparameters={"kind": [kind]}, splitset_id=splitset.id,
                                      seed=1)
        assert queue.run_jobs(progress=False).failed == 0
        paths[kind] = queue.predictors[0].export(folder / f"{kind}.assay")
    # an ensemble of models leaning to different classes (Caruana's selection on log loss picks several)
    queue = assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=fn_build,
                                  fn_train=fn_train, hyperparameters={"kind": ["plain"], "lean": [0, 1, 2]},
                                  splitset_id=splitset.id, seed=2)
    assert queue.run_jobs(progress=False).failed == 0
    ensemble = queue.ensemble(size=10, candidates=3, metric="log_loss")
    assert len(ensemble.members) >= 2, ensemble.members  # an ensemble of one would test nothing
    paths["ensemble"] = ensemble.export(str(folder / "ensemble.assay"))
    paths["members"] = {assay.Predictor.get(predictor_id).export(folder / f"member{predictor_id}.assay"): weight
                        for predictor_id, weight in ensemble.members.items()}
    db_engine.dispose()
    return paths


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


#: the `assay` console command, run by this interpreter
ASSAY = [sys.executable, "-c", "import sys; from assay.cli import main; sys.exit(main(sys.argv[1:]))"]


#: `assay`, printing at exit which database modules the process loaded (uvicorn serves a single worker in-process)
ASSAY_REPORTING = [sys.executable, "-c", "import sys; from assay.cli import main; code = main(sys.argv[1:]); "
                   "print('loaded:', sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy' or "
                   "m.startswith('assay.db'))); sys.exit(code)"]


def start(bundle_path: str, *options: str, command: list[str] = ASSAY) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([*command, "serve", bundle_path, "--port", str(port), *options],
                               stdout=subprocess.PIPE if command is ASSAY_REPORTING else subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {process.communicate()[1][-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    stop(process)
    raise AssertionError("the server did not answer /health within 120 s")


def stop(process: subprocess.Popen) -> None:
    """Stop a server started by :func:`start` and close its pipes."""
    if process.poll() is None:
        process.terminate()
    if process.stderr is not None and not process.stderr.closed:
        process.communicate(timeout=30)


@pytest.fixture(scope="module")
def server(bundle_paths):
    process, url = start(bundle_paths["plain"], "--max-body", "20000")
    yield url
    stop(process)


def records(rows: pd.DataFrame) -> list[dict]:
    return rows.to_dict(orient="records")


def expected(bundle_path: str, rows: pd.DataFrame) -> list[dict]:
    return assay.load_bundle(bundle_path).predict(rows.reset_index(drop=True)).to_dict(orient="records")


def assert_same(answered: list[dict], wanted: list[dict]) -> None:
    assert len(answered) == len(wanted)
    for got, want in zip(answered, wanted, strict=True):
        assert got.keys() == want.keys()
        assert got["prediction"] == want["prediction"]
        for name in want:
            if name != "prediction":
                assert got[name] == pytest.approx(want[name], abs=1e-9), name


def test_predict_answers_json_rows_with_the_fields_of_bundle_predict(server, bundle_paths):
    rows = iris().drop(columns="species").sample(7, random_state=0)

    answer = httpx.post(f"{server}/predict", json={"rows": records(rows)}, timeout=30)

    assert answer.status_code == 200, answer.text
    assert_same(answer.json()["predictions"], expected(bundle_paths["plain"], rows))
    assert set(answer.json()["predictions"][0]) == {"prediction", "probability_setosa", "probability_versicolor",
                                                    "probability_virginica"}


def test_predict_answers_a_csv_body(server, bundle_paths):
    rows = iris().drop(columns="species").head(5)

    answer = httpx.post(f"{server}/predict", content=rows.to_csv(index=False),
                        headers={"content-type": "text/csv"}, timeout=30)

    assert answer.status_code == 200, answer.text
    assert_same(answer.json()["predictions"], expected(bundle_paths["plain"], rows))


@pytest.mark.parametrize(("body", "status", "field", "words"), [
    ({"rows": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4}]}, 422, "rows[0].petal_width",
     "is missing"),
    ({"rows": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2, "colour": "red"}]},
     422, "rows[0].colour", "not a column"),
    ({"rows": [{"sepal_length": "long", "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]}, 422,
     "rows[0].sepal_length", "expected a number"),
    ({"rows": []}, 422, "rows", "non-empty list"),
    ({"samples": [[1, 2]]}, 422, "rows", "is missing"),
    ([1, 2, 3], 422, "body", "JSON object"),
])
def test_predict_refuses_input_that_does_not_fit_naming_the_field(server, body, status, field, words):
    answer = httpx.post(f"{server}/predict", json=body, timeout=30)

    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == field
    assert words in answer.json()["error"]
    assert "Traceback" not in answer.text


def test_predict_refuses_malformed_json_with_400_and_a_body_over_the_limit_with_413(server):
    malformed = httpx.post(f"{server}/predict", content=b'{"rows": [', headers={"content-type": "application/json"},
                           timeout=30)
    row = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    too_large = httpx.post(f"{server}/predict", json={"rows": [row] * 1000}, timeout=30)  # over --max-body 20000

    assert malformed.status_code == 400
    assert malformed.json()["field"] == "body"
    assert "not valid JSON" in malformed.json()["error"]
    assert too_large.status_code == 413
    assert "20000 bytes" in too_large.json()["error"]


def test_fifty_concurrent_requests_each_get_their_own_rows_predictions(server, bundle_paths):
    data = iris().drop(columns="species")
    batches = [data.sample(1 + i % 4, random_state=i) for i in range(50)]
    wanted = [expected(bundle_paths["plain"], batch) for batch in batches]

    with httpx.Client(timeout=60) as client, ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(lambda batch: client.post(f"{server}/predict", json={"rows": records(batch)}),
                                batches))

    for answer, want in zip(answers, wanted, strict=True):
        assert answer.status_code == 200, answer.text
        assert_same(answer.json()["predictions"], want)


def test_schema_health_and_metrics_describe_the_model_and_count_requests(server):
    httpx.post(f"{server}/predict", json={"rows": "nope"}, timeout=30)

    schema = httpx.get(f"{server}/schema").json()
    health = httpx.get(f"{server}/health").json()
    metrics = httpx.get(f"{server}/metrics")

    assert schema["inputs"][0]["columns"] == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert schema["inputs"][0]["dtypes"]["petal_width"] == "float64"
    assert schema["classes"] == ["setosa", "versicolor", "virginica"]
    assert health == {"status": "ok", "library": "torch", "analysis_type": "classification_multi",
                      "bundle": "plain.assay"}
    assert metrics.headers["content-type"].startswith("text/plain")
    lines = metrics.text.splitlines()
    assert any(line.startswith('assay_requests_total{path="/predict",status="422"} ') for line in lines)
    count = next(line for line in lines if line.startswith('assay_request_duration_seconds_count{path="/predict"}'))
    assert int(count.split()[-1]) >= 1
    assert "# TYPE assay_request_duration_seconds histogram" in lines


def test_serve_refuses_a_bundle_that_needs_trust_and_serves_it_with_trust(bundle_paths):
    refused = subprocess.run([*ASSAY, "serve", bundle_paths["branching"], "--port", str(free_port())],
                             capture_output=True, text=True, timeout=120, check=False)

    assert refused.returncode != 0
    assert "functions.cloudpickle" in refused.stderr
    assert "--trust" in refused.stderr
    process, url = start(bundle_paths["branching"], "--trust")
    try:
        rows = iris().drop(columns="species").head(3)
        answer = httpx.post(f"{url}/predict", json={"rows": records(rows)}, timeout=30)
        assert answer.status_code == 200
        wanted = assay.load_bundle(bundle_paths["branching"], trust=True).predict(rows).to_dict(orient="records")
        assert_same(answer.json()["predictions"], wanted)
    finally:
        stop(process)


def test_request_checks_turn_nested_lists_and_base64_images_into_samples():
    import base64
    import io

    from PIL import Image

    from assay.inference.serve import requests

    sequences = requests.sequences([[[1, 2], [3, 4], [5, 6]]], [3, 2], "samples")
    with pytest.raises(requests.RequestError, match="different lengths"):
        requests.sequences([[[1, 2], [3]]], [3, 2], "samples")
    buffer = io.BytesIO()
    Image.fromarray(np.arange(12, dtype=np.uint8).reshape(3, 4), mode="L").save(buffer, format="PNG")
    encoded = base64.b64encode(buffer.getvalue()).decode()
    images = requests.images([encoded, encoded], [1, 3, 4], "images")
    with pytest.raises(requests.RequestError) as wrong:
        requests.images([encoded], [3, 3, 4], "images")

    assert sequences.shape == (1, 3, 2)
    assert images.shape == (2, 1, 3, 4)
    assert images[0, 0, 2, 3] == 11
    assert wrong.value.field == "images[0]"
    assert "RGB" in wrong.value.message


def test_a_two_input_model_answers_inputs_by_name_with_base64_images(tmp_path):
    import base64

    from test_multi_input import _keras_queue, make_galaxies

    from assay.db import engine as db_engine

    assay.setup(f"sqlite:///{tmp_path / 'assay.sqlite3'}")
    splitset = make_galaxies()
    queue = _keras_queue(splitset)
    queue.run_jobs(progress=False)
    path = queue.predictors[0].export(tmp_path / "galaxy.assay")
    rows = splitset.row_indices("test")[:4]  # read from the database, before the server runs without it
    db_engine.dispose()
    galaxies = datum.galaxy_morphology()
    table, images = galaxies["table"].iloc[rows], [galaxies["images"][i] for i in rows]
    photos = [base64.b64encode(Path(image).read_bytes()).decode() for image in images]
    wanted = assay.load_bundle(path).predict([table, images]).to_dict(orient="records")

    process, url = start(path)
    try:
        answer = httpx.post(f"{url}/predict", json={"inputs": {"table": records(table), "photo": photos}},
                            timeout=60)
        missing = httpx.post(f"{url}/predict", json={"inputs": {"table": records(table)}}, timeout=60)
        broken = httpx.post(f"{url}/predict", json={"inputs": {"table": records(table),
                                                               "photo": ["bm90IGFuIGltYWdl", *photos[1:]]}},
                            timeout=60)
        schema = httpx.get(f"{url}/schema").json()
    finally:
        stop(process)

    assert answer.status_code == 200, answer.text
    assert_same(answer.json()["predictions"], wanted)
    assert missing.status_code == 422
    assert missing.json()["field"] == "inputs.photo"
    assert broken.status_code == 422
    assert broken.json()["field"] == "inputs.photo[0]"
    assert [(one["name"], one["kind"]) for one in schema["inputs"]] == [("table", "tabular"), ("photo", "image")]


# --------------------------------------------------------------------------------------------------------------
# An ensemble's bundle, and serving without the database layer
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ensemble_server(bundle_paths):
    process, url = start(bundle_paths["ensemble"], command=ASSAY_REPORTING)
    yield url, process
    if process.poll() is None:
        stop(process)


def test_an_ensemble_bundle_answers_the_mean_of_its_members_probabilities(ensemble_server, bundle_paths):
    url, _ = ensemble_server
    rows = iris().drop(columns="species").sample(9, random_state=3)

    answer = httpx.post(f"{url}/predict", json={"rows": records(rows)}, timeout=30)

    assert answer.status_code == 200, answer.text
    got = pd.DataFrame(answer.json()["predictions"])
    columns = ["probability_setosa", "probability_versicolor", "probability_virginica"]
    members = {path: assay.load_bundle(path).predict(rows.reset_index(drop=True))[columns].to_numpy()
               for path in bundle_paths["members"]}
    weighted = sum(weight * members[path] for path, weight in bundle_paths["members"].items())
    np.testing.assert_allclose(got[columns].to_numpy(), weighted, atol=1e-6)
    assert got["prediction"].tolist() == [columns[i].removeprefix("probability_") for i in weighted.argmax(axis=1)]
    first, second = list(members.values())[:2]
    assert not np.allclose(first, second, atol=1e-3)  # the members differ: the weighting matters
    assert_same(answer.json()["predictions"], expected(bundle_paths["ensemble"], rows))


def test_an_ensemble_bundle_describes_its_members_and_refuses_a_missing_column(ensemble_server, bundle_paths):
    url, _ = ensemble_server
    row = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4}

    schema = httpx.get(f"{url}/schema").json()
    refused = httpx.post(f"{url}/predict", json={"rows": [row]}, timeout=30)

    assert schema["inputs"][0]["columns"] == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert schema["classes"] == ["setosa", "versicolor", "virginica"]
    assert schema["ensemble"]["method"] == "caruana"
    assert sorted(member["weight"] for member in schema["ensemble"]["members"]) == pytest.approx(
        sorted(bundle_paths["members"].values()))
    assert refused.status_code == 422
    assert refused.json()["field"] == "rows[0].petal_width"
    assert "Traceback" not in refused.text


def test_a_running_server_has_not_loaded_sqlalchemy_or_the_database_layer(ensemble_server):
    url, process = ensemble_server
    rows = iris().drop(columns="species").head(4)
    assert httpx.post(f"{url}/predict", json={"rows": records(rows)}, timeout=30).status_code == 200

    process.send_signal(signal.SIGINT)  # uvicorn stops, `assay` returns and the wrapper prints what it loaded
    out, err = process.communicate(timeout=30)

    assert "loaded: []" in out, (out, err[-2000:])


def test_loading_a_bundle_and_predicting_in_a_fresh_process_never_imports_sqlalchemy(bundle_paths):
    script = ("import sys, pandas as pd; import assay; from assay import datum; "
              "rows = datum.to_pandas('iris.tsv').drop(columns='species').head(5); "
              "frames = [assay.load_bundle(path).predict(rows) for path in sys.argv[1:]]; "
              "assert all(len(frame) == 5 for frame in frames); "
              "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy' or m.startswith('assay.db')))")

    done = subprocess.run([sys.executable, "-c", script, bundle_paths["plain"], bundle_paths["ensemble"]],
                          capture_output=True, text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_inspect_describes_an_ensemble_bundle_its_weights_and_each_member(bundle_paths, capsys):
    from assay.cli import main

    assert main(["inspect", bundle_paths["ensemble"], "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert main(["inspect", bundle_paths["ensemble"]]) == 0
    text = capsys.readouterr().out

    assert described["kind"] == "ensemble"
    assert described["ensemble"]["method"] == "caruana"
    assert sorted(member["weight"] for member in described["members"]) == pytest.approx(
        sorted(bundle_paths["members"].values()))
    assert described["inputs"][0]["columns"] == {"sepal_length": "float64", "sepal_width": "float64",
                                                 "petal_length": "float64", "petal_width": "float64"}
    assert described["classes"] == ["setosa", "versicolor", "virginica"]
    assert all(member["model"]["exported"] for member in described["members"])
    assert described["needs_trust"] == {}
    count = len(bundle_paths["members"])
    assert f"ensemble of {count} models" in text
    assert text.count("member           predictor") == count
    assert "needs trust      no" in text
