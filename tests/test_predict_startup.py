"""``assay predict`` loads only what the bundle's library needs: no database layer, no other ML library, no
scikit-learn for encoders written in portable form.

Timing is measured by ``benchmarks/predict_startup.py``; these tests check the behaviour behind it, in fresh
processes as a user runs the command: which packages a prediction imports, and that the command offers no
database option.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import assay
from assay import datum
from assay.db import engine as db_engine

pytest.importorskip("assay_torch")

#: ``assay predict ARGS`` as the console script runs it, then the modules it imported (JSON, stderr)
PREDICT = textwrap.dedent("""
    import json, sys
    from assay.cli import main
    code = main(sys.argv[1:])
    print(json.dumps(sorted(sys.modules)), file=sys.stderr)
    sys.exit(code)
""")
#: what a torch bundle with portable encoders predicts without: other ML libraries, the database layer, plots,
#: scikit-learn and what it brings (scipy, skops, narwhals), and Parquet unless a file is Parquet
NOT_IMPORTED = ("tensorflow", "keras", "sqlalchemy", "alembic", "matplotlib", "optuna", "starlette", "sklearn",
                "scipy", "skops", "narwhals", "pyarrow.parquet")


@pytest.fixture(scope="module")
def torch_bundle(tmp_path_factory):
    """A small torch iris model, exported; the rows to predict and their expected predictions."""
    from torch import nn

    import assay_torch

    folder = tmp_path_factory.mktemp("predict-startup")
    assay.setup(f"sqlite:///{folder / 'assay.sqlite3'}")
    df = datum.to_pandas("iris.tsv")
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=df, label_column="species", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])], size_test=0.2)

    def fn_build(features_shape, label_shape, **hp):
        return nn.Sequential(nn.Linear(features_shape[0], 8), nn.ReLU(), nn.Linear(8, label_shape[0]))

    def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
        return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=3,
                                      batch_size=32)

    queue = assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=fn_build,
                                  fn_train=fn_train, splitset_id=splitset.id)
    queue.run_jobs(progress=False)
    predictor = queue.predictors[0]
    rows = df.drop(columns="species").iloc[[0, 60, 120]]
    rows.to_csv(folder / "rows.csv", index=False)
    expected = predictor.infer(rows).reset_index(drop=True)
    bundle = predictor.export(folder / "iris.assay")
    db_engine.dispose()
    return folder, bundle, expected


def run_predict(*args: str, cwd) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    # no database reachable and an empty home: predicting must touch neither
    env = {**os.environ, "ASSAY_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/nowhere",
           "ASSAY_HOME": str(cwd / "empty-home")}
    completed = subprocess.run([sys.executable, "-c", PREDICT, "predict", *args], cwd=cwd, env=env,
                               capture_output=True, text=True, timeout=300, check=False)
    last = (completed.stderr.strip().splitlines() or [""])[-1]
    return completed, json.loads(last) if last.startswith("[") else []  # --help and usage errors exit earlier


def test_a_torch_bundle_predicts_without_importing_tensorflow_keras_or_the_database_layer(torch_bundle):
    folder, bundle, expected = torch_bundle

    completed, imported = run_predict(bundle, "rows.csv", "-o", "out.csv", cwd=folder)

    assert completed.returncode == 0, completed.stderr[-3000:]
    pd.testing.assert_frame_equal(pd.read_csv(folder / "out.csv"), expected, check_exact=False, rtol=1e-6,
                                  check_dtype=False)
    assert "torch" in imported
    assert "assay_sklearn.portable" in imported  # the encoders were read from their portable members
    for package in NOT_IMPORTED:
        found = [name for name in imported if name == package or name.startswith(f"{package}.")]
        assert not found, f"assay predict of a torch bundle imported {package} ({found[:3]})"
    assert not (folder / "empty-home").exists()


def test_a_parquet_file_is_predicted_with_pyarrow_parquet_loaded_for_it_alone(torch_bundle):
    folder, bundle, expected = torch_bundle
    pd.read_csv(folder / "rows.csv").to_parquet(folder / "rows.parquet")

    completed, imported = run_predict(bundle, "rows.parquet", "-o", "out-parquet.csv", cwd=folder)

    assert completed.returncode == 0, completed.stderr[-3000:]
    pd.testing.assert_frame_equal(pd.read_csv(folder / "out-parquet.csv"), expected, check_exact=False, rtol=1e-6,
                                  check_dtype=False)
    assert "pyarrow.parquet" in imported
    assert "sklearn" not in imported


def test_assay_predict_offers_no_database_option(torch_bundle):
    folder, bundle, _ = torch_bundle

    shown, _ = run_predict("--help", cwd=folder)
    refused, _ = run_predict(bundle, "rows.csv", "--url", "sqlite:///elsewhere.sqlite3", cwd=folder)

    assert shown.returncode == 0
    assert "--url" not in shown.stdout
    assert "--output" in shown.stdout
    assert refused.returncode == 2  # argparse's usage error: the option does not exist
    assert "unrecognized arguments: --url" in refused.stderr
