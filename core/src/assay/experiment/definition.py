"""Checking an experiment definition: the user's functions, the hyperparameter grid, the queue's options.

``Experiment.make`` and the step-by-step ``Algorithm.make`` / ``algorithm.make_hyperparamset`` /
``algorithm.make_queue`` check with these same functions, so both accept and refuse the same definitions.
:func:`queue_splitset` gives a queue its splitset, labels checked, encoders fitted first when it was made step by
step.
"""

from __future__ import annotations

import inspect
import random
from typing import Any

import numpy as np

from assay import errors, plugins, space
from assay.data.build.step_by_step_encoders import PendingEncoding, plan_encoding
from assay.data.read.splitsets import SplitsetData
from assay.db.queries import data as data_queries
from assay.experiment.functions import serialise_functions, source_of
from assay.experiment.search import space_checks
from assay.experiment.search import strategies as searching

# how each user function is called; the names are for error messages
SIGNATURES = {
    "fn_build": ("features_shape", "label_shape"),
    "fn_train": ("model", "loser", "optimizer", "samples_train", "samples_evaluate"),
    "fn_lose": (),
    "fn_optimize": (),
    "fn_predict": ("model", "samples"),
}
REQUIRED = ("fn_build", "fn_train")


def check_function(name: str, fn: Any, hyperparameter_names: list[str] | None) -> None:
    """Whether ``fn`` can be called the way the runner calls it; ``hyperparameter_names=None`` (the grid not
    known yet) fills every named parameter after the positional ones."""
    if fn is None:
        if name in REQUIRED:
            raise errors.ExperimentError(name, f"{name} is required; pass a function")
        return
    if not callable(fn):
        raise errors.ExperimentError(name, f"{name} must be a function, got {type(fn).__name__}")
    positional = SIGNATURES[name]
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return  # builtins without a signature: trust them
    args: list[Any] = [None] * len(positional)
    if hyperparameter_names is None:
        hyperparameter_names = [
            p.name for p in list(signature.parameters.values())[len(positional):]
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is p.empty
        ]
    kwargs = {} if name == "fn_predict" else dict.fromkeys(hyperparameter_names)
    if name == "fn_optimize" and "model" in signature.parameters:
        kwargs["model"] = None  # torch optimizers need the model's parameters
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        expected = ", ".join([*positional, "**hp"] if name != "fn_predict" else positional)
        raise errors.ExperimentError(
            name, f"{name}{signature} cannot be called as {name}({expected}): {exc}; define it as "
            f"def {name}({expected})"
        ) from None


def check_grid(hyperparameters: Any) -> dict[str, list[Any]]:
    """A grid of lists (``algorithm.make_hyperparamset``): the space
    :func:`assay.experiment.search.space_checks.check_space` accepts, ranges refused (their combinations are drawn by a
    search, which ``Experiment.make`` runs)."""
    grid = space_checks.check_space(hyperparameters)
    ranged = [name for name, values in grid.items() if space.is_range(values)]
    if ranged:
        raise errors.ExperimentError(
            "hyperparameters", f"{ranged} {'is a range' if len(ranged) == 1 else 'are ranges'}: a hyperparameter "
            "set holds lists of values; search ranges with Experiment.make(search='tpe', search_count=N)"
        )
    return grid


def combinations(grid: dict[str, list[Any]], search_count: int | None, search_percent: float | None,
                 seed: int) -> tuple[str, list[dict[str, Any]]]:
    """The strategy (``grid`` or ``random``) and the combinations of a grid of lists: every one, or the seeded
    subset of ``search_count`` (or ``search_percent``) that ``Experiment.make`` draws with the same seed."""
    strategy = searching.check_strategy(None, grid, search_count, search_percent)
    return strategy, searching.initial_combinations(strategy, grid, search_count, search_percent, seed)


def check_labels(splitset: Any, analysis_type: str, pending: Any = None) -> None:
    """The splitset's labels fit the analysis type (a :class:`~assay.data.read.splitsets.SplitsetData` or Splitset).

    ``pending``: encoders fitted but not stored yet (a splitset made step by step), with ``label_shape``,
    ``categorical_encoder`` and ``raw_labels`` (forecast windows); without it they are read from the stored
    splitset.
    """
    label_shape = splitset.label_shape if pending is None else pending.label_shape
    if label_shape is None:  # forecasting windows have labels (the shifted windows) but no label column
        raise errors.ExperimentError(
            "splitset_id", f"splitset {splitset.id} has no label (unsupervised); supervised analysis types need "
            "a splitset made with label_column=..., or with feature_window=dict(..., record_shifted=True)"
        )
    categorical = (data_queries.label_encoder_is_categorical(splitset.id) if pending is None
                   else pending.categorical_encoder)
    rows = sorted(i for rows in splitset.samples.values() for i in rows)
    pending_labels = None if pending is None else pending.raw_labels
    labels = splitset.raw_labels(rows) if pending_labels is None else pending_labels(rows)
    analysis = plugins.analysis_type(analysis_type)
    analysis.check_labels(labels, categorical_encoder=bool(categorical))
    classes = _stored_as_classes(splitset, pending)
    if classes is not None and classes != analysis.is_classification:
        _refuse_label_kind(analysis_type, analysis.is_classification, labels)


def _stored_as_classes(splitset: Any, pending: Any) -> bool | None:
    """Whether the splitset keeps its label as classes (``None`` when it cannot tell)."""
    if pending is not None:
        label = (pending.rows or {}).get("label") or {}
        return label.get("is_categorical")
    return getattr(splitset, "label_is_categorical", None)


