"""Writing bundles: a stored predictor as one file that predicts raw rows without the database.

``predictor.export(path)`` calls :func:`export`. A bundle holds what loads without running anyone's code where the
model allows it (see :mod:`assay.inference.bundle` for the format and for loading):

* the model as an exported program (``torch.export`` for torch, the ``.keras`` archive for Keras), through the
  backend's :func:`~assay.hookspecs.assay_model_export`. Before it is kept, the program is loaded back and predicts
  a few training rows: its predictions must equal the trained model's (to 1e-5), or the export is dropped;
* the fitted encoders in their family's safe format (``skops.io`` for scikit-learn), with what they would need
  to trust beyond the family's allow-list recorded per encoder; beside each, where the family has a portable
  format (plain data loaded without the family's library) and the portable encoder encodes up to
  :data:`PORTABLE_CHECK_ROWS` of the rows the encoder was fitted on exactly as it does (and decodes a regression
  label exactly), that form too: loading prefers it;
* the user's functions (cloudpickle) only when the model cannot be exported: a custom ``fn_predict``, an export
  error, an operation the library cannot export, or different predictions. ``manifest.trusts`` names every member
  that needs trust and why.

:func:`bundle_members` gives a single model's members (``manifest.json`` included) without writing them, and
:func:`write_archive` writes members as one zip atomically, so a composite bundle (an ensemble) can hold single
bundles under its own names and load each with :func:`assay.inference.bundle.bundle_from_members`.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import tempfile
import time
import warnings
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd

from assay import __version__, errors, plugins
from assay.contracts import ModelExport
from assay.data import encoding, interpolation
from assay.data.encoding import FittedEncoder, FittedEncoders, json_safe
from assay.data.read import multi_input
from assay.data.read.arrays import ArrayEncoders, FittedArrayEncoder, library_samples
from assay.data.read.splitsets import SplitsetData
from assay.db.queries import comparison as comparison_queries
from assay.db.queries import experiments as queries
from assay.experiment import predicting
from assay.experiment.functions import serialise_functions
from assay.experiment.trained import Trained
from assay.inference.bundle import ENCODER_FIELDS, FUNCTIONS, MANIFEST, MODEL_FILES
from assay.inference.infer import input_schema, window_settings
from assay.inference.manifest import (
    FORMAT,
    FORMAT_VERSION,
    Arrays,
    EncoderEntry,
    Encoders,
    Export,
    Input,
    InterpolaterEntry,
    Label,
    Manifest,
    Schema,
)
from assay.inference.schema import InputSchema

#: packages whose versions are recorded next to the library's own
RECORDED_PACKAGES = ("numpy", "pandas", "scikit-learn", "cloudpickle", "skops")
#: training rows the exported program predicts to be compared with the trained model
CHECKED_ROWS = 32
#: rows of an encoder's fitted data its portable form must encode exactly as the encoder does to be written
PORTABLE_CHECK_ROWS = 5_000
#: how far the exported program's predictions (probabilities, regression values) may differ from the model's
TOLERANCE = 1e-5

__all__ = ["bundle_members", "export", "write_archive"]


def _package_versions() -> dict[str, str]:
    versions = {"assay": __version__, "python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


# --------------------------------------------------------------------------------------------------------------
# Encoders
# --------------------------------------------------------------------------------------------------------------


def _encoder_member(encoder: FittedEncoder | FittedArrayEncoder, stem: str, members: dict[str, bytes],
                    trusts: dict[str, str], sample: pd.DataFrame | None = None, decodes: bool = False
                    ) -> EncoderEntry:
    """The encoder written in its family's safe format where it can be (else its pickle, marked trusted), and in
    its portable format beside it where that reproduces it exactly on ``sample`` (rows of its columns), its
    ``inverse_transform`` too when predictions are decoded with it (``decodes``)."""
    entry = _safe_member(encoder, stem, members, trusts)
    data = None if sample is None or entry.trusts else _portable_member(encoder, sample, decodes)
    if data is None:
        return entry
    member = f"{stem}.{encoder.family.portable_format}"
    members[member] = data
    return attrs.evolve(entry, portable_file=member, portable_format=encoder.family.portable_format)


def _portable_member(encoder: FittedEncoder, sample: pd.DataFrame, decodes: bool) -> bytes | None:
    """The encoder in its family's portable format, or ``None``: the family has none, cannot write this encoder,
    or the portable encoder's output (its names, its transform of ``sample``, and when it ``decodes`` predictions
    its inverse) is not exactly the encoder's own. Equal means equal: the same shape and the same floats, NaN where
    NaN."""
    family, fitted = encoder.family, encoder.load()
    if family.portable_format is None or not len(sample):
        return None
    try:
        data = family.portable_dumps(fitted)
        loaded = family.portable_loads(data)
        with warnings.catch_warnings():  # an encoder's own warnings about these rows were given when it was fitted
            warnings.simplefilter("ignore")
            expected = encoding.transform(encoder, fitted, sample)
            got = encoding.transform(encoder, loaded, sample)
            same = (family.output_names(fitted, list(encoder.columns)) == family.output_names(loaded, list(
                encoder.columns)) and _identical(expected, got))
            if same and decodes:
                same = _identical(family.inverse_transform(fitted, expected.copy()),
                                  family.inverse_transform(loaded, expected.copy()))
    except Exception:  # no portable form (or a check that cannot run): the safe format alone serves
        return None
    return data if same else None


def _identical(expected: Any, got: Any) -> bool:
    expected, got = np.asarray(expected), np.asarray(got)
    if expected.shape != got.shape or expected.dtype != got.dtype:
        return False
    if expected.dtype.kind in "fc":
        return bool(np.array_equal(expected, got, equal_nan=True))
    return bool(np.array_equal(expected, got))


def _encoder_sample(splitset: Any, encoders: FittedEncoders, encoder: FittedEncoder, rows: list[int]
                    ) -> pd.DataFrame:
    """Rows of ``encoder``'s columns as it was fitted on them (interpolated as the encoders interpolate), at most
    :data:`PORTABLE_CHECK_ROWS`, spread evenly over ``rows``."""
    if len(rows) > PORTABLE_CHECK_ROWS:
        rows = [rows[i] for i in np.linspace(0, len(rows) - 1, PORTABLE_CHECK_ROWS).astype(int)]
    frame = splitset.frame()
    if encoder.role == "label":
        return encoders.interpolate_labels(frame[encoders.label_column].iloc[rows]).to_frame()
    steps = encoders.feature_interpolaters
    if not steps:
        return frame[encoder.columns].iloc[rows]
    columns = list(dict.fromkeys([c for e in encoders.features for c in e.columns] + list(encoders.passthrough)))
    return interpolation.apply(steps, frame[columns].iloc[rows])[encoder.columns]


def _samples(splitset: Any, encoders: Any, fold_index: int | None) -> dict[int, pd.DataFrame]:
    """Per encoder (by ``id``), the rows its portable form is checked on: a tabular splitset's train (or fold
    train) rows, all rows for a categorical encoder (fitted on all); none for sequences, images, several inputs."""
    if not isinstance(encoders, FittedEncoders) or splitset.kind != "tabular":
        return {}
    train = list(splitset.row_indices("train", fold_index))
    every = list(range(len(splitset.frame())))
    try:
        return {id(encoder): _encoder_sample(splitset, encoders, encoder, every if encoder.is_categorical else train)
                for encoder in encoders}
    except Exception:  # rows that cannot be read back as the encoders took them: write the safe format alone
        return {}


def _safe_member(encoder: FittedEncoder | FittedArrayEncoder, stem: str, members: dict[str, bytes],
                 trusts: dict[str, str]) -> EncoderEntry:
    """The encoder written in its family's safe format where it can be (else its pickle, marked trusted)."""
    family = encoder.family
    axis = encoder.axis if isinstance(encoder, FittedArrayEncoder) else None
    fields = {name: getattr(encoder, name) for name in ENCODER_FIELDS}
    described = f"encoder {encoder.class_name} ({encoder.parameter})"
    problem = f"the {family.name!r} encoder family has no safe format"
    if family.safe_format:
        try:
            data = family.safe_dumps(encoder.load())
            needed = family.untrusted(data)
            family.safe_loads(data, needed)  # what is written must load back
        except errors.AssayError:
            raise
        except Exception as exc:
            problem = f"{family.safe_format} cannot write it ({type(exc).__name__}: {exc})"
        else:
            member = f"{stem}.{family.safe_format}"
            members[member] = data
            if needed:
                trusts[member] = f"{described} refers to {', '.join(needed)}, code outside the trusted packages"
            return EncoderEntry(**fields, file=member, axis=axis, format=family.safe_format, trusts=needed)
    member = f"{stem}.bin"
    members[member] = encoder.blob
    trusts[member] = f"{described} is a pickle: {problem}"
    return EncoderEntry(**fields, file=member, axis=axis, format="pickle")


