"""LabelEncoder and LabelBinarizer: one column of labels in, codes or 0/1 columns out."""

from __future__ import annotations

from typing import Any

import numpy as np

from assay_sklearn.portable.base import NotPortable, Portable, _labels, _setting, _values_in, _values_out
from assay_sklearn.portable.categorical import _check_unknown, _encode, _is_numeric


class _Labels(Portable):
    one_dimensional = True
    classes_: np.ndarray

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        raise AttributeError("get_feature_names_out")

    @staticmethod
    def _classes_from(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> np.ndarray:
        classes = _values_in(meta.get("classes"), arrays, "classes")
        if len(classes) == 0:
            raise ValueError("there are no classes")
        return classes


class LabelEncoder(_Labels):
    def __init__(self, classes_: np.ndarray):
        self.classes_ = classes_

    @classmethod
    def from_sklearn(cls, fitted: Any) -> Portable:
        return cls(np.asarray(fitted.classes_))

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {}
        return {"classes": _values_out(self.classes_, "classes", arrays)}, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Portable:
        return cls(cls._classes_from(meta, arrays))

    def transform(self, y: Any) -> np.ndarray:
        values = _labels(y)
        if len(values) == 0:
            return np.array([])
        if self.classes_.dtype.kind != "O":  # column_or_1d(y, dtype=classes_.dtype)
            values = values.astype(self.classes_.dtype)
        if _is_numeric(values):
            diff, _ = _check_unknown(values, self.classes_)
            if diff:
                raise ValueError(f"y contains previously unseen labels: {diff}")
        return _encode(values, self.classes_)

    def inverse_transform(self, y: Any) -> np.ndarray:
        values = _labels(y)
        if len(values) == 0:
            return np.array([])
        diff = np.setdiff1d(values, np.arange(len(self.classes_)))
        if len(diff):
            raise ValueError(f"y contains previously unseen labels: {diff}")
        return self.classes_[np.asarray(values)]


class LabelBinarizer(_Labels):
    """Binary or multi-class labels only; a label it did not see is refused (scikit-learn would encode it as a
    row of ``neg_label``, or change the number of columns when a two-class binarizer meets a third)."""

    def __init__(self, classes_: np.ndarray, neg_label: int, pos_label: int):
        self.classes_, self.neg_label, self.pos_label = classes_, neg_label, pos_label

    @classmethod
    def from_sklearn(cls, fitted: Any) -> Portable:
        if fitted.y_type_ not in ("binary", "multiclass") or fitted.sparse_input_:
            raise NotPortable(f"{fitted.y_type_} labels")
        if type(fitted.neg_label) is not int or type(fitted.pos_label) is not int:
            raise NotPortable("labels other than integers")
        return cls(np.asarray(fitted.classes_), fitted.neg_label, fitted.pos_label)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {}
        return {"classes": _values_out(self.classes_, "classes", arrays), "neg_label": self.neg_label,
                "pos_label": self.pos_label}, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Portable:
        neg, pos = _setting(meta, "neg_label", (int,)), _setting(meta, "pos_label", (int,))
        if neg >= pos:
            raise ValueError(f"neg_label={neg} is not below pos_label={pos}")
        return cls(cls._classes_from(meta, arrays), neg, pos)

    def transform(self, y: Any) -> np.ndarray:
        values = _labels(y)
        if len(values) == 0:
            raise ValueError("y has 0 samples")
        diff, _ = _check_unknown(values, self.classes_)
        if diff:
            raise ValueError(f"y contains labels the encoder did not see: {diff}")
        indices = _encode(values, self.classes_)
        neg, pos = self.neg_label, self.pos_label
        if pos == 0:  # scikit-learn's pos_switch: the dense case with pos_label 0
            pos = -neg
        if len(self.classes_) == 1:
            return np.zeros((len(values), 1), dtype=int) + neg
        out = np.zeros((len(values), len(self.classes_)), dtype=int)
        out[np.arange(len(values)), indices] = pos
        if neg != 0:
            out[out == 0] = neg
        if self.pos_label == 0:
            out[out == pos] = 0
        if len(self.classes_) == 2:
            out = out[:, -1].reshape(-1, 1)
        return out

    def inverse_transform(self, encoded: Any, threshold: float | None = None) -> np.ndarray:
        encoded = np.asarray(encoded)
        if threshold is None:
            threshold = (self.pos_label + self.neg_label) / 2.0
        if len(self.classes_) > 2:
            return self.classes_.take(encoded.argmax(axis=1), mode="clip")
        if encoded.ndim == 2 and encoded.shape[1] > 2:
            raise ValueError(f"output_type='binary', but y.shape = {encoded.shape}")
        codes = np.array(encoded > threshold, dtype=int)
        if codes.ndim == 2 and codes.shape[1] == 2:
            return self.classes_[codes[:, 1]]
        if len(self.classes_) == 1:
            return np.repeat(self.classes_[0], len(codes))
        return self.classes_[codes.ravel()]


#: the portable classes by the name of the scikit-learn class they reproduce