def _refuse_label_kind(analysis_type: str, is_classification: bool, labels: Any) -> None:
    """A label stored as classes cannot be regressed, nor one stored as continuous values classified: decoding
    would turn a regression output into a class index (rounded, wrapping below 0), or give a classifier no classes.
    The analysis type's own check names most cases first; this catches the rest (integers without an encoder)."""
    values = np.asarray(labels)
    shown = sorted({v.item() if hasattr(v, "item") else v for v in np.unique(values)[:5]})
    if is_classification:
        raise errors.ExperimentError(
            "label_encoder", f"{analysis_type!r} needs class labels, but the splitset stores its label (values "
            f"such as {shown}) as continuous values; make the splitset again with "
            "label_encoder=dict(sklearn_preprocess=OrdinalEncoder()) or OneHotEncoder()")
    raise errors.ExperimentError(
        "label_encoder", f"{analysis_type!r} needs a continuous label, but the splitset stores its label "
        f"({values.dtype} values such as {shown}) as classes, as it does for whole numbers without a label_encoder; "
        "make the splitset again with a scaler as label_encoder, e.g. dict(sklearn_preprocess=StandardScaler()), or "
        "with the label cast to float (df[label_column].astype(float))")


def check_names(library: Any, analysis_type: Any) -> str:
    """The canonical library name, its backend installed and the analysis type known."""
    for name, value, example in (("library", library, "'keras'"), ("analysis_type", analysis_type,
                                                                    "'classification_multi'")):
        if not isinstance(value, str):
            raise errors.ExperimentError(name, f"must be one name (a string) such as {example}, got {value!r}")
    library = plugins.canonical_library(library)
    plugins.backend(library)  # fails early, naming the package to install
    plugins.analysis_type(analysis_type)
    return library


def algorithm_fields(library: str, analysis_type: str, functions: dict[str, Any],
                     hyperparameter_names: list[str] | None) -> dict[str, Any]:
    """Check a library, an analysis type and the five functions; the AlgorithmRow columns to store."""
    library = check_names(library, analysis_type)
    for name in SIGNATURES:
        check_function(name, functions.get(name), hyperparameter_names)
    try:
        blob = serialise_functions(functions)
    except Exception as exc:
        raise errors.ExperimentError("fn_build", f"the functions cannot be serialised for other processes: {exc}") \
            from exc
    return dict(library=library, analysis_type=analysis_type, functions=blob,
                sources={name: source_of(fn) for name, fn in functions.items()})


def check_seed(seed: Any) -> int:
    """The seed, or a random one drawn (and stored) when ``None``."""
    if seed is None:
        return random.SystemRandom().randrange(2**31)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise errors.ExperimentError("seed", f"must be an int, got {seed!r}")
    return seed


def queue_fields(splitset_id: int, repeat_count: Any, hide_test: Any, seed: int, max_attempts: Any,
                 permute_count: Any) -> dict[str, Any]:
    """Check the queue's options; the QueueRow columns to store (ids and job count aside)."""
    if not isinstance(repeat_count, int) or isinstance(repeat_count, bool) or repeat_count < 1:
        raise errors.ExperimentError("repeat_count", f"must be an int >= 1, got {repeat_count!r}")
    if not isinstance(hide_test, bool):
        raise errors.ExperimentError("hide_test", f"must be True or False, got {hide_test!r}")
    if not isinstance(max_attempts, int) or max_attempts < 1:
        raise errors.ExperimentError("max_attempts", f"must be an int >= 1, got {max_attempts!r}")
    if not isinstance(permute_count, int) or isinstance(permute_count, bool) or permute_count < 0:
        raise errors.ExperimentError(
            "permute_count", f"must be an int >= 0 (0 computes no feature importance), got {permute_count!r}"
        )
    return dict(splitset_id=splitset_id, repeat_count=repeat_count, hide_test=hide_test, seed=seed,
                max_attempts=max_attempts, permute_count=permute_count)


def queue_splitset(splitset_id: Any, analysis_type: str) -> tuple[SplitsetData, PendingEncoding | None]:
    """The splitset a queue will train on, its labels checked; a splitset made step by step and not encoded yet
    comes with its encoders fitted in memory, for the queue to store in its own transaction (so a later check
    that fails leaves nothing written)."""
    if splitset_id is None:
        raise errors.ExperimentError("splitset_id", "pass the id of a splitset from assay.Pipeline.Tabular.make")
    try:
        splitset = SplitsetData.load(splitset_id)
    except errors.NotFoundError as exc:
        raise errors.ExperimentError("splitset_id", str(exc)) from None
    pending = None if splitset._row.is_encoded else plan_encoding(splitset.id)
    check_labels(splitset, analysis_type, pending)
    return splitset, pending


def check_foldset(splitset_id: int, foldset_id: Any, required: bool) -> None:
    """AIQC's ``foldset_id``: the splitset's own foldset (``splitset.make_foldset``). ``required``: the step-by-step
    ``make_queue`` asks for it when the splitset has one, so a queue never trains on folds its caller forgot."""
    from assay.db.queries import steps as step_queries

    foldset = step_queries.foldset_of(splitset_id)
    if foldset is None:
        if foldset_id is not None:
            raise errors.ExperimentError("foldset_id", f"splitset {splitset_id} has no foldset {foldset_id}; leave "
                                         "foldset_id=None")
        return
    if foldset_id != foldset.id and (required or foldset_id is not None):
        raise errors.ExperimentError(
            "foldset_id", f"splitset {splitset_id} has folds: pass foldset_id={foldset.id} (its foldset)")
