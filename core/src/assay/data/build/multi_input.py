"""``assay.Pipeline.make(inputs=[...])``: several feature inputs (tables, sequences, images) and one label, aligned
by sample, to one persisted multi-input splitset.

Everything is read and checked first (every input's sample count against the others and the labels, each input's
own parameters), then the splits and folds are made once from the label and shared by every input, every input's
encoders are fitted on those same train rows (and each fold's), and one transaction writes the label dataset, each
input's dataset, feature, splitset and encoders, and the multi-input splitset that lists the inputs in order (see
:mod:`assay.data.read.multi_input` for how they are read back). Bad input never leaves rows behind.

An input is a dict: ``dict(df_or_path=..., feature_cols_excluded=..., feature_encoders=[...])`` for a table,
``dict(feature_ndarray3D_or_npyPath=..., ...)`` for sequences and ``dict(feature_folder_or_urls=..., ...)`` for
images (the parameters of ``Pipeline.Tabular/Sequence/Image.make`` that concern features), with an optional
``name`` (default: its kind, numbered when two inputs share one) and ``kind``.
"""

from __future__ import annotations

import contextlib
from typing import Any

import attrs
import numpy as np

from assay import errors
from assay.data import arraystore, encoding, images, ingest, sequence, splitting
from assay.data.build import arrays as build_arrays
from assay.data.build import common, tabular
from assay.data.read import multi_input
from assay.data.read.multi_input import qualified
from assay.data.read.splitsets import SplitsetData
from assay.db.queries import data as data_queries

#: each kind's data parameter and the other parameters an input of that kind takes
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tabular": ("df_or_path", ("feature_cols_excluded", "feature_encoders")),
    "sequence": ("feature_ndarray3D_or_npyPath",
                 ("feature_dtype", "feature_cols_excluded", "feature_encoders", "feature_reshape_indices")),
    "image": ("feature_folder_or_urls", ("feature_dtype", "feature_encoders", "feature_reshape_indices")),
}


@attrs.frozen
class InputSpec:
    """One input as the user described it, checked: its position, name, kind, data and options."""

    index: int
    name: str
    kind: str
    data: Any
    options: dict[str, Any]

    @property
    def parameter(self) -> str:
        return f"inputs[{self.index}]"


@attrs.frozen
class InputRows:
    """One input, fitted, as :func:`assay.db.queries.data.store_multi_splitset` stores it."""

    name: str
    kind: str
    dataset: tuple[Any, ...]  # ("tabular", DataFrame, name) or ("array", sha256, new_dataset callable)
    features: dict[str, Any]
    splitset: dict[str, Any]
    encoders: list[Any]



def parse_inputs(inputs: Any) -> list[InputSpec]:
    """Check the ``inputs`` list: dicts naming their data, known options, unique names."""
    if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
        raise errors.DataError(
            "inputs", f"give a list of two or more inputs, e.g. [dict(df_or_path=table), "
            f"dict(feature_folder_or_urls=images)], got {inputs!r:.80}; for one input use Pipeline.Tabular.make, "
            "Pipeline.Sequence.make or Pipeline.Image.make")
    kinds = [_kind(index, item) for index, item in enumerate(inputs)]
    specs, names = [], []
    for index, (item, kind) in enumerate(zip(inputs, kinds, strict=True)):
        # by default an input is named for its kind, numbered when several inputs share it
        name = item.get("name")
        if name is None:
            name = kind if kinds.count(kind) == 1 else f"{kind}_{index}"
        if not isinstance(name, str) or not name or ":" in name:
            raise errors.DataError(f"inputs[{index}].name", f"must be a non-empty string without ':', got {name!r}")
        if name in names:
            raise errors.DataError(f"inputs[{index}].name", f"{name!r} names two inputs; give each a name of its own")
        names.append(name)
        key, allowed = KINDS[kind]
        specs.append(InputSpec(index, name, kind, item[key], {option: item.get(option) for option in allowed}))
    return specs