def _arrays_entry(splitset: Any, encoders: ArrayEncoders) -> Arrays:
    """How raw sequence or image samples become model input: shapes, kept features, reshaping, layout."""
    return Arrays(kind=encoders.kind, sample_shape=list(encoders.sample_shape), kept=list(encoders.kept),
                  columns=list(encoders.columns), reshape_indices=encoders.reshape_indices,
                  features_shape=list(encoders.features_shape), dtype=encoders.dtype, layout=splitset.layout)


def _input_entries(splitset: Any, fold_index: int | None, members: dict[str, bytes],
                   trusts: dict[str, str]) -> list[Input]:
    """A multi-input model's inputs for the manifest; their encoders are added to ``members``."""
    entries = []
    for index, (name, data) in enumerate(splitset.inputs):
        encoders = data.encoders(fold_index)
        features = [_encoder_member(encoder, f"encoders/input_{index}_feature_{position}", members, trusts)
                    for position, encoder in enumerate(encoders.features)]
        is_array = isinstance(encoders, ArrayEncoders)
        entries.append(Input(
            name=name, kind=data.kind,
            encoders=Encoders(label=None, features=features, passthrough=list(encoders.passthrough)),
            schema=None if is_array else Schema(**input_schema(data).to_dict()),
            arrays=_arrays_entry(data, encoders) if is_array else None,
        ))
    return entries


