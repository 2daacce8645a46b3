"""Shared fixtures: a fresh database per test, on SQLite and (when configured) on PostgreSQL.

PostgreSQL tests run when ``ASSAY_TEST_POSTGRES_URL`` points at a server where the user may create databases,
e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``; each test gets a database of its own.
"""

from __future__ import annotations

import os
import sys
import uuid

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import assay
from assay.db import engine as db_engine
from assay.plugins import reset_plugin_manager

POSTGRES_ENV = "ASSAY_TEST_POSTGRES_URL"


def postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@pytest.fixture(autouse=True)
def _isolated_assay(tmp_path, monkeypatch):
    """Every test starts with no engine, a fresh plugin manager and a private ASSAY_HOME."""
    monkeypatch.setenv("ASSAY_HOME", str(tmp_path / "assay-home"))
    monkeypatch.delenv("ASSAY_DATABASE_URL", raising=False)
    db_engine.dispose()
    reset_plugin_manager()
    yield
    db_engine.dispose()
    reset_plugin_manager()
    pool = sys.modules.get("assay.experiment.workers.pool")
    if pool is not None:
        pool.stop_workers()  # a test's idle worker processes would otherwise wait for the next one's queue


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'assay.sqlite3'}"


@pytest.fixture
def postgres_url():
    """A freshly created PostgreSQL database, dropped after the test."""
    admin = postgres_admin_url()
    if admin is None:
        pytest.skip(f"set {POSTGRES_ENV} to run PostgreSQL tests")
    name = f"assay_test_{uuid.uuid4().hex[:12]}"
    admin_engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    yield url
    db_engine.dispose()
    with admin_engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin_engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request) -> str:
    """The URL of a fresh database, once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture
def db(sqlite_url) -> str:
    """A migrated SQLite database set up for the test; returns its URL."""
    assay.setup(sqlite_url)
    return sqlite_url


@pytest.fixture
def any_db(any_db_url) -> str:
    """A migrated database set up for the test, on SQLite and on PostgreSQL."""
    assay.setup(any_db_url)
    return any_db_url


THIRDPARTY_DISTRIBUTION = "assay-dummy-backend"


@pytest.fixture
def thirdparty_plugin() -> str:
    """The library name of the third-party test plugin; skips when that package is not installed."""
    import importlib.metadata

    try:
        importlib.metadata.distribution(THIRDPARTY_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(
            f"the third-party test plugin {THIRDPARTY_DISTRIBUTION!r} is not installed: "
            "pip install ./tests/thirdparty_plugin (nox -s tests installs it)"
        )
    return "numpy_linear"


@pytest.fixture
def broken_plugin_site(tmp_path):
    """A folder holding an installed distribution ``assay-broken`` whose ``assay.plugins`` entry point ``broken``
    fails to import; put it on ``sys.path`` (or ``PYTHONPATH``) to make assay discover it."""
    site = tmp_path / "broken-site"
    dist_info = site / "assay_broken-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: assay-broken\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[assay.plugins]\nbroken = assay_broken_plugin\n")
    (site / "assay_broken_plugin.py").write_text(
        'raise ImportError("assay_broken_plugin needs the library frobnicate, which is not installed")\n'
    )
    return site


@pytest.fixture(scope="session")
def dashboard_database(tmp_path_factory) -> dict:
    """A SQLite database of finished torch queues for the dashboard and notebook tests, built once per
    session: its ``url`` and the ids of what it holds (see ``dashboard_helpers.build_database``)."""
    pytest.importorskip("assay_torch")
    import dashboard_helpers

    url = f"sqlite:///{tmp_path_factory.mktemp('dashboard') / 'dashboard.sqlite3'}"
    ids = dashboard_helpers.build_database(url)
    db_engine.dispose()
    return {"url": url, **ids}
