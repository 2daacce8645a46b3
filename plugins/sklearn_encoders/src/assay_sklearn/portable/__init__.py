"""Fitted scikit-learn preprocessors as plain data, transformed with numpy alone.

A bundle's encoders are ``skops.io`` files, and loading one imports scikit-learn (skops' list of trusted types
imports every estimator: about 2 s before the first prediction). The common preprocessors are a few arrays and
settings once fitted, so this module keeps them as data and re-implements their ``transform`` in numpy:

* :func:`from_sklearn` turns a fitted ``StandardScaler``, ``MinMaxScaler``, ``MaxAbsScaler``, ``RobustScaler``,
  ``OneHotEncoder``, ``OrdinalEncoder``, ``LabelEncoder`` or ``LabelBinarizer`` into its portable twin (same class
  name, same fitted attributes), or raises :class:`NotPortable` for any other class or setting (infrequent
  categories, a multilabel binarizer, sparse input...);
* :func:`dumps` writes it as one ``.npz`` archive: ``meta`` (JSON: class name, settings, category lists of
  strings or mixed Python scalars) and numeric arrays, saved with ``allow_pickle=False``;
* :func:`loads` reads it back with ``allow_pickle=False`` and checks every field (known class, arrays of the
  declared shapes and kinds): a damaged or tampered member raises :class:`assay.errors.BundleError`, never a
  wrong answer.

The arithmetic is scikit-learn's, step for step (``X -= mean_; X /= scale_`` in the input's float dtype...), so a
portable transform equals scikit-learn's bit for bit; the bundle export checks that on the fitted rows before it
writes a portable member (:mod:`assay.inference.export`), and ``tests/test_portable_encoders.py`` checks it on
generated data. This module must never import scikit-learn or scipy: ``assay predict`` loads it for that reason.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

from assay import errors
from assay_sklearn.portable.base import NotPortable, Portable
from assay_sklearn.portable.categorical import OneHotEncoder, OrdinalEncoder
from assay_sklearn.portable.labels import LabelBinarizer, LabelEncoder
from assay_sklearn.portable.scalers import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler

__all__ = ["CLASSES", "FORMAT", "NotPortable", "Portable", "dumps", "from_sklearn", "loads"]

#: the bundle format name (and member suffix) of a portable encoder
FORMAT = "npz"
#: bumped when the layout of :func:`dumps` changes incompatibly; :func:`loads` refuses a newer one
VERSION = 1


#: the portable classes by the name of the scikit-learn class they reproduce
CLASSES: dict[str, type[Portable]] = {cls.__name__: cls for cls in (
    StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler, OneHotEncoder, OrdinalEncoder, LabelEncoder,
    LabelBinarizer)}


def from_sklearn(fitted: Any) -> Portable:
    """The portable twin of a fitted scikit-learn preprocessor; :class:`NotPortable` when it has none."""
    cls = type(fitted)
    portable = CLASSES.get(cls.__name__)
    if portable is None or not cls.__module__.startswith("sklearn.preprocessing"):
        raise NotPortable(f"{cls.__module__}.{cls.__name__} has no portable form")
    return portable.from_sklearn(fitted)


def dumps(portable: Portable) -> bytes:
    """One ``.npz`` archive: the JSON ``meta`` (class, format version, settings) and the arrays, no pickles."""
    meta, arrays = portable.state()
    document = {"class": type(portable).__name__, "version": VERSION, **meta}
    if "meta" in arrays:
        raise NotPortable("an array named meta")
    if any(array.dtype.kind == "O" for array in arrays.values()):
        raise NotPortable("an array of Python objects")
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.frombuffer(json.dumps(document).encode(), dtype=np.uint8), **arrays)
    return buffer.getvalue()


def loads(data: bytes, where: str = "the encoder") -> Portable:
    """Read :func:`dumps` bytes (``allow_pickle=False``), every field checked.

    Raises:
        assay.errors.BundleError: not such an archive, an unknown class, a newer format, or a field of the wrong
            shape or type (naming ``where`` and the field).
    """
    def refuse(problem: str) -> errors.BundleError:
        return errors.BundleError("path", f"{where} is a damaged portable encoder ({problem}); export the model again")

    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(arrays.pop("meta").tobytes())
    except Exception as exc:  # whatever numpy's and zipfile's readers raise for bytes that are not such an archive
        raise refuse(f"{type(exc).__name__}: {exc}") from exc
    if type(meta) is not dict:
        raise refuse("its meta is not a JSON object")
    if type(meta.get("version")) is not int or meta["version"] > VERSION:
        raise refuse(f"format version {meta.get('version')!r}; this assay reads up to {VERSION}")
    cls = CLASSES.get(meta.get("class"))  # type: ignore[arg-type]
    if cls is None:
        raise refuse(f"unknown class {meta.get('class')!r}; assay reads {', '.join(CLASSES)}")
    try:
        return cls.from_state(meta, arrays)
    except (ValueError, TypeError, KeyError) as exc:
        raise refuse(f"{cls.__name__}: {exc}") from exc
