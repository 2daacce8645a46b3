"""``assay export-mlflow``: a queue written to MLflow as a parent run and a nested run per trained model.

Importing this module registers it with :func:`assay.cli.subcommand` (``assay.cli`` imports it when it builds its
parser). Needs ``pip install 'assay[mlflow]'``; without mlflow it exits with the configuration code and says so.

Usage::

    assay export-mlflow QUEUE_ID [--tracking-uri URI] [--experiment NAME] [--no-artifacts] [--no-models]
"""

from __future__ import annotations

import argparse

from assay.cli import EXIT_OK, existing_database, subcommand


def export_mlflow_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("queue_id", type=int, metavar="QUEUE_ID", help="the queue to export")
    parser.add_argument("--tracking-uri", default=None, metavar="URI",
                        help="MLflow tracking URI, e.g. sqlite:///mlflow.db or http://host:5000 (default: "
                             "$MLFLOW_TRACKING_URI, else MLflow's default)")
    parser.add_argument("--experiment", default=None, metavar="NAME",
                        help="MLflow experiment, made if missing (default: $MLFLOW_EXPERIMENT_NAME, else 'assay')")
    parser.add_argument("--no-artifacts", action="store_true", help="skip each model's plots and bundle")
    parser.add_argument("--no-models", action="store_true", help="skip logging each model with its MLflow flavour")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


@subcommand("export-mlflow", "export a queue to MLflow: a parent run and a nested run per trained model",
            arguments=export_mlflow_arguments)
def export_mlflow(args: argparse.Namespace) -> int:
    """``assay export-mlflow QUEUE_ID``: write (or complete) the queue's runs in MLflow."""
    import assay
    from assay.inference.mlflow_export import require_mlflow
    from assay.objects.experiment import Queue

    require_mlflow()  # before the database is opened: the missing package is the first thing to fix
    assay.setup(existing_database(getattr(args, "url", None)))
    summary = Queue.get(args.queue_id).to_mlflow(
        tracking_uri=args.tracking_uri, experiment_name=args.experiment, artifacts=not args.no_artifacts,
        models=not args.no_models, progress=not args.no_progress)
    print(summary)
    return EXIT_OK
