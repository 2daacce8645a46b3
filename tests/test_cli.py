"""The ``assay`` console command, run as a user runs it: the installed script, in a subprocess."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

import assay
from assay.db import engine as db_engine
from assay.db import migrate

ASSAY = shutil.which("assay", path=str(Path(sys.executable).parent)) or shutil.which("assay")


def run_assay(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``assay`` with a private ASSAY_HOME and no assay settings from the caller."""
    assert ASSAY is not None, "the `assay` console script is not installed: pip install ./core"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ASSAY_")}
    environment.update({"ASSAY_HOME": str(home), **env})
    return subprocess.run([ASSAY, *args], capture_output=True, text=True, env=environment, timeout=120)


def info_json(*args: str, home: Path, **env: str) -> dict:
    completed = run_assay(*args, "info", "--json", home=home, **env)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def assert_one_line_error(completed: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    assert completed.returncode == code, (completed.stdout, completed.stderr)
    errors = [line for line in completed.stderr.splitlines() if line.startswith("assay: error:")]
    assert len(errors) == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    for fragment in fragments:
        assert fragment in errors[0]


def test_assay_version_is_the_installed_distribution(tmp_path):
    completed = run_assay("--version", home=tmp_path)
    assert completed.stdout.strip() == f"assay {importlib.metadata.version('assay')}"


def test_info_on_a_fresh_machine_shows_the_default_database_without_creating_it(tmp_path):
    home = tmp_path / "home"
    completed = run_assay("info", home=home)
    assert completed.returncode == 0, completed.stderr
    assert f"assay {assay.__version__} (Python " in completed.stdout
    assert f"database          sqlite:///{home / 'assay.sqlite3'}" in completed.stdout
    assert f"revision none, head {migrate.head_revision()}: not created yet" in completed.stdout
    assert "analysis types    classification_binary, classification_multi, regression" in completed.stdout
    assert not (home / "assay.sqlite3").exists()


def test_db_upgrade_creates_the_database_and_info_reports_its_revision(any_db_url, tmp_path):
    head = migrate.head_revision()
    shown_url = any_db_url  # no password in the test URLs, so nothing is hidden
    first = run_assay("db", "upgrade", "--url", any_db_url, home=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"migrated {shown_url} from schema revision none (empty database) to {head}"
    again = run_assay("--url", any_db_url, "db", "upgrade", home=tmp_path)
    assert again.stdout.strip() == f"{shown_url} is already at schema revision {head}"
    database = info_json("--url", any_db_url, home=tmp_path)["database"]
    assert database == {"url": shown_url, "revision": head, "head": head, "status": "up to date"}


def test_db_upgrade_without_url_uses_assay_database_url(tmp_path):
    target = tmp_path / "team" / "shared.sqlite3"
    completed = run_assay("db", "upgrade", home=tmp_path / "home", ASSAY_DATABASE_URL=f"sqlite:///{target}")
    assert completed.returncode == 0, completed.stderr
    assert target.is_file()
    assert not (tmp_path / "home" / "assay.sqlite3").exists()


def test_info_lists_every_installed_plugin_with_its_distribution_and_version(thirdparty_plugin, tmp_path):
    report = info_json(home=tmp_path)
    rows = {row["name"]: row for row in report["plugins"]}
    installed = {entry_point.name for entry_point in importlib.metadata.entry_points(group="assay.plugins")}
    assert set(rows) == installed
    assert rows[thirdparty_plugin] == {"name": thirdparty_plugin, "distribution": "assay-dummy-backend",
                                       "version": "0.1.0", "status": "loaded", "error": None}
    assert report["libraries"][thirdparty_plugin] == thirdparty_plugin
    assert report["analysis_types"]["regression_positive"] == "regression of a label greater than zero"

    text_output = run_assay("info", home=tmp_path).stdout
    assert re.search(rf"^  {thirdparty_plugin}\s+assay-dummy-backend 0\.1\.0\s+loaded$", text_output, re.MULTILINE)


def test_info_shows_blocked_and_broken_plugins_with_the_reason(thirdparty_plugin, broken_plugin_site, tmp_path):
    completed = run_assay("info", home=tmp_path, PYTHONPATH=str(broken_plugin_site),
                          ASSAY_BLOCK_PLUGINS=thirdparty_plugin)
    assert completed.returncode == 0, completed.stderr
    assert re.search(rf"^  {thirdparty_plugin}\s+assay-dummy-backend 0\.1\.0\s+blocked by ASSAY_BLOCK_PLUGINS$",
                     completed.stdout, re.MULTILINE)
    assert re.search(r"^  broken\s+assay-broken 1\.0\s+failed: ImportError: .*frobnicate", completed.stdout,
                     re.MULTILINE)
    assert thirdparty_plugin not in completed.stdout.split("libraries", 1)[1]
    warnings = [line for line in completed.stderr.splitlines() if "'broken'" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith("assay: warning: assay plugin 'broken' (assay-broken) failed to import")


def test_strict_mode_turns_a_broken_plugin_into_a_one_line_error(broken_plugin_site, tmp_path):
    completed = run_assay("info", home=tmp_path, PYTHONPATH=str(broken_plugin_site), ASSAY_STRICT_PLUGINS="1")
    assert_one_line_error(completed, 4, "plugin 'broken' (assay-broken) failed to import", "frobnicate")


def test_a_database_from_a_newer_assay_is_refused_and_reported(sqlite_url, tmp_path):
    assay.setup(sqlite_url)
    with db_engine.get_engine().begin() as connection:
        connection.execute(text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '9999_future'"))
    db_engine.dispose()

    completed = run_assay("db", "upgrade", "--url", sqlite_url, home=tmp_path)
    assert_one_line_error(completed, 3, "schema revision '9999_future', newer than this assay", "pip install -U")
    database = info_json("--url", sqlite_url, home=tmp_path)["database"]
    assert database["revision"] == "9999_future"
    assert database["status"] == "newer than this assay: upgrade assay (pip install -U assay)"


def test_a_malformed_url_exits_with_a_configuration_error(tmp_path):
    completed = run_assay("--url", "not a url", "info", home=tmp_path)
    assert_one_line_error(completed, 5, "url='not a url' is not a database URL")


def test_an_unreachable_database_server_exits_with_a_database_error(tmp_path):
    pytest.importorskip("psycopg")
    url = "postgresql+psycopg://postgres@127.0.0.1:1/nothing"  # nothing listens on port 1
    completed = run_assay("db", "upgrade", "--url", url, home=tmp_path)
    assert_one_line_error(completed, 3, "cannot use the database at", "127.0.0.1:1")
    assert "127.0.0.1" in completed.stderr


@pytest.mark.parametrize("command", [["queues"], ["leaderboard", "1"], ["report", "1"], ["dashboard"],
                                     ["worker", "--queue", "1"]])
def test_reading_a_sqlite_file_that_does_not_exist_is_an_error_and_creates_nothing(tmp_path, command):
    mistyped = tmp_path / "no-such-folder" / "asay.sqlite3"

    completed = run_assay(*command, "--url", f"sqlite:///{mistyped}", home=tmp_path)

    assert_one_line_error(completed, 3, f"no database at {mistyped}", "--url")
    assert not mistyped.parent.exists()


def test_a_missing_subcommand_is_a_usage_error(tmp_path):
    completed = run_assay("db", home=tmp_path)
    assert completed.returncode == 2
    assert "usage: assay db" in completed.stderr
    assert "upgrade" in run_assay("db", "--help", home=tmp_path).stdout
