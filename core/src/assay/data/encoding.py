"""Encoders: parse the user's specifications, select their columns, fit them without leakage, and apply them.

The pipeline never calls an encoder directly: an :class:`~assay.contracts.EncoderFamily` found through the
``assay_encoder_families`` hook validates, fits, transforms, names, inverts and serialises it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd

from assay import errors, plugins
from assay.contracts import EncoderFamily
from assay.data import interpolation
from assay.data.interpolation import Interpolater

SPEC_KEYS = {"sklearn_preprocess", "dtypes", "columns", "include"}
LABEL_KEYS = {"sklearn_preprocess"}
NAN_PROBE_ROWS = 1000  # rows holding NaNs pushed through an encoder to see whether it imputes them
ENCODE_CHUNK_ROWS = 65_536  # rows encoded at a time: bounds temporary memory
# ... and at most this many bytes of float64 temporaries per chunk, so a wide (text vectorizer) output is densified
# a few hundred rows at a time instead of all at once
ENCODE_CHUNK_BYTES = 64 << 20


def as_list(value: Any) -> list[Any] | None:
    """``None`` stays ``None``; a single string (or dtype) becomes a one-item list."""
    if value is None:
        return None
    if isinstance(value, (str, type, np.dtype)) or not isinstance(value, Sequence):
        return [value]
    return list(value)


@attrs.define
class EncoderStep:
    """One encoder specification: which encoder, through which family, on which columns."""

    role: str  # "label" | "feature"
    position: int
    parameter: str  # how error messages name it, e.g. "feature_encoders[1]"
    family: EncoderFamily
    encoder: Any
    is_categorical: bool
    dtypes: list[str] | None = None
    columns_selected: list[str] | None = None
    columns: list[str] = attrs.field(factory=list)
    include: bool = True  # False: encode the remaining columns that do *not* match dtypes/columns


def parse_spec(spec: Any, parameter: str, role: str, position: int) -> EncoderStep:
    """Validate one ``dict(sklearn_preprocess=..., dtypes=..., columns=...)``."""
    allowed = LABEL_KEYS if role == "label" else SPEC_KEYS
    if not isinstance(spec, dict):
        raise errors.EncoderError(
            parameter, f"expected a dict such as dict(sklearn_preprocess=StandardScaler()), got {type(spec).__name__}"
        )
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise errors.EncoderError(parameter, f"unknown key(s) {unknown}; allowed keys: {sorted(allowed)}")
    if "sklearn_preprocess" not in spec:
        raise errors.EncoderError(parameter, "missing the key 'sklearn_preprocess' (the encoder instance)")
    encoder = spec["sklearn_preprocess"]
    family = plugins.encoder_family_for(encoder, parameter)
    family.validate(encoder, parameter)
    dtypes = as_list(spec.get("dtypes"))
    columns = as_list(spec.get("columns"))
    for key, values in (("dtypes", dtypes), ("columns", columns)):
        if values is not None and not values:
            raise errors.EncoderError(f"{parameter}.{key}", "is empty; leave it out to select every remaining column")
    if columns is not None and not all(isinstance(c, str) for c in columns):
        raise errors.EncoderError(f"{parameter}.columns", f"must be column names (strings), got {columns!r}")
    include = spec.get("include", True)
    if not isinstance(include, bool):
        raise errors.EncoderError(
            f"{parameter}.include", f"must be True (encode the matching columns) or False (encode the others), "
            f"got {include!r}"
        )
    return EncoderStep(role, position, parameter, family, encoder, family.is_categorical(encoder),
                       [_dtype_name(d) for d in dtypes] if dtypes else None, columns, include=include)


def _dtype_name(dtype: Any) -> str:
    """A dtype as the name ``select_dtypes`` takes and the database stores: ``np.number`` is ``"number"``, ``float``
    ``"float"`` (``str()`` of a class gives ``"<class 'numpy.number'>"``, which matches nothing)."""
    return dtype.__name__ if isinstance(dtype, type) else str(dtype)


def parse_feature_encoders(feature_encoders: Any) -> list[EncoderStep]:
    if feature_encoders is None:
        return []
    if isinstance(feature_encoders, dict):
        feature_encoders = [feature_encoders]
    if not isinstance(feature_encoders, (list, tuple)):
        raise errors.EncoderError("feature_encoders", "expected a list of dicts, e.g. [dict(sklearn_preprocess=...)]")
    return [parse_spec(spec, f"feature_encoders[{i}]", "feature", i) for i, spec in enumerate(feature_encoders)]


def select_columns(steps: list[EncoderStep], features: pd.DataFrame, label_column: str | None,
                   check_passthrough: bool = True) -> list[str]:
    """Give each step the columns its selectors match among those earlier steps left; return the passthrough.

    ``check_passthrough=False`` skips the check that the columns no step encodes are numeric: the step-by-step
    API checks each featurecoder as it is made, before later ones encode the rest.
    """
    remaining = list(features.columns)
    head = features.iloc[:0]
    for step in steps:
        chosen: set[str] = set()
        if step.columns_selected is not None:
            for column in step.columns_selected:
                if column == label_column:
                    raise errors.EncoderError(
                        f"{step.parameter}.columns",
                        f"{column!r} is the label column, which is never a feature; encode it with label_encoder",
                    )
                if column not in features.columns:
                    raise errors.EncoderError(f"{step.parameter}.columns", f"{column!r} is not a feature column")
                if column not in remaining:
                    raise errors.EncoderError(
                        f"{step.parameter}.columns", f"{column!r} is already encoded by an earlier feature encoder"
                    )
            chosen.update(step.columns_selected)
        if step.dtypes is not None:
            try:
                matched = head[remaining].select_dtypes(include=step.dtypes).columns
            except (TypeError, ValueError) as exc:
                raise errors.EncoderError(f"{step.parameter}.dtypes", f"{step.dtypes!r} is not a dtype: {exc}") from exc
            if len(matched) == 0 and step.include:
                left = {c: str(features[c].dtype) for c in remaining}
                raise errors.EncoderError(
                    f"{step.parameter}.dtypes",
                    f"{step.dtypes!r} matches none of the remaining feature columns {left}",
                )
            chosen.update(matched)
        if step.columns_selected is None and step.dtypes is None:
            chosen.update(remaining)
        elif not step.include:  # AIQC's include=False: every remaining column except the matching ones
            chosen = set(remaining) - chosen
        if not chosen:
            what = "every remaining column matches its selectors (include=False)" if not step.include else \
                "earlier encoders took every feature"
            raise errors.EncoderError(step.parameter, f"selects no column: {what}")
        step.columns = [c for c in remaining if c in chosen]
        remaining = [c for c in remaining if c not in chosen]
    not_numeric = [c for c in remaining if not _is_numeric(features[c].dtype)]
    if not_numeric and check_passthrough:
        # dates and durations are no categories: one-hot would give every timestamp a column of its own
        temporal = [c for c in not_numeric if features[c].dtype.kind in "mM" or
                    isinstance(features[c].dtype, pd.DatetimeTZDtype)]
        # a column with a different value in every row names the rows (ids, free text): one-hot learns nothing
        unique = [c for c in not_numeric if c not in temporal and len(features) > 10 and
                  features[c].nunique(dropna=False) == len(features)]
        categorical = [c for c in not_numeric if c not in temporal and c not in unique]
        fixes = [f"add e.g. dict(sklearn_preprocess=OneHotEncoder(), columns={categorical!r})"] if categorical else []
        if unique:
            fixes.append(f"{unique!r} hold a different value in every row (ids or free text): exclude them, or "
                         "encode free text with a text encoder such as TfidfVectorizer()")
        if temporal:
            fixes.append(f"turn the dates {temporal!r} into numbers before make() (e.g. df[column].dt.dayofyear, or "
                         "the days since a start date)")
        raise errors.EncoderError(
            "feature_encoders", f"columns {not_numeric} are not numeric and no encoder encodes them; "
            f"{'; '.join(fixes)}; or exclude them with feature_cols_excluded",
        )
    return remaining


def check_data(steps: list[EncoderStep], features: pd.DataFrame) -> None:
    """Each encoder family checks the columns selected for its encoder (text encoders want one text column)."""
    for step in steps:
        step.family.check_data(step.encoder, features[step.columns], step.parameter)


def chunk_rows(width: int) -> int:
    """Rows encoded at a time for an output ``width`` wide."""
    return max(1, min(ENCODE_CHUNK_ROWS, ENCODE_CHUNK_BYTES // (8 * max(width, 1))))


def _is_numeric(dtype: Any) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)


def private_copy(data: Any) -> Any:
    """A deep copy of ``data`` that an encoder may write into.

    Encoders built with ``copy=False`` (StandardScaler, PowerTransformer, Normalizer...) transform their input
    in place, and pandas hands them memory shared with the caller's DataFrame and the stored dataset. Every
    encoder call therefore gets its own copy, whatever the encoder's settings or family.
    """
    if isinstance(data, (pd.DataFrame, pd.Series)):
        return data.copy(deep=True)
    return np.array(data, copy=True)


def fit(step: EncoderStep, data: pd.DataFrame, nan_columns: list[str], copy: bool = True) -> Any:
    """Fit a fresh copy of the step's encoder on ``data``; failures become an EncoderError naming the step.

    The encoder gets a private copy of ``data`` unless ``copy=False``: only for a frame the caller made for this
    fit alone (rows taken from the table), which an encoder may then write into without harm.
    """
    try:
        return step.family.fit(step.encoder, private_copy(data) if copy else data)
    except Exception as exc:  # any error from the user's encoder, reported with the step that raised it
        hint = f"; columns {nan_columns} hold NaNs and need an imputer (e.g. SimpleImputer())" if nan_columns else ""
        raise errors.EncoderError(
            step.parameter, f"{type(step.encoder).__name__} failed to fit on {step.columns}: {exc}{hint}"
        ) from exc


def transform(step: EncoderStep | FittedEncoder, fitted: Any, data: pd.DataFrame) -> np.ndarray:
    """Encode ``data`` (a private copy of it) and check the result has one 2-D row per input row."""
    try:
        # numpy's "divide by zero encountered in log" would only repeat, less clearly, what assay says itself: samples
        # and inference refuse NaN or ±inf an encoder makes with a DataError naming its columns and rows
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = step.family.transform(fitted, private_copy(data))
    except Exception as exc:  # an encoder that cannot handle new values (unknown category...) names itself
        hint = ""
        if "unknown categor" in str(exc).lower():  # new data at inference: the fit saw every row it was given
            hint = ("; the data holds a category the encoder never saw when it was fitted: drop those rows, or make "
                    "the splitset again with an encoder that tolerates them, e.g. OneHotEncoder(handle_unknown="
                    "'ignore') or OrdinalEncoder(handle_unknown='use_encoded_value', unknown_value=-1)")
        raise errors.EncoderError(
            step.parameter, f"{type(fitted).__name__} failed to encode {list(data.columns)}: {exc}{hint}"
        ) from exc
    check_output(step.parameter, fitted, out, len(data))
    return out


def check_output(parameter: str, fitted: Any, out: Any, rows: int) -> None:
    """An encoder must give one output row per input row.

    A text vectorizer handed a whole table, for one, learns the column *names* and returns a single row that
    numpy would broadcast to every sample: the model would then train on a constant without any error.
    """
    shape = getattr(out, "shape", None)
    if shape is None or len(shape) != 2 or shape[0] != rows:
        raise errors.EncoderError(
            parameter,
            f"{type(fitted).__name__} returned shape {shape} for {rows} input rows; an encoder must return a 2-D "
            f"array with one row per input row ({rows}, n_outputs). A text vectorizer (CountVectorizer, "
            "TfidfVectorizer) must encode exactly one text column: select it with columns=['the_column']",
        )


def output_names(step: EncoderStep, fitted: Any, width: int) -> list[str]:
    names = [str(name) for name in step.family.output_names(fitted, list(step.columns))]
    if len(names) != width:  # an encoder that cannot name its outputs gets numbered names
        names = [f"{type(fitted).__name__}_{step.position}_{i}" for i in range(width)]
    return names


def check_nan_output(step: EncoderStep, fitted: Any, data: pd.DataFrame, nan_columns: list[str]) -> None:
    """Encode some rows holding NaNs: an encoder that leaves NaNs in its output does not impute them."""
    if not nan_columns:
        return
    probe = data[data[nan_columns].isna().any(axis=1)].head(NAN_PROBE_ROWS)
    if not np.isfinite(transform(step, fitted, probe)).all():
        raise errors.DataError(
            step.parameter,
            f"columns {nan_columns} hold NaNs that {type(step.encoder).__name__} does not impute; put an imputer "
            "first, e.g. sklearn.pipeline.make_pipeline(SimpleImputer(), StandardScaler()), or drop those rows",
        )


@attrs.frozen
class FittedEncoder:
    """A fitted encoder as stored: its role, family, columns, output names and bytes.

    ``load()`` unpickles it through its family (once, then cached); this trusts the database.
    """

    role: str
    position: int
    family_name: str
    class_name: str
    columns: list[str]
    output_names: list[str]
    is_categorical: bool
    blob: bytes = attrs.field(repr=False)
    fold_index: int | None = None
    _cache: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False, alias="_cache")

    @property
    def family(self) -> EncoderFamily:
        return plugins.encoder_family_named(self.family_name)

    @property
    def parameter(self) -> str:
        return "label_encoder" if self.role == "label" else f"feature_encoders[{self.position}]"

    def load(self) -> Any:
        """The fitted encoder object."""
        if "fitted" not in self._cache:
            self._cache["fitted"] = self.family.loads(self.blob)
        return self._cache["fitted"]

    def transform(self, data: pd.DataFrame) -> np.ndarray:
        """Encode the encoder's columns of ``data``: a dense 2-D float64 array."""
        return transform(self, self.load(), data[self.columns])


