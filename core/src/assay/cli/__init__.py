"""The ``assay`` console command.

Usage::

    assay [--url URL] info [--json]       # version, database, schema revision, plugins, libraries
    assay [--url URL] db upgrade          # create the database if needed and migrate it to the newest schema

``--url`` may also follow the subcommand; without it the database is ``ASSAY_DATABASE_URL``, else the SQLite
file under the user data directory (``ASSAY_HOME`` overrides that folder). A subcommand that uses no database
(``assay predict``) registers with ``database=False`` and offers no ``--url``.

To add a subcommand, write one function taking the parsed arguments and decorate it with :func:`subcommand`;
a name of several words (``"db upgrade"``) nests it under a group named in :data:`GROUPS`. A subcommand that
lives in another module registers itself when that module is imported: list the module in
:data:`COMMAND_MODULES` (imported only when the parser is built, so ``import assay`` stays cheap).

This module is the only place where :mod:`assay.errors` exceptions become exit codes: a one-line message on
stderr, no traceback, and the code from :data:`EXIT_CODES`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from assay import __version__, errors

EXIT_OK = 0
EXIT_ERROR = 1  # any other AssayError
EXIT_USAGE = 2  # argparse's own code for a wrong command line
EXIT_DATABASE = 3
EXIT_PLUGIN = 4
EXIT_CONFIGURATION = 5
EXIT_INTERRUPTED = 130

#: most specific first: the first class an exception is an instance of gives the exit code
EXIT_CODES: tuple[tuple[type[errors.AssayError], int], ...] = (
    (errors.DatabaseError, EXIT_DATABASE),
    (errors.PluginError, EXIT_PLUGIN),
    (errors.ConfigurationError, EXIT_CONFIGURATION),
    (errors.AssayError, EXIT_ERROR),
)

#: help of each subcommand group (the first word of a several-word subcommand)
GROUPS: dict[str, str] = {"db": "manage the database"}

#: modules that register subcommands with :func:`subcommand` when imported
COMMAND_MODULES: list[str] = [
    "assay.cli.results",
    "assay.cli.worker",
    "assay.cli.predict",
    "assay.cli.dashboard",
    "assay.cli.export",
    "assay.cli.serve",
    "assay.cli.inspect_bundle",
]


@attrs.frozen
class Subcommand:
    """One registered subcommand: its words, help line, argument set-up and the function that runs it."""

    words: tuple[str, ...]
    help: str
    run: Callable[[argparse.Namespace], int | None]
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    #: whether it reads or writes a database (then it takes ``--url``)
    database: bool = True


SUBCOMMANDS: list[Subcommand] = []


def subcommand(name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None] | None = None,
               database: bool = True):
    """Register the decorated ``run(args) -> exit code | None`` as ``assay <name>``.

    Args:
        name: the words that call it, e.g. ``"info"`` or ``"db upgrade"``.
        help: one line for ``assay --help``.
        arguments: adds the subcommand's own options to its parser.
        database: whether the subcommand uses a database; only then does it take ``--url`` (``assay predict``
            reads a bundle file and offers no ``--url``).
    """

    def register(run: Callable[[argparse.Namespace], int | None]) -> Callable[[argparse.Namespace], int | None]:
        SUBCOMMANDS.append(Subcommand(tuple(name.split()), help, run, arguments, database))
        return run

    return register


# --------------------------------------------------------------------------------------------------------------
# info
# --------------------------------------------------------------------------------------------------------------


def _one_line(exc: BaseException) -> str:
    """An exception as one line; SQLAlchemy errors by their driver's message, without the SQL."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    return f"{type(original).__name__}: {text[0] if text else ''}".rstrip(": ")


