"""Scalers: ``transform`` is a few in-place operations with per-column vectors, in the input's float dtype,
exactly as scikit-learn writes them."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from assay_sklearn.portable.base import NotPortable, Portable, _floats, _require, _setting, _vector


class _Scaler(Portable):
    """Scalers: ``transform`` is a few in-place operations with per-column vectors, in the input's float dtype."""

    #: the fitted vectors (``None`` where a setting switches one off) and the settings kept
    vectors: ClassVar[tuple[str, ...]] = ()
    settings: ClassVar[dict[str, tuple[type, ...]]] = {}

    def __init__(self, n_features_in_: int, **values: Any):
        self.n_features_in_ = n_features_in_
        for name, value in values.items():
            setattr(self, name, value)

    @classmethod
    def from_sklearn(cls, fitted: Any) -> Portable:
        values = {name: getattr(fitted, name, None) for name in cls.vectors}
        values = {name: None if value is None else np.asarray(value) for name, value in values.items()}
        if any(value is not None and (value.dtype.kind != "f" or value.ndim != 1) for value in values.values()):
            raise NotPortable("fitted vectors that are not 1-D floats")
        settings = {name: getattr(fitted, name) for name in cls.settings}
        return cls(int(fitted.n_features_in_), **values, **settings)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {"n_features_in": self.n_features_in_, **{name: getattr(self, name) for name in self.settings}}
        meta = {key: list(value) if isinstance(value, tuple) else value for key, value in meta.items()}
        return meta, {name: getattr(self, name) for name in self.vectors if getattr(self, name) is not None}

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Portable:
        width = _setting(meta, "n_features_in", (int,))
        settings = {name: _setting(meta, name, kinds) for name, kinds in cls.settings.items()}
        vectors = {name: _vector(arrays, name, width, optional=True) for name in cls.vectors}
        made = cls(width, **vectors, **settings)
        made._check_state()
        return made

    def _check_state(self) -> None:
        return None

    def transform(self, X: Any) -> np.ndarray:
        raise NotImplementedError

    def inverse_transform(self, X: Any) -> np.ndarray:
        raise NotImplementedError


class StandardScaler(_Scaler):
    vectors = ("mean_", "scale_")
    settings = {"with_mean": (bool,), "with_std": (bool,)}

    def _check_state(self) -> None:
        if self.with_mean:
            _require(self.mean_, "mean_")
        if self.with_std:
            _require(self.scale_, "scale_")

    def transform(self, X: Any) -> np.ndarray:
        X = _floats(X, self.n_features_in_, "StandardScaler")
        # scikit-learn casts the vectors to the input's dtype first (float32 input: float32 arithmetic)
        if self.with_mean:
            X -= self.mean_.astype(X.dtype)
        if self.with_std:
            X /= self.scale_.astype(X.dtype)
        return X

    def inverse_transform(self, X: Any) -> np.ndarray:
        X = _floats(X, self.n_features_in_, "StandardScaler")
        if self.with_std:
            X *= self.scale_.astype(X.dtype)
        if self.with_mean:
            X += self.mean_.astype(X.dtype)
        return X


class MinMaxScaler(_Scaler):
    vectors = ("scale_", "min_")
    settings = {"feature_range": (list, tuple), "clip": (bool,)}

    def _check_state(self) -> None:
        _require(self.scale_, "scale_")
        _require(self.min_, "min_")
        low, high = self.feature_range
        if not all(type(v) in (int, float) for v in (low, high)):
            raise ValueError(f"the setting 'feature_range' is {self.feature_range!r}")

    def transform(self, X: Any) -> np.ndarray:
        X = _floats(X, self.n_features_in_, "MinMaxScaler")
        X *= self.scale_
        X += self.min_
        if self.clip:
            np.clip(X, np.asarray(self.feature_range[0], dtype=X.dtype), np.asarray(self.feature_range[1],
                    dtype=X.dtype), out=X)
        return X

    def inverse_transform(self, X: Any) -> np.ndarray:
        X = _floats(X, self.n_features_in_, "MinMaxScaler")
        X -= self.min_
        X /= self.scale_
        return X


class MaxAbsScaler(_Scaler):
    vectors = ("scale_",)
    settings = {"clip": (bool,)}

    def _check_state(self) -> None:
        _require(self.scale_, "scale_")

    def transform(self, X: Any) -> np.ndarray:
        X = _floats(X, self.n_features_in_, "MaxAbsScaler")
        X /= self.scale_
        if self.clip:
            np.clip(X, np.asarray(-1.0, dtype=X.dtype), np.asarray(1.0, dtype=X.dtype), out=X)
        return X

    def inverse_transform(self, X: Any) -> np.ndarray:
        X = _floats(X, self.n_features_in_, "MaxAbsScaler")
        X *= self.scale_
        return X


class RobustScaler(_Scaler):
    vectors = ("center_", "scale_")
    settings = {"with_centering": (bool,), "with_scaling": (bool,)}

    def _check_state(self) -> None:
        if self.with_centering:
            _require(self.center_, "center_")
        if self.with_scaling:
            _require(self.scale_, "scale_")

    def transform(self, X: Any) -> np.ndarray:
        X = _floats(X, self.n_features_in_, "RobustScaler")
        if self.with_centering:
            X -= self.center_
        if self.with_scaling:
            X /= self.scale_
        return X

    def inverse_transform(self, X: Any) -> np.ndarray:
        X = _floats(X, self.n_features_in_, "RobustScaler")
        if self.with_scaling:
            X *= self.scale_
        if self.with_centering:
            X += self.center_
        return X