@attrs.frozen
class FittedEncoders:
    """Everything needed to encode raw rows and decode predictions, as one splitset (or fold) fitted it.

    Attributes:
        label: the label encoder, or ``None`` (no label encoder, or unsupervised).
        features: feature encoders in the order they apply.
        passthrough: feature columns no encoder touches, appended as they are after the encoded ones.
        label_column, label_classes, label_is_categorical: as on :class:`assay.Splitset`.
        interpolaters: feature and label interpolation steps, applied to the rows being encoded (among
            themselves only, see :mod:`assay.data.interpolation`) before the encoders.
    """

    label: FittedEncoder | None
    features: list[FittedEncoder]
    passthrough: list[str]
    label_column: str | None
    label_classes: list[Any]
    label_is_categorical: bool
    interpolaters: list[Interpolater] = attrs.field(factory=list)

    @property
    def feature_interpolaters(self) -> list[Interpolater]:
        return [step for step in self.interpolaters if step.role == "feature"]

    @property
    def label_interpolaters(self) -> list[Interpolater]:
        return [step for step in self.interpolaters if step.role == "label"]

    def interpolate_labels(self, labels: pd.Series) -> pd.Series:
        """Label values with their gaps interpolated among these rows (unchanged without a label interpolater)."""
        steps = self.label_interpolaters
        return interpolation.apply(steps, labels.to_frame())[labels.name] if steps else labels

    def __iter__(self):
        """The label encoder first (if any), then the feature encoders."""
        return iter(([self.label] if self.label is not None else []) + list(self.features))

    @property
    def width(self) -> int:
        return sum(len(e.output_names) for e in self.features) + len(self.passthrough)

    def encode_features(self, df: pd.DataFrame, rows: np.ndarray | None = None) -> np.ndarray:
        """Encode the feature columns of ``df`` (optionally only ``rows``) into a float32 array.

        Rows are encoded in chunks written into one preallocated array, so the encoders' float64 temporaries
        stay small however many rows there are (transformers encode each row on its own): a text vectorizer's
        sparse output is densified one chunk of rows at a time, never for the whole dataset at once.
        """
        rows = np.arange(len(df)) if rows is None else np.asarray(rows, dtype=np.int64)
        if self.feature_interpolaters:  # these rows' gaps are filled from these rows only
            columns = list(dict.fromkeys([c for e in self.features for c in e.columns] + list(self.passthrough)))
            df = interpolation.apply(self.feature_interpolaters, df[columns].iloc[rows]).reset_index(drop=True)
            rows = np.arange(len(df))
        out = np.empty((len(rows), self.width), dtype=np.float32)
        step = chunk_rows(self.width)
        for begin in range(0, len(rows), step):
            chunk = rows[begin:begin + step]
            target = out[begin:begin + len(chunk)]
            start = 0
            for encoder in self.features:
                encoded = encoder.transform(df[encoder.columns].iloc[chunk])
                target[:, start:start + encoded.shape[1]] = encoded
                start += encoded.shape[1]
            if self.passthrough:
                target[:, start:] = df[self.passthrough].iloc[chunk].to_numpy(dtype=np.float32, na_value=np.nan)
        return out

    def encode_labels(self, labels: pd.Series) -> np.ndarray:
        """Encode raw label values: ``(n, *label_shape)``; float32 when encoded, raw integers otherwise."""
        labels = self.interpolate_labels(labels)
        if self.label is None:
            values = labels.to_numpy()
            values = values.astype(np.float32) if values.dtype.kind == "f" else values
            return values.reshape(len(values), 1)
        return self.label.transform(labels.to_frame()).astype(np.float32)

    def decode_labels(self, values: Any) -> np.ndarray:
        """Class indices to original classes, or encoded regression values back to the original scale."""
        values = np.asarray(values)
        if self.label_is_categorical:
            if values.ndim == 2 and values.shape[1] > 1:
                values = values.argmax(axis=1)  # one-hot rows or probabilities
            indices = np.rint(values.astype(np.float64)).astype(np.int64).ravel()
            return np.asarray(self.label_classes, dtype=object)[indices] if _mixed(self.label_classes) else \
                np.asarray(self.label_classes)[indices]
        if self.label is None:
            return values.ravel()
        # a copy: an encoder made with copy=False would decode the caller's predictions in place
        fitted = self.label.load()
        decoded = np.asarray(self.label.family.inverse_transform(fitted, private_copy(values.reshape(len(values), -1))))
        # one original value per row: a 2-D (n, 1) is flattened by the callers, anything else would misalign rows
        if decoded.ndim == 0 or len(decoded) != len(values) or decoded.size != len(values):
            raise errors.EncoderError(
                "label_encoder", f"{type(fitted).__name__}.inverse_transform returned shape {decoded.shape} for "
                f"{len(values)} encoded labels; a label encoder must decode one value per row (shape "
                f"({len(values)},) or ({len(values)}, 1))")
        return decoded