# --------------------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------------------


def _example(trained: Trained, splitset: Any, backend: plugins.Backend) -> dict[str, Any]:
    """A few training rows prepared as the model takes them (the runner's own steps)."""
    raw = splitset.samples_for("train", trained.job.fold_index)
    features = raw["features"]
    def first(array):
        return (array[:CHECKED_ROWS])
    features = [first(part) for part in features] if isinstance(features, list) else first(features)
    rows = library_samples({"features": features, "labels": None}, splitset.layout, backend.channels_last())
    return backend.prepare_samples(trained.algorithm.analysis_type, rows)


def _largest_difference(expected: tuple[Any, Any], got: tuple[Any, Any], classes: int) -> float:
    """The largest absolute difference of two predictions; infinite when they disagree on a class."""
    (expected_values, expected_probabilities), (values, probabilities) = expected, got
    if classes:
        if not np.array_equal(np.asarray(expected_values), np.asarray(values)):
            return float("inf")
        expected_values, values = expected_probabilities, probabilities
    expected_values = np.asarray(expected_values, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if expected_values.shape != values.shape:
        return float("inf")
    return float(np.max(np.abs(expected_values - values), initial=0.0))


def export_model(trained: Trained, splitset: Any, classes: int) -> tuple[ModelExport | None, Export]:
    """The model as a program that loads without the user's code, checked against the trained model; or
    ``None`` and why not."""
    started = time.perf_counter()
    if trained.functions.get("fn_predict") is not None:
        return None, Export(exported=False, reason="the model predicts with a custom fn_predict, which only the "
                            "user's code can run")
    analysis_type = trained.algorithm.analysis_type
    backend = plugins.backend(trained.algorithm.library)
    samples = _example(trained, splitset, backend)
    model = trained.model()
    try:
        exported = backend.model_export(model, samples["features"])
        if exported is None:
            return None, Export(exported=False, reason=f"the {backend.library!r} plugin exports no model")
        loaded = backend.model_from_export(exported.data, exported.format)
        expected = predicting.predict(backend, analysis_type, None, model, samples, class_count=classes or None)
        got = predicting.predict(backend, analysis_type, None, loaded, samples, class_count=classes or None)
    except errors.AssayError as exc:  # not exportable, or the program does not load or predict (a Keras Lambda)
        return None, Export(exported=False, reason=" ".join(str(exc).split()), seconds=time.perf_counter() - started)
    difference = _largest_difference(expected, got, classes)
    rows = len(samples["features"][0] if isinstance(samples["features"], (list, tuple)) else samples["features"])
    seconds = time.perf_counter() - started
    if not difference <= TOLERANCE:
        return None, Export(exported=False, format=exported.format, checked_rows=rows, seconds=seconds,
                            reason=f"the exported {exported.format} program's predictions differ from the model's by "
                            f"{difference:.3g} on training rows (more than {TOLERANCE:g})",
                            max_difference=None if not np.isfinite(difference) else difference)
    return exported, Export(exported=True, format=exported.format, checked_rows=rows, max_difference=difference,
                            seconds=seconds)


# --------------------------------------------------------------------------------------------------------------
# The bundle
# --------------------------------------------------------------------------------------------------------------


def bundle_members(predictor_id: int) -> dict[str, bytes]:
    """Every member of predictor ``predictor_id``'s bundle by name, ``manifest.json`` included (nothing written).

    This is the single-model bundle; :func:`export` writes it as a file, and a composite bundle may nest it.
    """
    trained = Trained.load(predictor_id)
    predictor, job, queue, algorithm = trained.predictor, trained.job, trained.queue, trained.algorithm
    splitset = SplitsetData.load(queue.splitset_id)
    encoders = splitset.encoders(job.fold_index)
    is_multi = splitset.kind == multi_input.KIND
    schema = (InputSchema(list(splitset.feature_columns), dict(splitset.feature_dtypes), splitset.label_column, [])
              if is_multi else input_schema(splitset))
    classes = [json_safe(value) for value in encoders.label_classes]
    class_count = len(classes) if plugins.analysis_type(algorithm.analysis_type).is_classification else 0

    members: dict[str, bytes] = {}
    trusts: dict[str, str] = {}
    exported, export_entry = export_model(trained, splitset, class_count)
    functions = trained.functions
    if exported is not None:
        model_file = f"model{exported.suffix}"
        members[model_file] = exported.data
        model_format, functions_file, needed = exported.format, None, {}
    else:
        model_file = MODEL_FILES.get(algorithm.library, "model.bin")
        members[model_file] = queries.model_blob(predictor_id)
        model_format, functions_file = predictor.model_format, FUNCTIONS
        needed = {name: functions[name] for name in ("fn_build", "fn_predict") if functions.get(name) is not None}
        members[FUNCTIONS] = serialise_functions(needed)
        trusts[FUNCTIONS] = (f"the user's {', '.join(sorted(needed))} (cloudpickle, runs their code), kept because "
                             f"{export_entry.reason}")

    label_entry = None
    samples = _samples(splitset, encoders, job.fold_index)
    if encoders.label is not None:  # a regression label is decoded at every prediction; classes come from the manifest
        label_entry = _encoder_member(encoders.label, "encoders/label", members, trusts,
                                      samples.get(id(encoders.label)), decodes=not encoders.label.is_categorical)
    forecasts = splitset.window is not None  # a forecast window is decoded with the feature encoders
    feature_entries = [_encoder_member(encoder, f"encoders/feature_{i}", members, trusts, samples.get(id(encoder)),
                                       decodes=forecasts)
                       for i, encoder in enumerate(encoders.features)]
    inputs = _input_entries(splitset, job.fold_index, members, trusts) if is_multi else None
    manifest = Manifest(
        format=FORMAT, format_version=FORMAT_VERSION, created_at=dt.datetime.now(dt.timezone.utc).isoformat(),
        library=algorithm.library, analysis_type=algorithm.analysis_type, model_file=model_file,
        model_format=model_format, features_shape=list(predictor.features_shape),  # lists per input
        label_shape=None if predictor.label_shape is None else list(predictor.label_shape),
        hyperparameters=dict(trained.hyperparameters), schema=Schema(**schema.to_dict()),
        label=Label(column=encoders.label_column, classes=classes, is_categorical=encoders.label_is_categorical),
        encoders=Encoders(label=label_entry, features=feature_entries, passthrough=list(encoders.passthrough),
                          interpolaters=[InterpolaterEntry(**step.to_json()) for step in encoders.interpolaters]),
        window=window_settings(splitset), conformal=comparison_queries.predictor_calibration(predictor.id) or None,
        arrays=_arrays_entry(splitset, encoders) if isinstance(encoders, ArrayEncoders) else None, inputs=inputs,
        functions_file=functions_file, functions=sorted(needed),
        versions={**dict(predictor.versions or {}), **_package_versions()},
        source={"predictor_id": predictor.id, "job_id": job.id, "queue_id": queue.id, "splitset_id": splitset.id,
                "fold_index": job.fold_index, "repeat_index": job.repeat_index},
        trusts=trusts, export=export_entry,
        metrics={row.split: {name: json_safe(value) for name, value in (row.metrics or {}).items()}
                 for row in queries.prediction_rows(predictor_id)},
    )
    members[MANIFEST] = manifest.to_json()
    return members


def write_archive(path: str | os.PathLike[str], members: dict[str, bytes]) -> str:
    """Write ``members`` as one zip at ``path`` (``manifest.json`` first), replaced atomically; returns the path.

    Raises:
        assay.errors.ValidationError: ``path`` is a folder, or its folder does not exist.
    """
    target = _checked_path(path)
    # write next to the target and rename: a crash never leaves half a bundle under the final name
    handle, temporary = tempfile.mkstemp(prefix=".assay-bundle-", dir=target.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(members, key=lambda name: (name != MANIFEST, name)):
                archive.writestr(name, members[name])
        os.chmod(temporary, _file_mode())  # mkstemp's file is private (0600); an exported bundle is for sharing
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return str(target)


def export(predictor_id: int, path: str | os.PathLike[str]) -> str:
    """Write predictor ``predictor_id`` as one bundle file at ``path`` (replaced atomically); returns the path.

    Raises:
        assay.errors.ValidationError: ``path`` is a folder, or its folder does not exist (checked before the
            model is exported).
    """
    target = _checked_path(path)
    return write_archive(target, bundle_members(predictor_id))


def _checked_path(path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    if target.is_dir():
        raise errors.ValidationError("path", f"{str(target)!r} is a folder; give a file name such as model.assay")
    if not target.parent.is_dir():
        raise errors.ValidationError("path", f"the folder {str(target.parent)!r} does not exist; create it first")
    return target


def _file_mode() -> int:
    """The permissions an ordinary new file gets under the process's umask (0644 for the usual 022)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
