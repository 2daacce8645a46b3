"""What the experiment engine, evaluation and inference read of a stored splitset: :class:`SplitsetData`.

It loads by id and answers with arrays: row indices per split, the fitted encoders and
``samples_for(split, fold_index)``, the encoded arrays a training function receives. Everything read from the
database (the dataset, samples, fitted encoders) and every encoded array is cached on the object, because a
queue asks for the same samples many times. The public :class:`assay.Splitset` wraps one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from assay import errors
from assay.data import image_windows, sequence_windows, windows
from assay.data.encoding import FittedEncoder, FittedEncoders
from assay.data.interpolation import Interpolater
from assay.data.read import multi_input, tables
from assay.data.read.arrays import ArrayEncoders, FittedArrayEncoder
from assay.data.read.stored import StoredArray
from assay.db.models import DatasetRow, EncoderSpecRow, FeatureRow, FittedEncoderRow, FoldRow, LabelRow, SplitsetRow
from assay.db.queries import data as queries


class SplitsetData:
    """A stored splitset's rows per split, folds and fitted encoders, and the encoded samples they give.

    Load one with :meth:`load`; the engine keeps one per process and database (its arrays stay cached).
    """

    def __init__(self, row: SplitsetRow):
        self._row = row
        self._cache: dict[Any, Any] = {}

    @classmethod
    def load(cls, splitset_id: int) -> SplitsetData:
        """The splitset with this id; raises :class:`~assay.errors.NotFoundError` when there is none.

        A multi-input splitset comes back as a :class:`~assay.data.read.multi_input.MultiInputData` (the same contract,
        with a list of feature arrays and shapes)."""
        return cls.of(queries.row(SplitsetRow, splitset_id, "Splitset"))

    @classmethod
    def of(cls, row: SplitsetRow) -> SplitsetData:
        """The data of a stored splitset row: a ``SplitsetData``, or a ``MultiInputData`` for several inputs."""
        if not getattr(row, "inputs", None):
            return cls(row)
        inputs = [(entry["name"], cls.load(entry["splitset_id"])) for entry in row.inputs]
        return multi_input.MultiInputData(cls(row), inputs)  # type: ignore[return-value]

    @property
    def id(self) -> int:
        return self._row.id

    @property
    def row(self) -> SplitsetRow:
        """The stored row (detached: readable after its session)."""
        return self._row

    @property
    def dataset_id(self) -> int:
        return self._row.dataset_id

    @property
    def fold_count(self) -> int | None:
        return self._row.fold_count

    def prime(self, frame: pd.DataFrame | None, label_row: LabelRow | None, feature_row: FeatureRow,
              label_frame: pd.DataFrame | None = None) -> None:
        """Keep what the pipeline just wrote, so the first :meth:`samples_for` need not read it back.

        Folds are not kept: the pipeline drops their row indices from memory, and they are read on request.
        """
        self._cache.update(label_row=label_row, feature_row=feature_row)
        if frame is not None:
            self._cache["frame"] = frame
        if label_frame is not None:
            self._cache["label_frame"] = label_frame

    # --- rows of the related tables, read once --------------------------------------------------------------

    def _once(self, key: Any, load):
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    def _label_row(self) -> LabelRow | None:
        def load():
            return None if self._row.label_id is None else queries.label_row(self._row.label_id)

        return self._once("label_row", load)

    def _feature_row(self) -> FeatureRow:
        def load():
            return queries.feature_row(self._row.feature_id)

        return self._once("feature_row", load)

    def frame(self) -> pd.DataFrame:
        """The whole stored dataset (read once, then cached)."""
        return self._once("frame", lambda: tables.deserialize(queries.dataset_blob(self.dataset_id)))

    def _label_frame(self) -> pd.DataFrame:
        """The table holding the label: the dataset itself (tabular) or the label file (sequences, images)."""
        if self.kind == "tabular":
            return self.frame()
        return self._once("label_frame",
                          lambda: tables.deserialize(queries.dataset_blob(self._label_row().dataset_id)))

    def _stored_array(self) -> StoredArray:
        def load():
            row = queries.row(DatasetRow, self.dataset_id, "Dataset")
            return StoredArray.load(row.id, row.shape, row.dtypes, row.columns)

        return self._once("stored_array", load)

    @property
    def kind(self) -> str:
        """The kind of the feature data: ``"tabular"``, ``"sequence"``, ``"image"``, or ``"multi"`` for several
        inputs (:class:`~assay.data.read.multi_input.MultiInputData`)."""
        return self._feature_row().kind or "tabular"

    @property
    def layout(self) -> str:
        """Axis order of ``features_shape``: ``"tabular"``, ``"timesteps_features"`` (sequences),
        ``"channels_first"`` (images; channels-last backends such as Keras get channels moved last) or
        ``"reshaped"`` (``feature_reshape_indices`` chose the shape; every library receives it as it is)."""
        return self._feature_row().layout or "tabular"

    @property
    def sample_shape(self) -> tuple[int, ...] | None:
        """One raw sample's shape as stored (sequences and images; ``None`` for tabular data)."""
        shape = self._feature_row().sample_shape
        return None if shape is None else tuple(shape)

    # --- the contract used by the runner and inference ------------------------------------------------------

    @property
    def samples(self) -> dict[str, list[int]]:
        """Dataset row indices per split: ``train`` and, when made, ``validation`` and ``test``."""
        if "samples" not in self._row.__dict__:
            self._row.samples = queries.column_value(SplitsetRow, self.id, "samples")
        return self._row.samples

    @property
    def folds(self) -> list[FoldRow]:
        """The fold rows made on the train split (empty without ``fold_count``), by ``fold_index``."""
        return self._once("folds", lambda: queries.fold_rows(self.id))

    @property
    def features_shape(self) -> tuple[int, ...]:
        """Shape of one sample's encoded features; a list of shapes, one per input, for a multi-input splitset."""
        return tuple(self._row.features_shape)

    @property
    def label_shape(self) -> tuple[int, ...] | None:
        """Shape of one sample's encoded label; ``None`` when unsupervised."""
        return None if self._row.label_shape is None else tuple(self._row.label_shape)

    @property
    def feature_columns(self) -> list[str]:
        """The original feature column names, in order."""
        return list(self._feature_row().columns)

    @property
    def feature_dtypes(self) -> dict[str, str]:
        """Feature column -> dtype name, as ingested."""
        return dict(self._feature_row().dtypes)

    @property
    def feature_names(self) -> list[str]:
        """Names of the encoded feature outputs (``column=value`` for one-hot outputs)."""
        return list(self._row.feature_names)

    @property
    def label_column(self) -> str | None:
        """The label column's name; ``None`` when unsupervised."""
        label = self._label_row()
        return None if label is None else label.column

    @property
    def label_is_categorical(self) -> bool:
        """Whether the label holds classes (decoded through :attr:`label_classes`)."""
        label = self._label_row()
        return bool(label is not None and label.is_categorical)

    @property
    def label_classes(self) -> list[Any]:
        """Original classes in encoded order (index i = one-hot column i / encoded value i); ``[]`` if continuous."""
        label = self._label_row()
        return list(label.classes or []) if label is not None and label.is_categorical else []

    @property
    def window(self) -> windows.Window | None:
        """The forecasting windows (``feature_window``), or ``None``. With windows, samples are window indices."""
        data = self._row.window
        return None if data is None else self._once("window", lambda: windows.Window.from_json(data))

    @property
    def interpolaters(self) -> list[Interpolater]:
        """The feature and label interpolation steps: a table's applied to each split's rows on their own, a
        sequence's to each sample along its own timesteps."""
        return [Interpolater.from_json(step) for step in (self._row.interpolaters or [])]

    def _fold_id(self, fold_index: int | None) -> int | None:
        """The id of fold ``fold_index`` (``None`` for none), its row indices left unread."""
        if fold_index is None:
            return None
        fold_ids = self._fold_ids()
        if not fold_ids:
            raise errors.SplitError("fold_index", f"splitset {self.id} has no folds; pass fold_index=None")
        if not isinstance(fold_index, (int, np.integer)) or not 0 <= fold_index < len(fold_ids):
            raise errors.SplitError("fold_index", f"must be 0..{len(fold_ids) - 1}, got {fold_index!r}")
        return fold_ids[fold_index]

    def _fold_ids(self) -> list[int]:
        return self._once("fold_ids", lambda: [fold_id for fold_id, _ in queries.fold_ids(self.id)])

    def row_indices(self, split: str, fold_index: int | None = None) -> list[int]:
        """Dataset rows of ``split`` in the order :meth:`samples_for` returns them.

        With a fold, ``train`` and ``validation`` are the fold's rows; ``test`` stays the splitset's test rows.
        """
        return self._rows(split, fold_index).tolist()

    def _check_split(self, split: str) -> None:
        splits = self._row.split_sizes  # the split names, without reading their rows
        if split not in splits:
            available = sorted(splits) + (["validation (per fold)"] if self._fold_ids() else [])
            raise errors.SplitError("split", f"splitset {self.id} has no {split!r} split; available: {available}")

    def _rows(self, split: str, fold_index: int | None) -> np.ndarray:
        """:meth:`row_indices` as an int64 array, read from the stored bytes without a list in between (cached)."""
        fold_id = self._fold_id(fold_index)
        if fold_id is not None and split in ("train", "validation"):
            rows = self._once(("fold_rows", fold_id), lambda: _read_only(queries.sample_arrays(FoldRow, fold_id)))
            return rows[split]
        self._check_split(split)
        return self._once("split_rows", lambda: _read_only(queries.sample_arrays(SplitsetRow, self.id)))[split]

    def encoders(self, fold_index: int | None = None) -> FittedEncoders:
        """The fitted encoders of the splitset (``fold_index=None``) or of one fold, ready to encode raw rows."""
        if not getattr(self._row, "is_encoded", True):
            raise errors.SplitError(
                "splitset_id", f"splitset {self.id} is not encoded yet: making a queue with it (algorithm.make_queue "
                               "or Experiment.make) fits its labelcoder and featurecoders"
            )
        fold_id = self._fold_id(fold_index)
        key = ("encoders", fold_index)
        if key not in self._cache:
            self._cache[key] = self._build_encoders(fold_id, fold_index)
        return self._cache[key]

    def _stored_encoders(self) -> list[tuple[EncoderSpecRow, list[FittedEncoderRow]]]:
        return self._once("stored_encoders", lambda: queries.encoder_rows(self.id))

    def _build_encoders(self, fold_id: int | None, fold_index: int | None) -> FittedEncoders | ArrayEncoders:
        if self.kind not in ("tabular", multi_input.KIND):  # a multi-input splitset's own encoder is its label's
            return self._build_array_encoders(fold_id, fold_index)
        label, features = None, []
        for spec, fitted_rows in self._stored_encoders():
            # a fold's own fit when there is one; categorical encoders are fitted once on all rows
            by_fold = {row.fold_id: row for row in fitted_rows}
            row = by_fold.get(fold_id) or by_fold[None]
            encoder = FittedEncoder(
                role=spec.role, position=spec.position, family_name=spec.family, class_name=spec.class_name,
                columns=list(spec.columns_matched), output_names=list(row.output_names),
                is_categorical=spec.is_categorical, blob=row.blob,
                fold_index=fold_index if row.fold_id is not None else None,
            )
            if spec.role == "label":
                label = encoder
            else:
                features.append(encoder)
        encoded = {column for encoder in features for column in encoder.columns}
        passthrough = [] if self.kind == multi_input.KIND else [c for c in self.feature_columns if c not in encoded]
        return FittedEncoders(
            label=label, features=features, passthrough=passthrough,
            label_column=self.label_column, label_classes=self.label_classes,
            label_is_categorical=self.label_is_categorical, interpolaters=self.interpolaters,
        )

    def _build_array_encoders(self, fold_id: int | None, fold_index: int | None) -> ArrayEncoders:
        label, steps = None, []
        for spec, fitted_rows in self._stored_encoders():
            by_fold = {row.fold_id: row for row in fitted_rows}
            row = by_fold.get(fold_id) or by_fold[None]
            own_fold = fold_index if row.fold_id is not None else None
            if spec.role == "label":
                label = FittedEncoder(
                    role=spec.role, position=spec.position, family_name=spec.family, class_name=spec.class_name,
                    columns=list(spec.columns_matched), output_names=list(row.output_names),
                    is_categorical=spec.is_categorical, blob=row.blob, fold_index=own_fold,
                )
            else:
                steps.append(FittedArrayEncoder(
                    position=spec.position, family_name=spec.family, class_name=spec.class_name, axis=spec.axis,
                    is_categorical=spec.is_categorical, blob=row.blob, fold_index=own_fold,
                    columns=list(spec.columns_matched),
                ))
        feature = self._feature_row()
        all_names = self._stored_array().columns
        return ArrayEncoders(
            kind=self.kind, sample_shape=tuple(feature.sample_shape),
            kept=[all_names.index(name) for name in feature.columns], features=steps,
            reshape_indices=feature.reshape_indices, features_shape=self.features_shape,
            dtype=self._stored_array().dtype, columns=list(all_names),
            interpolaters=[step for step in self.interpolaters if step.role != "label"],
            labels=FittedEncoders(label=label, features=[], passthrough=[], label_column=self.label_column,
                                  label_classes=self.label_classes, label_is_categorical=self.label_is_categorical,
                                  interpolaters=[step for step in self.interpolaters if step.role == "label"]),
        )

    def samples_for(self, split: str, fold_index: int | None = None) -> dict[str, np.ndarray | None]:
        """``{"features": float32 (n, *features_shape), "labels": (n, *label_shape) or None}`` of one split.

        Encoded with the splitset's encoders, or the fold's when ``fold_index`` is given. Arrays are cached;
        each call returns fresh copies, so a training function may modify them.
        """
        key = ("samples", split, fold_index)
        if key not in self._cache:
            rows = self._rows(split, fold_index)
            encoders = self.encoders(fold_index)
            if self.kind != "tabular" and self.window is not None:  # windows along each series' timesteps
                encode = image_windows.encode if self.kind == "image" else sequence_windows.encode
                features, labels = encode(encoders, self._stored_array(), self.window, rows)
                self._cache[key] = {"features": features, "labels": labels}
                cached = self._cache[key]
                return {name: None if value is None else value.copy() for name, value in cached.items()}
            if self.kind != "tabular":  # read only this split's samples, chunk by chunk
                features = encoders.encode_features(self._stored_array().rows(rows))
            else:
                df = self.frame()
                window = self.window
                if window is not None:  # samples are windows: (n, size_window, width), labels the shifted windows
                    features, labels = windows.encode(encoders, df, window, rows)
                    self._cache[key] = {"features": features, "labels": labels}
                    cached = self._cache[key]
                    return {name: None if value is None else value.copy() for name, value in cached.items()}
                features = encoders.encode_features(df, rows)
                self._refuse_non_finite(features, split, fold_index, rows)
            labels = None
            if self.label_column is not None:
                labels = encoders.encode_labels(self._label_frame()[self.label_column].iloc[rows])
            self._cache[key] = {"features": features, "labels": labels}
        cached = self._cache[key]
        return {name: None if value is None else value.copy() for name, value in cached.items()}

    def _refuse_non_finite(self, features: np.ndarray, split: str, fold_index: int | None,
                           rows: np.ndarray) -> None:
        """Finite rows in, NaN or ±inf out: an encoder that cannot take these values (``FunctionTransformer(np.log)``
        on a 0). ``make`` refuses NaNs no encoder imputes, so only an encoder makes them; a model trained on them
        fails with a message about its own loss, far from the cause."""
        bad = ~np.isfinite(features.reshape(len(features), -1))
        if not bad.any():
            return
        names = list(self.feature_names)
        outputs = [names[i] if i < len(names) else str(i) for i in np.flatnonzero(bad.any(axis=0))]
        where = f"fold {fold_index}'s {split}" if fold_index is not None else split
        raise errors.DataError(
            "feature_encoders", f"the encoders turn {int(bad.any(axis=1).sum())} row(s) of the {where} split (e.g. "
            f"row {int(rows[np.flatnonzero(bad.any(axis=1))[0]])}) into NaN or ±inf in the encoded features "
            f"{outputs[:5]}; an encoder cannot take those values (e.g. a log of 0 or of a negative number): change "
            "its settings or the data")

    def labels_for(self, split: str, fold_index: int | None = None) -> np.ndarray | None:
        """The encoded labels of one split (``None`` when unsupervised), as ``samples_for`` gives them."""
        if self.label_column is None:
            return None
        key = ("labels", split, fold_index)
        if key not in self._cache:
            rows = self._rows(split, fold_index)
            self._cache[key] = self.encoders(fold_index).encode_labels(
                self._label_frame()[self.label_column].iloc[rows])
        return self._cache[key].copy()

    def raw_labels(self, row_indices: Any) -> np.ndarray:
        """The original label values of these dataset rows (gaps interpolated among them, with a label
        interpolater). With forecasting windows: the original values each window forecasts, ``(n, size_window,
        columns)``."""
        window = self.window
        if window is not None and window.record_shifted:
            if self.kind != "tabular":
                raw_targets = image_windows.raw_targets if self.kind == "image" else sequence_windows.raw_targets
                return raw_targets(self.encoders(), self._stored_array(), window, row_indices)
            return windows.raw_targets(self.encoders(), self.frame(), window, row_indices)
        if self.label_column is None:
            raise errors.SplitError("label_column", f"splitset {self.id} is unsupervised: it has no labels")
        rows = np.asarray(row_indices, dtype=np.int64)
        if any(step.role == "label" for step in self.interpolaters):
            # gaps are filled among these rows only, as when the split was encoded for training
            labels = self._label_frame()[self.label_column].iloc[rows]
            return self.encoders().interpolate_labels(labels).to_numpy()
        values = self._once("raw_labels", lambda: self._label_frame()[self.label_column].to_numpy())
        return values[rows]

    def decode_labels(self, values: Any, fold_index: int | None = None) -> np.ndarray:
        """Classification: class indices to original classes (``label_classes[i]``). Regression: the inverse
        of the label encoder (the fold's when it was fitted per fold). Forecasts: the inverse of the feature
        encoders, ``(n, size_window, columns)``."""
        window = self.window
        if window is not None:
            decode = {"tabular": windows.decode, "image": image_windows.decode}.get(self.kind, sequence_windows.decode)
            return decode(self.encoders(fold_index), values, window.size_window)
        return self.encoders(fold_index).decode_labels(values)

    def encode_features(self, df: pd.DataFrame | np.ndarray, fold_index: int | None = None) -> np.ndarray:
        """Encode new raw rows (inference) after checking they have the feature columns with fitting dtypes.

        For sequences and images ``df`` is an array of raw samples shaped like the stored ones.

        Raises:
            assay.errors.SchemaMismatchError: a feature column is missing or holds another kind of values, or
                samples of another shape.
        """
        if self.kind != "tabular":
            return self.encoders(fold_index).encode_features(df, parameter="samples")
        check_schema(df, self.feature_dtypes)
        return self.encoders(fold_index).encode_features(df.reset_index(drop=True))

    def clear_cache(self) -> None:
        """Forget cached data and encoded arrays (they are read or encoded again on the next request)."""
        self._cache.clear()


def _read_only(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Cached row indices: whatever writes into them by mistake fails instead of changing every later read."""
    for rows in arrays.values():
        rows.setflags(write=False)
    return arrays


def _kind(dtype: Any) -> str:
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "text or category"


def check_schema(df: pd.DataFrame, dtypes: dict[str, str]) -> None:
    """Every expected column present, holding the same kind of values (numeric, text or category, dates)."""
    if not isinstance(df, pd.DataFrame):
        raise errors.SchemaMismatchError("df", f"expected a pandas DataFrame, got {type(df).__name__}")
    missing = [column for column in dtypes if column not in df.columns]
    if missing:
        raise errors.SchemaMismatchError("df", f"missing feature column(s) {missing}; expected {list(dtypes)}")
    wrong = {
        column: f"{df[column].dtype} (trained on {expected})"
        for column, expected in dtypes.items()
        if _kind(df[column].dtype) != _kind(pd.api.types.pandas_dtype(expected) if expected != "str" else "str")
    }
    if wrong:
        raise errors.SchemaMismatchError("df", f"columns hold another kind of values than at training: {wrong}")