def _mixed(values: list[Any]) -> bool:
    return len({type(v) for v in values}) > 1


def label_classes(step: EncoderStep | None, fitted: Any, label: pd.Series) -> list[Any]:
    """Original classes in encoded order: ``classes[i]`` is one-hot column i / encoded value i."""
    uniques = pd.Series(pd.unique(label.dropna()), name=label.name).sort_values(ignore_index=True)
    if step is None:
        values = uniques.tolist()
        if pd.api.types.is_bool_dtype(label.dtype) or values == list(range(len(values))):
            return values
        raise errors.EncoderError(
            "label_encoder",
            f"the label's classes {values[:6]!r} are not class indices 0..{len(values) - 1}; pass "
            "label_encoder=dict(sklearn_preprocess=OrdinalEncoder()) or OneHotEncoder()" + (
                "; for a regression label of whole numbers, a scaler such as StandardScaler() (or cast it to float)"
                if pd.api.types.is_integer_dtype(label.dtype) else ""),
        )
    encoded = transform(step, fitted, uniques.to_frame())
    indices = np.rint(encoded[:, 0]).astype(np.int64) if encoded.shape[1] == 1 else encoded.argmax(axis=1)
    if sorted(indices.tolist()) != list(range(len(uniques))):
        raise errors.EncoderError(
            "label_encoder",
            f"{type(fitted).__name__} does not give each class its own index or column; use OneHotEncoder() "
            "(without drop), OrdinalEncoder() or LabelBinarizer()",
        )
    classes: list[Any] = [None] * len(uniques)
    for index, value in zip(indices, uniques.tolist(), strict=True):
        classes[index] = value
    return classes


def json_safe(value: Any) -> Any:
    """numpy scalars to Python values, so classes survive JSON columns unchanged."""
    return value.item() if isinstance(value, np.generic) else value
