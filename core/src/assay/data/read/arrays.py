"""The read side of sequence and image data: stored samples read lazily, and the fitted encoders that shape them.

:class:`StoredArray` reads the samples of some rows from the compressed chunks; :class:`ArrayEncoders` turns raw
samples (as stored: every feature or channel, the stored dtype) into what ``samples_for`` hands out: float32
samples of ``features_shape``, encoded by the splitset's (or a fold's) fitted encoders and reshaped. The same
object encodes new samples at inference and in bundles, after checking their shape.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pandas as pd

from assay import errors, plugins
from assay.contracts import EncoderFamily
from assay.data import array_encoding, arraystore, sequence_interpolation
from assay.data.encoding import FittedEncoders
from assay.data.interpolation import Interpolater

#: the axis of a raw sample that holds the features (sequences) or channels (images), counting samples as 0
FEATURE_AXIS = {"sequence": 2, "image": 1}
ENCODE_BATCH_VALUES = 1 << 22


@attrs.frozen
class StoredArray:
    """A stored sequence or image dataset: its shape, dtype and where each chunk starts."""

    dataset_id: int
    shape: tuple[int, ...]
    dtype: str
    columns: list[str]  # every feature (sequences) or channel (images), in axis order
    chunk_starts: np.ndarray = attrs.field(repr=False)

    @classmethod
    def load(cls, dataset_id: int, shape: list[int], dtypes: dict[str, str], columns: list[str]) -> StoredArray:
        from assay.db import arrays as db_arrays

        return cls(dataset_id, tuple(shape), next(iter(dtypes.values())), list(columns),
                   np.asarray(db_arrays.chunk_starts(dataset_id), dtype=np.int64))

    def rows(self, rows: Any) -> np.ndarray:
        """The raw samples of these rows, in that order."""
        from assay.db import arrays as db_arrays

        return arraystore.gather(np.asarray(rows, dtype=np.int64), self.shape, self.dtype, self.chunk_starts,
                                 lambda indices: db_arrays.chunk_blobs(self.dataset_id, indices))


@attrs.frozen
class FittedArrayEncoder:
    """One fitted encoder step of array data, as stored; ``load()`` unpickles it (trusting the database)."""

    position: int
    family_name: str
    class_name: str
    axis: str
    is_categorical: bool
    blob: bytes = attrs.field(repr=False)
    fold_index: int | None = None
    role: str = "feature"
    columns: list[str] = attrs.field(factory=list)
    output_names: list[str] = attrs.field(factory=list)
    _cache: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False, alias="_cache")

    @property
    def family(self) -> EncoderFamily:
        return plugins.encoder_family_named(self.family_name)

    @property
    def parameter(self) -> str:
        return f"feature_encoders[{self.position}]"

    def load(self) -> Any:
        if "fitted" not in self._cache:
            self._cache["fitted"] = self.family.loads(self.blob)
        return self._cache["fitted"]


@attrs.frozen
class ArrayEncoders:
    """Everything needed to encode raw sequence or image samples and decode predictions.

    Attributes:
        kind: ``"sequence"`` or ``"image"``.
        sample_shape: one raw sample's shape as stored (every feature or channel, before exclusion).
        kept: indices of the features (sequences) or channels (images) used, along that axis.
        features: the fitted encoder steps, in the order they apply.
        reshape_indices: the user's ``feature_reshape_indices`` (JSON form), or ``None``.
        features_shape: one encoded sample's shape (what ``samples_for`` gives).
        labels: the label side (label encoder, classes), shared with tabular data.
        dtype: the stored dtype; new samples are cast to it before encoding.
        columns: every feature (sequences) or channel (images) name, in axis order, excluded ones included.
        interpolaters: sequences' ``feature_interpolaters`` steps, applied to each sample along its own timesteps
            before the encoders (see :mod:`assay.data.sequence_interpolation`).
    """

    kind: str
    sample_shape: tuple[int, ...]
    kept: list[int]
    features: list[FittedArrayEncoder]
    reshape_indices: list[Any] | None
    features_shape: tuple[int, ...]
    labels: FittedEncoders
    dtype: str = "float64"
    columns: list[str] = attrs.field(factory=list)
    interpolaters: list[Interpolater] = attrs.field(factory=list)

    # --- the label side, as on FittedEncoders ---
    @property
    def label(self):
        return self.labels.label

    @property
    def label_column(self) -> str | None:
        return self.labels.label_column

    @property
    def label_classes(self) -> list[Any]:
        return self.labels.label_classes

    @property
    def label_is_categorical(self) -> bool:
        return self.labels.label_is_categorical

    @property
    def passthrough(self) -> list[str]:
        return []

    def __iter__(self):
        """The label encoder first (if any), then the feature encoder steps."""
        return iter(([self.label] if self.label is not None else []) + list(self.features))

    def encode_labels(self, labels: pd.Series) -> np.ndarray:
        return self.labels.encode_labels(labels)

    def interpolate_labels(self, labels: pd.Series) -> pd.Series:
        return self.labels.interpolate_labels(labels)

    def decode_labels(self, values: Any) -> np.ndarray:
        return self.labels.decode_labels(values)

    # --- features ---
    def check_samples(self, samples: Any, parameter: str) -> np.ndarray:
        """``samples`` as a numeric array of raw samples shaped like the training data; raises otherwise."""
        what = "samples x timesteps x features" if self.kind == "sequence" else "samples x channels x height x width"
        if not isinstance(samples, np.ndarray):
            raise errors.SchemaMismatchError(parameter, f"expected a numpy array ({what}), got "
                                             f"{type(samples).__name__}")
        if samples.dtype.kind not in "biuf":
            raise errors.SchemaMismatchError(parameter, f"must hold numbers, got dtype {samples.dtype}")
        if samples.ndim != len(self.sample_shape) + 1 or tuple(samples.shape[1:]) != self.sample_shape:
            raise errors.SchemaMismatchError(
                parameter, f"one sample has shape {tuple(samples.shape[1:])}, but the model was trained on samples "
                f"of shape {self.sample_shape} ({what}); give new samples the same shape")
        if len(samples) == 0:
            raise errors.SchemaMismatchError(parameter, "holds no samples")
        return samples

    def select(self, samples: np.ndarray) -> np.ndarray:
        """Drop the excluded features or channels."""
        axis = FEATURE_AXIS[self.kind]
        if len(self.kept) == samples.shape[axis]:
            return samples
        return np.take(samples, self.kept, axis=axis)

    def encode_frames(self, frames: np.ndarray) -> np.ndarray:
        """Raw images (as stored) encoded one by one, not reshaped: the frames image forecasting windows are cut
        from (see :mod:`assay.data.image_windows`)."""
        fitted = [encoder.load() for encoder in self.features]
        names = [self.columns[i] for i in self.kept] if self.columns else None
        return np.asarray(array_encoding.apply(self.features, fitted, self.select(frames), names), dtype=np.float32)

    def encode_features(self, samples: np.ndarray, parameter: str | None = None) -> np.ndarray:
        """Raw samples (as stored) to float32 samples of ``features_shape``, in batches to bound temporaries.

        With ``parameter`` the samples' shape is checked first (new data); without, they come from the store.
        """
        if parameter is not None:
            samples = self.check_samples(samples, parameter).astype(self.dtype, copy=False)
        out = np.empty((len(samples), *self.features_shape), dtype=np.float32)
        step = max(1, ENCODE_BATCH_VALUES // max(1, int(np.prod(self.sample_shape))))
        fitted = [encoder.load() for encoder in self.features]
        names = [self.columns[i] for i in self.kept] if self.columns else None
        for start in range(0, len(samples), step):
            batch = self.select(samples[start:start + step])
            if self.interpolaters:  # each sample's gaps from its own timesteps, as when the splitset was made
                batch = sequence_interpolation.apply(self.interpolaters, batch, names)
            batch = array_encoding.apply(self.features, fitted, batch, names)
            out[start:start + len(batch)] = array_encoding.reshape(batch, self.reshape_indices)
        return out


def read_samples(kind: str, data: Any, parameter: str) -> tuple[np.ndarray, str | None]:
    """New raw samples for a model trained on ``kind`` data: a 3-D array or ``.npy`` file (sequences), or a
    folder or list of image files (images). Their shape is checked by :meth:`ArrayEncoders.check_samples`."""
    from assay.data import images, sequence

    if kind == "sequence":
        return sequence.read_sequence(data, None, parameter)
    if isinstance(data, np.ndarray):
        return data, None
    array, _, name = images.read_images(data, None, parameter)
    return array, name


# --- the channel convention ----------------------------------------------------------------------------------


def library_shape(shape: Any, layout: str | list[str], channels_last: bool) -> Any:
    """``features_shape`` as a library receives it: channels moved last for channels-last libraries (images).

    A multi-input splitset has one shape and one layout per input: the result is then a list of shapes."""
    if isinstance(layout, list):
        return [library_shape(one, one_layout, channels_last) for one, one_layout in zip(shape, layout, strict=True)]
    shape = tuple(shape)
    if layout == "channels_first" and channels_last:
        return shape[1:] + shape[:1]
    return shape


def library_features(features: Any, layout: str | list[str], channels_last: bool) -> Any:
    """Samples as a library receives them (``(n, C, H, W)`` -> ``(n, H, W, C)`` for channels-last libraries);
    for several inputs, a list with each input's samples converted by its own layout."""
    if isinstance(layout, list):
        return None if features is None else [library_features(one, one_layout, channels_last)
                                              for one, one_layout in zip(features, layout, strict=True)]
    if layout == "channels_first" and channels_last and features is not None:
        return np.ascontiguousarray(np.moveaxis(features, 1, -1))
    return features


def library_samples(samples: dict[str, Any], layout: str | list[str], channels_last: bool) -> dict[str, Any]:
    """``samples`` with the features in the library's layout (labels untouched)."""
    if isinstance(layout, list):
        return {**samples, "features": library_features(samples["features"], layout, channels_last)}
    if layout != "channels_first" or not channels_last:
        return samples
    return {**samples, "features": library_features(samples["features"], layout, channels_last)}