def _kind(index: int, item: Any) -> str:
    """The kind of input ``inputs[index]`` (given, or by the key naming its data), its options checked."""
    parameter = f"inputs[{index}]"
    if not isinstance(item, dict):
        raise errors.DataError(parameter, f"must be a dict such as dict(df_or_path=df, feature_encoders=[...]), got "
                               f"{type(item).__name__}")
    given = [kind for kind, (key, _) in KINDS.items() if key in item]
    kind = item.get("kind", given[0] if len(given) == 1 else None)
    if kind not in KINDS:
        keys = ", ".join(key for key, _ in KINDS.values())
        raise errors.DataError(parameter, f"name its data with exactly one of {keys} (and optionally "
                               f"kind='tabular'|'sequence'|'image'), got keys {sorted(item)}")
    key, allowed = KINDS[kind]
    if key not in item:
        raise errors.DataError(parameter, f"a {kind} input needs {key}=...")
    unknown = sorted(set(item) - {key, "kind", "name", *allowed})
    if unknown:
        raise errors.DataError(parameter, f"{unknown} are not options of a {kind} input; use {list(allowed)}")
    return kind


@attrs.frozen
class _Read:
    spec: InputSpec
    count: int
    value: Any  # the DataFrame, the 3-D array, or the image paths
    name: str | None


def _read(spec: InputSpec) -> _Read:
    """The input's data, read only as far as needed to count its samples (images are decoded later)."""
    try:
        if spec.kind == "tabular":
            df, name = ingest.read_tabular(spec.data)
            return _Read(spec, len(df), df, name)
        if spec.kind == "sequence":
            array, name = sequence.read_sequence(spec.data, spec.options["feature_dtype"],
                                                 "feature_ndarray3D_or_npyPath")
            return _Read(spec, len(array), array, name)
        paths, name = images.image_paths(spec.data, "feature_folder_or_urls")
        return _Read(spec, len(paths), paths, name)
    except errors.ValidationError as exc:
        raise multi_input.renamed(exc, f"{spec.parameter}.{KINDS[spec.kind][0]}") from None


def _in_input(spec: InputSpec, exc: errors.ValidationError) -> errors.ValidationError:
    """An error raised while planning or fitting one input, naming the input (``inputs[1].feature_encoders``)."""
    return multi_input.renamed(exc, f"{spec.parameter}.{exc.parameter}")


def _tabular_rows(spec: InputSpec, samples: dict[str, np.ndarray], folds: list[dict[str, np.ndarray]],
                  settings: common.SplitSettings) -> InputRows:
    """A table, planned and fitted as ``Pipeline.Tabular.make`` would, unsupervised and on the shared splits."""
    plan = tabular.on_shared_splits(spec.data, spec.options["feature_cols_excluded"],
                                    spec.options["feature_encoders"], samples, folds, settings)
    fitted = tabular.fit(plan)
    feature_names = tabular.feature_names(plan, fitted)
    return InputRows(
        name=spec.name, kind="tabular", dataset=("tabular", plan.df, plan.name),
        features=tabular.feature_columns(plan),
        splitset=dict(features_shape=[len(feature_names)], feature_names=feature_names),
        encoders=[common.encoder_rows(fit) for fit in fitted.features],
    )


def _array_rows(read: _Read, samples: dict[str, np.ndarray], folds: list[dict[str, np.ndarray]],
                settings: common.SplitSettings) -> InputRows:
    spec, options = read.spec, read.spec.options
    if spec.kind == "sequence":
        array = read.value
        names = sequence.feature_names(array.shape[2])
        excluded = sequence.excluded_indices(options["feature_cols_excluded"], names)
        kept = [i for i in range(len(names)) if i not in excluded]
    else:
        sequence.check_dtype(options["feature_dtype"])
        array, _, _ = images.read_images(read.value, options["feature_dtype"], "feature_folder_or_urls")
        names = images.channel_names(array.shape[1])
        kept = list(range(len(names)))
    plan = build_arrays.plan(spec.kind, array, read.name, names, kept, options["feature_encoders"],
                               options["feature_reshape_indices"], None, None, None, None, None, settings.seed)
    plan = attrs.evolve(plan, samples=samples, folds=folds, settings=settings)
    fitted = build_arrays.fit(plan)
    kept_names = [names[i] for i in kept]
    sha256 = arraystore.fingerprint(array)
    encoders = [build_arrays.step_rows(step, kept_names, {index: models[position]
                                                            for index, models in fitted.by_fold.items()})
                for position, step in enumerate(plan.steps)]
    return InputRows(
        name=spec.name, kind=spec.kind,
        dataset=("array", sha256, lambda: build_arrays.array_dataset(spec.kind, array, read.name, names, sha256,
                                                                       fitted.statistics)),
        features=dict(columns=kept_names, columns_excluded=[n for i, n in enumerate(names) if i not in kept],
                      dtypes={name: str(array.dtype) for name in kept_names}, kind=spec.kind,
                      sample_shape=[int(s) for s in array.shape[1:]], reshape_indices=plan.reshape_indices,
                      layout="reshaped" if plan.reshape_indices is not None else build_arrays.LAYOUTS[spec.kind]),
        splitset=dict(features_shape=list(fitted.features_shape), feature_names=kept_names),
        encoders=encoders,
    )


