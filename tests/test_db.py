"""The database: setup, migrations shipped in the package, SQLite settings, URLs. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

import assay
from assay import errors
from assay.db import engine as db_engine
from assay.db import migrate
from assay.db.models import Base, DatasetRow, LabelRow

FUTURE_REVISION = "9999_from_a_newer_assay"


def table_names(url: str) -> set[str]:
    engine = db_engine.create_assay_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def add_dataset(name: str) -> int:
    with db_engine.session_scope() as session:
        row = DatasetRow(name=name, sha256=name.ljust(64, "0"), blob=b"parquet bytes", row_count=3, column_count=1,
                         columns=["a"], dtypes={"a": "int64"})
        session.add(row)
        session.flush()
        return row.id


def test_an_empty_database_is_migrated_to_the_newest_schema(any_db_url):
    assert table_names(any_db_url) == set()
    returned = assay.setup(any_db_url)
    assert returned == db_engine.current_url()
    assert migrate.current_revision(db_engine.get_engine()) == migrate.head_revision()
    assert table_names(any_db_url) == set(Base.metadata.tables) | {migrate.VERSION_TABLE}


def test_calling_setup_again_keeps_the_data_and_the_revision(any_db_url):
    assay.setup(any_db_url)
    dataset_id = add_dataset("iris")
    assay.setup(any_db_url)  # same process, same engine
    db_engine.dispose()
    assay.setup(any_db_url)  # as a new process would: finds the database, nothing to migrate
    with db_engine.session_scope() as session:
        assert session.scalars(select(DatasetRow.name)).all() == ["iris"]
        assert session.get(DatasetRow, dataset_id).row_count == 3
    assert migrate.current_revision(db_engine.get_engine()) == migrate.head_revision()


def _built_here(dialect: str):
    """Alembic compares every index of the models; one they build only on another database
    (``Index.ddl_if(dialect=...)``) is not expected here."""

    def include(item, name, kind, reflected, compare_to) -> bool:
        condition = getattr(item, "_ddl_if", None)
        if kind == "index" and not reflected and condition is not None and condition.dialect is not None:
            return condition.dialect == dialect
        return True

    return include


def test_the_models_and_the_migrations_describe_the_same_schema(any_db_url):
    assay.setup(any_db_url)
    with db_engine.get_engine().connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "version_table": migrate.VERSION_TABLE,
                              "include_object": _built_here(connection.dialect.name)}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], "db/models.py changed without a migration: add one in db/migrations/versions"


def test_the_migrations_have_exactly_one_head_and_one_base():
    script = migrate.script_directory()
    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1
    revisions = list(script.walk_revisions())
    assert len({revision.revision for revision in revisions}) == len(revisions)


def test_a_database_from_a_newer_assay_gets_a_clear_error_and_is_left_untouched(any_db_url):
    assay.setup(any_db_url)
    with db_engine.get_engine().begin() as connection:
        connection.execute(text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = :rev"), {"rev": FUTURE_REVISION})
        connection.execute(text("DROP TABLE prediction_dataset"))  # its one dependent table first
        connection.execute(text("DROP TABLE prediction"))  # as if the newer assay had renamed it
    db_engine.dispose()
    tables_before = table_names(any_db_url)

    with pytest.raises(errors.SchemaTooNewError) as caught:
        assay.setup(any_db_url)
    message = str(caught.value)
    assert FUTURE_REVISION in message
    assert f"newest: {migrate.head_revision()!r}" in message
    assert "pip install -U assay" in message
    assert "never downgrades" in message
    assert db_engine.current_url() is None, "a refused database must not become the current one"

    engine = db_engine.create_assay_engine(any_db_url)
    try:
        assert migrate.current_revision(engine) == FUTURE_REVISION
    finally:
        engine.dispose()
    assert table_names(any_db_url) == tables_before


def test_foreign_keys_are_enforced(any_db_url):
    assay.setup(any_db_url)
    with pytest.raises(IntegrityError), db_engine.session_scope() as session:
        session.add(LabelRow(dataset_id=123456, column="species", dtype="str", is_categorical=True))
    with db_engine.session_scope() as session:
        assert session.scalars(select(LabelRow)).all() == []


def test_a_failing_unit_of_work_rolls_back_everything_it_wrote(any_db_url):
    assay.setup(any_db_url)

    def write_then_fail():
        with db_engine.session_scope() as session:
            session.add(DatasetRow(name="half", sha256="h" * 64, blob=b"", row_count=0, column_count=0, columns=[],
                                   dtypes={}))
            session.flush()
            raise RuntimeError("failed halfway")

    with pytest.raises(RuntimeError, match="halfway"):
        write_then_fail()
    with db_engine.session_scope() as session:
        assert session.scalars(select(DatasetRow)).all() == []


def test_sqlite_uses_wal_a_busy_timeout_and_foreign_keys(sqlite_url):
    assay.setup(sqlite_url)
    with db_engine.get_engine().connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == db_engine.SQLITE_BUSY_TIMEOUT_MS
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_the_default_database_is_a_sqlite_file_under_assay_home(tmp_path, monkeypatch):
    home = tmp_path / "home-of-assay"
    monkeypatch.setenv(db_engine.HOME_ENV, str(home))
    url = assay.setup()
    assert url == f"sqlite:///{home / 'assay.sqlite3'}"
    assert (home / "assay.sqlite3").is_file()


def test_the_default_data_directory_follows_xdg_without_assay_home(tmp_path, monkeypatch):
    monkeypatch.delenv(db_engine.HOME_ENV)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert db_engine.default_url() == f"sqlite:///{tmp_path / 'xdg' / 'assay' / 'assay.sqlite3'}"


def test_assay_database_url_overrides_the_default(tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere" / "team.sqlite3"
    monkeypatch.setenv(db_engine.URL_ENV, f"sqlite:///{elsewhere}")
    assert assay.setup() == f"sqlite:///{elsewhere}"
    assert elsewhere.is_file()
    assert not (tmp_path / "assay-home" / "assay.sqlite3").exists()


def test_setup_switches_to_another_database_when_given_another_url(tmp_path):
    first, second = f"sqlite:///{tmp_path / 'first.sqlite3'}", f"sqlite:///{tmp_path / 'second.sqlite3'}"
    assay.setup(first)
    add_dataset("only-in-first")
    assay.setup(second)
    assert db_engine.current_url() == second
    with db_engine.session_scope() as session:
        assert session.scalars(select(DatasetRow)).all() == []


@pytest.mark.parametrize("url", ["not a url", "sqlite//missing-colon.db"])
def test_a_malformed_url_is_a_configuration_error_naming_the_url(url):
    with pytest.raises(errors.ConfigurationError, match=r"url=.* is not a database URL; use e\.g\. 'sqlite:///"):
        assay.setup(url)
    assert db_engine.current_url() is None
