"""Where the database is, how to connect, and migrating it to the newest schema."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from assay import errors

URL_ENV = "ASSAY_DATABASE_URL"
HOME_ENV = "ASSAY_HOME"
SQLITE_BUSY_TIMEOUT_MS = 30_000

_lock = threading.RLock()
_engine: Engine | None = None
_sessionmaker: sessionmaker[Session] | None = None


def user_data_dir() -> Path:
    """The per-user folder for assay's data (``ASSAY_HOME`` overrides it)."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "assay"


def default_url() -> str:
    """``ASSAY_DATABASE_URL`` if set, else a SQLite file in :func:`user_data_dir`."""
    if os.environ.get(URL_ENV):
        return os.environ[URL_ENV]
    return f"sqlite:///{user_data_dir() / 'assay.sqlite3'}"


def _set_sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers and one writer work at once; the busy timeout makes writers wait instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin_immediate(connection) -> None:
    # Take the write lock at BEGIN so two writers never deadlock upgrading read locks ("database is locked").
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def parse_url(url: str) -> URL:
    """``url`` parsed; raises :class:`~assay.errors.ConfigurationError` naming it when it is not a URL."""
    try:
        return make_url(url)
    except (ArgumentError, TypeError, ValueError) as exc:
        raise errors.ConfigurationError(
            f"url={url!r} is not a database URL; use e.g. 'sqlite:///path/assay.sqlite3' or "
            "'postgresql+psycopg://user@host/db'"
        ) from exc


def _sqlite_folder(database: str, url: str) -> None:
    """Create the SQLite file's folder; a path through a regular file, or no permission, names the path."""
    path = Path(database).expanduser()
    if path.is_dir():
        raise errors.DatabaseError(
            f"cannot use the database at {url}: {str(path)!r} is a folder; give a file path such as "
            f"'sqlite:///{path / 'assay.sqlite3'}'"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocking = next((str(parent) for parent in reversed(path.parents) if parent.is_file()), None)
        reason = (f"{blocking!r} is a file, not a folder" if blocking is not None
                  else f"cannot create the folder {str(path.parent)!r} ({exc.strerror or exc})")
        raise errors.DatabaseError(
            f"cannot use the database at {url}: {reason}; point setup(url=...) or {URL_ENV} at a path in a "
            "folder you can write"
        ) from exc


def create_assay_engine(url: str) -> Engine:
    """An engine configured for assay: SQLite gets WAL, a busy timeout and foreign keys.

    Raises:
        assay.errors.ConfigurationError: ``url`` is not a URL, or names an unknown or missing driver.
        assay.errors.DatabaseError: the SQLite file's folder cannot be made (a file is in the way, no permission).
    """
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            _sqlite_folder(database, parsed.render_as_string(hide_password=True))
        engine = create_engine(
            parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "isolation_level": None}
        )
        event.listen(engine, "connect", _set_sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except NoSuchModuleError as exc:
        raise errors.ConfigurationError(
            f"url={url!r} names a database driver SQLAlchemy does not know: {exc}; use e.g. "
            "'postgresql+psycopg://user@host/db'"
        ) from exc
    except ModuleNotFoundError as exc:
        raise errors.ConfigurationError(
            f"url={url!r} needs the database driver {exc.name!r}; for PostgreSQL: pip install 'assay[postgres]'"
        ) from exc


def _unusable(engine: Engine, exc: DBAPIError) -> errors.DatabaseError:
    """The error for a database that refuses the connection or is not a database at all."""
    reason = " ".join((str(exc.orig) if exc.orig is not None else str(exc)).split()) or type(exc).__name__
    hint = "check that the server runs and the URL is right"
    if engine.url.get_backend_name() == "sqlite":
        hint = ("the file is not an SQLite database assay can open; point setup(url=...) at another file or "
                "remove this one" if "not a database" in reason or "malformed" in reason
                else "check the path and its permissions")
    return errors.DatabaseError(
        f"cannot use the database at {engine.url.render_as_string(hide_password=True)}: {reason}; {hint}"
    )


def setup(url: str | None = None) -> str:
    """Create or find the database and migrate it to the newest schema. Calling it again is harmless.

    Args:
        url: any SQLAlchemy URL. Default: ``ASSAY_DATABASE_URL``, else a SQLite file under the user data
            directory. Use PostgreSQL for several workers or machines.

    Returns:
        The URL in use (password hidden).

    Raises:
        assay.errors.ConfigurationError: ``url`` is not a database URL, or its driver is not installed.
        assay.errors.DatabaseError: the database cannot be reached or opened (server down, not a database file,
            a path through a regular file); the engine in use before, if any, stays in use.
        assay.errors.SchemaTooNewError: the database was migrated by a newer assay.
    """
    from assay.db import migrate

    global _engine, _sessionmaker
    resolved = url or default_url()
    parsed = parse_url(resolved)
    with _lock:
        if _engine is not None and _engine.url.render_as_string(hide_password=False) == parsed.render_as_string(
                hide_password=False):
            try:
                migrate.upgrade(_engine)
            except DBAPIError as exc:
                raise _unusable(_engine, exc) from exc
            return _engine.url.render_as_string(hide_password=True)
        engine = create_assay_engine(resolved)
        try:
            migrate.upgrade(engine)
        except DBAPIError as exc:
            engine.dispose()
            raise _unusable(engine, exc) from exc
        except BaseException:
            engine.dispose()
            raise
        if _engine is not None:
            _engine.dispose()
        _engine = engine
        _sessionmaker = sessionmaker(bind=engine, expire_on_commit=False)
    return engine.url.render_as_string(hide_password=True)


def get_engine() -> Engine:
    """The engine :func:`setup` made; calls ``setup()`` with the default URL if nobody did yet."""
    if _engine is None:
        setup()
    assert _engine is not None
    return _engine


def current_url() -> str | None:
    """The URL in use (password hidden), or ``None`` before :func:`setup`."""
    return None if _engine is None else _engine.url.render_as_string(hide_password=True)


def dispose() -> None:
    """Forget the engine (tests and forked worker processes call this)."""
    global _engine, _sessionmaker
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine = None
        _sessionmaker = None


@contextlib.contextmanager
def session_scope() -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on any error, so nothing is half-written."""
    get_engine()
    assert _sessionmaker is not None
    session = _sessionmaker()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
