"""Writing an ensemble's bundle: every member's own bundle (``predictor.export``) and the weights in one zip archive.

The format is described, and read back without a database, in :mod:`assay.inference.ensemble_bundle`.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from assay import __version__, errors
from assay.db.queries import ensembles as queries
from assay.inference import bundle as single
from assay.inference import export as single_export
from assay.inference.ensemble_bundle import FORMAT, FORMAT_VERSION, MANIFEST, MEMBERS


def export(ensemble: Any, members: dict[int, float], combos: dict[int, int], path: str | os.PathLike[str]) -> str:
    """Write an ensemble's bundle to ``path``; returns its absolute path.

    Args:
        ensemble: the ensemble's row (method, metric, split, queue).
        members: predictor id -> weight.
        combos: predictor id -> combination index.
        path: the file to write (replaced when it exists); its folder must exist.
    """
    target = Path(path).expanduser().resolve()
    if not target.parent.is_dir():
        raise errors.ValidationError("path", f"the folder {str(target.parent)!r} does not exist")
    entries, first = [], None
    with tempfile.TemporaryDirectory(prefix=".assay-ensemble-", dir=target.parent) as folder:
        for predictor_id, weight in members.items():
            name = f"{MEMBERS}/predictor{predictor_id}.assay"
            written = single_export.export(predictor_id, str(Path(folder) / f"predictor{predictor_id}.assay"))
            if first is None:
                first = single.read_manifest(written)  # its description only: loading may need trust
            entries.append({"file": name, "predictor_id": predictor_id, "combo_index": combos[predictor_id],
                            "weight": weight, "path": written})
        assert first is not None
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "assay_version": __version__,
            "library": first.library, "analysis_type": first.analysis_type,
            "classes": [_plain(value) for value in first.classes], "label_column": first.label_column,
            "ensemble": {"ensemble_id": ensemble.id, "queue_id": ensemble.queue_id, "method": ensemble.method,
                         "metric": ensemble.metric, "split": ensemble.split},
            "members": [{key: value for key, value in entry.items() if key != "path"} for entry in entries],
        }
        handle, temporary = tempfile.mkstemp(prefix=".assay-bundle-", dir=target.parent)
        os.close(handle)
        try:
            with zipfile.ZipFile(temporary, "w") as archive:
                archive.writestr(MANIFEST, json.dumps(manifest, indent=2), compress_type=zipfile.ZIP_DEFLATED)
                for entry in entries:  # member bundles are compressed already
                    archive.write(entry["path"], entry["file"], compress_type=zipfile.ZIP_STORED)
            os.chmod(temporary, 0o644 & ~_umask())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return str(target)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def member_rows_of(ensemble_id: int) -> tuple[dict[int, float], dict[int, int]]:
    """An ensemble's members from the database: predictor id -> weight, and -> combination index."""
    rows = queries.member_rows(ensemble_id)
    return {row.predictor_id: row.weight for row in rows}, {row.predictor_id: row.combo_index for row in rows}


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
