"""The encoders of a splitset made step by step, fitted when its first queue needs them.

The step-by-step API (:mod:`assay.data.build.step_by_step`) stores a splitset's splits, folds, encodersets and
coders one at a time, unencoded. A queue made on such a splitset fits its encoders with the plan and fit steps of
the kind it holds (:mod:`~assay.data.build.tabular`, :mod:`~assay.data.build.arrays`, and each input of a
multi-input splitset), in memory, and stores them in its own transaction (:class:`PendingEncoding`), so a later
check that fails leaves nothing written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from assay import errors
from assay.data import interpolation, windows
from assay.data.build import arrays as build_arrays
from assay.data.build import common, step_by_step, tabular
from assay.data.build.common import SplitSettings, encoder_rows, fit_step, label_is_categorical
from assay.data.read.stored import StoredArray
from assay.db.models import DatasetRow, FeatureRow, FoldRow, LabelRow, SplitsetRow
from assay.db.queries import data as data_queries
from assay.db.queries import steps as step_queries


def _stored_splits(splitset_id: int) -> tuple[dict[str, np.ndarray], list[dict[str, np.ndarray]]]:
    """A stored splitset's rows per split, and per split of each fold."""
    samples = data_queries.sample_arrays(SplitsetRow, splitset_id)
    folds = [data_queries.sample_arrays(FoldRow, fold_id) for fold_id, _ in data_queries.fold_ids(splitset_id)]
    return samples, folds


@attrs.frozen
class PendingEncoding:
    """The fitted encoders of a splitset made step by step, not stored yet.

    Attributes:
        rows: the keyword arguments of ``db.queries.steps.add_encoding`` (what is stored, in the queue's
            transaction).
        label_shape: the shape of one encoded label (``None`` without a label).
        categorical_encoder: whether the label encoder only maps categories.
        raw_labels: with forecasting windows, the original values the windows of some rows forecast (the
            stored splitset gives them only once encoded); ``None`` otherwise.
    """

    rows: dict[str, Any]
    label_shape: tuple[int, ...] | None
    categorical_encoder: bool
    raw_labels: Callable[[Any], np.ndarray] | None = None


def plan_encoding(splitset_id: int) -> PendingEncoding | None:
    """Fit the encoders of a splitset made step by step (its label's labelcoder, its feature's encoderset) with
    the planning and fitting code of :meth:`Pipeline.Tabular.make`, in memory; ``None`` when it is encoded."""
    splitset = data_queries.row(SplitsetRow, splitset_id, "Splitset")
    if splitset.is_encoded:
        return None
    if splitset.inputs:
        return _plan_inputs_encoding(splitset)
    feature = data_queries.row(FeatureRow, splitset.feature_id, "Feature")
    label_row = None if splitset.label_id is None else data_queries.row(LabelRow, splitset.label_id, "Label")
    if feature.kind not in (None, "tabular"):
        return _plan_array_encoding(splitset, feature, label_row)
    encodersets = step_queries.encodersets(feature.id)
    feature_steps = [step_by_step.coder_step(row) for row in step_queries.coders(encoderset_id=encodersets[0].id)] \
        if encodersets else []
    label_coders = [] if label_row is None else step_queries.coders(label_id=label_row.id)
    label_step = step_by_step.coder_step(label_coders[0]) if label_coders else None

    df = step_by_step.frame(splitset.dataset_id)
    label = None if label_row is None else df[label_row.column]
    if label_step is not None:
        label_step.columns = [label_row.column]
    samples, folds = _stored_splits(splitset.id)
    features = df[feature.columns]
    interpolaters = interpolation.parse_feature_interpolaters(feature.interpolaters, features)
    if label_row is not None and label_row.interpolater is not None:  # label.make_labelinterpolater
        interpolaters.append(interpolation.parse_label_interpolater(label_row.interpolater, label))
    window = None if splitset.window is None else windows.Window.from_json(splitset.window)
    plan = tabular.stored_plan(df, list(feature.columns), list(feature.columns_excluded), label, label_step,
                               feature_steps, samples, folds, SplitSettings.of(splitset), interpolaters, window)
    if plan.unimputed:
        raise errors.DataError("encoderset", f"columns {plan.unimputed} hold NaNs and no featurecoder imputes them; "
                                             "add make_featurecoder(sklearn_preprocess=SimpleImputer(), columns=...)")
    fitted = tabular.fit(plan)
    label_updates = None
    if label is not None:
        label_updates = common.label_summary(label, label_step, fitted.label, plan.is_categorical)
    feature_names, features_shape, label_shape = tabular.shapes(plan, fitted)
    shapes = dict(features_shape=features_shape, feature_names=feature_names,
                  interpolaters=[step.to_json() for step in interpolaters] or None)
    if label_shape is not None:
        shapes["label_shape"] = label_shape
    encoders = tabular.encoders(fitted)
    return PendingEncoding(
        rows=dict(splitset_id=splitset.id, splitset=shapes, label_id=splitset.label_id, label=label_updates,
                  encoders=encoders),
        label_shape=tuple(shapes["label_shape"]) if "label_shape" in shapes else None,
        categorical_encoder=bool(label_step is not None and label_step.is_categorical),
        raw_labels=None if window is None or not window.record_shifted else functools.partial(
            windows.raw_windows, [c for fit in fitted.features for c in fit.step.columns] + list(plan.passthrough),
            interpolaters, df, window),
    )


