"""The example scripts (the README's main example among them) run as written, each on a fresh default database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize(
    ("script", "plugin", "expected"),
    [
        ("keras_iris.py", "assay_keras", "Queue 1: 16 succeeded, 0 failed"),
        ("torch_iris.py", "assay_torch", "Queue 1: 16 succeeded, 0 failed"),
        ("torch_sonar_folds.py", "assay_torch", "Queue 1: 6 succeeded, 0 failed"),
        ("torch_spam_tfidf.py", "assay_torch", "Queue 1: 2 succeeded, 0 failed"),
    ],
)
def test_example_runs_every_job_on_the_default_sqlite_database(script, plugin, expected, tmp_path):
    pytest.importorskip(plugin)
    env = {**os.environ, "ASSAY_HOME": str(tmp_path)}
    env.pop("ASSAY_DATABASE_URL", None)
    completed = subprocess.run([sys.executable, str(EXAMPLES / script)], env=env, cwd=tmp_path,
                               capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert expected in completed.stdout
    assert (tmp_path / "assay.sqlite3").exists()  # the embedded default, under the user data directory
