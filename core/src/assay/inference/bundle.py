"""Bundles: one file holding everything a trained model needs to predict raw rows, with no database.

``predictor.export(path)`` writes the bundle (:mod:`assay.inference.export`); ``assay.load_bundle(path).predict(df)``
predicts with it in any process where assay and the model's library plugin are installed, and ``assay serve``
answers HTTP requests with it. A bundle is a zip archive:

* ``manifest.json``: library, analysis type, input schema (columns, dtypes, the label column and the ignored
  columns), classes, shapes, hyperparameters, metrics at export, versions, where the model came from, how it was
  exported, and ``trusts``: every member that runs code when loaded, and why;
* ``model.pt2`` / ``model.keras``: the model as a program that loads without the user's code (a ``torch.export``
  program, a Keras ``.keras`` archive);
* ``encoders/*.skops``: the fitted encoders as ``skops.io`` files (scikit-learn);
* ``encoders/*.npz``: beside a skops file, the same encoder in its family's portable format where it has one
  (:mod:`assay_sklearn.portable`: JSON settings and numpy arrays, read with ``allow_pickle=False``), kept only if
  it encoded the fitted rows exactly as the encoder did. Loading prefers it: no scikit-learn, no skops import;
* only when the model cannot be exported (a custom ``fn_predict``, an unsupported operation): ``model.pt`` (the
  stored weights) and ``functions.cloudpickle`` (the user's ``fn_build``, and ``fn_predict`` when given);
* only for an encoder with no safe format: ``encoders/*.bin``, its pickle.

What loading a bundle trusts
----------------------------

Nothing, where the model allows it. An exported torch program is rebuilt from its serialised operators by
``torch.export.load``; Keras reads its archive with ``safe_mode=True`` (no Lambda layers); ``skops.io`` rebuilds
only the classes of scikit-learn, numpy, scipy and assay (``assay_sklearn.TRUSTED_PACKAGES``). A bundle holding
the user's functions, a pickled encoder, or a skops encoder that refers to a function of the user's module needs
trust: :func:`load_bundle` (and ``assay predict``, ``assay serve``) refuse it with a
:class:`~assay.errors.TrustError` naming each such part, unless called with ``trust=True`` (``--trust``). Accept
that only for bundles whose author you trust, as you would only ``pip install`` trusted packages. Bundles written
by assay before format version 2 always held cloudpickled functions and pickled encoders, so they load only with
``trust=True``.

Reading a bundle's attributes reads its JSON manifest only; the model and encoders load at the first prediction
(or :meth:`Bundle.load`).
"""

from __future__ import annotations

import functools
import os
import warnings
import zipfile
from pathlib import Path
from typing import Any

import attrs
import cloudpickle
import pandas as pd

from assay import contracts, errors, plugins
from assay.data.encoding import FittedEncoder, FittedEncoders
from assay.data.interpolation import Interpolater
from assay.data.read import tables
from assay.data.read.arrays import ArrayEncoders, FittedArrayEncoder, read_samples
from assay.inference import conformal, forecast
from assay.inference.inputs import InputEntry
from assay.inference.manifest import (
    FORMAT,
    FORMAT_VERSION,
    Arrays,
    EncoderEntry,
    Encoders,
    Label,
    Manifest,
)
from assay.inference.runtime import Inference, read_label_column
from assay.inference.schema import InputSchema

MANIFEST = "manifest.json"
FUNCTIONS = "functions.cloudpickle"
#: file name of the stored (not exported) model per library, so an unzipped bundle reads naturally
MODEL_FILES = {"keras": "model.keras", "torch": "model.pt"}

ENCODER_FIELDS = ("role", "position", "family_name", "class_name", "columns", "output_names", "is_categorical",
                  "fold_index")
__all__ = ["FORMAT", "FORMAT_VERSION", "Bundle", "bundle_from_members", "load_bundle", "read_manifest"]


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


def trusted_parts(manifest: Manifest) -> dict[str, str]:
    """Every member of a bundle that runs code when loaded, with why (empty: the bundle loads without trust)."""
    if manifest.format_version >= 2:
        return dict(manifest.trusts)
    why = ("written by an earlier assay (bundle format 1), which always kept the user's functions as cloudpickle "
           "and the fitted encoders as pickle")
    return {member: f"{reason}; {why}" for member, reason in manifest.trusts.items()}


