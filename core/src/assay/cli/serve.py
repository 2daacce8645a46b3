"""``assay serve BUNDLE``: answer predictions over HTTP (Starlette + uvicorn), no database needed.

See :mod:`assay.inference.serve.app` for the routes. With ``--workers N`` uvicorn runs N processes, each loading
the bundle; every other option reaches them through the environment.
"""

from __future__ import annotations

import argparse
import os

from assay import errors
from assay.cli import EXIT_OK, subcommand


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``assay serve``."""
    parser.add_argument("bundle", help="a bundle file written by predictor.export(path)")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1, this "
                        "machine only; 0.0.0.0 for every interface)")
    parser.add_argument("--port", type=int, default=8000, help="the port (default: 8000)")
    parser.add_argument("--workers", type=int, default=1, help="server processes, each with the model loaded "
                        "(default: 1)")
    parser.add_argument("--trust", action="store_true", help="load a bundle holding parts that run code (the "
                        "user's functions, pickled encoders); only for bundles whose author you trust")
    parser.add_argument("--max-body", type=int, default=None, metavar="BYTES",
                        help="the largest request body; a larger one answers 413 (default: 10 MB)")


@subcommand("serve", "answer predictions of an exported bundle over HTTP (POST /predict, GET /schema, /health, "
            "/metrics)", arguments=add_arguments)
def serve(args: argparse.Namespace) -> int:
    """Run ``assay serve`` until interrupted; returns the exit code."""
    import uvicorn

    from assay.inference.bundle import load_bundle
    from assay.inference.serve import app

    if args.workers < 1:
        raise errors.ValidationError("--workers", f"must be at least 1, got {args.workers}")
    if args.max_body is not None and args.max_body < 1:
        raise errors.ValidationError("--max-body", f"must be a positive number of bytes, got {args.max_body}")
    load_bundle(args.bundle, trust=args.trust).load()  # refuse an untrusted or broken bundle before listening
    os.environ[app.ENV_BUNDLE] = os.path.abspath(args.bundle)
    os.environ[app.ENV_TRUST] = "1" if args.trust else "0"
    os.environ[app.ENV_MAX_BODY] = str(args.max_body or app.MAX_BODY)
    uvicorn.run("assay.inference.serve.app:app_from_environment", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="warning", access_log=False)
    return EXIT_OK
