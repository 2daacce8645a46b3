"""An ensemble's bundle: one file holding every member model's own bundle and the weights, no database needed.

``ensemble.export(path)`` writes a zip archive:

=================================  ==========================================================================
member                             content
=================================  ==========================================================================
``ensemble.json``                  format, library, analysis type, classes, label column, how the ensemble
                                   was selected, and each member: its bundle file, predictor, combination and
                                   weight (weights sum to 1)
``members/predictor<id>.assay``    each member model's bundle, written by ``predictor.export``
=================================  ==========================================================================

A member's bundle is exactly what ``predictor.export`` writes and is loaded by :func:`assay.load_bundle`, so what a
single-model bundle holds and trusts (see :mod:`assay.inference.bundle`), an ensemble's members hold and trust
too. :func:`load_bundle` reads either kind: ``assay.load_bundle`` and ``assay predict`` take both.
"""

from __future__ import annotations

import json
import os
import tempfile
import weakref
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from assay import __version__, errors
from assay.inference import bundle as single
from assay.inference import export as single_export
from assay.inference.ensemble import Described, MemberPredict, predict_with

MANIFEST = "ensemble.json"
FORMAT = "assay-ensemble"
FORMAT_VERSION = 1
MEMBERS = "members"


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


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


class EnsembleBundle:
    """An exported ensemble, read from its file: predict raw data with :meth:`predict`, as with a single model's
    :class:`~assay.inference.bundle.Bundle`.

    Attributes:
        path: the bundle file.
        library, analysis_type, classes, label_column: as the members' (they share them).
        weights: member predictor id -> weight.
        members: ``[(weight, Bundle)]``, the member bundles (loaded when first needed).
        manifest: the first member's manifest (every member takes the same inputs: ``manifest.inputs``,
            ``manifest.arrays`` and ``manifest.schema`` describe the data the ensemble takes).
        ensemble_manifest: the whole ``ensemble.json``.
    """

    def __init__(self, path: Path, ensemble_manifest: dict[str, Any], member_bytes: dict[str, bytes],
                 trust: bool = False):
        self.path = path
        self.ensemble_manifest = ensemble_manifest
        # member bundles are read from files of their own, kept while this object lives
        self._folder = tempfile.TemporaryDirectory(prefix="assay-ensemble-")
        weakref.finalize(self, self._folder.cleanup)
        self.members: list[tuple[float, single.Bundle]] = []
        for entry in ensemble_manifest["members"]:
            file = Path(self._folder.name) / Path(entry["file"]).name
            file.write_bytes(member_bytes[entry["file"]])
            self.members.append((float(entry["weight"]), single.load_bundle(file, trust=trust)))

    @property
    def library(self) -> str:
        return self.ensemble_manifest["library"]

    @property
    def analysis_type(self) -> str:
        return self.ensemble_manifest["analysis_type"]

    @property
    def classes(self) -> list[Any]:
        return list(self.ensemble_manifest["classes"])

    @property
    def label_column(self) -> str | None:
        return self.ensemble_manifest["label_column"]

    @property
    def weights(self) -> dict[int, float]:
        return {entry["predictor_id"]: float(entry["weight"]) for entry in self.ensemble_manifest["members"]}

    @property
    def manifest(self) -> Any:
        return self.members[0][1].manifest

    @property
    def schema(self) -> Any:
        return self.members[0][1].schema

    @property
    def feature_columns(self) -> list[str]:
        return self.members[0][1].feature_columns

    def __repr__(self) -> str:
        return (f"<EnsembleBundle {self.library} {self.analysis_type} from {str(self.path)!r}: "
                f"{len(self.members)} member models>")

    def load(self) -> EnsembleBundle:
        """Load every member's model, encoders and functions now (otherwise done at the first prediction)."""
        for _, member in self.members:
            member.load()
        return self

    def predict(self, df: Any, label_df_or_path: Any = None) -> pd.DataFrame:
        """Predict raw data as a single model's bundle does (tables, sequences, images or several inputs); every
        member predicts through its own encoders and the outputs are weighted and summed.

        Returns:
            A DataFrame with ``prediction`` (original label values) and, for classification, one
            ``probability_<class>`` column per class; ``frame.attrs["metrics"]`` when the labels are known.
        """
        kind = "multi" if self.manifest.inputs is not None else "array" if self.manifest.arrays else "tabular"
        if self.manifest.window is not None:
            raise errors.ValidationError("ensemble", "ensembles of forecasting models are not supported")
        info = Described(self.analysis_type, self.classes, self.label_column, kind)
        members = [(weight, _member_predict(member)) for weight, member in self.members]
        frame, _, _, _ = predict_with(members, info, df, label_df_or_path, parameter="df")
        return frame


def _member_predict(member: single.Bundle) -> MemberPredict:
    return lambda data, parameter: member.predict(data)


def _read(path: Path) -> dict[str, bytes]:
    if not path.is_file():
        raise errors.BundleError("path", f"{str(path)!r} is not a file; give the path an export wrote")
    try:
        with zipfile.ZipFile(path) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise errors.BundleError("path", f"{str(path)!r} is not an assay bundle (not a zip archive: {exc})") from exc


def is_ensemble(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an ensemble's bundle (a zip archive holding ``ensemble.json``)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return MANIFEST in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def load_bundle(path: str | os.PathLike[str], trust: bool = False) -> single.Bundle | EnsembleBundle:
    """Read a bundle written by ``predictor.export(path)`` or ``ensemble.export(path)``; no database is used.

    ``trust``: accept the parts that run code when loaded (see :func:`assay.inference.bundle.load_bundle`); an
    ensemble needs it when any member does.

    Raises:
        assay.errors.TrustError: the bundle (or a member) needs trust and ``trust`` is false, naming each part.
        assay.errors.BundleError: the file is missing, not a bundle, incomplete or from a newer assay.
    """
    path = Path(path)
    if not is_ensemble(path):
        return single.load_bundle(path, trust=trust)
    members = _read(path)
    try:
        manifest = json.loads(members[MANIFEST])
    except ValueError as exc:
        raise errors.BundleError("path", f"{str(path)!r}: {MANIFEST} is not JSON ({exc}); export it again") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise errors.BundleError("path", f"{str(path)!r}: {MANIFEST} is not an assay ensemble manifest")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise errors.BundleError("path", f"{str(path)!r} was written by a newer assay (ensemble format "
                                 f"{manifest['format_version']}); upgrade assay to read it")
    missing = [entry["file"] for entry in manifest.get("members", []) if entry.get("file") not in members]
    if missing or not manifest.get("members"):
        raise errors.BundleError("path", f"{str(path)!r} lacks its member bundles {missing}; export it again")
    return EnsembleBundle(path, manifest, members, trust=trust)


def member_rows_of(ensemble_id: int) -> tuple[dict[int, float], dict[int, int]]:
    """An ensemble's members from the database: predictor id -> weight, and -> combination index."""
    from assay.db.queries import ensembles as queries  # here: reading a bundle (`assay predict`) needs no database

    rows = queries.member_rows(ensemble_id)
    return {row.predictor_id: row.weight for row in rows}, {row.predictor_id: row.combo_index for row in rows}