def _refuse_untrusted(where: str, manifest: Manifest) -> None:
    parts = trusted_parts(manifest)
    if not parts:
        return
    listed = "; ".join(f"{member}: {reason}" for member, reason in sorted(parts.items()))
    raise errors.TrustError(
        "trust", f"{where} needs trust to load, because these parts run code when loaded: {listed}. Load it only if "
        "you trust its author: assay.load_bundle(path, trust=True), or --trust on assay predict and assay serve")


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
    #: whether the caller accepted the parts that run code (``load_bundle(path, trust=True)``)
    trust: bool = False

    @property
    def needs_trust(self) -> dict[str, str]:
        """The members that run code when loaded, with why; empty when the bundle loads without trust."""
        return trusted_parts(self.manifest)

    @property
    def size(self) -> int:
        """The bundle's bytes, uncompressed (every member)."""
        return sum(len(data) for data in self._members.values())

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
        return _fitted_encoders(self._members, self.manifest.encoders, self.manifest.label, self.manifest.arrays,
                                self.trust)

    def _inputs(self) -> list[InputEntry] | None:
        """A multi-input model's inputs as inference takes them (``None`` for one input)."""
        if self.manifest.inputs is None:
            return None
        empty = Label(column=None, classes=[], is_categorical=False)
        return [InputEntry(name=one.name, kind=one.kind,
                           encoders=_fitted_encoders(self._members, one.encoders, empty, one.arrays, self.trust),
                           schema=one.schema.input_schema() if one.schema else None,
                           layout=one.arrays.layout if one.arrays else "tabular")
                for one in self.manifest.inputs]

    def _functions(self) -> dict[str, Any]:
        manifest = self.manifest
        if manifest.functions_file is None:
            return {}
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
        return functions

    def _model(self, backend: plugins.Backend, functions: dict[str, Any]) -> Any:
        manifest = self.manifest
        data = self._members[manifest.model_file]
        try:
            if manifest.export is not None and manifest.export.exported:
                return backend.model_from_export(data, manifest.model_format)
            return backend.model_from_bytes(
                data, fn_build=functions.get("fn_build"),
                features_shape=contracts.features_shape(manifest.features_shape),
                label_shape=contracts.build_label_shape(manifest.label_shape, self.analysis_type, len(self.classes)),
                hyperparameters=self.hyperparameters,
            )
        except errors.ModelLoadError as exc:
            raise errors.ModelLoadError(f"{str(self.path)!r}: {manifest.model_file}: {exc}") from exc

    @functools.cached_property
    def _inference(self) -> Inference:
        if not self.trust:
            _refuse_untrusted(repr(str(self.path)), self.manifest)
        manifest = self.manifest
        backend = plugins.backend(self.library)  # raises naming the plugin to install
        self._warn_on_version_change(backend.versions())
        functions = self._functions()
        model = self._model(backend, functions)
        encoders, inputs = self._encoders(), self._inputs()
        for encoder in [*encoders, *(step for one in inputs or [] for step in one.encoders)]:
            try:
                encoder.load()  # now, so a missing encoder family fails at load rather than mid-predict
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
                label_df, _ = tables.read_tabular(label_df_or_path)
                if self.label_column not in label_df.columns:
                    raise errors.DataError("label_df_or_path", f"needs the label column {self.label_column!r}")
                labels = label_df[self.label_column]
            return self._inference.predict_samples(samples, labels, parameter="df").frame
        frame, _ = tables.read_tabular(df)
        outcome = self._inference.predict(frame, parameter="df",
                                          index=df.index if isinstance(df, pd.DataFrame) else None)
        result = outcome.frame
        if isinstance(df, pd.DataFrame) and self._inference.window is None:  # a forecast has rows of its own
            result = result.set_axis(df.index)
            result.attrs.update(outcome.frame.attrs)
        return result


def load_bundle(path: str | os.PathLike[str], trust: bool = False) -> Bundle:
    """Read a bundle written by ``predictor.export(path)``; no database is used.

    Only the JSON manifest is read now; the model and encoders load at the first prediction. See the module
    documentation for what loading a bundle trusts.

    Args:
        path: the bundle file.
        trust: accept the parts that run code when loaded (the user's functions, pickled encoders, functions an
            encoder refers to). Without it, a bundle holding any is refused; ``bundle.needs_trust`` lists them.

    Raises:
        assay.errors.TrustError: the bundle needs trust and ``trust`` is false (naming each part and why).
        assay.errors.BundleError: the file is missing, not a bundle, incomplete, from a newer assay, or its
            manifest does not match the declared schema (a list, a missing key, a value of the wrong type).
    """
    path = Path(path)
    return bundle_from_members(path, _read_members(path), trust=trust)


