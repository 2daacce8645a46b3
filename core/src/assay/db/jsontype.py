"""The one JSON column type of assay: values SQLite and PostgreSQL both accept, read back equal.

Standard JSON has no NaN or infinity (PostgreSQL refuses the ``NaN`` token Python's ``json`` writes), no
tuples, no non-string keys, and no numpy scalars, dtypes or classes, yet encoder parameters, hyperparameters and
statistics hold all of them. :class:`JSONValue` (a ``TypeDecorator`` over ``JSON``, so the DDL stays ``JSON``)
writes those as small tagged objects and turns them back on reading:

=============================  =================================  ======================================
Python value                   stored as                          read back as
=============================  =================================  ======================================
``nan``, ``inf``, ``-inf``     ``{"$float": "nan"}`` ...          the same float
numpy integer/float/bool/str   the plain JSON number/bool/string  the Python value (equal to the scalar)
numpy array                    a list                             a list
tuple                          ``{"$tuple": [...]}``              a tuple
dict with non-string keys      ``{"$items": [[key, value], ...]}``  a dict with the original keys
numpy dtype                    ``{"$dtype": "float32"}``          ``numpy.dtype("float32")``
class                          ``{"$class": "module.Name"}``      the class (imported; the name if absent)
=============================  =================================  ======================================

A user's dict that looks like a tag (one key among the tags) is wrapped in ``{"$dict": ...}``, so it reads back
as itself. Anything else (an estimator, a function) cannot be stored: :func:`encode` raises ``TypeError``, and
:func:`storable` replaces it with its ``repr`` for columns that only describe things.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from sqlalchemy import JSON
from sqlalchemy.types import TypeDecorator

_FLOAT, _TUPLE, _ITEMS, _DTYPE, _CLASS, _DICT = "$float", "$tuple", "$items", "$dtype", "$class", "$dict"
TAGS = frozenset({_FLOAT, _TUPLE, _ITEMS, _DTYPE, _CLASS, _DICT})
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_PLAIN = (str, int, bool, type(None))
_PLAIN_TYPES = frozenset(_PLAIN)
_DECODED_TYPES = frozenset({*_PLAIN, float})  # what a list holds when nothing in it needs decoding


def _float(value: float) -> Any:
    if math.isfinite(value):
        return float(value)
    return {_FLOAT: "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}


def encode(value: Any) -> Any:
    """``value`` as plain JSON data (see the module table); raises ``TypeError`` for what cannot be stored."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is float:
        return _float(value)
    if kind is list:
        # fast path: row indices and column names are long lists of plain values (map/set run in C)
        if set(map(type, value)) <= _PLAIN_TYPES:
            return value
        return [encode(item) for item in value]
    if kind is dict:
        if all(type(key) is str for key in value):
            encoded = {key: encode(item) for key, item in value.items()}
            return {_DICT: encoded} if len(encoded) == 1 and next(iter(encoded)) in TAGS else encoded
        return {_ITEMS: [[encode(key), encode(item)] for key, item in value.items()]}
    if kind is tuple:
        return {_TUPLE: [encode(item) for item in value]}
    if isinstance(value, np.generic):
        return encode(value.item())
    if isinstance(value, np.ndarray):
        return encode(value.tolist())
    if isinstance(value, np.dtype):
        return {_DTYPE: value.str if value.names else value.name}
    if isinstance(value, type):
        return {_CLASS: f"{value.__module__}.{value.__qualname__}"}
    if isinstance(value, (str, int, float)):  # subclasses (IntEnum, a float subclass...) as their plain value
        # str.__str__: a (str, Enum) member's own text, not "Class.MEMBER"
        return encode(float(value) if isinstance(value, float) else (str.__str__(value) if isinstance(value, str)
                                                                      else int(value)))
    if isinstance(value, (list, tuple, dict)):  # subclasses (a namedtuple, an OrderedDict) as the plain type
        return encode(_plain_container(value))
    raise TypeError(f"{type(value).__name__} values cannot be stored in a JSON column: {value!r:.80}")


def _plain_container(value: Any) -> Any:
    for plain in (list, tuple, dict):
        if isinstance(value, plain):
            return plain(value)
    raise AssertionError(value)  # pragma: no cover - callers checked the type


def _class(name: str) -> Any:
    module, _, qualname = name.rpartition(".")
    try:
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError, ValueError):
        # the class's package is not installed here: the name still says what it was
        return name
    return found


def _tag(value: dict[str, Any]) -> Any:
    """The Python value of a tagged object, or ``value`` itself when it is not a tag."""
    if len(value) != 1:
        return {key: decode(item) for key, item in value.items()}
    key, item = next(iter(value.items()))
    if key == _FLOAT and item in _NON_FINITE:
        return _NON_FINITE[item]
    if key == _TUPLE and type(item) is list:
        return tuple(decode(element) for element in item)
    if key == _ITEMS and type(item) is list:
        return {_hashable(decode(pair[0])): decode(pair[1]) for pair in item}
    if key == _DTYPE and type(item) is str:
        try:
            return np.dtype(item)
        except TypeError:
            return item
    if key == _CLASS and type(item) is str:
        return _class(item)
    if key == _DICT and type(item) is dict:
        return {name: decode(element) for name, element in item.items()}
    return {key: decode(item)}


def _hashable(key: Any) -> Any:
    return tuple(_hashable(item) for item in key) if isinstance(key, list) else key


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`."""
    kind = type(value)
    if kind is list:
        if set(map(type, value)) <= _DECODED_TYPES:
            return value
        return [decode(item) for item in value]
    if kind is dict:
        return _tag(value)
    return value


def loads_many(texts: Iterable[str | None]) -> list[Any]:
    """JSON column values read as raw text (``cast(column, Text)``), decoded as the column type would.

    Parsed as one JSON document: for thousands of small values (a queue's metrics or hyperparameters) that is
    several times faster than one ``json.loads`` each. ``None`` (SQL NULL) reads back as ``None``.
    """
    document = "[" + ",".join("null" if text is None else text for text in texts) + "]"
    values = json.loads(document)
    if '"$' in document:  # a tagged value somewhere (NaN, a tuple...): decode each as process_result_value does
        values = [None if value is None else decode(value) for value in values]
    return values


def storable(value: Any) -> Any:
    """``value`` with every part :func:`encode` cannot store replaced by its ``repr`` (for descriptions)."""
    if isinstance(value, dict):
        return {key: storable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        items = [storable(item) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    try:
        encode(value)
    except TypeError:
        return repr(value)
    return value


def is_storable(value: Any) -> bool:
    """Whether :func:`encode` can store ``value``."""
    try:
        encode(value)
    except TypeError:
        return False
    return True


class JSONValue(TypeDecorator):
    """``JSON`` that also stores NaN, ±inf, tuples, numpy scalars, dtypes and classes (see the module table)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return None if value is None else encode(value)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else decode(value)
