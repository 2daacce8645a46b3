"""assay-sklearn: scikit-learn transformers as label and feature encoders of the tabular pipeline.

:class:`SklearnEncoderFamily` is what the ``assay_encoder_families`` hook (in :mod:`assay_sklearn.hooks`)
registers. scikit-learn is imported inside the methods, so loading the plugin stays cheap.

Fitted encoders are stored in the database as pickle bytes, the way scikit-learn persists estimators. Loading
them runs pickle, so it trusts the database they come from: only point assay at databases you trust. Bundles
(``predictor.export``) hold them as ``skops.io`` files instead (:meth:`SklearnEncoderFamily.safe_dumps`), which
load without running code: only the types of :data:`TRUSTED_PACKAGES` are rebuilt unless the user trusts more.
The common preprocessors are also written in a portable form (:mod:`assay_sklearn.portable`: JSON and numpy arrays,
transformed with numpy alone), which a bundle loads instead of importing scikit-learn and skops.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np

from assay import errors
from assay.contracts import EncoderFamily

__all__ = ["SklearnEncoderFamily"]

#: the packages whose classes a bundled encoder may be rebuilt from without the user's trust: scikit-learn, numpy,
#: scipy and assay's own encoders. Functions are not included (a FunctionTransformer's ``func`` from a user's
#: module needs trust), beyond the numpy ufuncs skops itself trusts.
TRUSTED_PACKAGES = ("sklearn", "numpy", "scipy", "assay", "assay_sklearn")

# Encoders that only map categories to codes: fitting them on all rows leaks nothing about the distribution.
_CATEGORICAL = ("OneHotEncoder", "OrdinalEncoder", "LabelBinarizer", "LabelEncoder", "MultiLabelBinarizer")
# Encoders whose fit/transform take a 1-D array instead of a 2-D table.
_ONE_DIMENSIONAL = ("LabelBinarizer", "LabelEncoder", "MultiLabelBinarizer")
# Text vectorizers take a 1-D sequence of documents; given a table they would iterate its column names.
_TEXT = ("CountVectorizer", "TfidfVectorizer", "HashingVectorizer")


def _is_sklearn(obj: Any) -> bool:
    from sklearn.base import BaseEstimator

    cls = obj if isinstance(obj, type) else type(obj)
    return issubclass(cls, BaseEstimator)


def _is_portable(obj: Any) -> bool:
    """An encoder of :mod:`assay_sklearn.portable` (told by its module, so loading the plugin imports none of it)."""
    return type(obj).__module__.startswith("assay_sklearn.portable")


def _class_name(obj: Any) -> str:
    return (obj if isinstance(obj, type) else type(obj)).__name__


def _is_preprocessing(encoder: Any, names: tuple[str, ...], module: str = "sklearn.preprocessing") -> bool:
    # Match scikit-learn's own classes (by module), not a user's class that happens to share a name.
    cls = type(encoder)
    if _is_portable(encoder):  # a portable twin answers as the preprocessor it reproduces
        return cls.__name__ in names and module == "sklearn.preprocessing"
    return cls.__name__ in names and cls.__module__.startswith(module)


def _is_text(encoder: Any) -> bool:
    """A text vectorizer (scikit-learn's or assay's TokenSequencer), alone or as the first step of a Pipeline."""
    first = _steps(encoder)[:1]
    return bool(first) and (_is_preprocessing(first[0], _TEXT, "sklearn.feature_extraction.text")
                            or _is_preprocessing(first[0], ("TokenSequencer",), "assay_sklearn.text"))


def _check_text(encoder: Any, data: Any, parameter: str) -> None:
    """A text encoder gets exactly one column, and that column holds strings only."""
    import pandas as pd

    name = _class_name(_steps(encoder)[0])
    columns = list(data.columns)
    if len(columns) != 1:
        raise errors.EncoderError(
            f"{parameter}.columns",
            f"{name} encodes one text column, but {columns} are selected; select it alone with "
            f"columns=['{columns[0] if columns else 'text'}'] (one text encoder per text column)",
        )
    column = data[columns[0]]
    if pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        raise errors.EncoderError(
            f"{parameter}.columns",
            f"{name} encodes text, but {columns[0]!r} holds {column.dtype} numbers; use a numeric encoder such as "
            "StandardScaler() for it, or select the text column",
        )
    not_text = column[~column.map(lambda value: isinstance(value, str))]
    if len(not_text):
        examples = ", ".join(repr(value) for value in not_text.head(3).tolist())
        raise errors.EncoderError(
            f"{parameter}.columns",
            f"{name} encodes text, but {columns[0]!r} holds {len(not_text)} value(s) that are not strings "
            f"(e.g. {examples} in rows {not_text.index[:3].tolist()}); fill missing text with "
            f"df[{columns[0]!r}].fillna('') and convert the others with .astype(str)",
        )


def _steps(encoder: Any) -> list[Any]:
    """The transformers inside a scikit-learn Pipeline, or the encoder itself."""
    if _is_portable(encoder):  # loaded without scikit-learn: keep it that way
        return [encoder]
    from sklearn.pipeline import Pipeline

    if isinstance(encoder, Pipeline):
        return [step for _, step in encoder.steps if step not in (None, "passthrough")]
    return [encoder]


def _force_dense(encoder: Any) -> None:
    """Switch every sparse-output option off, so transform returns a dense array (in place)."""
    for step in _steps(encoder):
        params = step.get_params(deep=False)
        for key in ("sparse_output", "sparse"):
            if params.get(key) not in (None, False) and not isinstance(params.get(key), str):
                step.set_params(**{key: False})
        if hasattr(step, "set_output"):
            # a global set_output(transform="pandas") would hand back DataFrames; the pipeline wants arrays
            step.set_output(transform="default")


class SklearnEncoderFamily(EncoderFamily):
    """scikit-learn transformers (``sklearn.preprocessing``, ``sklearn.impute``, pipelines, anything with
    ``fit``/``transform``) as encoders of the tabular pipeline.

    Dense output is forced (``sparse_output=False``); one-hot outputs are named ``column=value``.
    """

    name = "sklearn"

    def accepts(self, encoder: Any) -> bool:
        """Any scikit-learn estimator, instance or class, so :meth:`validate` can explain what is wrong."""
        return _is_sklearn(encoder)

    def validate(self, encoder: Any, parameter: str) -> None:
        """Reject a class given instead of an instance, and estimators that cannot transform."""
        if isinstance(encoder, type):
            raise errors.EncoderError(
                parameter,
                f"got the class {encoder.__name__}, not an instance; write {encoder.__name__}() with parentheses",
            )
        if not (callable(getattr(encoder, "fit", None)) and callable(getattr(encoder, "transform", None))):
            raise errors.EncoderError(
                parameter,
                f"{type(encoder).__name__} is not a transformer (it has no fit/transform); use a scikit-learn "
                "transformer such as StandardScaler(), OneHotEncoder() or SimpleImputer()",
            )

    def is_categorical(self, encoder: Any) -> bool:
        """One-hot, ordinal and label encoders (also a Pipeline made only of them)."""
        steps = _steps(encoder)
        return bool(steps) and all(_is_preprocessing(step, _CATEGORICAL) for step in steps)

    def _is_one_dimensional(self, encoder: Any) -> bool:
        return _is_preprocessing(encoder, _ONE_DIMENSIONAL) or _is_text(encoder)

    def _input(self, encoder: Any, data: Any) -> Any:
        if not self._is_one_dimensional(encoder):
            return data
        if hasattr(data, "iloc"):
            if data.shape[1] != 1:
                raise ValueError(
                    f"{type(encoder).__name__} encodes one column at a time, got {data.shape[1]} columns "
                    f"{list(data.columns)}; give it one column with columns=['name'] (one encoder per column)"
                )
            data = data.iloc[:, 0]
        values = np.asarray(data)
        if _is_text(encoder):
            return values.ravel().astype(object)  # documents: one string per row
        return values.ravel()

    def fit(self, encoder: Any, data: Any) -> Any:
        """Fit a clone of ``encoder`` on ``data``; the user's object stays unfitted."""
        from sklearn.base import clone

        fresh = clone(encoder)
        _force_dense(fresh)
        fresh.fit(self._input(fresh, data))
        return fresh

    def fit_batches(self, encoder: Any, batches: Any) -> Any:
        """Fit a clone batch by batch with ``partial_fit`` when the encoder has it (StandardScaler, MinMaxScaler,
        MaxAbsScaler...); other encoders are fitted once on all batches joined."""
        from sklearn.base import clone

        fresh = clone(encoder)
        if not callable(getattr(fresh, "partial_fit", None)) or self._is_one_dimensional(fresh):
            return super().fit_batches(encoder, batches)
        _force_dense(fresh)
        for batch in batches:
            fresh.partial_fit(batch)
        return fresh

    def transform(self, fitted: Any, data: Any) -> Any:
        """Encode ``data``: a dense 2-D float64 array."""
        out = fitted.transform(self._input(fitted, data))
        if hasattr(out, "toarray"):  # sparse output from a transformer without a dense switch
            out = out.toarray()
        out = np.asarray(out, dtype=np.float64)
        return out.reshape(len(out), -1)

    def check_data(self, encoder: Any, data: Any, parameter: str) -> None:
        """Text encoders: exactly one column, of strings (not numbers, not missing values)."""
        if _is_text(encoder):
            _check_text(encoder, data, parameter)

    def output_names(self, fitted: Any, columns: list[str]) -> list[str]:
        """``column=value`` for one-hot style outputs, ``column:word`` for text vectorizers (``column:token_i``
        for token ids), scikit-learn's feature names otherwise."""
        if _is_text(fitted) and len(columns) == 1:
            try:
                return [f"{columns[0]}:{name}" for name in fitted.get_feature_names_out()]
            except (AttributeError, ValueError, TypeError):  # HashingVectorizer: no names; the pipeline numbers them
                return []
        if _is_preprocessing(fitted, ("OneHotEncoder",)):
            names = []
            for index, (column, categories) in enumerate(zip(columns, fitted.categories_, strict=True)):
                dropped = fitted.drop_idx_[index] if getattr(fitted, "drop_idx_", None) is not None else None
                names += [f"{column}={value}" for i, value in enumerate(categories) if i != dropped]
            return names
        if _is_preprocessing(fitted, ("LabelBinarizer", "MultiLabelBinarizer")):
            classes = list(fitted.classes_)
            if len(classes) == 2 and _class_name(fitted) == "LabelBinarizer":
                classes = classes[1:]  # one 0/1 column that is 1 for the second class
            return [f"{columns[0]}={value}" for value in classes]
        if _is_preprocessing(fitted, ("LabelEncoder",)):
            return list(columns)
        try:
            return [str(name) for name in fitted.get_feature_names_out(list(columns))]
        except (AttributeError, ValueError, TypeError):
            return list(columns)  # the pipeline checks the width and names the outputs itself if it differs

    def inverse_transform(self, fitted: Any, encoded: Any) -> Any:
        """Decode a 2-D array back to original values; returns a 1-D array."""
        encoded = np.asarray(encoded)
        if _is_preprocessing(fitted, ("LabelEncoder",)):
            return fitted.inverse_transform(np.rint(encoded).astype(int).ravel())
        if encoded.ndim == 1:
            encoded = encoded.reshape(-1, 1)
        return np.asarray(fitted.inverse_transform(encoded)).ravel()

    def dumps(self, encoder: Any) -> bytes:
        """Pickle bytes (scikit-learn's own persistence); :meth:`loads` therefore trusts the database."""
        return pickle.dumps(encoder, protocol=pickle.HIGHEST_PROTOCOL)

    def loads(self, data: bytes) -> Any:
        """Unpickle an encoder stored by :meth:`dumps`. Only load from databases you trust."""
        # documented trust: stored encoders come from the user's own database
        return pickle.loads(data)

    safe_format = "skops"

    def safe_dumps(self, encoder: Any) -> bytes:
        """``skops.io`` bytes: the encoder's state as a tree of plain types, rebuilt without pickle."""
        import skops.io

        data = skops.io.dumps(encoder)
        # a lambda or a nested function is written by name, but cannot be found again: refuse it now
        unloadable = [name for name in skops.io.get_untrusted_types(data=data) if "<" in name]
        if unloadable:
            raise ValueError(f"skops cannot load {', '.join(unloadable)} back (define the function at module level)")
        return data

    def untrusted(self, data: bytes) -> list[str]:
        """The types and functions in skops ``data`` outside skops' defaults and :data:`TRUSTED_PACKAGES`' classes."""
        import skops.io

        return [name for name in skops.io.get_untrusted_types(data=data) if not _is_trusted_class(name)]

    def safe_loads(self, data: bytes, trusted: list[str]) -> Any:
        """Load skops ``data``, allowing :data:`TRUSTED_PACKAGES`' classes and the names in ``trusted``.

        Raises:
            assay.errors.TrustError: ``data`` needs a type or function not allowed (naming them).
        """
        import skops.io

        needed = skops.io.get_untrusted_types(data=data)
        refused = [name for name in needed if not _is_trusted_class(name) and name not in trusted]
        if refused:
            raise errors.TrustError("trust", f"the encoder needs {', '.join(refused)}, which assay does not trust "
                                    "by default; load the bundle with trust=True (--trust) if you trust its author")
        return skops.io.loads(data, trusted=needed)

    portable_format = "npz"  # assay_sklearn.portable.FORMAT, imported when a portable encoder is read or written

    def portable_dumps(self, fitted: Any) -> bytes:
        """The fitted preprocessor as :mod:`assay_sklearn.portable` data (``.npz``: JSON settings and numpy
        arrays); raises :class:`~assay_sklearn.portable.NotPortable` for a class or setting it does not cover."""
        from assay_sklearn import portable

        return portable.dumps(portable.from_sklearn(fitted))

    def portable_loads(self, data: bytes) -> Any:
        """Load :meth:`portable_dumps` bytes with numpy alone (``allow_pickle=False``); the object answers
        :meth:`transform`, :meth:`output_names` and :meth:`inverse_transform` as the scikit-learn encoder did.

        Raises:
            assay.errors.BundleError: damaged data (an unknown class, an array of the wrong shape or type).
        """
        from assay_sklearn import portable

        return portable.loads(data)

    def describe(self, encoder: Any) -> dict[str, Any]:
        """Class, module and constructor parameters, as assay's JSON columns store them: NaN, numpy scalars,
        dtypes and classes as they are, other objects (a Pipeline's steps) as their repr."""
        from assay.db.jsontype import storable  # here: loading the plugin (for a bundle) needs no database layer

        params = {key: storable(value) for key, value in encoder.get_params(deep=False).items()}
        return {"class": type(encoder).__name__, "module": type(encoder).__module__, "params": params}


def _is_trusted_class(name: str) -> bool:
    """Whether the dotted ``name`` is a class of :data:`TRUSTED_PACKAGES` (imported to check: those packages are
    installed with assay, and importing one of their modules runs no bundle content)."""
    import importlib

    module_name, _, attribute = name.rpartition(".")
    if module_name.split(".")[0] not in TRUSTED_PACKAGES or not attribute:
        return False
    try:
        value = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError):
        return False
    return isinstance(value, type)
