"""``assay.setup()`` and the ``assay`` command name the URL or path of a database they cannot use, and the engine
in use before a failed ``setup()`` stays in use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.preprocessing import OrdinalEncoder
from test_cli import assert_one_line_error, run_assay

import assay
from assay import errors
from assay.db import engine as db_engine


def iris_splitset():
    return assay.Pipeline.Tabular.make(assay.datum.to_pandas("iris.tsv"), label_column="species", size_test=0.2,
                                       label_encoder=dict(sklearn_preprocess=OrdinalEncoder()))


def not_a_database(tmp_path: Path) -> Path:
    path = tmp_path / "notes.sqlite3"
    path.write_text("these are my notes, not a database\n" * 200)
    return path


def test_a_file_that_is_not_a_database_is_a_database_error_naming_it(tmp_path):
    path = not_a_database(tmp_path)
    with pytest.raises(errors.DatabaseError, match=rf"cannot use the database at sqlite:///{path}: file is not a "
                                                   "database; the file is not an SQLite database"):
        assay.setup(f"sqlite:///{path}")
    assert path.read_text().startswith("these are my notes")  # left as it was
    assert db_engine.current_url() is None


@pytest.mark.parametrize("below", ["db.sqlite3", "sub/db.sqlite3"])
def test_a_path_through_a_regular_file_is_a_database_error_naming_that_file(tmp_path, below):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(errors.DatabaseError, match=rf"'{blocker}' is a file, not a folder"):
        assay.setup(f"sqlite:///{blocker / below}")
    assert blocker.read_text() == "x"


def test_a_folder_given_as_the_database_file_is_a_database_error(tmp_path):
    with pytest.raises(errors.DatabaseError, match="is a folder; give a file path"):
        assay.setup(f"sqlite:///{tmp_path}")


def test_a_malformed_url_after_a_working_setup_is_a_configuration_error_and_keeps_the_engine(any_db_url):
    assay.setup(any_db_url)
    in_use = db_engine.current_url()
    with pytest.raises(errors.ConfigurationError, match=r"url='not a url' is not a database URL"):
        assay.setup("not a url")
    assert db_engine.current_url() == in_use


def test_an_unusable_database_after_a_working_setup_keeps_the_engine(any_db_url, tmp_path):
    assay.setup(any_db_url)
    in_use = db_engine.current_url()
    with pytest.raises(errors.DatabaseError, match="file is not a database"):
        assay.setup(f"sqlite:///{not_a_database(tmp_path)}")
    assert db_engine.current_url() == in_use
    assert iris_splitset().id >= 1


@pytest.mark.parametrize("case", ["not-a-database", "parent-is-a-file"])
def test_the_assay_command_prints_one_line_and_exits_3(tmp_path, case):
    if case == "not-a-database":
        path = not_a_database(tmp_path)
        fragment = "file is not a database"
    else:
        (tmp_path / "afile").write_text("x")
        path = tmp_path / "afile" / "db.sqlite3"
        fragment = "is a file, not a folder"
    for args in (("db", "upgrade", "--url", f"sqlite:///{path}"), ("db", "upgrade")):
        completed = run_assay(*args, home=tmp_path / "home", ASSAY_DATABASE_URL=f"sqlite:///{path}")
        assert_one_line_error(completed, 3, "cannot use the database at", str(path), fragment)


def test_experiment_library_given_as_a_list_is_an_error_naming_the_parameter(any_db):
    splitset = iris_splitset()
    for parameter, overrides in (("library", dict(library=["torch"])),
                                 ("analysis_type", dict(analysis_type=["classification_multi"]))):
        arguments = {**dict(library="torch", analysis_type="classification_multi", fn_build=lambda **_: None,
                            fn_train=lambda **_: None, splitset_id=splitset.id), **overrides}
        with pytest.raises(errors.ExperimentError, match=rf"^{parameter}: must be one name \(a string\)"):
            assay.Experiment.make(**arguments)
    with pytest.raises(errors.LibraryNotFoundError, match=r"library=\['torch'\]: give one library name"):
        assay.plugins.backend(["torch"])


def test_plugin_environment_defaults_are_set_at_import_unless_the_user_set_them(tmp_path):
    site = tmp_path / "site"
    dist_info = site / "assay_envdemo-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: assay-envdemo\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[assay.environment]\nenvdemo = assay_envdemo:DEFAULTS\n")
    (site / "assay_envdemo.py").write_text('DEFAULTS = {"ASSAY_ENVDEMO_LEVEL": "3"}\n')
    script = "import os, assay; print(os.environ.get('ASSAY_ENVDEMO_LEVEL'))"

    def run(**env: str) -> str:
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
                       **env}
        environment.pop("ASSAY_ENVDEMO_LEVEL", None) if "ASSAY_ENVDEMO_LEVEL" not in env else None
        return subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True,
                              check=True, timeout=120).stdout.strip()

    assert run() == "3"
    assert run(ASSAY_ENVDEMO_LEVEL="0") == "0"  # the user's own value wins
    assert run(ASSAY_BLOCK_PLUGINS="envdemo") == "None"
