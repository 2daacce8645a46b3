"""A ``POST /predict`` body turned into a bundle's input, refused with the field named when it does not fit.

Bodies by the model's input:

* a table: ``{"rows": [{column: value, ...}, ...]}``, or a CSV body (``Content-Type: text/csv``) with a header;
* sequences: ``{"samples": [[[...], ...], ...]}``, nested lists of samples x timesteps x features;
* images: ``{"images": ["<base64 PNG or JPEG>", ...]}``;
* several inputs: ``{"inputs": {name: <that input's rows, samples or images>, ...}}``.

Every value is checked against the schema the model was trained with before anything is predicted: a missing
or extra column, a value of the wrong type for its column's dtype, ragged nested lists, an image Pillow cannot
read. :class:`RequestError` carries the HTTP status (400 for a body that is not JSON or CSV, 422 for one that does
not fit) and the field (``rows[3].sepal_length``, ``inputs.photo[0]``).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from typing import Any

import numpy as np
import pandas as pd

from assay.inference.bundle import Bundle
from assay.inference.schema import InputSchema

#: how many column names an error message lists
SHOWN = 12


class RequestError(Exception):
    """A request the server refuses: ``status`` (400 or 422), the ``field`` at fault and what to send instead."""

    def __init__(self, status: int, field: str, message: str):
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


def _listed(names: list[str]) -> str:
    return ", ".join(map(repr, names[:SHOWN])) + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def _kind_of(dtype: str) -> str:
    """``"number"``, ``"integer"``, ``"boolean"`` or ``"text"`` for a training dtype's name; ``"any"`` else."""
    try:
        kind = np.dtype(dtype).kind
    except TypeError:  # pandas extension dtypes: category, string, Int64...
        lowered = dtype.lower()
        if lowered in ("string", "category", "str"):
            return "text"
        kind = "i" if lowered.startswith(("int", "uint")) else "f" if lowered.startswith("float") else ""
        if lowered == "boolean":
            kind = "b"
    return {"f": "number", "i": "integer", "u": "integer", "b": "boolean", "O": "text", "U": "text"}.get(kind, "any")


def _value_fits(value: Any, kind: str) -> bool:
    if value is None or kind == "any":
        return True
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    if kind == "boolean":
        return isinstance(value, bool)
    return isinstance(value, str)


_KIND_NAMES = {"number": "a number", "integer": "an integer", "boolean": "true or false", "text": "a string"}


def table(rows: Any, schema: InputSchema, field: str) -> pd.DataFrame:
    """JSON rows as a DataFrame of the model's columns, each value checked against its column's dtype."""
    if not isinstance(rows, list) or not rows:
        raise RequestError(422, field, "give a non-empty list of rows, each an object {column: value}")
    features = list(schema.feature_columns)
    allowed = set(features) | set(schema.ignored_columns) | ({schema.label_column} - {None})
    kinds = {column: _kind_of(str(schema.feature_dtypes.get(column, ""))) for column in features}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise RequestError(422, f"{field}[{index}]", f"expected an object {{column: value}}, got {_shown(row)}")
        missing = [column for column in features if column not in row]
        if missing:
            raise RequestError(422, f"{field}[{index}].{missing[0]}",
                               f"is missing: every row needs the columns {_listed(missing)}")
        extra = [key for key in row if key not in allowed]
        if extra:
            raise RequestError(422, f"{field}[{index}].{extra[0]}",
                               f"is not a column of the model (it takes {_listed(features)})")
        for column in features:
            if not _value_fits(row[column], kinds[column]):
                raise RequestError(422, f"{field}[{index}].{column}",
                                   f"expected {_KIND_NAMES[kinds[column]]} (the column was "
                                   f"{schema.feature_dtypes[column]} in training), got {_shown(row[column])}")
    columns = {}
    for column in features:  # one array per column: much faster than DataFrame.from_records for a few rows
        values = [row[column] for row in rows]
        dtype = schema.feature_dtypes[column]
        if kinds[column] == "number" or (kinds[column] == "integer" and None not in values):
            columns[column] = np.asarray([np.nan if value is None else value for value in values],
                                         dtype=dtype if kinds[column] == "integer" else np.float64)
        else:
            columns[column] = values
    return _cast(pd.DataFrame(columns), schema)


