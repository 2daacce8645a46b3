"""The bundle manifest (``manifest.json``): one declared schema that export writes and load validates.

Every field is declared once, with its type, on :class:`Manifest` and the classes it holds. ``export`` builds a
``Manifest`` and writes :meth:`Manifest.to_json`; ``load_bundle`` reads it back with :meth:`Manifest.from_json`,
which checks the whole document before anything else is read: a manifest that is not an object, lacks a key,
has a value of the wrong type, names an encoder or model member the archive lacks, or comes from a newer format
is refused with one :class:`~assay.errors.BundleError` naming the bundle and the field (``encoders.features[0].
columns``). Keys a newer assay adds within the same format version are ignored, so older readers still load it.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

import attrs

from assay import errors
from assay.inference.schema import InputSchema

FORMAT = "assay-bundle"
#: 2: the model as an exported program where the library allows (``export``), encoders as skops files, the user's
#: functions only when needed, ``trusts`` listing exactly what needs trust (version 1 bundles trusted everything)
FORMAT_VERSION = 2


class _Invalid(Exception):
    """A field of the manifest is missing or of the wrong type; ``where`` is its dotted path."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}" if where else message)


_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", dict: "an object", list: "a list",
               type(None): "null"}


def _check(value: Any, hint: Any, where: str) -> Any:
    """``value`` checked against the type ``hint`` (str, int, bool, list[...], dict[str, ...], X | None, attrs
    classes, Any); returns it converted (attrs classes built, lists copied)."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        given = [o for o in options if o is not type(None)]
        if len(given) == 1 and _same_container(value, given[0]):  # an optional list or object: name the inner field
            return _check(value, given[0], where)
        for option in given:
            try:
                return _check(value, option, where)
            except _Invalid:
                continue
        raise _Invalid(where, f"expected {_describe(hint)}, got {_shown(value)}")
    if origin is list:
        if type(value) is not list:
            raise _Invalid(where, f"expected a list, got {_shown(value)}")
        (item,) = typing.get_args(hint)
        return [_check(element, item, f"{where}[{i}]") for i, element in enumerate(value)]
    if origin is dict:
        if type(value) is not dict:
            raise _Invalid(where, f"expected an object, got {_shown(value)}")
        _, item = typing.get_args(hint)
        return {key: _check(element, item, f"{where}.{key}") for key, element in value.items()}
    if attrs.has(hint):
        return _structure(hint, value, where)
    if type(value) is not hint:  # exact types: JSON true is not an integer, 1 is not a string
        raise _Invalid(where, f"expected {_TYPE_NAMES.get(hint, hint.__name__)}, got {_shown(value)}")
    return value


def _same_container(value: Any, hint: Any) -> bool:
    """Whether ``value`` is the JSON container ``hint`` describes (a list for ``list[...]``, an object for a class)."""
    return (typing.get_origin(hint) is list and type(value) is list) or (attrs.has(hint) and type(value) is dict)


def _describe(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        # list[int] | list[list[int]] reads "a list", not "a list or a list"
        return " or ".join(dict.fromkeys(_describe(option) for option in typing.get_args(hint)))
    origin = typing.get_origin(hint)
    if origin is not None:
        return _TYPE_NAMES.get(origin, str(origin))
    return _TYPE_NAMES.get(hint, "an object" if attrs.has(hint) else getattr(hint, "__name__", str(hint)))


def _shown(value: Any) -> str:
    text = json.dumps(value, default=repr)
    return f"{text[:60]}..." if len(text) > 60 else text


def _structure(cls: type, data: Any, where: str) -> Any:
    """An instance of the attrs class ``cls`` from the JSON object ``data``, every field checked."""
    if type(data) is not dict:
        raise _Invalid(where, f"expected an object, got {_shown(data)}")
    hints = typing.get_type_hints(cls)
    values = {}
    for field in attrs.fields(cls):
        key = field.alias or field.name
        path = f"{where}.{key}" if where else key
        if key not in data:
            if field.default is attrs.NOTHING:
                raise _Invalid(path, "is missing")
            continue
        values[key] = _check(data[key], hints[field.name], path)
    return cls(**values)


@attrs.frozen
class EncoderEntry:
    """A fitted encoder in the bundle: what it encodes and the member holding its bytes."""

    role: str
    position: int
    family_name: str
    class_name: str
    columns: list[str]
    output_names: list[str]
    is_categorical: bool
    fold_index: int | None
    file: str
    #: the axis a sequence or image encoder works along (``None`` for tabular encoders)
    axis: str | None = None
    #: how ``file`` is written: the family's safe format (``"skops"``), or ``"pickle"`` (its ``dumps``: trusted)
    format: str = "pickle"
    #: what loading a safe-format file must trust beyond the family's allow-list (a user's function), by name
    trusts: list[str] = attrs.field(factory=list)
    #: the same fitted encoder in the family's portable format (plain data, loaded without the family's library),
    #: written beside ``file`` when it reproduced the encoder exactly at export; ``None``: ``file`` only. Readers
    #: without the format (older assay, another family version) ignore it and load ``file``
    portable_file: str | None = None
    portable_format: str | None = None


@attrs.frozen
class InterpolaterEntry:
    """An interpolation step (see :class:`assay.data.interpolation.Interpolater`), applied before the encoders."""

    role: str
    position: int
    kwargs: dict[str, Any]
    columns: list[str]
    dtypes: list[str] | None = None
    columns_selected: list[str] | None = None


@attrs.frozen
class Encoders:
    """The label encoder (or ``None``), the feature encoders in order, the columns passed through, and the
    interpolation steps (absent in bundles written before interpolation existed)."""

    label: EncoderEntry | None
    features: list[EncoderEntry]
    passthrough: list[str]
    interpolaters: list[InterpolaterEntry] = attrs.field(factory=list)


@attrs.frozen
class Arrays:
    """How raw sequence or image samples become model input (see :class:`assay.data.read.arrays.ArrayEncoders`)."""

    kind: str
    sample_shape: list[int]
    kept: list[int]
    columns: list[str]
    reshape_indices: list[Any] | None
    features_shape: list[int]
    dtype: str
    layout: str


@attrs.frozen
class Label:
    """The label column, its classes in encoded order, and whether it is categorical."""

    column: str | None
    classes: list[Any]
    is_categorical: bool


@attrs.frozen
class Schema:
    """The input schema as written (see :class:`~assay.inference.schema.InputSchema`)."""

    feature_columns: list[str]
    feature_dtypes: dict[str, str]
    label_column: str | None = None
    ignored_columns: list[str] = attrs.field(factory=list)

    def input_schema(self) -> InputSchema:
        return InputSchema(list(self.feature_columns), dict(self.feature_dtypes), self.label_column,
                           list(self.ignored_columns))


@attrs.frozen
class Input:
    """One input of a multi-input model: its name and kind, its feature encoders (``label`` is null), and the
    schema of a table or how raw sequence or image samples become model input."""

    name: str
    kind: str
    encoders: Encoders
    schema: Schema | None = None
    arrays: Arrays | None = None


@attrs.frozen
class Export:
    """Whether the model was written as a program that loads without the user's code, and how that was checked.

    ``exported`` false: ``reason`` says why (a custom ``fn_predict``, an operation the library cannot export, or
    predictions that differed); the bundle then holds the stored model and the user's functions.
    """

    exported: bool
    reason: str | None = None
    format: str | None = None
    #: training rows the exported program predicted to compare it with the trained model, and the largest
    #: absolute difference of their predictions (probabilities for classification)
    checked_rows: int = 0
    max_difference: float | None = None
    seconds: float = 0.0


@attrs.frozen
class Manifest:
    """Everything ``manifest.json`` says about a bundle. Attribute names are the JSON keys."""

    format: str
    format_version: int
    created_at: str
    library: str
    analysis_type: str
    model_file: str
    model_format: str
    features_shape: list[int] | list[list[int]]  # one shape per input for a multi-input model
    label_shape: list[int] | None
    hyperparameters: dict[str, Any]
    schema: Schema
    label: Label
    encoders: Encoders
    functions_file: str | None  # None when the bundle holds none of the user's functions
    functions: list[str]
    versions: dict[str, str]
    source: dict[str, Any]
    #: member -> why loading it runs code (the user's functions, pickled encoders); empty: loads without trust
    trusts: dict[str, str]
    #: the splitset's ``feature_window`` settings when the model forecasts windows (absent in older bundles)
    window: dict[str, Any] | None = None
    #: sequence and image models: how raw samples become model input (``None`` for tabular models)
    arrays: Arrays | None = None
    #: multi-input models: every input in order (``schema`` then names columns ``"<input>: <column>"`` and
    #: ``encoders`` holds the label's encoder only)
    inputs: list[Input] | None = None
    #: how the model was exported (absent in version 1 bundles, which always kept ``fn_build``)
    export: Export | None = None
    #: the metrics of the model's splits at export: split -> metric -> value
    metrics: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    #: the predictor's conformal calibration (``predictor.calibrate``), applied by
    #: :func:`assay.inference.conformal.apply` after each prediction; ``None`` when not calibrated
    conformal: dict[str, Any] | None = None

    def members(self) -> list[str]:
        """The archive members this manifest refers to: model, functions and every encoder."""
        entries = ([self.encoders.label] if self.encoders.label else []) + list(self.encoders.features)
        entries += [entry for one in self.inputs or [] for entry in one.encoders.features]
        functions = [self.functions_file] if self.functions_file else []
        portable = [entry.portable_file for entry in entries if entry.portable_file]
        return [self.model_file, *functions, *(entry.file for entry in entries), *portable]

    def encoder_entries(self) -> list[EncoderEntry]:
        """Every encoder of the bundle: the label's, the features', each input's."""
        entries = ([self.encoders.label] if self.encoders.label else []) + list(self.encoders.features)
        return entries + [entry for one in self.inputs or [] for entry in one.encoders.features]

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self, recurse=True)

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes, path: str, members: set[str]) -> Manifest:
        """Parse and validate ``manifest.json`` of the bundle at ``path`` whose archive holds ``members``.

        Raises:
            assay.errors.BundleError: not JSON, not an object, another format, a newer format version, a missing
                or mistyped field, or a member it names that the archive lacks.
        """
        def refuse(problem: str, fix: str = "export the model again with predictor.export(path)") -> Exception:
            return errors.BundleError("path", f"{path!r} {problem}; {fix}")

        try:
            document = json.loads(data)
        except ValueError as exc:
            raise refuse(f"has a manifest.json that is not JSON ({exc})") from exc
        if type(document) is not dict:
            raise refuse(f"has a manifest.json that is not a JSON object but {_describe(type(document))}")
        if document.get("format") != FORMAT:
            raise refuse(f"is not an assay bundle (manifest format {document.get('format')!r})",
                         "give the path predictor.export wrote")
        version = document.get("format_version")
        if type(version) is int and version > FORMAT_VERSION:
            raise refuse(f"is a version {version} bundle; this assay reads up to version {FORMAT_VERSION}",
                         "upgrade assay (pip install -U assay)")
        try:
            manifest = _structure(cls, document, "")
        except _Invalid as exc:
            raise refuse(f"has a damaged manifest.json: {exc}") from None
        absent = [name for name in manifest.members() if name not in members]
        if absent:
            raise refuse(f"is incomplete: it lacks {absent}")
        return manifest