def existing_database(url: str | None) -> str | None:
    """``url``, after refusing a SQLite file that does not exist yet.

    The commands that read results (queues, leaderboard, report, dashboard) or run a queue's jobs (worker) would
    otherwise create an empty database at a mistyped path and report that it holds nothing.

    Raises:
        assay.errors.DatabaseError: naming the missing file and how to make a database on purpose.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from assay.db import engine as db_engine

    try:
        parsed = make_url(url or db_engine.default_url())
    except ArgumentError:
        return url  # setup() raises the clear ConfigurationError
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:" and \
            not Path(database).expanduser().exists():
        raise errors.DatabaseError(
            f"no database at {database}: check --url (or ASSAY_DATABASE_URL); assay.setup() or `assay db upgrade` "
            "makes a new one")
    return url


def database_status(url: str | None) -> dict[str, Any]:
    """Where the database is and which schema revision it has, without creating or changing it."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from assay.db import engine as db_engine
    from assay.db import migrate

    resolved = url or db_engine.default_url()
    head = migrate.head_revision()
    status: dict[str, Any] = {"url": resolved, "revision": None, "head": head}
    try:
        parsed = make_url(resolved)
    except ArgumentError:
        parsed = None  # create_assay_engine below raises the clear ConfigurationError
    if parsed is not None:
        status["url"] = parsed.render_as_string(hide_password=True)
        database = parsed.database
        is_file = parsed.get_backend_name() == "sqlite" and database and database != ":memory:"
        if is_file and not Path(database).expanduser().exists():
            status["status"] = "not created yet: run `assay db upgrade` or call assay.setup()"
            return status
    engine = db_engine.create_assay_engine(resolved)
    try:
        revision = migrate.current_revision(engine)
    except SQLAlchemyError as exc:
        status["status"] = f"unreachable: {_one_line(exc)}"
        return status
    finally:
        engine.dispose()
    status["revision"] = revision
    if revision is None:
        status["status"] = "empty: run `assay db upgrade` or call assay.setup()"
    elif revision == head:
        status["status"] = "up to date"
    else:
        try:
            migrate.check_not_newer(revision, status["url"])
            status["status"] = "behind: run `assay db upgrade` or call assay.setup()"
        except errors.SchemaTooNewError:
            status["status"] = "newer than this assay: upgrade assay (pip install -U assay)"
    return status


def collect_info(url: str | None) -> dict[str, Any]:
    """Everything ``assay info`` shows, as JSON-safe data."""
    from assay import plugins

    plugin_rows = []
    for plugin in sorted(plugins.plugin_infos(), key=lambda info: info.name):
        state = "loaded" if plugin.loaded else ("blocked" if plugin.blocked else "failed")
        plugin_rows.append(
            {"name": plugin.name, "distribution": plugin.distribution, "version": plugin.version, "status": state,
             "error": plugin.error}
        )
    return {
        "version": __version__,
        "python": platform.python_version(),
        "database": database_status(url),
        "plugins": plugin_rows,
        "libraries": dict(sorted(plugins.libraries().items())),
        "analysis_types": {
            name: analysis.description for name, analysis in sorted(plugins.analysis_types().items())
        },
        "encoder_families": sorted(family.name for family in plugins.encoder_families()),
    }


def format_info(info: dict[str, Any]) -> str:
    """The human-readable ``assay info``."""
    database = info["database"]
    revision = database["revision"] or "none"
    lines = [
        f"assay {info['version']} (Python {info['python']})",
        f"database          {database['url']}",
        f"schema            revision {revision}, head {database['head']}: {database['status']}",
        "plugins" + ("" if info["plugins"] else "           none installed"),
    ]
    width = max((len(row["name"]) for row in info["plugins"]), default=0)
    for row in info["plugins"]:
        origin = f"{row['distribution'] or '?'} {row['version'] or '?'}"
        state = {"loaded": "loaded", "blocked": row["error"]}.get(row["status"], f"failed: {row['error']}")
        lines.append(f"  {row['name']:<{width}}  {origin:<32} {state}")
    libraries = ", ".join(f"{name} (plugin {plugin})" for name, plugin in info["libraries"].items())
    lines.append(f"libraries         {libraries or 'none: pip install assay-keras, assay-torch'}")
    lines.append(f"analysis types    {', '.join(info['analysis_types']) or 'none'}")
    lines.append(f"encoder families  {', '.join(info['encoder_families']) or 'none: pip install assay-sklearn'}")
    return "\n".join(lines)