def _check_keys(reads: list[_Read], labels: Any, key_column: Any) -> list[_Read]:
    """Every table's ``key_column`` equals the label table's, row by row; the key is no feature."""
    if not isinstance(key_column, str):
        raise errors.DataError("key_column", f"must be a column name, got {key_column!r}")
    if key_column not in labels.df.columns or key_column == labels.column:
        raise errors.DataError("key_column", f"{key_column!r} must be a column of the label table other than the "
                               f"label; its columns: {list(labels.df.columns)}")
    keys = labels.df[key_column]
    if keys.duplicated().any():
        raise errors.DataError("key_column", f"{key_column!r} holds duplicate values in the label table (e.g. "
                               f"{keys[keys.duplicated()].iloc[0]!r}); a key names one sample")
    checked = []
    for read in reads:
        if read.spec.kind != "tabular":  # sequences and images carry no keys: aligned by position
            checked.append(read)
            continue
        df = read.value
        if key_column not in df.columns:
            raise errors.DataError(read.spec.parameter, f"has no key column {key_column!r}; its columns: "
                                   f"{list(df.columns)}")
        different = np.flatnonzero(df[key_column].to_numpy() != keys.to_numpy())
        if len(different):
            row = int(different[0])
            raise errors.DataError(
                read.spec.parameter, f"row {row} has {key_column}={_plain(df[key_column].iloc[row])!r} but the label "
                f"table has {_plain(keys.iloc[row])!r} ({len(different)} rows differ); give every input's rows in the "
                "label table's order")
        excluded = encoding.as_list(read.spec.options["feature_cols_excluded"]) or []
        options = {**read.spec.options, "feature_cols_excluded": [*excluded, key_column]}
        checked.append(attrs.evolve(read, spec=attrs.evolve(read.spec, options=options)))
    return checked


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (``2``, not ``np.int64(2)``), for messages."""
    return value.item() if isinstance(value, np.generic) else value


def _without_label(reads: list[_Read], label_column: str | None) -> list[_Read]:
    """A table input holding the label column (the same DataFrame passed as an input and as the label table) does
    not train on it: as in ``Pipeline.Tabular.make``, the label column is never a feature (it would leak the
    answer into the features)."""
    result = []
    for read in reads:
        if read.spec.kind == "tabular" and label_column is not None and label_column in read.value.columns:
            excluded = encoding.as_list(read.spec.options["feature_cols_excluded"]) or []
            if label_column not in excluded:
                options = {**read.spec.options, "feature_cols_excluded": [*excluded, label_column]}
                read = attrs.evolve(read, spec=attrs.evolve(read.spec, options=options))
        result.append(read)
    return result


@attrs.frozen
class Plan:
    """Every input read and checked, the labels read, and the splits and folds they share."""

    reads: list[_Read]
    labels: Any  # build_arrays' labels: the table, its column, encoder step and whether it holds classes
    samples: dict[str, np.ndarray]
    folds: list[dict[str, np.ndarray]]
    settings: common.SplitSettings


@attrs.frozen
class Fitted:
    """The label's fitted encoder and each input's rows, fitted on the shared train rows (and each fold's)."""

    label: common.Fit | None
    inputs: list[InputRows]


def plan(inputs: Any, label_df_or_path: Any, label_column: Any, label_dtype: Any, label_encoder: Any,
         size_test: Any, size_validation: Any, fold_count: Any, bin_count: Any, seed: Any,
         key_column: Any = None) -> Plan:
    """Check every input and the labels, and make the splits and folds once, stratified on the label."""
    build_arrays.check_common(seed, size_test, size_validation, fold_count)
    specs = parse_inputs(inputs)
    if label_df_or_path is None:
        raise errors.DataError("label_df_or_path", "give the labels: a DataFrame or file with one row per sample, "
                               "in the inputs' sample order")
    reads = [_read(spec) for spec in specs]
    multi_input.check_counts([read.count for read in reads], [spec.name for spec in specs], "inputs")
    labels = build_arrays.read_labels(label_df_or_path, label_column, label_dtype, label_encoder, reads[0].count)
    if key_column is not None:
        reads = _check_keys(reads, labels, key_column)
    reads = _without_label(reads, labels.column)

    strata = splitting.make_strata(labels.series, labels.is_categorical, bin_count)
    samples = splitting.split_rows(strata, reads[0].count, size_test, size_validation, int(seed))
    folds = splitting.fold_rows(strata, samples["train"], fold_count, int(seed)) if fold_count else []
    return Plan(reads, labels, samples, folds, common.SplitSettings(size_test, size_validation, fold_count, bin_count,
                                                                  int(seed)))


def fit(plan: Plan) -> Fitted:
    """Fit the label's encoder, then each input's by its own kind, all on the shared train rows."""
    labels, samples, folds = plan.labels, plan.samples, plan.folds
    # the label first: a label that cannot be used fails before any image is decoded or encoder fitted
    label_fit = None
    if labels.step is not None:
        frame = labels.series.to_frame()
        label_fit = common.fit_step(labels.step, frame, frame.iloc[samples["train"]],
                                    [frame.iloc[fold["train"]] for fold in folds], [])
    fitted_inputs = []
    for read in plan.reads:
        try:
            if read.spec.kind == "tabular":
                fitted_inputs.append(_tabular_rows(attrs.evolve(read.spec, data=read.value), samples, folds,
                                                   plan.settings))
            else:
                fitted_inputs.append(_array_rows(read, samples, folds, plan.settings))
        except errors.ValidationError as exc:
            raise _in_input(read.spec, exc) from None
    return Fitted(label_fit, fitted_inputs)


def rows(plan: Plan, fitted: Fitted) -> dict[str, Any]:
    """The label, the multi-input splitset's feature and splitset columns, and the split columns every input's
    splitset shares (the datasets aside: :func:`write` serialises them)."""
    labels, inputs = plan.labels, fitted.inputs
    split_fields = dict(samples=dict(plan.samples),
                        split_sizes={s: len(r) for s, r in plan.samples.items()}, **plan.settings.columns())
    return dict(
        label_columns=dict(column=labels.column, dtype=str(labels.series.dtype),
                           **common.label_summary(labels.series, labels.step, fitted.label, labels.is_categorical)),
        features=dict(
            columns=[qualified(i.name, c) for i in inputs for c in i.features["columns"]], columns_excluded=[],
            dtypes={qualified(i.name, c): d for i in inputs for c, d in i.features["dtypes"].items()},
            kind=multi_input.KIND,
        ),
        splitset=dict(
            features_shape=[list(i.splitset["features_shape"]) for i in inputs],
            label_shape=common.label_shape(fitted.label),
            feature_names=[qualified(i.name, n) for i in inputs for n in i.splitset["feature_names"]],
            **split_fields,
        ),
        split_fields=split_fields,
        folds=[dict(fold) for fold in plan.folds],
        encoders=[common.encoder_rows(fitted.label)] if fitted.label is not None else [],
    )


def write(plan: Plan, fitted: Fitted) -> SplitsetData:
    """Store the label, every input's dataset, feature, splitset and encoders, and the multi-input splitset that
    lists them, in one transaction."""
    stored = rows(plan, fitted)
    labels = plan.labels
    with contextlib.ExitStack() as stack:
        serialized_label = stack.enter_context(ingest.serialize(labels.df))
        stored_inputs = []
        for input_rows in fitted.inputs:
            dataset = input_rows.dataset
            if dataset[0] == "tabular":
                serialized = stack.enter_context(ingest.serialize(dataset[1]))
                dataset = ("tabular", serialized, ingest.dataset_fields(dataset[1], dataset[2]))
            stored_inputs.append(dict(name=input_rows.name, dataset=dataset, features=input_rows.features,
                                      splitset={**input_rows.splitset, "label_shape": None, **stored["split_fields"]},
                                      encoders=input_rows.encoders))
        splitset_row, _, _ = data_queries.store_multi_splitset(
            (serialized_label, ingest.dataset_fields(labels.df, labels.name)), stored["label_columns"],
            stored["features"], stored["splitset"], stored_inputs, stored["folds"], stored["encoders"],
        )
    return SplitsetData.of(splitset_row)


def make(inputs: Any, label_df_or_path: Any, label_column: Any, label_dtype: Any, label_encoder: Any,
         size_test: Any, size_validation: Any, fold_count: Any, bin_count: Any, seed: Any,
         key_column: Any = None) -> SplitsetData:
    """Plan, fit and write a multi-input splitset; see the module docstring."""
    planned = plan(inputs, label_df_or_path, label_column, label_dtype, label_encoder, size_test, size_validation,
                   fold_count, bin_count, seed, key_column)
    return write(planned, fit(planned))
