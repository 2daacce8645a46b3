"""AIQC 3.1.1's class-method spellings of the step-by-step API, so an AIQC script runs with its imports changed:
``from assay.objects.aiqc import *`` instead of ``from aiqc.orm import *``.

assay's own spelling is methods of the objects (``dataset.make_label(columns=[...])``); each name here is a thin
alias taking ids as AIQC's did (``Label.from_dataset(dataset_id=..., columns=[...])``) and calling that method,
so every check and every stored row is the same. ``Label``, ``Feature``, ``Encoderset``, ``Foldset``,
``Interpolaterset``, ``Hyperparamset`` and ``Queue`` are assay's classes with the AIQC constructor added;
``LabelCoder``, ``LabelInterpolater``, ``FeatureEncoder``, ``FeatureInterpolater``, ``FeatureShaper`` and
``Window`` only construct (a coder, an interpolation step, a reshaped feature, a window). What assay refuses it
refuses here too, saying why (a network URL in ``Dataset.Image.from_urls_pillow``,
``Splitset.make(unsupervised_stratify_col=...)``).
"""

from __future__ import annotations

from typing import Any

from assay import errors
from assay.data.windows import Window as _Window
from assay.objects import steps
from assay.objects.data import Dataset, Splitset
from assay.objects.experiment import Algorithm, Job, Prediction, Predictor
from assay.objects.experiment import Hyperparamset as _Hyperparamset
from assay.objects.experiment import Queue as _Queue


class Label(steps.Label):
    @staticmethod
    def from_dataset(dataset_id: int, columns: Any) -> steps.Label:
        """``Dataset.get(dataset_id).make_label(columns)``."""
        return Dataset.get(dataset_id).make_label(columns=columns)


class Feature(steps.Feature):
    @staticmethod
    def from_dataset(dataset_id: int, include_columns: Any = None, exclude_columns: Any = None) -> steps.Feature:
        """``Dataset.get(dataset_id).make_feature(include_columns, exclude_columns)``."""
        return Dataset.get(dataset_id).make_feature(include_columns=include_columns, exclude_columns=exclude_columns)


class Foldset(steps.Foldset):
    @staticmethod
    def from_splitset(splitset_id: int, fold_count: int, bin_count: int | None = None) -> steps.Foldset:
        """``Splitset.get(splitset_id).make_foldset(fold_count, bin_count)``."""
        return Splitset.get(splitset_id).make_foldset(fold_count=fold_count, bin_count=bin_count)


class Encoderset(steps.Encoderset):
    @staticmethod
    def from_feature(feature_id: int, encoder_count: int = 0, description: str | None = None) -> steps.Encoderset:
        """``Feature.get(feature_id).make_encoderset()``."""
        return steps.Feature.get(feature_id).make_encoderset()


class LabelCoder:
    @staticmethod
    def from_label(label_id: int, sklearn_preprocess: Any) -> steps.Coder:
        """``Label.get(label_id).make_labelcoder(sklearn_preprocess)``."""
        return steps.Label.get(label_id).make_labelcoder(sklearn_preprocess=sklearn_preprocess)


class FeatureEncoder:
    @staticmethod
    def from_encoderset(encoderset_id: int, sklearn_preprocess: Any, include: bool = True, dtypes: Any = None,
                        columns: Any = None, verbose: bool = True) -> steps.Coder:
        """``Encoderset.get(encoderset_id).make_featurecoder(...)``."""
        return steps.Encoderset.get(encoderset_id).make_featurecoder(
            sklearn_preprocess=sklearn_preprocess, include=include, dtypes=dtypes, columns=columns, verbose=verbose)


class Interpolaterset(steps.Interpolaterset):
    """A feature's interpolation steps; they are stored on the feature, so its ``id`` is the feature's."""

    @property
    def id(self) -> int:
        return self.feature_id

    @staticmethod
    def from_feature(feature_id: int, interpolater_count: int = 0, description: str | None = None,
                     ) -> Interpolaterset:
        """``Feature.get(feature_id).make_interpolaterset()``."""
        return Interpolaterset(steps.Feature.get(feature_id))


class FeatureInterpolater:
    @staticmethod
    def from_interpolaterset(interpolaterset_id: int, process_separately: bool = True,
                             interpolate_kwargs: dict[str, Any] | None = None, dtypes: Any = None, columns: Any = None,
                             verbose: bool = True, samples: Any = None) -> dict[str, Any]:
        """``feature.make_interpolaterset().make_featureinterpolater(...)`` (``interpolaterset_id`` is the
        feature's id, see :class:`Interpolaterset`)."""
        if samples is not None:
            raise errors.DataError("samples", "AIQC passed it internally; leave it out")
        return Interpolaterset.from_feature(interpolaterset_id).make_featureinterpolater(
            interpolate_kwargs=interpolate_kwargs, dtypes=dtypes, columns=columns,
            process_separately=process_separately, verbose=verbose)


class LabelInterpolater:
    @staticmethod
    def from_label(label_id: int, process_separately: bool = True,
                   interpolate_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
        """``Label.get(label_id).make_labelinterpolater(interpolate_kwargs, process_separately)``."""
        return steps.Label.get(label_id).make_labelinterpolater(interpolate_kwargs=interpolate_kwargs,
                                                                process_separately=process_separately)


class FeatureShaper:
    @staticmethod
    def from_feature(feature_id: int, reshape_indices: Any) -> steps.Feature:
        """``Feature.get(feature_id).make_featureshaper(reshape_indices)``."""
        return steps.Feature.get(feature_id).make_featureshaper(reshape_indices=reshape_indices)


class Window:
    @staticmethod
    def from_feature(feature_id: int, size_window: int, size_shift: int, record_shifted: bool = True) -> _Window:
        """``Feature.get(feature_id).make_window(size_window, size_shift, record_shifted)``."""
        return steps.Feature.get(feature_id).make_window(size_window=size_window, size_shift=size_shift,
                                                         record_shifted=record_shifted)


class Hyperparamset(_Hyperparamset):
    @staticmethod
    def from_algorithm(algorithm_id: int, hyperparameters: dict[str, Any], description: str | None = None,
                       search_count: int | None = None, search_percent: float | None = None) -> _Hyperparamset:
        """``Algorithm.get(algorithm_id).make_hyperparamset(...)``."""
        return Algorithm.get(algorithm_id).make_hyperparamset(
            hyperparameters=hyperparameters, search_count=search_count, search_percent=search_percent,
            description=description)


class Queue(_Queue):
    @staticmethod
    def from_algorithm(algorithm_id: int, splitset_id: int, repeat_count: int = 1, permute_count: int = 3,
                       hide_test: bool = False, hyperparamset_id: int | None = None,
                       foldset_id: int | None = None) -> _Queue:
        """``Algorithm.get(algorithm_id).make_queue(...)``, with AIQC's default ``permute_count=3``."""
        return Algorithm.get(algorithm_id).make_queue(
            splitset_id=splitset_id, foldset_id=foldset_id, hyperparamset_id=hyperparamset_id,
            repeat_count=repeat_count, permute_count=permute_count, hide_test=hide_test)


__all__ = ["Algorithm", "Dataset", "Encoderset", "Feature", "FeatureEncoder", "FeatureInterpolater",
           "FeatureShaper", "Foldset", "Hyperparamset", "Interpolaterset", "Job", "Label", "LabelCoder",
           "LabelInterpolater", "Prediction", "Predictor", "Queue", "Splitset", "Window"]
