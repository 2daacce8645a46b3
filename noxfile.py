"""Test and lint sessions: ``nox -s tests`` runs every test, ``nox -s lint`` runs ruff and import-linter.

With the ``CI`` environment variable set, the four packages and the third-party test plugin are built as
wheels and installed from them, so the tests see exactly what users install (entry points and package data
included); otherwise they are installed editable, for fast local iteration. The virtualenvs are reused, so a
second local run only reinstalls the packages. Arguments after ``--`` replace the default test paths:
``nox -s tests -- tests/test_db.py -k sqlite``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests", "lint"]

ROOT = Path(__file__).parent
PACKAGES = ["core", "plugins/keras_backend", "plugins/torch_backend", "plugins/sklearn_encoders"]
THIRDPARTY_PLUGIN = "tests/thirdparty_plugin"
# torch is pinned and installed first, so the torch plugin's own requirement (torch>=2.2) is already met
TORCH = "torch==2.13.0"
TEST_REQUIREMENTS = ["tensorflow-cpu", "psycopg[binary]", "distributed", "cmaes", "pytest", "pytest-xdist",
                     "hypothesis",
                     # independent implementations the comparison and conformal tests check against
                     "baycomp", "crepes",
                     # the dashboard's tests: its HTTP test client, a real browser's driver, a real Jupyter kernel
                     "httpx2", "selenium", "nbclient", "nbformat", "ipykernel",
                     # the MLflow export's tests: real local tracking stores (assay[mlflow])
                     "mlflow"]
#: extras of the core the tests use: the web dashboard (Starlette, uvicorn, Jinja2) and assay serve
CORE_EXTRAS = "[dashboard,serve]"
# two pytest workers share two cores: one BLAS/OpenMP/TensorFlow thread each, or they oversubscribe
SINGLE_THREADED = dict.fromkeys(
    ["OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
     "TF_NUM_INTEROP_THREADS"],
    "1",
)
QUIET_TENSORFLOW = {"TF_ENABLE_ONEDNN_OPTS": "0", "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg"}


def build_wheels(session: nox.Session, projects: list[str]) -> list[str]:
    """Build one wheel per project into a fresh folder; returns their paths."""
    wheel_dir = Path(session.create_tmp()) / "wheels"
    shutil.rmtree(wheel_dir, ignore_errors=True)
    session.run("python", "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(wheel_dir), *projects)
    return sorted(str(path) for path in wheel_dir.glob("*.whl"))


@nox.session
def tests(session: nox.Session) -> None:
    """Install the packages (wheels under CI, editable otherwise) and run every test on two workers."""
    session.install(TORCH)
    projects = [str(ROOT / project) for project in [*PACKAGES, THIRDPARTY_PLUGIN]]
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        wheels = build_wheels(session, projects)
        with_extras = [f"{wheel}{CORE_EXTRAS}" if Path(wheel).name.startswith("assay-") else wheel for wheel in wheels]
        session.install(*with_extras, *TEST_REQUIREMENTS)
        # a reused virtualenv may hold the same version installed editable: replace it with the wheel
        session.install("--no-deps", "--force-reinstall", *wheels)
    else:
        editable = [project + CORE_EXTRAS if project == str(ROOT / "core") else project for project in projects]
        session.install(*[arg for project in editable for arg in ("-e", project)], *TEST_REQUIREMENTS)
    # -rs: the summary ends with every skipped test and why (no PostgreSQL URL, no Chromium, ...)
    session.run("pytest", "-n", "2", "-rs", *(session.posargs or ["tests"]),
                env={**SINGLE_THREADED, **QUIET_TENSORFLOW})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the whole repository (settings in ruff.toml), then the architecture contracts in .importlinter.

    import-linter fails on an import that points up a layer or closes a cycle, function-local imports included
    (docs/architecture.md shows the layers). It reads the core's source, so the core is installed without its
    dependencies: nothing is imported, only parsed.
    """
    session.install("ruff", "import-linter")
    session.run("ruff", "check", ".")
    session.install("--no-deps", "-e", str(ROOT / "core"))
    session.run("lint-imports", str(ROOT / ".importlinter"))