def read_manifest(path: str | os.PathLike[str]) -> Bundle:
    """A bundle opened to describe it (``assay inspect``), whether or not it needs trust; predicting with it
    raises :class:`~assay.errors.TrustError` unless it needs none."""
    path = Path(path)
    members = _read_members(path)
    return Bundle(path=path, manifest=_check_manifest(path, members), members=members)


def bundle_from_members(path: str | os.PathLike[str], members: dict[str, bytes], trust: bool = False) -> Bundle:
    """A single-model bundle from its members (``manifest.json`` and what it names), e.g. nested in a composite
    bundle; ``path`` names it in messages. Refuses one that needs trust unless ``trust`` (see :func:`load_bundle`)."""
    path = Path(path)
    manifest = _check_manifest(path, members)
    if not trust:
        _refuse_untrusted(repr(str(path)), manifest)
    return Bundle(path=path, manifest=manifest, members=members, trust=trust)


def _portable_encoder(family: contracts.EncoderFamily, entry: EncoderEntry, data: bytes) -> Any:
    """The encoder read from its portable member; one that does not answer as the manifest describes it (another
    class, another number of outputs) is refused, so a damaged member cannot predict something else."""
    def refuse(problem: str) -> errors.BundleError:
        return errors.BundleError("path", f"the {entry.class_name} encoder cannot be loaded from {entry.portable_file} "
                                  f"({problem}); export the model again")

    try:
        fitted = family.portable_loads(data)
        width = len(family.output_names(fitted, list(entry.columns)))
    except Exception as exc:  # a damaged member: the family's own BundleError, or whatever its reader raised
        raise refuse(f"{type(exc).__name__}: {exc}") from exc
    if type(fitted).__name__ != entry.class_name:
        raise refuse(f"it holds a {type(fitted).__name__}")
    if width != len(entry.output_names):
        raise refuse(f"it has {width} outputs, the manifest {len(entry.output_names)}")
    return fitted


def _fitted_encoders(members: dict[str, bytes], section: Encoders, label: Label,
                     arrays: Arrays | None, trust: bool) -> FittedEncoders | ArrayEncoders:
    """The encoders a manifest section describes, their bytes taken from the archive's members; those in a safe
    format are loaded now (allowing what ``trust`` accepts), pickles when first used."""
    def loaded(entry: EncoderEntry) -> dict[str, Any]:
        if entry.portable_file is not None:
            family = plugins.encoder_family_named(entry.family_name)
            if family.portable_format is not None and family.portable_format == entry.portable_format:
                return {"fitted": _portable_encoder(family, entry, members[entry.portable_file])}
        if entry.format == "pickle":
            return {}
        family = plugins.encoder_family_named(entry.family_name)
        if family.safe_format != entry.format:
            raise errors.BundleError("path", f"the {entry.class_name} encoder is a {entry.format} file, which the "
                                     f"installed {entry.family_name!r} encoder family does not read")
        try:
            return {"fitted": family.safe_loads(members[entry.file], list(entry.trusts) if trust else [])}
        except errors.AssayError:
            raise
        except Exception as exc:  # a damaged file: skops' zip and JSON errors
            raise errors.BundleError("path", f"the {entry.class_name} encoder cannot be loaded from {entry.file} "
                                     f"({type(exc).__name__}: {exc}); export the model again") from exc

    def fitted(entry: EncoderEntry) -> FittedEncoder:
        return FittedEncoder(**{name: getattr(entry, name) for name in ENCODER_FIELDS}, blob=members[entry.file],
                             _cache=loaded(entry))

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
        fold_index=entry.fold_index, columns=list(entry.columns), _cache=loaded(entry),
    ) for entry in section.features]
    return ArrayEncoders(
        kind=arrays.kind, sample_shape=tuple(arrays.sample_shape), kept=list(arrays.kept),
        features=steps, reshape_indices=arrays.reshape_indices,
        features_shape=tuple(arrays.features_shape), labels=labels, dtype=arrays.dtype,
        columns=list(arrays.columns), interpolaters=interpolaters,  # sequences': along each sample's timesteps
    )
