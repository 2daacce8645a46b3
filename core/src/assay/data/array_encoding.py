"""Encoders of sequence and image samples: which 2-D view a transformer sees, fitting without leakage, reshaping.

A scikit-learn style transformer works on 2-D tables, so each encoder step says what one row of its table is:

- sequences (samples x timesteps x features), ``axis="feature"``: one row per timestep, one column per feature:
  ``(samples*timesteps, features)``, so a scaler learns each feature's scale over all timesteps;
- images (samples x channels x height x width), ``axis="channel"`` (default): one row per pixel, one column per
  channel: ``(samples*height*width, channels)``; ``axis="pixel"``: one row per image, one column per value:
  ``(samples, channels*height*width)``, which must keep its width.

Steps apply in order, each to the previous one's output. A sequence step may be limited to some features
(``columns=[...]``, or ``include=False`` for the others): it then encodes only those and must keep their number,
which it replaces in place, while the other features pass through unchanged. Categorical encoders may see every
sample; every other encoder is fitted on the train (or fold-train) samples only, batch by batch when the encoder learns
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
    columns: list[str] | None = None  # the features it encodes (sequences); None: every feature


ALLOWED_KEYS = {"sequence": {"sklearn_preprocess", "columns", "include"}, "image": {"sklearn_preprocess", "axis"}}


def parse_array_encoders(feature_encoders: Any, kind: str, names: list[str] | None = None,
                         dtype: Any = None) -> list[ArrayStep]:
    """Validate ``feature_encoders`` for a sequence or image pipeline; ``names`` are the features kept, which a
    sequence step's ``columns`` choose from."""
    if feature_encoders is None:
        return []
    if isinstance(feature_encoders, dict):
        feature_encoders = [feature_encoders]
    if not isinstance(feature_encoders, (list, tuple)):
        raise errors.EncoderError("feature_encoders", "expected a list of dicts, e.g. [dict(sklearn_preprocess=...)]")
    return [parse_array_spec(spec, position, kind, names, dtype) for position, spec in enumerate(feature_encoders)]


def parse_array_spec(spec: Any, position: int, kind: str, names: list[str] | None,
                     dtype: Any = None) -> ArrayStep:
    """One ``feature_encoders`` entry of a sequence or image pipeline (or one step-by-step featurecoder).

    ``dtype``: the array's own dtype; an image step's ``dtypes=`` may then name it (every channel has it), as
    AIQC's image forecast does (``dtypes='float64'``)."""
    parameter = f"feature_encoders[{position}]"
    if not isinstance(spec, dict):
        raise errors.EncoderError(parameter, f"expected a dict such as dict(sklearn_preprocess=StandardScaler()), "
                                  f"got {type(spec).__name__}")
    if dtype is not None and "dtypes" in spec and kind == "image":  # a sequence chooses features by columns
        spec = _without_own_dtype(spec, dtype, parameter)
    allowed = ALLOWED_KEYS[kind]
    unknown = sorted(set(spec) - allowed)
    if unknown:
        why = ""
        if "dtypes" in unknown:
            why = " (every feature of an array has its one dtype; choose features with columns=[...])"
        elif "columns" in unknown:
            why = " (an image encoder sees every channel)"
        raise errors.EncoderError(parameter, f"unknown key(s) {unknown}{why}; allowed keys: {sorted(allowed)}")
    if "sklearn_preprocess" not in spec:
        raise errors.EncoderError(parameter, "missing the key 'sklearn_preprocess' (the encoder instance)")
    axis = spec.get("axis", DEFAULT_AXIS[kind])
    if axis not in AXES[kind]:
        raise errors.EncoderError(f"{parameter}.axis", f"must be one of {list(AXES[kind])}, got {axis!r}")
    columns = _chosen_columns(spec, names, parameter)
    encoder = spec["sklearn_preprocess"]
    family = plugins.encoder_family_for(encoder, parameter)
    family.validate(encoder, parameter)
    return ArrayStep(position, parameter, family, encoder, family.is_categorical(encoder), axis, columns)


def _without_own_dtype(spec: dict[str, Any], dtype: Any, parameter: str) -> dict[str, Any]:
    wanted = spec["dtypes"]
    wanted = [wanted] if isinstance(wanted, str) or not isinstance(wanted, (list, tuple)) else list(wanted)
    try:
        matches = any(np.dtype(one) == np.dtype(dtype) for one in wanted)
    except TypeError as exc:
        raise errors.EncoderError(f"{parameter}.dtypes", f"{spec['dtypes']!r} is not a dtype: {exc}") from exc
    if not matches:
        raise errors.EncoderError(f"{parameter}.dtypes", f"{spec['dtypes']!r} matches nothing: every value of these "
                                  f"samples is {np.dtype(dtype)}; name that dtype or leave dtypes out")
    return {key: value for key, value in spec.items() if key != "dtypes"}


