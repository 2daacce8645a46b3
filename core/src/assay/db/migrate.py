"""Alembic migrations shipped inside the package, run from code (no .ini file)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from assay import errors

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "assay_alembic_version"


def alembic_config(connection=None) -> Config:
    """An alembic Config pointing at the packaged migrations; ``connection`` is shared with env.py."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    heads = script_directory().get_heads()
    assert len(heads) == 1, f"assay ships more than one migration head: {heads}"
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or ``None`` for a database assay never touched."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def check_not_newer(revision: str | None, url: str) -> None:
    """Raise :class:`~assay.errors.SchemaTooNewError` when ``revision`` is unknown to this assay."""
    if revision is None:
        return
    known = {script.revision for script in script_directory().walk_revisions()}
    if revision not in known:
        from assay import __version__

        raise errors.SchemaTooNewError(
            f"the database at {url} has schema revision {revision!r}, newer than this assay {__version__} "
            f"knows (newest: {head_revision()!r}). Upgrade assay (pip install -U assay) or point "
            "setup(url=...) at another database; assay never downgrades a database."
        )


def upgrade(engine: Engine) -> str:
    """Migrate the database to the newest schema; returns the revision it is at."""
    url = engine.url.render_as_string(hide_password=True)
    revision = current_revision(engine)
    check_not_newer(revision, url)
    if revision != head_revision():
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
    return head_revision()
