"""The example scripts run as written, each on a fresh default database (README's main example, keras_iris.py, runs
in tests/test_readme.py, installed in a fresh environment as README says)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize(
    ("script", "plugin", "expected"),
    [
        ("torch_iris.py", "assay_torch", "Queue 1: 16 succeeded, 0 failed"),
        ("torch_sonar_folds.py", "assay_torch", "Queue 1: 6 succeeded, 0 failed"),
        ("keras_epilepsy_lstm.py", "assay_keras", "Queue 1: 2 succeeded, 0 failed"),
        ("torch_brain_tumor_cnn.py", "assay_torch", "Queue 1: 2 succeeded, 0 failed"),
        ("torch_spam_tfidf.py", "assay_torch", "Queue 1: 2 succeeded, 0 failed"),
        ("keras_delhi_forecast.py", "assay_keras", "Queue 1: 1 succeeded, 0 failed"),
        ("keras_galaxy_multi_input.py", "assay_keras", "Queue 1: 2 succeeded, 0 failed"),
    ],
)
def test_example_runs_every_job_on_the_default_sqlite_database(script, plugin, expected, tmp_path):
    pytest.importorskip(plugin)
    env = {**os.environ, "ASSAY_HOME": str(tmp_path)}
    env.pop("ASSAY_DATABASE_URL", None)
    for name in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS"):  # as a new user runs it: the Keras plugin
        env.pop(name, None)                                      # keeps TensorFlow quiet
    completed = subprocess.run([sys.executable, str(EXAMPLES / script)], env=env, cwd=tmp_path,
                               capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert expected in completed.stdout
    # TensorFlow's C++ log lines (E0000 ... NodeDef mentions attribute ...) read as failures between the bar's updates
    assert not re.search(r"^[IWE]\d{4} ", completed.stderr, re.MULTILINE), completed.stderr[-3000:]
    assert (tmp_path / "assay.sqlite3").exists()  # the embedded default, under the user data directory