def _cast(frame: pd.DataFrame, schema: InputSchema) -> pd.DataFrame:
    """Numeric columns in their training dtype where their values allow (JSON has one number type)."""
    for column in frame.columns:
        dtype = schema.feature_dtypes.get(column)
        if dtype is None or _kind_of(str(dtype)) not in ("number", "integer") or str(frame[column].dtype) == dtype:
            continue
        if frame[column].isna().any() and _kind_of(str(dtype)) == "integer":
            frame[column] = frame[column].astype("float64")
            continue
        try:
            frame[column] = frame[column].astype(dtype)
        except (TypeError, ValueError):
            continue  # the schema check names the column
    return frame


def csv_table(body: bytes, schema: InputSchema) -> pd.DataFrame:
    """A CSV body (header row first) as a DataFrame, its columns checked like JSON rows'."""
    try:
        frame = pd.read_csv(io.BytesIO(body))
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise RequestError(400, "body", f"is not CSV with a header row ({' '.join(str(exc).split())})") from exc
    features = list(schema.feature_columns)
    allowed = set(features) | set(schema.ignored_columns) | ({schema.label_column} - {None})
    missing = [column for column in features if column not in frame.columns]
    if missing:
        raise RequestError(422, f"columns.{missing[0]}", f"is missing from the CSV header: it needs {_listed(missing)}")
    extra = [str(column) for column in frame.columns if column not in allowed]
    if extra:
        raise RequestError(422, f"columns.{extra[0]}", f"is not a column of the model (it takes {_listed(features)})")
    if frame.empty:
        raise RequestError(422, "body", "the CSV has a header but no rows")
    for column in features:
        kind = _kind_of(str(schema.feature_dtypes.get(column, "")))
        if kind in ("number", "integer") and not pd.api.types.is_numeric_dtype(frame[column].dtype):
            bad = frame[column][pd.to_numeric(frame[column], errors="coerce").isna() & frame[column].notna()]
            if len(bad):
                raise RequestError(422, f"rows[{bad.index[0]}].{column}",
                                   f"expected a number (the column was {schema.feature_dtypes[column]} in training), "
                                   f"got {_shown(bad.iloc[0])}")
    return _cast(frame[features], schema)


