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
from assay.data.read import multi_input
from assay.data.read.arrays import ArrayEncoders, FittedArrayEncoder, read_samples
from assay.inference import conformal, forecast
from assay.inference.infer import Inference, input_schema, read_label_column, window_settings
from assay.inference.inputs import InputEntry
from assay.inference.manifest import (
    FORMAT,
    FORMAT_VERSION,
    Arrays,
    EncoderEntry,
    Encoders,
    Input,
    InterpolaterEntry,
    Label,
    Manifest,
    Schema,
)
from assay.inference.schema import InputSchema

MANIFEST = "manifest.json"
FUNCTIONS = "functions.cloudpickle"
#: file name of the model per library, so an unzipped bundle reads naturally; other libraries get model.bin
MODEL_FILES = {"keras": "model.keras", "torch": "model.pt"}
#: packages whose versions are recorded next to the library's own
RECORDED_PACKAGES = ("numpy", "pandas", "scikit-learn", "cloudpickle")

_ENCODER_FIELDS = ("role", "position", "family_name", "class_name", "columns", "output_names", "is_categorical",
                   "fold_index")
__all__ = ["FORMAT", "FORMAT_VERSION", "Bundle", "export", "load_bundle"]


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


def _encoder_entry(encoder: FittedEncoder | FittedArrayEncoder, member: str) -> EncoderEntry:
    axis = encoder.axis if isinstance(encoder, FittedArrayEncoder) else None
    return EncoderEntry(**{name: getattr(encoder, name) for name in _ENCODER_FIELDS}, file=member, axis=axis)


def _arrays_entry(splitset: Any, encoders: ArrayEncoders) -> Arrays:
    """How raw sequence or image samples become model input: shapes, kept features, reshaping, layout."""
    return Arrays(kind=encoders.kind, sample_shape=list(encoders.sample_shape), kept=list(encoders.kept),
                  columns=list(encoders.columns), reshape_indices=encoders.reshape_indices,
                  features_shape=list(encoders.features_shape), dtype=encoders.dtype, layout=splitset.layout)


