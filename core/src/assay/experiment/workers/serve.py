"""A pooled worker process: imports the framework once, then runs queue after queue that its parent hands it.

Started by :mod:`assay.experiment.workers.pool` as ``python -m assay.experiment.workers.serve``. It reads one
JSON command per line on stdin (``queue_id``, ``url``, ``lease_seconds``, ``report``), runs the claim loop
(:func:`~assay.experiment.workers.loop.work`) on that queue until nothing is left, and writes the loop's
:class:`~assay.experiment.workers.loop.WorkerReport` to ``report`` (atomically: the parent waits for the file).
It exits when stdin closes (its parent is gone or stopped the pool), after ``--idle-seconds`` without a command,
and on SIGTERM or Ctrl-C, giving its running job back to the queue first.

The thread caps come in the environment, set before anything here imports numpy.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import sys
import threading
from pathlib import Path
from typing import Any

#: exit codes: stdin closed or idle too long; interrupted (the running job went back to its queue)
EXIT_OK, EXIT_INTERRUPTED = 0, 130


def _read_commands(commands: queue.Queue[str | None]) -> None:
    for line in sys.stdin:
        if line.strip():
            commands.put(line)
    commands.put(None)  # stdin closed: the parent is gone or stopped the pool


def _interrupt(signum: int, _frame: Any) -> None:
    # once only: giving the job back to the queue must not be interrupted in turn (SIGKILL still works, and loses
    # nothing: the lease brings the job back)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def preload(libraries: list[str]) -> None:
    """Import assay's job machinery, the plugins, and each library's framework, before the first queue comes."""
    from assay import plugins
    from assay.experiment import runner  # noqa: F401  (numpy, pandas, scikit-learn and the database layer)

    for library in libraries:
        plugins.backend(library).versions()  # imports the framework itself (torch, TensorFlow...)


def run_command(line: str) -> None:
    """Run one queue as the command says and write the report where it says."""
    from assay.db import retry
    from assay.db.engine import dispose
    from assay.experiment.workers.loop import work

    command = json.loads(line)
    retry.setup(command["url"], what="starting a local worker")
    try:
        report = work(int(command["queue_id"]), lease_seconds=command.get("lease_seconds"))
    finally:
        dispose()  # an idle worker holds no connection: its database can be dropped, its file moved
    target = Path(command["report"])
    partial = target.with_name(target.name + ".partial")
    partial.write_text(json.dumps(report.to_dict()))
    os.replace(partial, target)  # the parent sees the whole report or none


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assay.experiment.workers.serve", description=__doc__)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--preload", action="append", default=[])
    parser.add_argument("--idle-seconds", type=float, default=600.0)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        from assay.experiment.workers.threads import limit_threads

        limit_threads(args.threads)
        preload(args.preload)
        commands: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_read_commands, args=(commands,), name="assay-commands", daemon=True).start()
        while True:
            try:
                line = commands.get(timeout=args.idle_seconds)
            except queue.Empty:
                return EXIT_OK  # idle too long: give the memory back
            if line is None:
                return EXIT_OK
            run_command(line)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        # the loop is over and no job is held: a SIGTERM from the pool that stops us now (while the interpreter
        # runs torch's exit-time cleanup) just ends the process, instead of raising KeyboardInterrupt there
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


if __name__ == "__main__":
    sys.exit(main())
