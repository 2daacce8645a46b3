"""Hyperparameter ranges for adaptive search: ``assay.space.Int`` and ``assay.space.Float``.

A hyperparameter's values are either a list (categorical: every value is tried by a grid, or chosen among by a
sampler) or a range that a search strategy samples from::

    hyperparameters = {
        "neuron_count": assay.space.Int(8, 64, step=8),
        "learning_rate": assay.space.Float(1e-4, 1e-1, log=True),
        "activation": ["relu", "tanh"],
    }

Ranges are checked when they are made (``low > high``, ``log`` with ``low <= 0``...), so a bad space fails before
anything is written. They are stored as small JSON documents (:meth:`Int.to_json`) and read back with
:func:`from_json`. This module depends on nothing but :mod:`assay.errors`: the engine turns ranges into Optuna
distributions (:mod:`assay.experiment.search`).
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from assay import errors

__all__ = ["Float", "Int", "Range", "describe", "from_json", "is_range"]

PARAMETER = "hyperparameters"


def _number(value: Any, *, integer: bool) -> bool:
    if isinstance(value, bool):
        return False
    kinds = (int,) if integer else (int, float)
    return isinstance(value, kinds) and (integer or math.isfinite(value))


@attrs.frozen
class Int:
    """Integers from ``low`` to ``high`` (both included) in steps of ``step``, sampled on a log scale with ``log``.

    Args:
        low: the smallest value.
        high: the largest value; ``high - low`` must be a multiple of ``step``.
        step: the spacing of the values (``1``: every integer). Cannot be combined with ``log``.
        log: sample on a log scale (``low`` must then be >= 1): for sizes spanning orders of magnitude.

    Raises:
        assay.errors.ExperimentError: a bad bound, step or ``log``; the message says which and how to fix it.
    """

    low: int
    high: int
    step: int = 1
    log: bool = False

    def __attrs_post_init__(self) -> None:
        text = f"Int(low={self.low!r}, high={self.high!r}, step={self.step!r}, log={self.log!r})"
        for name in ("low", "high", "step"):
            if not _number(getattr(self, name), integer=True):
                raise errors.ExperimentError(PARAMETER, f"{text}: {name} must be an int")
        if not isinstance(self.log, bool):
            raise errors.ExperimentError(PARAMETER, f"{text}: log must be True or False")
        if self.low > self.high:
            raise errors.ExperimentError(PARAMETER, f"{text}: low is greater than high; swap them")
        if self.step < 1:
            raise errors.ExperimentError(PARAMETER, f"{text}: step must be >= 1")
        if self.log and self.low < 1:
            raise errors.ExperimentError(PARAMETER, f"{text}: a log scale needs low >= 1; raise low or drop log")
        if self.log and self.step != 1:
            raise errors.ExperimentError(PARAMETER, f"{text}: a log scale cannot have a step; use step=1 or log=False")
        if (self.high - self.low) % self.step:
            raise errors.ExperimentError(
                PARAMETER, f"{text}: high - low must be a multiple of step; use high="
                f"{self.low + (self.high - self.low) // self.step * self.step}"
            )

    @property
    def size(self) -> int:
        """How many distinct values the range holds."""
        return (self.high - self.low) // self.step + 1

    def to_json(self) -> dict[str, Any]:
        return {"type": "int", "low": self.low, "high": self.high, "step": self.step, "log": self.log}

    def __str__(self) -> str:
        options = (f", step={self.step}" if self.step != 1 else "") + (", log" if self.log else "")
        return f"int {self.low}..{self.high}{options}"


@attrs.frozen
class Float:
    """Real numbers from ``low`` to ``high``, sampled uniformly or on a log scale with ``log``.

    Args:
        low: the smallest value.
        high: the largest value.
        log: sample on a log scale (``low`` must then be > 0): for learning rates, regularisation strengths.

    Raises:
        assay.errors.ExperimentError: a bad bound or ``log``; the message says which and how to fix it.
    """

    low: float
    high: float
    log: bool = False

    def __attrs_post_init__(self) -> None:
        text = f"Float(low={self.low!r}, high={self.high!r}, log={self.log!r})"
        for name in ("low", "high"):
            if not _number(getattr(self, name), integer=False):
                raise errors.ExperimentError(PARAMETER, f"{text}: {name} must be a finite number")
        if not isinstance(self.log, bool):
            raise errors.ExperimentError(PARAMETER, f"{text}: log must be True or False")
        if self.low > self.high:
            raise errors.ExperimentError(PARAMETER, f"{text}: low is greater than high; swap them")
        if self.log and self.low <= 0:
            raise errors.ExperimentError(PARAMETER, f"{text}: a log scale needs low > 0; raise low or drop log")

    @property
    def size(self) -> float:
        """Infinite unless ``low == high``."""
        return 1 if self.low == self.high else math.inf

    def to_json(self) -> dict[str, Any]:
        return {"type": "float", "low": float(self.low), "high": float(self.high), "log": self.log}

    def __str__(self) -> str:
        return f"float {self.low:g}..{self.high:g}" + (", log" if self.log else "")


Range = Int | Float


def is_range(value: Any) -> bool:
    """Whether a hyperparameter's values are a range (not a list of choices)."""
    return isinstance(value, (Int, Float))


def is_stored_range(value: Any) -> bool:
    """Whether a stored (JSON) hyperparameter value is a range document made by ``to_json``."""
    return isinstance(value, dict) and value.get("type") in ("int", "float") and "low" in value


def from_json(value: Any) -> Any:
    """A stored hyperparameter's values back as a list or a range."""
    if is_stored_range(value):
        kind = value["type"]
        if kind == "int":
            return Int(value["low"], value["high"], step=value.get("step", 1), log=value.get("log", False))
        return Float(value["low"], value["high"], log=value.get("log", False))
    return list(value)


def describe(value: Any) -> str:
    """Short text for a hyperparameter's values, list or range (stored or not): for reports and messages."""
    if is_stored_range(value):
        value = from_json(value)
    if is_range(value):
        return str(value)
    return ", ".join(map(str, value))
