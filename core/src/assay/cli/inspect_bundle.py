"""``assay inspect BUNDLE [--json]``: what a bundle holds, read from its manifest (nothing is loaded or run)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from assay.cli import EXIT_OK, subcommand


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``assay inspect``."""
    parser.add_argument("bundle", help="a bundle file written by predictor.export(path)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def describe(path: str) -> dict[str, Any]:
    """Everything ``assay inspect`` shows, as JSON-safe data."""
    from assay.inference.bundle import read_manifest

    bundle = read_manifest(path)
    manifest = bundle.manifest
    if manifest.inputs is not None:
        inputs = [{"name": one.name, "kind": one.kind,
                   **({"columns": one.schema.feature_dtypes} if one.schema else {}),
                   **({"sample_shape": one.arrays.sample_shape, "dtype": one.arrays.dtype} if one.arrays else {})}
                  for one in manifest.inputs]
    elif manifest.arrays is not None:
        inputs = [{"name": manifest.arrays.kind, "kind": manifest.arrays.kind,
                   "sample_shape": manifest.arrays.sample_shape, "dtype": manifest.arrays.dtype,
                   "layout": manifest.arrays.layout}]
    else:
        inputs = [{"name": "rows", "kind": "tabular", "columns": bundle.feature_dtypes}]
    export = manifest.export
    return {
        "path": str(Path(path)), "library": bundle.library, "analysis_type": bundle.analysis_type,
        "format_version": manifest.format_version, "created_at": manifest.created_at,
        "inputs": inputs, "label_column": bundle.label_column, "classes": bundle.classes,
        "model": {"file": manifest.model_file, "format": manifest.model_format,
                  "exported": bool(export and export.exported),
                  "why_not_exported": None if export is None or export.exported else export.reason,
                  "max_difference": None if export is None else export.max_difference},
        "encoders": [{"class": entry.class_name, "columns": entry.columns, "format": entry.format}
                     for entry in manifest.encoder_entries()],
        "metrics": manifest.metrics, "hyperparameters": bundle.hyperparameters, "versions": bundle.versions,
        "needs_trust": bundle.needs_trust, "size_bytes": Path(path).stat().st_size,
        "source": manifest.source,
    }


def _size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def format_description(info: dict[str, Any]) -> str:
    """The human-readable ``assay inspect``."""
    model = info["model"]
    lines = [f"{info['path']}: a {info['library']} {info['analysis_type']} model ({_size(info['size_bytes'])}, "
             f"bundle format {info['format_version']}, made {info['created_at']})"]
    for one in info["inputs"]:
        if "columns" in one:
            columns = ", ".join(f"{name} ({dtype})" for name, dtype in one["columns"].items())
            lines.append(f"input {one['name']:<10} {one['kind']}: {columns}")
        else:
            lines.append(f"input {one['name']:<10} {one['kind']}: samples of shape {tuple(one['sample_shape'])}")
    if info["label_column"] is not None:
        lines.append(f"label            {info['label_column']}" + (f", classes {info['classes']}" if info['classes']
                                                                    else ""))
    exported = ("exported" if model["exported"] else f"not exported ({model['why_not_exported']})")
    lines.append(f"model            {model['file']} ({model['format']}, {exported})")
    for entry in info["encoders"]:
        lines.append(f"encoder          {entry['class']} on {entry['columns']} ({entry['format']})")
    for split, values in sorted(info["metrics"].items()):
        shown = ", ".join(f"{name} {value:.4g}" if isinstance(value, (int, float)) else f"{name} {value}"
                          for name, value in sorted(values.items()))
        lines.append(f"metrics {split:<8} {shown}")
    lines.append("versions         " + ", ".join(f"{name} {version}" for name, version in
                                                sorted(info["versions"].items())))
    if info["needs_trust"]:
        lines.append("needs trust      yes: load with trust=True / --trust only if you trust its author")
        lines += [f"  {member}: {reason}" for member, reason in sorted(info["needs_trust"].items())]
    else:
        lines.append("needs trust      no: loads without running anyone's code")
    return "\n".join(lines)


@subcommand("inspect", "describe an exported bundle: inputs, classes, metrics, versions, what needs trust",
            arguments=add_arguments)
def inspect_bundle(args: argparse.Namespace) -> int:
    """Run ``assay inspect``; returns the exit code."""
    info = describe(args.bundle)
    print(json.dumps(info, indent=2, default=str) if args.json else format_description(info))
    return EXIT_OK