def _plan_array_encoding(splitset: SplitsetRow, feature: FeatureRow, label_row: LabelRow | None) -> PendingEncoding:
    """The encoders of a sequence or image splitset made step by step, planned and fitted by the code of
    ``Pipeline.Sequence/Image.make`` (the stored samples are read into memory to fit them)."""
    dataset = data_queries.row(DatasetRow, splitset.dataset_id, "Dataset")
    stored = StoredArray.load(dataset.id, dataset.shape, dataset.dtypes, dataset.columns)
    array = stored.rows(np.arange(dataset.row_count))
    encodersets = step_queries.encodersets(feature.id)
    feature_steps = [step_by_step.array_coder_step(row, feature)
                     for row in step_queries.coders(encoderset_id=encodersets[0].id)] if encodersets else []
    labels = None
    if label_row is not None:
        label_coders = step_queries.coders(label_id=label_row.id)
        label_frame = step_by_step.frame(label_row.dataset_id)
        labels = build_arrays.stored_labels(
            label_frame, label_row.column, step_by_step.coder_step(label_coders[0]) if label_coders else None,
            interpolation.parse_label_interpolater(label_row.interpolater, label_frame[label_row.column]))
    samples, folds = _stored_splits(splitset.id)
    names = list(dataset.columns)
    kept = [names.index(c) for c in feature.columns]
    interpolaters = build_arrays.interpolaters_of(feature.kind, array, names, kept, feature.interpolaters)
    window = None if splitset.window is None else windows.Window.from_json(splitset.window)
    plan = build_arrays.stored_plan(feature.kind, array, names, kept, feature_steps, feature.reshape_indices, labels,
                                    samples, folds, SplitSettings.of(splitset), interpolaters, window)
    fitted = build_arrays.fit(plan)
    label_shape, encoders = build_arrays.rows(plan, fitted)
    label_updates = None
    if labels is not None:
        label_updates = common.label_summary(labels.series, labels.step, fitted.label_fit, labels.is_categorical)
    label_steps = [] if labels is None or labels.interpolater is None else [labels.interpolater]
    shapes = dict(features_shape=list(fitted.features_shape), feature_names=list(feature.columns),
                  interpolaters=[step.to_json() for step in interpolaters + label_steps] or None)
    if label_shape is not None:
        shapes["label_shape"] = label_shape
    return PendingEncoding(
        rows=dict(splitset_id=splitset.id, splitset=shapes, label_id=splitset.label_id, label=label_updates,
                  encoders=encoders),
        label_shape=None if label_shape is None else tuple(label_shape),
        categorical_encoder=bool(labels is not None and labels.step is not None and labels.step.is_categorical),
        raw_labels=None if window is None or not window.record_shifted else plan.raw_targets,
    )


def _plan_inputs_encoding(splitset: SplitsetRow) -> PendingEncoding:
    """The encoders of a multi-input splitset made step by step: each input's encoderset fitted on the shared train
    rows (each input's splitset is encoded as a splitset of one feature), then the label's labelcoder; stored
    together (``rows["inputs"]``) in the queue's transaction."""
    input_rows, shapes_of = [], []
    for entry in splitset.inputs:
        pending = plan_encoding(entry["splitset_id"])
        if pending is not None:
            input_rows.append(pending.rows)
            shapes_of.append((entry["name"], pending.rows["splitset"]))
        else:
            row = data_queries.row(SplitsetRow, entry["splitset_id"], "Splitset")
            shapes_of.append((entry["name"], dict(features_shape=row.features_shape, feature_names=row.feature_names)))
    label_row = data_queries.row(LabelRow, splitset.label_id, "Label")
    label_coders = step_queries.coders(label_id=label_row.id)
    label_step = step_by_step.coder_step(label_coders[0]) if label_coders else None
    label = step_by_step.frame(splitset.dataset_id)[label_row.column]
    if label_step is not None:
        label_step.columns = [label_row.column]
    samples = data_queries.column_value(SplitsetRow, splitset.id, "samples")
    folds = [fold.samples for fold in data_queries.fold_rows(splitset.id)]
    label_fit = None
    if label_step is not None:
        frame = label.to_frame()
        label_fit = fit_step(label_step, frame, frame.iloc[samples["train"]],
                             [frame.iloc[fold["train"]] for fold in folds], [])
    is_categorical = label_is_categorical(label, label_step)
    label_updates = common.label_summary(label, label_step, label_fit, is_categorical)
    shapes = dict(label_shape=common.label_shape(label_fit),
                  features_shape=[list(shape["features_shape"]) for _, shape in shapes_of],
                  feature_names=[f"{name}: {column}" for name, shape in shapes_of for column in shape["feature_names"]])
    return PendingEncoding(
        rows=dict(splitset_id=splitset.id, splitset=shapes, label_id=splitset.label_id, label=label_updates,
                  encoders=[encoder_rows(label_fit)] if label_fit else [], inputs=input_rows),
        label_shape=tuple(shapes["label_shape"]),
        categorical_encoder=bool(label_step is not None and label_step.is_categorical),
    )


