"""``assay inspect BUNDLE [--json]``: what a bundle holds, read from its manifest (nothing is loaded or run)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from assay.cli import EXIT_OK, subcommand


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``assay inspect``."""
    parser.add_argument("bundle", help="a bundle file written by predictor.export(path) or ensemble.export(path)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def describe(path: str) -> dict[str, Any]:
    """Everything ``assay inspect`` shows, as JSON-safe data. An ensemble's bundle (``ensemble.export``) shows
    what its members take (the first member's inputs: every member takes the same), its weights, and each
    member as a single model's bundle is shown; ``kind`` tells them apart (``"model"`` or ``"ensemble"``)."""
    from assay.inference import ensemble_bundle
    from assay.inference.bundle import read_manifest

    if ensemble_bundle.is_ensemble(path):
        return _describe_ensemble(path)
    return {"kind": "model", **_describe_model(read_manifest(path), path)}


def _describe_ensemble(path: str) -> dict[str, Any]:
    from assay.inference import ensemble_bundle

    manifest, members = ensemble_bundle.read_members(path)
    described = [(entry, _describe_model(bundle, entry["file"])) for entry, bundle in members]
    first = described[0][1]
    return {
        "kind": "ensemble", "path": str(Path(path)), "library": manifest["library"],
        "analysis_type": manifest["analysis_type"], "format_version": manifest.get("format_version"),
        "inputs": first["inputs"], "label_column": manifest["label_column"], "classes": manifest["classes"],
        "ensemble": manifest.get("ensemble", {}),
        "members": [{"predictor_id": entry["predictor_id"], "combo_index": entry.get("combo_index"),
                     "weight": float(entry["weight"]), **info} for entry, info in described],
        "versions": {"assay": manifest.get("assay_version"), **first["versions"]},
        "needs_trust": {f"{entry['file']}: {part}": reason for entry, info in described
                        for part, reason in info["needs_trust"].items()},
        "size_bytes": Path(path).stat().st_size,
    }


def _describe_model(bundle: Any, path: str) -> dict[str, Any]:
    """A single model's bundle (``path`` names it: the file, or the member's name in an ensemble's bundle)."""
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
        "encoders": [{"class": entry.class_name, "columns": entry.columns, "format": entry.format,
                      "portable_format": entry.portable_format} for entry in manifest.encoder_entries()],
        "metrics": manifest.metrics, "hyperparameters": bundle.hyperparameters, "versions": bundle.versions,
        "needs_trust": bundle.needs_trust, "size_bytes": bundle.path.stat().st_size if bundle.path.exists()
        else None, "source": manifest.source,
    }


def _size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def format_description(info: dict[str, Any]) -> str:
    """The human-readable ``assay inspect``."""
    if info.get("kind") == "ensemble":
        return _format_ensemble(info)
    model = info["model"]
    lines = [f"{info['path']}: a {info['library']} {info['analysis_type']} model ({_size(info['size_bytes'])}, "
             f"bundle format {info['format_version']}, made {info['created_at']})"]
    lines += _input_lines(info)
    lines.append(f"model            {model['file']} ({model['format']}, {_exported(model)})")
    for entry in info["encoders"]:
        portable = f", and {entry['portable_format']} read first" if entry.get("portable_format") else ""
        lines.append(f"encoder          {entry['class']} on {entry['columns']} ({entry['format']}{portable})")
    lines += _metric_lines(info["metrics"], "metrics {split:<8} ")
    lines += _version_and_trust_lines(info)
    return "\n".join(lines)


def _format_ensemble(info: dict[str, Any]) -> str:
    how = info["ensemble"]
    lines = [f"{info['path']}: a {info['library']} {info['analysis_type']} ensemble of {len(info['members'])} models "
             f"({_size(info['size_bytes'])}, ensemble format {info['format_version']}; {how.get('method')} on "
             f"{how.get('metric')} of the {how.get('split')} split)"]
    lines += _input_lines(info)
    for member in info["members"]:
        model = member["model"]
        lines.append(f"member           predictor {member['predictor_id']}, weight {member['weight']:.4g}: "
                     f"{model['file']} ({model['format']}, {_exported(model)})")
        lines += _metric_lines(member["metrics"], "  metrics {split:<6} ")
    lines += _version_and_trust_lines(info)
    return "\n".join(lines)


def _exported(model: dict[str, Any]) -> str:
    return "exported" if model["exported"] else f"not exported ({model['why_not_exported']})"


def _input_lines(info: dict[str, Any]) -> list[str]:
    lines = []
    for one in info["inputs"]:
        if "columns" in one:
            columns = ", ".join(f"{name} ({dtype})" for name, dtype in one["columns"].items())
            lines.append(f"input {one['name']:<10} {one['kind']}: {columns}")
        else:
            lines.append(f"input {one['name']:<10} {one['kind']}: samples of shape {tuple(one['sample_shape'])}")
    if info["label_column"] is not None:
        lines.append(f"label            {info['label_column']}" + (f", classes {info['classes']}" if info['classes']
                                                                    else ""))
    return lines


def _metric_lines(metrics: dict[str, dict[str, Any]], prefix: str) -> list[str]:
    lines = []
    for split, values in sorted(metrics.items()):
        shown = ", ".join(f"{name} {value:.4g}" if isinstance(value, (int, float)) else f"{name} {value}"
                          for name, value in sorted(values.items()))
        lines.append(prefix.format(split=split) + shown)
    return lines


def _version_and_trust_lines(info: dict[str, Any]) -> list[str]:
    lines = ["versions         " + ", ".join(f"{name} {version}" for name, version in sorted(info["versions"].items()))]
    if info["needs_trust"]:
        lines.append("needs trust      yes: load with trust=True / --trust only if you trust its author")
        lines += [f"  {member}: {reason}" for member, reason in sorted(info["needs_trust"].items())]
    else:
        lines.append("needs trust      no: loads without running anyone's code")
    return lines


@subcommand("inspect", "describe an exported bundle: inputs, classes, metrics, versions, what needs trust",
            arguments=add_arguments, database=False)
def inspect_bundle(args: argparse.Namespace) -> int:
    """Run ``assay inspect``; returns the exit code."""
    info = describe(args.bundle)
    print(json.dumps(info, indent=2, default=str) if args.json else format_description(info))
    return EXIT_OK
