"""``assay worker``: run jobs of a queue on any machine that reaches the database.

Start as many as you like, on as many machines as you like; they share the queue through the database::

    assay worker --queue 3 --url postgresql+psycopg://user@dbhost/assay
    assay worker --queue 3 --threads 4 --report worker.json

A worker claims one job at a time and exits when the queue has nothing left (``--no-wait``: as soon as it
cannot claim a job). Ctrl-C or SIGTERM gives its running job back to the queue before it exits; a worker that is
killed outright loses nothing either: its job is taken again when its lease expires.

Importing this module registers ``worker`` with :func:`assay.cli.subcommand` (list it in
``assay.cli.COMMAND_MODULES``); :func:`register` adds the same command to any other ``argparse`` sub-parser set.
:func:`run_worker` runs it and returns the exit code; errors are raised as :mod:`assay.errors` exceptions for
``assay.cli.main`` to turn into one line and an exit code. ``python -m assay.cli.worker`` runs the same
command through :func:`worker_main` (``queue.run_jobs(workers=N)`` starts long-lived workers of its own instead:
:mod:`assay.experiment.workers.pool`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assay import errors
from assay.cli import (
    EXIT_DATABASE,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    _one_line,
    existing_database,
    exit_code_for,
    subcommand,
)

WORKER_HELP = "run jobs of a queue in this process until none is left (start several, on any machine)"
WORKER_DESCRIPTION = (
    "Claim and run jobs of a queue until none is left. Start as many workers as you like, on any machine that "
    "reaches the database (use PostgreSQL across machines); each claims jobs atomically, and a job whose worker "
    "dies is taken again after its lease expires."
)
URL_HELP = "database URL (default: $ASSAY_DATABASE_URL, else a SQLite file under the user data directory)"

#: a job showed that every job would fail the same way (e.g. a missing hyperparameter)
EXIT_STOPPED = EXIT_ERROR


def worker_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``assay worker``'s own options (``--url`` comes from the main parser)."""
    parser.add_argument("--queue", type=int, required=True, metavar="ID", help="id of the queue to work on")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="threads for BLAS, OpenMP and TensorFlow (default: the libraries' own choice)")
    parser.add_argument("--lease-seconds", type=float, default=None, metavar="S",
                        help="lease of a claimed job, renewed while it runs (default: $ASSAY_LEASE_SECONDS, else 60)")
    parser.add_argument("--no-wait", action="store_true",
                        help="exit as soon as no job can be claimed, instead of waiting while other workers run "
                             "jobs that may come back if their worker dies")
    parser.add_argument("--report", metavar="PATH", default=None,
                        help="write a JSON report of what this worker did (jobs, storage time) to PATH")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``worker`` to an ``argparse`` sub-parser set; the parsed arguments' ``run`` is :func:`run_worker`."""
    parser = subparsers.add_parser("worker", help=WORKER_HELP, description=WORKER_DESCRIPTION)
    # SUPPRESS keeps a --url given before the subcommand, as the main `assay` parser does
    parser.add_argument("--url", default=argparse.SUPPRESS, help=URL_HELP)
    worker_arguments(parser)
    parser.set_defaults(run=run_worker)
    return parser


def _check_arguments(args: argparse.Namespace) -> None:
    if args.queue < 1:
        raise errors.ValidationError("--queue", f"must be a queue id (>= 1), got {args.queue}")
    if args.threads is not None and args.threads < 1:
        raise errors.ValidationError("--threads", f"must be >= 1, got {args.threads}")
    if args.lease_seconds is not None and args.lease_seconds <= 0:
        raise errors.ValidationError("--lease-seconds", f"must be > 0, got {args.lease_seconds}")


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into one KeyboardInterrupt while the block runs; the old handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may handle signals; a worker in a thread is stopped by its caller
        return
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum in previous:
        signal.signal(signum, _stop_once)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop_once(signum: int, _frame: Any) -> None:
    # The first Ctrl-C or SIGTERM interrupts the job; later ones are ignored so that giving the job back to the
    # queue is not interrupted in turn. SIGKILL still works and loses nothing (the lease brings the job back).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt(f"stopped by signal {signum}")


@subcommand("worker", WORKER_HELP, arguments=worker_arguments)
def run_worker(args: argparse.Namespace) -> int:
    """Run ``assay worker``; returns the exit code. Raises :mod:`assay.errors` exceptions for the CLI to report."""
    _check_arguments(args)
    from assay.experiment import workers

    if args.threads is not None:
        workers.limit_threads(args.threads)  # before anything imports numpy, torch or TensorFlow
    from assay.db import retry
    from assay.db.models import QueueRow
    from assay.db.queries import data as queries

    # a database that is restarting is waited for (ASSAY_DB_RETRY_SECONDS); one that stays away is one line
    retry.setup(existing_database(getattr(args, "url", None)), what="starting the worker")
    # a clear error for an unknown id, before any work
    queue = retry.call(queries.row, QueueRow, args.queue, "Queue", what=f"reading queue {args.queue}")
    with _stop_on_signals():
        report = workers.work(queue.id, lease_seconds=args.lease_seconds, wait=not args.no_wait)
    if args.report:
        Path(args.report).write_text(json.dumps(report.to_dict()))
    if not args.quiet:
        print(f"assay worker {report.worker}: queue {queue.id}: {report.succeeded} succeeded, {report.failed} failed"
              + (f", {report.pruned} pruned" if report.pruned else "")
              + (f", {report.lost} taken over by other workers" if report.lost else ""), file=sys.stderr)
    if report.stopped_by:
        print(f"assay: error: {report.stopped_by['parameter']}: {report.stopped_by['message']}", file=sys.stderr)
        return EXIT_STOPPED
    return EXIT_OK


def worker_main(argv: list[str] | None = None) -> int:
    """``python -m assay.cli.worker``: the worker command on its own, with the CLI's exit codes."""
    parser = argparse.ArgumentParser(prog="assay worker", description=WORKER_DESCRIPTION)
    parser.add_argument("--url", default=None, help=URL_HELP)
    worker_arguments(parser)
    args = parser.parse_args(argv)
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return run_worker(args)
    except errors.AssayError as exc:
        print(f"assay: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return exit_code_for(exc)
    except SQLAlchemyError as exc:  # a database fault that is not retried (e.g. a damaged file)
        print(f"assay: error: database: {_one_line(exc)}", file=sys.stderr)
        return EXIT_DATABASE
    except KeyboardInterrupt:
        print("assay worker: interrupted; its job went back to the queue", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(worker_main())
