"""Transient database faults: retried with backoff inside a bounded total wait; a full disk named as such.

A database server restarts, fails over or drops connections now and then. The claim loop every worker runs
(``queue.run_jobs()``, ``run_jobs(workers=N)``, Dask, ``assay worker``) calls the database through
:func:`call`, which retries what a restart looks like (connection refused, "the database system is shutting
down" or "starting up", a connection terminated by the administrator, "server closed the connection
unexpectedly", SQLite's "database is locked") with exponential backoff, for at most
``ASSAY_DB_RETRY_SECONDS`` seconds in all (default :data:`DEFAULT_RETRY_SECONDS`). Past that budget it raises
:class:`assay.errors.DatabaseUnavailableError` naming the database URL (password hidden), which ``assay worker``
turns into one line and exit code 3.

A statement that fails for any other reason (a constraint, a bug) is not retried. A full disk is not transient
either: :func:`disk_full` recognises it (SQLite's "database or disk is full", PostgreSQL's SQLSTATE 53100,
``OSError`` ``ENOSPC``) so the caller can stop with :class:`assay.errors.DiskFullError` instead of a traceback.

Every function handed to :func:`call` must be safe to run again: either it is one transaction (rolled back when
the connection broke) or its retry checks what an earlier, committed try already did (see
:func:`assay.db.queries.claims.store_and_claim_next`'s ``retried``).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from assay import errors

RETRY_ENV = "ASSAY_DB_RETRY_SECONDS"
#: how long workers keep retrying a database that does not answer, in seconds (``ASSAY_DB_RETRY_SECONDS``)
DEFAULT_RETRY_SECONDS = 120.0
#: the first wait after a failure; each next wait doubles, up to :data:`MAX_DELAY_SECONDS`
FIRST_DELAY_SECONDS = 0.1
MAX_DELAY_SECONDS = 2.0

logger = logging.getLogger("assay.db")

T = TypeVar("T")

#: PostgreSQL SQLSTATEs of a server that is restarting or dropped the connection (class 08: connection
#: exception; 57P01-57P03: admin/crash shutdown, cannot connect now) and of a transaction that may simply be
#: tried again (40001 serialization failure, 40P01 deadlock)
_TRANSIENT_SQLSTATES = ("08", "57P01", "57P02", "57P03", "40001", "40P01")
#: the same faults as drivers word them (psycopg raises some connection failures without a SQLSTATE)
_TRANSIENT_TEXT = (
    "connection refused", "could not connect", "connection failed", "the database system is shutting down",
    "the database system is starting up", "the database system is in recovery mode",
    "terminating connection due to administrator command", "server closed the connection unexpectedly",
    "connection is closed", "connection already closed", "consuming input failed", "connection reset",
    "broken pipe", "connection timed out", "timeout expired", "no connection to the server",
    "ssl syscall error", "database is locked", "connection to server", "server conn crashed",
)
#: connection failures no wait cures (a wrong password, user or database name): reported at once
_PERMANENT_TEXT = ("password authentication failed", "authentication failed", "no pg_hba.conf entry",
                   "does not exist", "role ", "permission denied", "unable to open database file",
                   "file is not a database")
_DISK_FULL_TEXT = ("database or disk is full", "no space left on device", "could not extend file",
                   "disk full")


def budget_seconds() -> float:
    """The total wait for a database that does not answer: ``ASSAY_DB_RETRY_SECONDS``, else 120 s.

    Raises:
        assay.errors.ConfigurationError: the variable is not a number >= 0.
    """
    raw = os.environ.get(RETRY_ENV)
    if raw is None or raw.strip() == "":
        return DEFAULT_RETRY_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise errors.ConfigurationError(
            f"{RETRY_ENV}={raw!r} must be a number of seconds >= 0 (how long workers retry a database that does "
            f"not answer; default {DEFAULT_RETRY_SECONDS:g})"
        )
    return value


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes (an :class:`assay.errors.DatabaseError` wraps the driver's error)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        current = current.__cause__ or getattr(current, "orig", None)
    return seen


def _sqlstate(exc: BaseException) -> str:
    return str(getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None) or "")


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the disk holding the database, or a file being written, is full."""
    for item in _chain(exc):
        if isinstance(item, OSError) and item.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if _sqlstate(item) == "53100":
            return True
        if _driver_says(item, _DISK_FULL_TEXT):
            return True
    return False