def _info_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


@subcommand("info", "show version, database, schema revision, plugins, libraries and analysis types",
            arguments=_info_arguments)
def info(args: argparse.Namespace) -> int:
    report = collect_info(args.url)
    print(json.dumps(report, indent=2) if args.json else format_info(report))
    return EXIT_OK


# --------------------------------------------------------------------------------------------------------------
# db upgrade
# --------------------------------------------------------------------------------------------------------------


@subcommand("db upgrade", "create the database if needed and migrate it to the newest schema")
def db_upgrade(args: argparse.Namespace) -> int:
    from assay.db import engine as db_engine

    before = database_status(args.url)["revision"]
    try:
        url = db_engine.setup(args.url)
    finally:
        db_engine.dispose()
    head = database_status(args.url)["head"]
    if before == head:
        print(f"{url} is already at schema revision {head}")
    else:
        print(f"migrated {url} from schema revision {before or 'none (empty database)'} to {head}")
    return EXIT_OK


# --------------------------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    for module in COMMAND_MODULES:
        importlib.import_module(module)
    epilog = "exit codes: " + ", ".join(
        f"{code} {name}" for name, code in (("ok", EXIT_OK), ("error", EXIT_ERROR), ("usage", EXIT_USAGE),
                                            ("database", EXIT_DATABASE), ("plugin", EXIT_PLUGIN),
                                            ("configuration", EXIT_CONFIGURATION))
    )
    url_help = "database URL (default: $ASSAY_DATABASE_URL, else a SQLite file under the user data directory)"
    # every subcommand accepts --url too; SUPPRESS keeps a --url given before the subcommand
    url_option = argparse.ArgumentParser(add_help=False)
    url_option.add_argument("--url", default=argparse.SUPPRESS, help=url_help)

    parser = argparse.ArgumentParser(
        prog="assay", description="Object-oriented MLOps for Keras, PyTorch and scikit-learn.", epilog=epilog
    )
    parser.add_argument("--version", action="version", version=f"assay {__version__}")
    parser.add_argument("--url", default=None, help=url_help)
    groups = {(): parser.add_subparsers(dest="command", metavar="COMMAND", required=True)}

    def subparsers_for(words: tuple[str, ...]) -> Any:
        if words not in groups:
            group = subparsers_for(words[:-1]).add_parser(words[-1], help=GROUPS.get(" ".join(words), ""))
            groups[words] = group.add_subparsers(dest=f"{'_'.join(words)}_command", metavar="COMMAND",
                                                 required=True)
        return groups[words]

    for command in SUBCOMMANDS:
        sub = subparsers_for(command.words[:-1]).add_parser(
            command.words[-1], help=command.help, description=command.help,
            parents=[url_option] if command.database else [],
        )
        if command.add_arguments is not None:
            command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def exit_code_for(exc: errors.AssayError) -> int:
    """The exit code of an :class:`~assay.errors.AssayError` (see :data:`EXIT_CODES`)."""
    return next(code for kind, code in EXIT_CODES if isinstance(exc, kind))


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # a warning is for the person at the terminal: one line, not the source location
    print(f"assay: warning: {message}", file=sys.stderr)


def _is_database_error(exc: Exception) -> bool:
    """Whether ``exc`` is SQLAlchemy's; a command that never loaded SQLAlchemy (``assay predict``) cannot raise one,
    so it is not imported for the check."""
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    return sqlalchemy_exc is not None and isinstance(exc, sqlalchemy_exc.SQLAlchemyError)


def main(argv: list[str] | None = None) -> int:
    """Run ``assay``; returns the exit code (the console script exits with it)."""
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return args.run(args) or EXIT_OK
        except errors.AssayError as exc:
            print(f"assay: error: {' '.join(str(exc).split())}", file=sys.stderr)
            return exit_code_for(exc)
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            # e.g. a server that refuses the connection during `db upgrade`
            print(f"assay: error: database: {_one_line(exc)}", file=sys.stderr)
            return EXIT_DATABASE
        except KeyboardInterrupt:
            print("assay: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