def _chosen_columns(spec: dict[str, Any], names: list[str] | None, parameter: str) -> list[str] | None:
    """The features a sequence step encodes, by name (``None``: all); ``columns`` takes names (``"feature_3"``),
    AIQC's names (``"3"``) or indices; ``include=False`` encodes the features it does not list."""
    from assay.data import sequence

    include = spec.get("include", True)
    if not isinstance(include, bool):
        raise errors.EncoderError(f"{parameter}.include", f"must be True or False, got {include!r}")
    if spec.get("columns") is None:
        if not include:
            raise errors.EncoderError(f"{parameter}.include", "include=False encodes the features columns does not "
                                      "list: give columns=[...]")
        return None
    if names is None:
        raise errors.EncoderError(f"{parameter}.columns", "cannot choose features here; leave columns out")
    try:
        listed = sequence.feature_indices(spec["columns"], names, f"{parameter}.columns")
    except errors.DataError as exc:
        raise errors.EncoderError(exc.parameter, exc.message) from None
    chosen = [name for index, name in enumerate(names) if (index in listed) == include]
    if not chosen:
        raise errors.EncoderError(f"{parameter}.columns", f"with include=False it excludes every feature {names}; "
                                  "leave some feature to encode")
    return None if chosen == names else chosen


def selection(step: Any, names: list[str] | None) -> list[int] | None:
    """Indices (along the feature axis) of the features ``step`` encodes among ``names``; ``None`` for all."""
    columns = getattr(step, "columns", None)
    if not columns or not names or list(columns) == list(names):
        return None
    return [names.index(column) for column in columns]


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


def transform_step(step: Any, fitted: Any, samples: np.ndarray, names: list[str] | None) -> np.ndarray:
    """One step applied to samples: to every feature, or, for a step limited to some features (``columns``), to
    those only, replaced in place (the step must keep their number); ``names`` are the features kept."""
    chosen = selection(step, names)
    if chosen is None:
        return transform(step.family, fitted, samples, step.axis, step.parameter)
    _check_selectable(step, samples, names)
    encoded = transform(step.family, fitted, samples[..., chosen], step.axis, step.parameter)
    if encoded.shape[-1] != len(chosen):
        raise errors.EncoderError(
            step.parameter, f"{type(fitted).__name__} turns the {len(chosen)} feature(s) of columns={step.columns} "
            f"into {encoded.shape[-1]}; an encoder limited to some features must keep their number (scalers, "
            "imputers); leave columns out to encode every feature with it")
    out = samples.astype(np.result_type(samples.dtype, encoded.dtype), copy=True)
    out[..., chosen] = encoded
    return out


def _check_selectable(step: Any, samples: np.ndarray, names: list[str]) -> None:
    if samples.shape[-1] != len(names):
        raise errors.EncoderError(
            f"{step.parameter}.columns", f"chooses features by name, but an earlier encoder made the {len(names)} "
            f"features {samples.shape[-1]}; put the encoders limited to some features before the ones that change "
            "the number of features")


def fit_steps(steps: list[ArrayStep], read: Callable[[np.ndarray], np.ndarray], rows: np.ndarray,
              all_rows: np.ndarray, sample_shape: tuple[int, ...], names: list[str] | None = None) -> list[Any]:
    """Each step fitted on the output of the steps before it: categorical ones on ``all_rows``, others on ``rows``.

    ``read(rows)`` gives the raw samples of those rows; ``names`` are their features (sequences), which steps
    limited to some features choose from.
    """
    fitted: list[Any] = []
    size = batch_rows(sample_shape)
    for step in steps:
        chosen = all_rows if step.is_categorical else rows

        def batches(chosen=chosen, step=step) -> Iterator[np.ndarray]:
            for start in range(0, len(chosen), size):
                samples = read(chosen[start:start + size])
                for earlier, model in zip(steps, fitted, strict=False):
                    samples = transform_step(earlier, model, samples, names)
                columns = selection(step, names)
                if columns is not None:
                    _check_selectable(step, samples, names)
                    samples = samples[..., columns]
                yield to_table(samples, step.axis)

        try:
            fitted.append(step.family.fit_batches(step.encoder, batches()))
        except errors.AssayError:
            raise
        except Exception as exc:  # any error from the user's encoder, reported with its step
            raise errors.EncoderError(step.parameter, f"{type(step.encoder).__name__} failed to fit on samples of "
                                      f"shape {sample_shape}: {exc}") from exc
    return fitted


def apply(steps: list[Any], fitted: list[Any], samples: np.ndarray, names: list[str] | None = None) -> np.ndarray:
    """Samples encoded by every step (``steps`` have ``family``, ``axis``, ``parameter`` and may have ``columns``,
    chosen among ``names``, the samples' features)."""
    for step, model in zip(steps, fitted, strict=True):
        samples = transform_step(step, model, samples, names)
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
