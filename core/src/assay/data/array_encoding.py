"""Encoders of sequence and image samples: which 2-D view a transformer sees, fitting without leakage, reshaping.

A scikit-learn style transformer works on 2-D tables, so each encoder step says what one row of its table is:

- sequences (samples x timesteps x features), ``axis="feature"``: one row per timestep, one column per feature:
  ``(samples*timesteps, features)``, so a scaler learns each feature's scale over all timesteps;
- images (samples x channels x height x width), ``axis="channel"`` (default): one row per pixel, one column per
  channel: ``(samples*height*width, channels)``; ``axis="pixel"``: one row per image, one column per value:
  ``(samples, channels*height*width)``, which must keep its width.

Steps apply in order, each to the previous one's output. Categorical encoders may see every sample; every other
encoder is fitted on the train (or fold-train) samples only, batch by batch when the encoder learns
incrementally (see :meth:`assay.contracts.EncoderFamily.fit_batches`). ``feature_reshape_indices`` reshapes the
encoded samples last, with AIQC's spelling: an int takes that axis's size of the encoded array (0 is samples),
a string is a literal size, and a tuple multiplies the sizes of several axes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import numpy as np

from assay import errors, plugins
from assay.contracts import EncoderFamily

AXES = {"sequence": ("feature",), "image": ("channel", "pixel")}
DEFAULT_AXIS = {"sequence": "feature", "image": "channel"}
BATCH_VALUES = 1 << 22  # values per fitting batch (32 MB as float64): few partial_fit calls, small temporaries


@attrs.define
class ArrayStep:
    """One encoder specification for array data."""

    position: int
    parameter: str
    family: EncoderFamily
    encoder: Any
    is_categorical: bool
    axis: str


def parse_array_encoders(feature_encoders: Any, kind: str) -> list[ArrayStep]:
    """Validate ``feature_encoders`` for a sequence or image pipeline."""
    if feature_encoders is None:
        return []
    if isinstance(feature_encoders, dict):
        feature_encoders = [feature_encoders]
    if not isinstance(feature_encoders, (list, tuple)):
        raise errors.EncoderError("feature_encoders", "expected a list of dicts, e.g. [dict(sklearn_preprocess=...)]")
    allowed = {"sklearn_preprocess"} | ({"axis"} if kind == "image" else set())
    steps = []
    for position, spec in enumerate(feature_encoders):
        parameter = f"feature_encoders[{position}]"
        if not isinstance(spec, dict):
            raise errors.EncoderError(parameter, f"expected a dict such as dict(sklearn_preprocess=StandardScaler()), "
                                      f"got {type(spec).__name__}")
        unknown = sorted(set(spec) - allowed)
        if unknown:
            why = " (dtypes and columns select tabular columns; here an encoder sees every feature)" if set(
                unknown) & {"dtypes", "columns"} else ""
            raise errors.EncoderError(parameter, f"unknown key(s) {unknown}{why}; allowed keys: {sorted(allowed)}")
        if "sklearn_preprocess" not in spec:
            raise errors.EncoderError(parameter, "missing the key 'sklearn_preprocess' (the encoder instance)")
        axis = spec.get("axis", DEFAULT_AXIS[kind])
        if axis not in AXES[kind]:
            raise errors.EncoderError(f"{parameter}.axis", f"must be one of {list(AXES[kind])}, got {axis!r}")
        encoder = spec["sklearn_preprocess"]
        family = plugins.encoder_family_for(encoder, parameter)
        family.validate(encoder, parameter)
        steps.append(ArrayStep(position, parameter, family, encoder, family.is_categorical(encoder), axis))
    return steps


# --- the 2-D views --------------------------------------------------------------------------------------------


def to_table(samples: np.ndarray, axis: str) -> np.ndarray:
    """The 2-D table an encoder sees (see the module docstring)."""
    if axis == "feature":
        return samples.reshape(-1, samples.shape[-1])
    if axis == "channel":
        return np.moveaxis(samples, 1, -1).reshape(-1, samples.shape[1])
    return samples.reshape(len(samples), -1)


def from_table(table: np.ndarray, samples: np.ndarray, axis: str, parameter: str) -> np.ndarray:
    """Samples of the encoder's output table, shaped like ``samples`` (the step's input) but for its width."""
    n = len(samples)
    if axis == "feature":
        return table.reshape(n, samples.shape[1], -1)
    if axis == "channel":
        return np.moveaxis(table.reshape(n, samples.shape[2], samples.shape[3], -1), -1, 1)
    width = math.prod(samples.shape[1:])
    if table.shape != (n, width):
        raise errors.EncoderError(
            parameter, f"with axis='pixel' it must keep the {width} values of each image, but gives {table.shape[1]}; "
            "use axis='channel' for encoders that change the number of channels")
    return table.reshape(samples.shape)


def transform(family: EncoderFamily, fitted: Any, samples: np.ndarray, axis: str, parameter: str) -> np.ndarray:
    try:
        table = np.asarray(family.transform(fitted, to_table(samples, axis)))
    except Exception as exc:  # any error from the user's encoder, reported with its step
        raise errors.EncoderError(parameter, f"{type(fitted).__name__} failed to encode samples of shape "
                                  f"{samples.shape[1:]}: {exc}") from exc
    rows = len(to_table(samples[:1], axis)) * len(samples) if len(samples) else 0
    if table.ndim != 2 or len(table) != rows:
        raise errors.EncoderError(parameter, f"{type(fitted).__name__} returned shape {table.shape} for {rows} rows; "
                                  "an encoder must return one row per input row")
    return from_table(table, samples, axis, parameter)


# --- fitting --------------------------------------------------------------------------------------------------


def batch_rows(sample_shape: tuple[int, ...]) -> int:
    return max(1, BATCH_VALUES // max(1, math.prod(sample_shape)))


def fit_steps(steps: list[ArrayStep], read: Callable[[np.ndarray], np.ndarray], rows: np.ndarray,
              all_rows: np.ndarray, sample_shape: tuple[int, ...]) -> list[Any]:
    """Each step fitted on the output of the steps before it: categorical ones on ``all_rows``, others on ``rows``.

    ``read(rows)`` gives the raw samples of those rows.
    """
    fitted: list[Any] = []
    size = batch_rows(sample_shape)
    for step in steps:
        chosen = all_rows if step.is_categorical else rows

        def batches(chosen=chosen, step=step) -> Iterator[np.ndarray]:
            for start in range(0, len(chosen), size):
                samples = read(chosen[start:start + size])
                for earlier, model in zip(steps, fitted, strict=False):
                    samples = transform(earlier.family, model, samples, earlier.axis, earlier.parameter)
                yield to_table(samples, step.axis)

        try:
            fitted.append(step.family.fit_batches(step.encoder, batches()))
        except errors.AssayError:
            raise
        except Exception as exc:  # any error from the user's encoder, reported with its step
            raise errors.EncoderError(step.parameter, f"{type(step.encoder).__name__} failed to fit on samples of "
                                      f"shape {sample_shape}: {exc}") from exc
    return fitted


def apply(steps: list[Any], fitted: list[Any], samples: np.ndarray) -> np.ndarray:
    """Samples encoded by every step (``steps`` have ``family``, ``axis`` and ``parameter``)."""
    for step, model in zip(steps, fitted, strict=True):
        samples = transform(step.family, model, samples, step.axis, step.parameter)
    return samples


# --- reshaping ------------------------------------------------------------------------------------------------


def check_reshape_indices(indices: Any) -> list[Any] | None:
    """``feature_reshape_indices`` as JSON-safe nested lists; raises when it is not AIQC's spelling."""
    if indices is None:
        return None
    parameter = "feature_reshape_indices"
    if not isinstance(indices, (tuple, list)) or not indices:
        raise errors.DataError(parameter, f"expected a tuple such as (0, 2, 3), got {indices!r}")
    if indices[0] != 0 or isinstance(indices[0], bool):
        raise errors.DataError(parameter, f"must start with 0 (the samples axis stays first), got {indices!r}")
    out: list[Any] = []
    for item in indices:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool) and item >= 0:
            out.append(int(item))
        elif isinstance(item, str) and item.isdigit() and int(item) > 0:
            out.append(item)
        elif isinstance(item, (tuple, list)) and item and all(
                isinstance(i, (int, np.integer)) and not isinstance(i, bool) and i > 0 for i in item):
            out.append([int(i) for i in item])
        else:
            raise errors.DataError(parameter, f"{item!r} is neither an axis index, a size as a string ('1'), nor a "
                                   "tuple of axis indices whose sizes multiply")
    return out


def reshaped(shape: tuple[int, ...], indices: list[Any]) -> tuple[int, ...]:
    """The shape ``indices`` ask for, given the encoded array's ``shape`` (samples first)."""
    new = []
    for item in indices:
        if isinstance(item, str):
            new.append(int(item))
        elif isinstance(item, list):
            if max(item) >= len(shape):
                raise errors.DataError("feature_reshape_indices", f"axis {max(item)} does not exist in the encoded "
                                       f"shape {shape}")
            new.append(math.prod(shape[i] for i in item))
        else:
            if item >= len(shape):
                raise errors.DataError("feature_reshape_indices", f"axis {item} does not exist in the encoded shape "
                                       f"{shape}")
            new.append(shape[item])
    if math.prod(new) != math.prod(shape):
        raise errors.DataError(
            "feature_reshape_indices", f"asks for shape {tuple(new)}, which does not hold the {math.prod(shape)} "
            f"values of the encoded shape {shape}; the sizes must multiply to the same total")
    return tuple(new)


def reshape(samples: np.ndarray, indices: list[Any] | None) -> np.ndarray:
    if indices is None:
        return samples
    return samples.reshape(reshaped(samples.shape, indices))
