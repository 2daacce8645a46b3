"""``assay dashboard``: serve the web dashboard over a database (registered with the CLI when imported)."""

from __future__ import annotations

import argparse
import sys

from assay.cli import EXIT_OK, existing_database, subcommand


def dashboard_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default 8080; 0 picks a free one)")
    parser.add_argument("--allow-retry", action="store_true",
                        help="allow re-queueing failed jobs from the queue pages (otherwise read-only)")


@subcommand("dashboard", "serve a live web dashboard of the database's queues, models and splitsets",
            arguments=dashboard_arguments)
def dashboard(args: argparse.Namespace) -> int:
    """``assay dashboard``: serve until Ctrl+C."""
    from assay import dashboard as web

    def ready(address: str) -> None:
        mode = "failed jobs may be retried" if args.allow_retry else "read-only"
        print(f"assay dashboard on {address} ({mode}); Ctrl+C stops it", flush=True)

    web.serve(url=existing_database(getattr(args, "url", None)), host=args.host, port=args.port,
              allow_retry=args.allow_retry, ready=ready)
    print("assay dashboard stopped", file=sys.stderr)
    return EXIT_OK