def _driver_says(item: BaseException, markers: tuple[str, ...]) -> bool:
    """Whether ``item`` is a database driver's error whose message holds one of ``markers`` (lower case)."""
    if isinstance(item, DBAPIError | errors.DatabaseError) or type(item).__module__.startswith(("sqlite3", "psycopg")):
        text = str(item).lower()
        return any(marker in text for marker in markers)
    return False


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a database fault that trying again later can cure (a restart, a dropped connection,
    a busy SQLite file); a full disk, a constraint or a bug is not."""
    if isinstance(exc, errors.DatabaseUnavailableError) or disk_full(exc):
        return False  # the budget is spent, or no retry can make room
    chain = _chain(exc)
    if any(_sqlstate(item).startswith(("28", "3D")) or any(marker in str(item).lower() for marker in _PERMANENT_TEXT)
           for item in chain):
        return False  # refused for good: waiting would only delay the error
    for item in chain:
        if isinstance(item, DBAPIError) and item.connection_invalidated:
            return True
        state = _sqlstate(item)
        if state and state.startswith(_TRANSIENT_SQLSTATES):
            return True
        if _driver_says(item, _TRANSIENT_TEXT):
            return True
    return False


def reason(exc: BaseException) -> str:
    """The driver's message of a database error, on one line, without SQLAlchemy's SQL and background link."""
    original = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    text = " ".join(lines[:2]) if lines else type(original).__name__
    return text.split("(Background on this error")[0].strip()


def _url(url: str | None) -> str:
    if url is not None:
        return url
    from assay.db.engine import current_url, default_url, parse_url

    found = current_url()
    if found is not None:
        return found
    try:
        return parse_url(default_url()).render_as_string(hide_password=True)
    except errors.AssayError:
        return "the configured database"


def unavailable(exc: BaseException, waited: float, what: str,
                url: str | None = None) -> errors.DatabaseUnavailableError:
    """The error for a database that did not answer within the budget (URL without its password)."""
    budget = budget_seconds()
    return errors.DatabaseUnavailableError(
        f"cannot reach the database at {_url(url)} while {what}: {reason(exc)}; retried for {waited:.0f} s "
        f"({RETRY_ENV}={budget:g}); check that the server runs and the URL is right, then start the run again: "
        "finished jobs are kept, the rest run"
    )


def disk_full_error(exc: BaseException, what: str, url: str | None = None) -> errors.DiskFullError:
    """The error for a full disk: where (the file being written, or the database), and what to do."""
    where = next((item.filename for item in _chain(exc) if isinstance(item, OSError) and item.filename), None)
    place = f"the file {where!r}" if where else f"the database at {_url(url)}"
    return errors.DiskFullError(
        f"the disk is full: writing {place} failed while {what} ({reason(exc)}); nothing of that job was written "
        "and it went back to the queue. Free space on that disk (or point ASSAY_DATABASE_URL at a larger one), "
        "then run the queue again (queue.run_jobs() or assay worker): finished jobs are kept, the rest run"
    )


def call(fn: Callable[..., T], *args, what: str, url: str | None = None,
         on_retry: Callable[[], None] | None = None, **kwargs) -> T:
    """``fn(*args, **kwargs)``, tried again with backoff while it fails with a transient database fault.

    Args:
        fn: safe to call again after a transient failure (one transaction, or checks what an earlier try did).
        what: what is being done, for the error (``"claiming a job of queue 3"``).
        url: the database's URL for the error, password hidden (default: the one in use).
        on_retry: called before each retry (e.g. to switch ``fn`` to its checking mode).

    Raises:
        assay.errors.DatabaseUnavailableError: the fault lasted longer than :func:`budget_seconds`.
        Anything else ``fn`` raises, unchanged.
    """
    budget = budget_seconds()
    started = time.monotonic()
    delay = FIRST_DELAY_SECONDS
    failures = 0
    while True:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if not is_transient(exc):
                raise
            waited = time.monotonic() - started
            if waited >= budget:
                raise unavailable(exc, waited, what, url) from exc
            failures += 1
            if failures == 1:
                logger.warning("database fault while %s: %s; retrying for up to %g s", what, reason(exc), budget)
            _dispose_pool()
            time.sleep(min(delay * (0.5 + random.random()), max(0.0, budget - waited)))
            delay = min(delay * 2, MAX_DELAY_SECONDS)
            if on_retry is not None:
                on_retry()


def setup(url: str | None, what: str = "connecting") -> str:
    """:func:`assay.db.engine.setup` for a worker: a database that is restarting is waited for, within the
    budget, and one that stays away raises :class:`assay.errors.DatabaseUnavailableError` naming its URL."""
    from assay.db import engine

    hidden: str | None = None
    with contextlib.suppress(errors.AssayError):  # setup() raises the clear ConfigurationError
        hidden = engine.parse_url(url or engine.default_url()).render_as_string(hide_password=True)
    return call(engine.setup, url, what=what, url=hidden)


def _dispose_pool() -> None:
    # connections to a server that restarted are dead: start the next try with fresh ones
    from assay.db import engine

    current = engine._engine
    if current is not None and current.dialect.name != "sqlite":
        try:
            current.dispose(close=False)
        except Exception:  # a pool that cannot be reset is replaced by pre-ping on the next checkout anyway
            logger.debug("could not reset the connection pool", exc_info=True)
