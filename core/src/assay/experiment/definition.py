"""Checking an experiment definition: the user's functions, the hyperparameter grid, the queue's options.

``Experiment.make`` and the step-by-step ``Algorithm.make`` / ``algorithm.make_hyperparamset`` /
``algorithm.make_queue`` check with these same functions, so both accept and refuse the same definitions.
"""

from __future__ import annotations

import inspect
import itertools
import json
import random
from typing import Any

from assay import errors, plugins
from assay.db.queries import data as data_queries
from assay.experiment.functions import serialise_functions, source_of

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
    if hyperparameters is None or hyperparameters == {}:
        return {}
    if not isinstance(hyperparameters, dict):
        raise errors.ExperimentError(
            "hyperparameters",
            f"must be a dict of lists such as {{'epochs': [10, 20]}}, got {type(hyperparameters).__name__}",
        )
    grid: dict[str, list[Any]] = {}
    for key, values in hyperparameters.items():
        # any string reaches **hp, identifier or not (AIQC grids use keys such as "2nd_dense_neurons")
        if not isinstance(key, str) or not key:
            raise errors.ExperimentError("hyperparameters", f"key {key!r} must be a non-empty string")
        if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple, range)):
            raise errors.ExperimentError(
                "hyperparameters", f"{key!r} must map to a list of values, e.g. {{{key!r}: [{values!r}]}}"
            )
        if len(values) == 0:
            raise errors.ExperimentError("hyperparameters", f"{key!r} has an empty list; give at least one value")
        try:
            json.dumps(list(values))
        except TypeError:
            raise errors.ExperimentError(
                "hyperparameters", f"{key!r} holds values that cannot be stored (only JSON values: numbers, "
                "strings, booleans, None, lists); pass a name and build the object inside your function"
            ) from None
        grid[key] = list(values)
    return grid


def combinations(grid: dict[str, list[Any]], search_count: int | None, search_percent: float | None,
                  seed: int) -> list[dict[str, Any]]:
    keys = list(grid)
    combos = [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())] or [{}]
    if search_count is not None and search_percent is not None:
        raise errors.ExperimentError("search_count", "give search_count or search_percent, not both")
    if search_count is not None:
        if not isinstance(search_count, int) or isinstance(search_count, bool) or search_count < 1:
            raise errors.ExperimentError("search_count", f"must be a positive int, got {search_count!r}")
        if search_count > len(combos):
            raise errors.ExperimentError(
                "search_count", f"{search_count} exceeds the {len(combos)} combinations of the grid"
            )
        chosen = sorted(random.Random(seed).sample(range(len(combos)), search_count))
        return [combos[i] for i in chosen]
    if search_percent is not None:
        if not isinstance(search_percent, (int, float)) or not 0 < search_percent <= 1:
            raise errors.ExperimentError("search_percent", f"must be in (0, 1], got {search_percent!r}")
        count = max(1, round(len(combos) * search_percent))
        chosen = sorted(random.Random(seed).sample(range(len(combos)), count))
        return [combos[i] for i in chosen]
    return combos


def check_labels(splitset: Any, analysis_type: str) -> None:
    """The splitset's labels fit the analysis type (a :class:`~assay.data.splitsets.SplitsetData` or Splitset)."""
    if splitset.label_shape is None:  # forecasting windows have labels (the shifted windows) but no label column
        raise errors.ExperimentError(
            "splitset_id", f"splitset {splitset.id} has no label (unsupervised); supervised analysis types need "
            "a splitset made with label_column=..., or with feature_window=dict(..., record_shifted=True)"
        )
    categorical = data_queries.label_encoder_is_categorical(splitset.id)
    labels = splitset.raw_labels(sorted(i for rows in splitset.samples.values() for i in rows))
    plugins.analysis_type(analysis_type).check_labels(labels, categorical_encoder=bool(categorical))




def algorithm_fields(library: str, analysis_type: str, functions: dict[str, Any],
                     hyperparameter_names: list[str] | None) -> dict[str, Any]:
    """Check a library, an analysis type and the five functions; the AlgorithmRow columns to store."""
    library = plugins.canonical_library(library)
    plugins.backend(library)  # fails early, naming the package to install
    plugins.analysis_type(analysis_type)
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
