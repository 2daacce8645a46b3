"""The inputs of a multi-input model at inference: each input's raw data checked and encoded by its own encoders.

:class:`InputEntry` is one input as inference (and bundles) need it: its name, kind, fitted encoders, schema
(tables) and layout. :func:`encode_inputs` takes new raw data for every input (a list in input order, or a dict by
input name), checks each (columns and dtypes of a table, the sample shape of sequences and images, finite values)
and that they hold the same number of samples, and returns the encoded arrays in the library's layout.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from assay import errors
from assay.data import finite, ingest
from assay.data.encoding import FittedEncoders
from assay.data.read import multi_input
from assay.data.read.arrays import ArrayEncoders, library_features, read_samples
from assay.inference.outcome import encoded_sources
from assay.inference.schema import InputSchema, check


@attrs.frozen
class InputEntry:
    """One input of a multi-input model: what turns its raw data into model input."""

    name: str
    kind: str
    encoders: FittedEncoders | ArrayEncoders = attrs.field(repr=False)
    schema: InputSchema | None  # tables only
    layout: str


def _encode_one(entry: InputEntry, data: Any, parameter: str) -> np.ndarray:
    if entry.kind == "tabular":
        try:
            df, _ = ingest.read_tabular(data)
        except errors.DataError as exc:
            raise multi_input.renamed(exc, parameter) from None
        features = check(df, entry.schema, parameter)
        finite.refuse_infinity(features, list(features.columns), parameter)
        encoded = entry.encoders.encode_features(features.reset_index(drop=True))
        finite.refuse_unencodable_rows(features, encoded, encoded_sources(entry.encoders), parameter, None)
        return encoded
    samples, _ = read_samples(entry.kind, data, parameter)
    encoded = entry.encoders.encode_features(samples, parameter=parameter)
    bad = np.flatnonzero(~np.isfinite(encoded.reshape(len(encoded), -1)).all(axis=1))
    if len(bad):
        raise errors.DataError(parameter, f"samples {bad[:finite.SHOWN].tolist()} hold NaN or ±inf after encoding; "
                               "nothing was predicted: fill or drop those samples")
    return encoded


def encode_inputs(inputs: list[InputEntry], data: Any, channels_last: bool,
                  parameter: str = "df_or_path") -> list[np.ndarray]:
    """Every input's new raw data, checked and encoded, in the library's layout (one array per input, in order).

    Raises:
        assay.errors.SchemaMismatchError: not one entry per input, or an input's columns or sample shape differ
            from training (the error names ``df_or_path[i]`` and the input).
        assay.errors.DataError: inputs holding different numbers of samples, or values no encoder can take.
    """
    names = [entry.name for entry in inputs]
    items = multi_input.per_input(data, names, parameter)
    encoded = []
    for index, (entry, item) in enumerate(zip(inputs, items, strict=True)):
        where = f"{parameter}[{index}]"
        try:
            array = _encode_one(entry, item, where)
        except errors.ValidationError as exc:
            raise multi_input.renamed(exc, f"{where} (input {entry.name!r})") from None
        encoded.append(library_features(array, entry.layout, channels_last))
    multi_input.check_counts([len(array) for array in encoded], names, parameter)
    return encoded