def _input_entries(splitset: Any, fold_index: int | None, members: dict[str, bytes]) -> list[Input]:
    """A multi-input model's inputs for the manifest; their encoders' bytes are added to ``members``."""
    entries = []
    for index, (name, data) in enumerate(splitset.inputs):
        encoders = data.encoders(fold_index)
        features = []
        for position, encoder in enumerate(encoders.features):
            member = f"encoders/input_{index}_feature_{position}.bin"
            features.append(_encoder_entry(encoder, member))
            members[member] = encoder.blob
        is_array = isinstance(encoders, ArrayEncoders)
        entries.append(Input(
            name=name, kind=data.kind,
            encoders=Encoders(label=None, features=features, passthrough=list(encoders.passthrough)),
            schema=None if is_array else Schema(**input_schema(data).to_dict()),
            arrays=_arrays_entry(data, encoders) if is_array else None,
        ))
    return entries


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
    # the database layer loads only to export: loading a bundle needs none (`assay predict` starts faster)
    from assay.data.read.splitsets import SplitsetData
    from assay.db.queries import comparison as comparison_queries
    from assay.db.queries import experiments as queries
    from assay.experiment.functions import serialise_functions
    from assay.experiment.trained import Trained

    trained = Trained.load(predictor_id)
    predictor, job, queue, algorithm = trained.predictor, trained.job, trained.queue, trained.algorithm
    splitset = SplitsetData.load(queue.splitset_id)
    encoders = splitset.encoders(job.fold_index)
    is_multi = splitset.kind == multi_input.KIND
    schema = (InputSchema(list(splitset.feature_columns), dict(splitset.feature_dtypes), splitset.label_column, [])
              if is_multi else input_schema(splitset))
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

    label_entries = [label_entry] if label_entry else []
    inputs = _input_entries(splitset, job.fold_index, members) if is_multi else None
    input_encoders = [entry for one in inputs or [] for entry in one.encoders.features]
    manifest = Manifest(
        format=FORMAT, format_version=FORMAT_VERSION, created_at=dt.datetime.now(dt.timezone.utc).isoformat(),
        library=algorithm.library, analysis_type=algorithm.analysis_type, model_file=model_file,
        model_format=predictor.model_format, features_shape=list(predictor.features_shape),  # lists per input
        label_shape=None if predictor.label_shape is None else list(predictor.label_shape),
        hyperparameters=dict(trained.hyperparameters), schema=Schema(**schema.to_dict()),
        label=Label(column=encoders.label_column, classes=[json_safe(value) for value in encoders.label_classes],
                    is_categorical=encoders.label_is_categorical),
        encoders=Encoders(label=label_entry, features=feature_entries, passthrough=list(encoders.passthrough),
                          interpolaters=[InterpolaterEntry(**step.to_json()) for step in encoders.interpolaters]),
        window=window_settings(splitset), conformal=comparison_queries.predictor_calibration(predictor.id) or None,
        arrays=_arrays_entry(splitset, encoders) if isinstance(encoders, ArrayEncoders) else None, inputs=inputs,
        functions_file=FUNCTIONS, functions=sorted(needed),
        versions={**dict(predictor.versions or {}), **_package_versions()},
        source={"predictor_id": predictor.id, "job_id": job.id, "queue_id": queue.id, "splitset_id": splitset.id,
                "fold_index": job.fold_index, "repeat_index": job.repeat_index},
        trusts={
            FUNCTIONS: "cloudpickle of the user's functions",
            **{entry.file: f"fitted {entry.class_name} serialised by the {entry.family_name!r} family "
               "(pickle for scikit-learn)" for entry in label_entries + feature_entries + input_encoders},
        },
    )
    members[MANIFEST] = manifest.to_json()

    # write next to the target and rename: a crash never leaves half a bundle under the final name
    handle, temporary = tempfile.mkstemp(prefix=".assay-bundle-", dir=target.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in (MANIFEST, *sorted(set(members) - {MANIFEST})):
                archive.writestr(name, members[name])
        os.chmod(temporary, _file_mode())  # mkstemp's file is private (0600); an exported bundle is for sharing
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return str(target)


def _file_mode() -> int:
    """The permissions an ordinary new file gets under the process's umask (0644 for the usual 022)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# --------------------------------------------------------------------------------------------------------------
# Load
# --------------------------------------------------------------------------------------------------------------


def _read_members(path: Path) -> dict[str, bytes]:
    if not path.is_file():
        raise errors.BundleError("path", f"{str(path)!r} is not a file; give the path predictor.export wrote")
    try:
        with zipfile.ZipFile(path) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise errors.BundleError("path", f"{str(path)!r} is not an assay bundle (not a zip archive: {exc})") \
            from exc


def _check_manifest(path: Path, members: dict[str, bytes]) -> Manifest:
    if MANIFEST not in members:
        raise errors.BundleError("path", f"{str(path)!r} is not an assay bundle (it holds no {MANIFEST}); give the "
                                 "path predictor.export wrote")
    return Manifest.from_json(members[MANIFEST], str(path), set(members))


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
        manifest: the whole ``manifest.json``, validated (:class:`~assay.inference.manifest.Manifest`).
    """

    path: Path
    manifest: Manifest = attrs.field(repr=False)
    _members: dict[str, bytes] = attrs.field(repr=False)

    @property
    def library(self) -> str:
        return self.manifest.library

    @property
    def analysis_type(self) -> str:
        return self.manifest.analysis_type

    @property
    def schema(self) -> InputSchema:
        return self.manifest.schema.input_schema()

    @property
    def feature_columns(self) -> list[str]:
        return list(self.manifest.schema.feature_columns)

    @property
    def feature_dtypes(self) -> dict[str, str]:
        return dict(self.manifest.schema.feature_dtypes)

    @property
    def label_column(self) -> str | None:
        return self.manifest.label.column

    @property
    def classes(self) -> list[Any]:
        return list(self.manifest.label.classes) if self.manifest.label.is_categorical else []

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return dict(self.manifest.hyperparameters)

    @property
    def versions(self) -> dict[str, str]:
        return dict(self.manifest.versions)

    def __repr__(self) -> str:
        return (f"<Bundle {self.library} {self.analysis_type} from {str(self.path)!r}: "
                f"{len(self.feature_columns)} feature columns>")

    def _encoders(self) -> FittedEncoders:
        return _fitted_encoders(self._members, self.manifest.encoders, self.manifest.label, self.manifest.arrays)

    def _inputs(self) -> list[InputEntry] | None:
        """A multi-input model's inputs as inference takes them (``None`` for one input)."""
        if self.manifest.inputs is None:
            return None
        empty = Label(column=None, classes=[], is_categorical=False)
        return [InputEntry(name=one.name, kind=one.kind,
                           encoders=_fitted_encoders(self._members, one.encoders, empty, one.arrays),
                           schema=one.schema.input_schema() if one.schema else None,
                           layout=one.arrays.layout if one.arrays else "tabular")
                for one in self.manifest.inputs]

    @functools.cached_property
    def _inference(self) -> Inference:
        manifest = self.manifest
        backend = plugins.backend(self.library)  # raises naming the plugin to install
        self._warn_on_version_change(backend.versions())
        try:
            functions = cloudpickle.loads(self._members[manifest.functions_file])
        except Exception as exc:  # trusted code that no longer unpickles: a damaged member or a missing module
            raise errors.BundleError(
                "path", f"{str(self.path)!r}: {manifest.functions_file} cannot be loaded ({type(exc).__name__}: "
                f"{exc}); install the modules the model's functions import, or export the model again"
            ) from exc
        if not isinstance(functions, dict):
            raise errors.BundleError("path", f"{str(self.path)!r}: {manifest.functions_file} does not hold the "
                                     "model's functions; export the model again")
        label_shape = manifest.label_shape
        try:
            model = backend.model_from_bytes(
                self._members[manifest.model_file], fn_build=functions.get("fn_build"),
                features_shape=contracts.features_shape(manifest.features_shape),
                label_shape=contracts.build_label_shape(label_shape, self.analysis_type, len(self.classes)),
                hyperparameters=self.hyperparameters,
            )
        except errors.ModelLoadError as exc:
            raise errors.ModelLoadError(f"{str(self.path)!r}: {manifest.model_file}: {exc}") from exc
        encoders, inputs = self._encoders(), self._inputs()
        for encoder in [*encoders, *(step for one in inputs or [] for step in one.encoders)]:
            try:
                encoder.load()  # unpickle now, so a missing encoder family fails at load rather than mid-predict
            except errors.AssayError:
                raise
            except Exception as exc:
                raise errors.BundleError(
                    "path", f"{str(self.path)!r}: the {encoder.class_name} encoder cannot be loaded "
                    f"({type(exc).__name__}: {exc}); export the model again"
                ) from exc
        return Inference(
            library=self.library, analysis_type=self.analysis_type, model=model, encoders=encoders,
            schema=self.schema, features_shape=contracts.features_shape(manifest.features_shape),
            fn_predict=functions.get("fn_predict"), window=manifest.window,
            layout=([one.layout for one in inputs] if inputs is not None
                    else manifest.arrays.layout if manifest.arrays else "tabular"),
            inputs=inputs,
        )

    def _warn_on_version_change(self, installed: dict[str, str]) -> None:
        recorded = self.manifest.versions
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

    def predict(self, df: Any, label_df_or_path: Any = None) -> pd.DataFrame:
        """Predict raw rows (see :meth:`_predicted` for what it takes and returns); with a conformal calibration
        in the manifest (``predictor.calibrate`` before ``export``), ``prediction_set`` (classification) or
        ``interval_low``/``interval_high`` (regression) are added (:func:`assay.inference.conformal.apply`)."""
        frame = self._predicted(df, label_df_or_path)
        calibration = self.manifest.conformal
        return frame if not calibration or self._inference.window is not None else conformal.apply(calibration,
                                                                                                   frame)

    def _predicted(self, df: Any, label_df_or_path: Any = None) -> pd.DataFrame:
        """Predict raw rows: a DataFrame or a ``.csv``/``.tsv``/``.parquet`` file with the original columns.

        A model trained on sequences takes a 3-D array or ``.npy`` file, one trained on images a folder or a list
        of image files, shaped like the training samples; ``label_df_or_path`` (a table holding the label column,
        one row per sample) then adds metrics. A multi-input model takes a list with each input's raw data in input
        order, or a dict by input name (``bundle.manifest.inputs`` lists them).

        Returns:
            A DataFrame with the input's index: ``prediction`` (original label values) and, for classification,
            ``probability_<class>`` per class; for a forecasting model, the next window (see
            :mod:`assay.inference.forecast`). When the data holds the label column, ``frame.attrs["metrics"]``
            has the analysis type's metrics (without the loss, which needs the training's loss function).

        Raises:
            assay.errors.SchemaMismatchError: missing, unexpected or incompatible columns, or samples of another
                shape than the model was trained on.
        """
        if self.manifest.inputs is not None:  # several inputs: a list (in input order) or a dict by input name
            labels = None if label_df_or_path is None else read_label_column(label_df_or_path, self.label_column)
            return self._inference.predict_inputs(df, labels, parameter="df").frame
        arrays = self.manifest.arrays
        if arrays and self._inference.window is not None:  # the window after the latest timesteps of one series
            return forecast.predict_series_window(self._inference, df).frame
        if arrays:
            samples, _ = read_samples(arrays.kind, df, "df")
            labels = None
            if label_df_or_path is not None:
                label_df, _ = ingest.read_tabular(label_df_or_path)
                if self.label_column not in label_df.columns:
                    raise errors.DataError("label_df_or_path", f"needs the label column {self.label_column!r}")
                labels = label_df[self.label_column]
            return self._inference.predict_samples(samples, labels, parameter="df").frame
        frame, _ = ingest.read_tabular(df)
        outcome = self._inference.predict(frame, parameter="df",
                                          index=df.index if isinstance(df, pd.DataFrame) else None)
        result = outcome.frame
        if isinstance(df, pd.DataFrame) and self._inference.window is None:  # a forecast has rows of its own
            result = result.set_axis(df.index)
            result.attrs.update(outcome.frame.attrs)
        return result


def load_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Read a bundle written by ``predictor.export(path)``; no database is used.

    Only the JSON manifest is read now; the model, encoders and functions load at the first prediction. See the
    module documentation for what loading a bundle trusts.

    Raises:
        assay.errors.BundleError: the file is missing, not a bundle, incomplete, from a newer assay, or its
            manifest does not match the declared schema (a list, a missing key, a value of the wrong type).
    """
    path = Path(path)
    members = _read_members(path)
    return Bundle(path=path, manifest=_check_manifest(path, members), members=members)


def _fitted_encoders(members: dict[str, bytes], section: Encoders, label: Label,
                     arrays: Arrays | None) -> FittedEncoders | ArrayEncoders:
    """The encoders a manifest section describes, their bytes taken from the archive's members."""
    def fitted(entry: EncoderEntry) -> FittedEncoder:
        return FittedEncoder(**{name: getattr(entry, name) for name in _ENCODER_FIELDS}, blob=members[entry.file])

    interpolaters = [Interpolater.from_json(attrs.asdict(step)) for step in section.interpolaters]
    labels = FittedEncoders(
        label=fitted(section.label) if section.label else None,
        features=[] if arrays else [fitted(entry) for entry in section.features],
        passthrough=list(section.passthrough),
        label_column=label.column, label_classes=list(label.classes),
        label_is_categorical=label.is_categorical,
        interpolaters=[] if arrays else interpolaters,
    )
    if not arrays:
        return labels
    steps = [FittedArrayEncoder(
        position=entry.position, family_name=entry.family_name, class_name=entry.class_name,
        axis=entry.axis, is_categorical=entry.is_categorical, blob=members[entry.file],
        fold_index=entry.fold_index, columns=list(entry.columns),
    ) for entry in section.features]
    return ArrayEncoders(
        kind=arrays.kind, sample_shape=tuple(arrays.sample_shape), kept=list(arrays.kept),
        features=steps, reshape_indices=arrays.reshape_indices,
        features_shape=tuple(arrays.features_shape), labels=labels, dtype=arrays.dtype,
        columns=list(arrays.columns), interpolaters=interpolaters,  # sequences': along each sample's timesteps
    )
