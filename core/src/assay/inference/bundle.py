"""Bundles: one file holding everything a trained model needs to predict raw rows, with no database.

``predictor.export(path)`` writes the bundle; ``assay.load_bundle(path).predict(df)`` predicts with it in any
process where assay and the model's library plugin are installed. A bundle is a zip archive:

================================  ===========================================================================
member                            content
================================  ===========================================================================
``manifest.json``                 library, analysis type, input schema (columns, dtypes, the label column and
                                  the ignored columns), classes, shapes, hyperparameters, versions, where the
                                  model came from, and the list of members below
``model.keras`` / ``model.pt``    the model in the library's own format, exactly as stored on the Predictor
``encoders/*.bin``                the fitted label and feature encoders, serialised by their encoder family
``functions.cloudpickle``         the user's ``fn_build`` (and ``fn_predict`` when given)
================================  ===========================================================================

What loading a bundle trusts
----------------------------

* **Model weights: nothing beyond the library.** They load through the backend's ``model_from_bytes``: Keras
  reads its ``.keras`` archive with ``safe_mode=True`` (no Lambda layers or arbitrary code), torch reads a
  ``state_dict`` with ``weights_only=True``. No pickle is involved.
* **Fitted encoders: trusted.** The scikit-learn family stores fitted transformers as pickle, the way
  scikit-learn persists estimators; unpickling them can run code.
* **User functions: trusted.** ``fn_build`` (which rebuilds a torch architecture before its weights are loaded)
  and ``fn_predict`` are cloudpickled code.

So only load bundles from sources you trust, as you would only ``pip install`` trusted packages. Nothing is
unpickled until the first prediction (or :meth:`Bundle.load`): reading the attributes of a bundle only reads
its JSON manifest. ``manifest.json`` lists the trusted members under ``"trusts"``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import platform
import tempfile
import warnings
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

import attrs
import cloudpickle
import pandas as pd

from assay import __version__, contracts, errors, plugins
from assay.data import ingest
from assay.data.encoding import FittedEncoder, FittedEncoders, json_safe
from assay.data.interpolation import Interpolater
from assay.data.splitsets import SplitsetData
from assay.db.queries import experiments as queries
from assay.experiment.functions import serialise_functions
from assay.experiment.trained import Trained
from assay.inference.infer import Inference, input_schema
from assay.inference.schema import InputSchema

FORMAT = "assay-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FUNCTIONS = "functions.cloudpickle"
#: file name of the model per library, so an unzipped bundle reads naturally; other libraries get model.bin
MODEL_FILES = {"keras": "model.keras", "torch": "model.pt"}
#: packages whose versions are recorded next to the library's own
RECORDED_PACKAGES = ("numpy", "pandas", "scikit-learn", "cloudpickle")

_ENCODER_FIELDS = ("role", "position", "family_name", "class_name", "columns", "output_names", "is_categorical",
                   "fold_index")


# --------------------------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------------------------


def _package_versions() -> dict[str, str]:
    versions = {"assay": __version__, "python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _encoder_entry(encoder: FittedEncoder, member: str) -> dict[str, Any]:
    entry = {name: getattr(encoder, name) for name in _ENCODER_FIELDS}
    return {**entry, "file": member}


def export(predictor_id: int, path: str | os.PathLike[str]) -> str:
    """Write predictor ``predictor_id`` as one bundle file at ``path`` (replaced atomically); returns the path.

    Raises:
        assay.errors.ValidationError: ``path`` is a folder, or its folder does not exist.
    """
    target = Path(path)
    if target.is_dir():
        raise errors.ValidationError("path", f"{str(target)!r} is a folder; give a file name such as model.assay")
    if not target.parent.is_dir():
        raise errors.ValidationError("path", f"the folder {str(target.parent)!r} does not exist; create it first")

    trained = Trained.load(predictor_id)
    predictor, job, queue, algorithm = trained.predictor, trained.job, trained.queue, trained.algorithm
    splitset = SplitsetData.load(queue.splitset_id)
    encoders = splitset.encoders(job.fold_index)
    schema = input_schema(splitset)
    functions = trained.functions
    needed = {name: functions[name] for name in ("fn_build", "fn_predict") if functions.get(name) is not None}
    model_file = MODEL_FILES.get(algorithm.library, "model.bin")

    members: dict[str, bytes] = {model_file: queries.model_blob(predictor_id), FUNCTIONS: serialise_functions(needed)}
    label_entry = None
    if encoders.label is not None:
        label_entry = _encoder_entry(encoders.label, "encoders/label.bin")
        members["encoders/label.bin"] = encoders.label.blob
    feature_entries = []
    for i, encoder in enumerate(encoders.features):
        member = f"encoders/feature_{i}.bin"
        feature_entries.append(_encoder_entry(encoder, member))
        members[member] = encoder.blob

    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "library": algorithm.library,
        "analysis_type": algorithm.analysis_type,
        "model_file": model_file,
        "model_format": predictor.model_format,
        "features_shape": list(predictor.features_shape),
        "label_shape": None if predictor.label_shape is None else list(predictor.label_shape),
        "hyperparameters": dict(trained.hyperparameters),
        "schema": schema.to_dict(),
        "label": {
            "column": encoders.label_column,
            "classes": [json_safe(value) for value in encoders.label_classes],
            "is_categorical": encoders.label_is_categorical,
        },
        "encoders": {"label": label_entry, "features": feature_entries, "passthrough": list(encoders.passthrough),
                     "interpolaters": [step.to_json() for step in encoders.interpolaters]},
        "functions_file": FUNCTIONS,
        "functions": sorted(needed),
        "versions": {**dict(predictor.versions or {}), **_package_versions()},
        "source": {"predictor_id": predictor.id, "job_id": job.id, "queue_id": queue.id,
                   "splitset_id": splitset.id, "fold_index": job.fold_index, "repeat_index": job.repeat_index},
        "trusts": {
            FUNCTIONS: "cloudpickle of the user's functions",
            **{entry["file"]: f"fitted {entry['class_name']} serialised by the {entry['family_name']!r} family "
               "(pickle for scikit-learn)" for entry in ([label_entry] if label_entry else []) + feature_entries},
        },
    }
    members[MANIFEST] = json.dumps(manifest, indent=2, sort_keys=True).encode()

    # write next to the target and rename: a crash never leaves half a bundle under the final name
    handle, temporary = tempfile.mkstemp(prefix=".assay-bundle-", dir=target.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in (MANIFEST, *sorted(set(members) - {MANIFEST})):
                archive.writestr(name, members[name])
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return str(target)


# --------------------------------------------------------------------------------------------------------------
# Load
# --------------------------------------------------------------------------------------------------------------


def _read_members(path: Path) -> dict[str, bytes]:
    if not path.is_file():
        raise errors.ValidationError("path", f"{str(path)!r} is not a file; give the path predictor.export wrote")
    try:
        with zipfile.ZipFile(path) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise errors.ValidationError("path", f"{str(path)!r} is not an assay bundle (not a zip archive: {exc})") \
            from exc


def _check_manifest(path: Path, members: dict[str, bytes]) -> dict[str, Any]:
    try:
        manifest = json.loads(members[MANIFEST])
    except (KeyError, ValueError) as exc:
        raise errors.ValidationError("path", f"{str(path)!r} is not an assay bundle (no readable {MANIFEST})") \
            from exc
    if manifest.get("format") != FORMAT:
        raise errors.ValidationError(
            "path", f"{str(path)!r} is not an assay bundle (format {manifest.get('format')!r})"
        )
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise errors.ValidationError(
            "path", f"{str(path)!r} is a version {manifest['format_version']} bundle; this assay reads up to "
            f"version {FORMAT_VERSION}: upgrade assay (pip install -U assay)"
        )
    absent = [name for name in _referenced_members(manifest) if name not in members]
    if absent:
        raise errors.ValidationError("path", f"{str(path)!r} is incomplete: it lacks {absent}")
    return manifest


def _referenced_members(manifest: dict[str, Any]) -> list[str]:
    entries = manifest["encoders"]["features"] + ([manifest["encoders"]["label"]] if manifest["encoders"]["label"]
                                                  else [])
    return [manifest["model_file"], manifest["functions_file"], *(entry["file"] for entry in entries)]


@attrs.define(eq=False, slots=False)
class Bundle:
    """An exported model, read from its file: describe it through its attributes, predict with :meth:`predict`.

    Attributes:
        path: the bundle file.
        library: the model's library (``"keras"``, ``"torch"``, ...).
        analysis_type: ``"regression"``, ``"classification_binary"``, ``"classification_multi"``, ...
        schema: the input schema (:class:`~assay.inference.schema.InputSchema`).
        classes: original class values, index-aligned with the probability columns (empty for regression).
        hyperparameters: the hyperparameters the model was trained with.
        versions: library, Python and package versions at training and export.
        manifest: the whole ``manifest.json``.
    """

    path: Path
    manifest: dict[str, Any] = attrs.field(repr=False)
    _members: dict[str, bytes] = attrs.field(repr=False)

    @property
    def library(self) -> str:
        return self.manifest["library"]

    @property
    def analysis_type(self) -> str:
        return self.manifest["analysis_type"]

    @property
    def schema(self) -> InputSchema:
        return InputSchema.from_dict(self.manifest["schema"])

    @property
    def feature_columns(self) -> list[str]:
        return list(self.manifest["schema"]["feature_columns"])

    @property
    def feature_dtypes(self) -> dict[str, str]:
        return dict(self.manifest["schema"]["feature_dtypes"])

    @property
    def label_column(self) -> str | None:
        return self.manifest["label"]["column"]

    @property
    def classes(self) -> list[Any]:
        return list(self.manifest["label"]["classes"]) if self.manifest["label"]["is_categorical"] else []

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return dict(self.manifest["hyperparameters"])

    @property
    def versions(self) -> dict[str, str]:
        return dict(self.manifest["versions"])

    def __repr__(self) -> str:
        return (f"<Bundle {self.library} {self.analysis_type} from {str(self.path)!r}: "
                f"{len(self.feature_columns)} feature columns>")

    def _encoders(self) -> FittedEncoders:
        def fitted(entry: dict[str, Any]) -> FittedEncoder:
            return FittedEncoder(**{name: entry[name] for name in _ENCODER_FIELDS}, blob=self._members[entry["file"]])

        section, label = self.manifest["encoders"], self.manifest["label"]
        return FittedEncoders(
            label=fitted(section["label"]) if section["label"] else None,
            features=[fitted(entry) for entry in section["features"]],
            passthrough=list(section["passthrough"]),
            label_column=label["column"], label_classes=list(label["classes"]),
            label_is_categorical=bool(label["is_categorical"]),
            # bundles written before interpolation existed have no such entry
            interpolaters=[Interpolater.from_json(step) for step in section.get("interpolaters", [])],
        )

    @functools.cached_property
    def _inference(self) -> Inference:
        backend = plugins.backend(self.library)  # raises naming the plugin to install
        self._warn_on_version_change(backend.versions())
        functions = cloudpickle.loads(self._members[self.manifest["functions_file"]])
        label_shape = self.manifest["label_shape"]
        model = backend.model_from_bytes(
            self._members[self.manifest["model_file"]], fn_build=functions.get("fn_build"),
            features_shape=tuple(self.manifest["features_shape"]),
            label_shape=contracts.build_label_shape(label_shape, self.analysis_type, len(self.classes)),
            hyperparameters=self.hyperparameters,
        )
        encoders = self._encoders()
        for encoder in encoders:
            encoder.load()  # unpickle now, so a missing encoder family fails at load rather than mid-predict
        return Inference(
            library=self.library, analysis_type=self.analysis_type, model=model, encoders=encoders,
            schema=self.schema, features_shape=tuple(self.manifest["features_shape"]),
            fn_predict=functions.get("fn_predict"),
        )

    def _warn_on_version_change(self, installed: dict[str, str]) -> None:
        recorded = self.manifest["versions"]
        changed = {name: (recorded[name], version) for name, version in installed.items()
                   if name in recorded and recorded[name] != version}
        if changed:
            described = ", ".join(f"{name} {old} -> {new}" for name, (old, new) in sorted(changed.items()))
            warnings.warn(f"the bundle {str(self.path)!r} was made with other versions than installed: {described}; "
                          "predictions may differ", RuntimeWarning, stacklevel=3)

    def load(self) -> Bundle:
        """Load the model, encoders and functions now (otherwise done at the first prediction)."""
        _ = self._inference
        return self

    @property
    def model(self) -> Any:
        """The trained model, loaded with the library's own safe loader."""
        return self._inference.model

    def predict(self, df: Any) -> pd.DataFrame:
        """Predict raw rows: a DataFrame or a ``.csv``/``.tsv``/``.parquet`` file with the original columns.

        Returns:
            A DataFrame with the input's index: ``prediction`` (original label values) and, for classification,
            ``probability_<class>`` per class. When the data holds the label column, ``frame.attrs["metrics"]``
            has the analysis type's metrics (without the loss, which needs the training's loss function).

        Raises:
            assay.errors.SchemaMismatchError: missing, unexpected or incompatible columns.
        """
        frame, _ = ingest.read_tabular(df)
        outcome = self._inference.predict(frame, parameter="df")
        result = outcome.frame
        if isinstance(df, pd.DataFrame):
            result = result.set_axis(df.index)
            result.attrs.update(outcome.frame.attrs)
        return result


def load_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Read a bundle written by ``predictor.export(path)``; no database is used.

    Only the JSON manifest is read now; the model, encoders and functions load at the first prediction. See the
    module documentation for what loading a bundle trusts.

    Raises:
        assay.errors.ValidationError: the file is missing, not a bundle, incomplete or from a newer assay.
    """
    path = Path(path)
    members = _read_members(path)
    return Bundle(path=path, manifest=_check_manifest(path, members), members=members)