def sequences(samples: Any, sample_shape: list[int], field: str) -> np.ndarray:
    """Nested lists as a samples x timesteps x features array of the training sample shape."""
    if not isinstance(samples, list) or not samples:
        raise RequestError(422, field, "give a non-empty list of samples, each a list of timesteps of features")
    try:
        array = np.asarray(samples, dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise RequestError(422, field, "holds nested lists of different lengths or values that are not numbers; "
                           f"every sample must have shape {tuple(sample_shape)} ({exc})") from exc
    if array.ndim != 3 or list(array.shape[1:]) != list(sample_shape):
        raise RequestError(422, field, f"has shape {array.shape}; the model takes samples of shape "
                           f"{tuple(sample_shape)} (timesteps, features): send n lists of {sample_shape[0]} lists "
                           f"of {sample_shape[1]} numbers")
    return array


def images(encoded: Any, sample_shape: list[int], field: str) -> np.ndarray:
    """Base64 PNG or JPEG images as a samples x channels x height x width uint8 array (assay's layout)."""
    from PIL import Image, UnidentifiedImageError

    if not isinstance(encoded, list) or not encoded:
        raise RequestError(422, field, "give a non-empty list of base64-encoded PNG or JPEG images")
    channels = sample_shape[0] if sample_shape else None
    arrays = []
    for index, text in enumerate(encoded):
        where = f"{field}[{index}]"
        if not isinstance(text, str):
            raise RequestError(422, where, f"expected a base64 string, got {_shown(text)}")
        try:
            data = base64.b64decode(text.split(",", 1)[-1] if text.startswith("data:") else text, validate=True)
            with Image.open(io.BytesIO(data)) as image:
                if image.mode not in ("L", "RGB"):
                    raise RequestError(422, where, f"is an image in mode {image.mode}; send grayscale (L) or RGB")
                pixels = np.asarray(image)
        except (binascii.Error, ValueError) as exc:
            raise RequestError(422, where, f"is not base64 ({exc})") from exc
        except (UnidentifiedImageError, OSError) as exc:
            raise RequestError(422, where, "is not a PNG or JPEG image Pillow can read") from exc
        array = pixels[np.newaxis] if pixels.ndim == 2 else np.moveaxis(pixels, -1, 0)
        if list(array.shape) != list(sample_shape):
            raise RequestError(422, where, f"has channels x height x width {array.shape}; the model takes "
                               f"{tuple(sample_shape)}" + ("" if channels is None else
                                                           f" ({'grayscale' if channels == 1 else 'RGB'})"))
        arrays.append(array)
    return np.stack(arrays)


def _shown(value: Any) -> str:
    text = json.dumps(value, default=repr)
    return text if len(text) <= 60 else f"{text[:60]}..."


def parse_json(body: bytes) -> Any:
    """The JSON document of a body; 400 when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(400, "body", f"is not valid JSON ({exc})") from exc


def model_input(bundle: Bundle, content_type: str, body: bytes) -> tuple[Any, int]:
    """The input ``bundle.predict`` takes for this request, and its number of rows (samples).

    Raises:
        RequestError: the body does not fit the model's inputs (naming the field).
    """
    manifest = bundle.manifest
    if content_type.split(";")[0].strip().lower() in ("text/csv", "application/csv"):
        if manifest.inputs is not None or manifest.arrays is not None:
            raise RequestError(415, "body", "a CSV body is for models of one table; send JSON (GET /schema)")
        frame = csv_table(body, bundle.schema)
        return frame, len(frame)
    document = parse_json(body)
    if not isinstance(document, dict):
        raise RequestError(422, "body", f"expected a JSON object such as {{\"{request_key(bundle)}\": [...]}}, got "
                           f"{_shown(document)[:40]}")
    key = request_key(bundle)
    unknown = [name for name in document if name != key]
    if key not in document:
        raise RequestError(422, key, f"is missing: this model takes {{\"{key}\": [...]}} (GET /schema describes it)")
    if unknown:
        raise RequestError(422, unknown[0], f"is not a field of the request; send only {{\"{key}\": ...}}")
    value = document[key]
    if manifest.inputs is None:
        data = _one_input(manifest.arrays.kind if manifest.arrays else "tabular", value, bundle.schema,
                          manifest.arrays.sample_shape if manifest.arrays else [], key)
        return data, len(data)
    if not isinstance(value, dict):
        raise RequestError(422, "inputs", "expected an object {input name: data}, with the inputs "
                           f"{_listed([one.name for one in manifest.inputs])}")
    names = [one.name for one in manifest.inputs]
    missing = [name for name in names if name not in value]
    if missing:
        raise RequestError(422, f"inputs.{missing[0]}", f"is missing: the model takes the inputs {_listed(names)}")
    extra = [name for name in value if name not in names]
    if extra:
        raise RequestError(422, f"inputs.{extra[0]}", f"is not an input of the model (it takes {_listed(names)})")
    parts = {one.name: _one_input(one.kind, value[one.name], one.schema.input_schema() if one.schema else None,
                                  one.arrays.sample_shape if one.arrays else [], f"inputs.{one.name}")
             for one in manifest.inputs}
    counts = {name: len(part) for name, part in parts.items()}
    if len(set(counts.values())) > 1:
        raise RequestError(422, "inputs", f"the inputs hold different numbers of samples: {counts}")
    return parts, next(iter(counts.values()))


def request_key(bundle: Bundle) -> str:
    """The JSON field a request for this model holds: ``rows``, ``samples``, ``images`` or ``inputs``."""
    manifest = bundle.manifest
    if manifest.inputs is not None:
        return "inputs"
    if manifest.arrays is not None:
        return "samples" if manifest.arrays.kind == "sequence" else "images"
    return "rows"


def _one_input(kind: str, value: Any, schema: InputSchema | None, sample_shape: list[int], field: str) -> Any:
    if kind == "sequence":
        return sequences(value, sample_shape, field)
    if kind == "image":
        return images(value, sample_shape, field)
    return table(value, schema, field)
