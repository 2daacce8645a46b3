"""``assay predict BUNDLE INPUT -o OUTPUT``: predict a file of raw rows with an exported bundle, no database.

A model of sequences or images takes a ``.npy`` file of sequences or a folder of images. A multi-input model takes
one INPUT per input, in input order: a table file, a ``.npy`` file of sequences or a folder of images (``assay
predict galaxy.assay galaxies.csv photos/``).

Importing this module registers the subcommand with :func:`assay.cli.subcommand`; ``assay.cli`` imports it when
it builds its parser. Errors are raised as :mod:`assay.errors` exceptions; ``assay.cli.main`` turns them into
a one-line message and an exit code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from assay import errors
from assay.cli import EXIT_OK, subcommand

#: output suffix -> how the predictions are written
WRITERS = {
    ".csv": lambda frame, path: frame.to_csv(path, index=False),
    ".tsv": lambda frame, path: frame.to_csv(path, sep="\t", index=False),
    ".parquet": lambda frame, path: frame.to_parquet(path, index=False),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``assay predict``."""
    parser.add_argument("bundle", help="a bundle file written by predictor.export(path) or ensemble.export(path)")
    parser.add_argument("input", nargs="+",
                        help="raw rows to predict: a .csv, .tsv or .parquet file with the original columns (a .npy "
                             "file of sequences or a folder of images for a model of those); for a multi-input "
                             "model one per input, in order (tables, .npy sequences, image folders)")
    parser.add_argument("-o", "--output", default=None,
                        help="where to write the predictions (.csv, .tsv or .parquet; default: CSV on stdout)")
    parser.add_argument("--trust", action="store_true",
                        help="load a bundle holding parts that run code (the user's functions, pickled encoders); "
                             "only for bundles whose author you trust")
    parser.add_argument("--keep-columns", action="store_true",
                        help="write the input columns before the prediction columns")


def write_predictions(frame: pd.DataFrame, output: str | None) -> None:
    """Write ``frame`` to ``output`` (format by suffix), or as CSV to stdout when ``output`` is None or ``-``.
    A conformal ``prediction_set`` (a list per row) is written as JSON text in CSV and TSV."""
    if "prediction_set" in frame.columns and (output in (None, "-") or Path(output).suffix.lower() in (".csv",
                                                                                                       ".tsv")):
        import json

        frame = frame.assign(prediction_set=frame["prediction_set"].map(lambda chosen: json.dumps(chosen,
                                                                                                 default=str)))
    if output in (None, "-"):
        frame.to_csv(sys.stdout, index=False)
        return
    path = Path(output)
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise errors.ValidationError("--output", f"{output!r} has suffix {path.suffix!r}; use one of {list(WRITERS)}")
    if not path.parent.is_dir():
        raise errors.ValidationError("--output", f"the folder {str(path.parent)!r} does not exist")
    writer(frame, path)


@subcommand("predict", "predict a file of raw rows with an exported bundle (no database needed)",
            arguments=add_arguments, database=False)
def predict(args: argparse.Namespace) -> int:
    """Run ``assay predict``; returns the exit code."""
    from assay.data import ingest
    from assay.inference.ensemble_bundle import load_bundle

    bundle = load_bundle(args.bundle, trust=args.trust)
    inputs = bundle.manifest.inputs
    expected = 1 if inputs is None else len(inputs)
    if len(args.input) != expected:
        names = "" if inputs is None else f" ({', '.join(one.name for one in inputs)}, in that order)"
        raise errors.ValidationError("input", f"the model takes {expected} input(s){names}, got {len(args.input)} "
                                     f"path(s): give one file or folder per input")
    if inputs is None and bundle.manifest.arrays is not None:  # a .npy file of sequences, or images
        frame = bundle.predict(args.input[0])
        kept = []  # samples have no columns to keep
    elif inputs is None:
        df, _ = ingest.read_tabular(args.input[0])
        frame = bundle.predict(df)
        kept = [df]
    else:
        tables = {index: ingest.read_tabular(path)[0] for index, (one, path) in enumerate(zip(inputs, args.input,
                                                                                            strict=True))
                  if one.kind == "tabular"}
        frame = bundle.predict([tables.get(index, path) for index, path in enumerate(args.input)])
        kept = [table.add_prefix(f"{inputs[index].name}: ") for index, table in tables.items()]
    metrics = frame.attrs.get("metrics") or {}
    if args.keep_columns:
        frame = pd.concat([*kept, frame.reset_index(drop=True)], axis=1)
    write_predictions(frame, args.output)
    summary = f"{len(frame)} predictions by a {bundle.library} {bundle.analysis_type} model"
    if args.output not in (None, "-"):
        summary += f" written to {args.output}"
    if metrics:
        summary += "; " + ", ".join(f"{name} {value:.4g}" for name, value in sorted(metrics.items()))
    print(summary, file=sys.stderr)
    return EXIT_OK
