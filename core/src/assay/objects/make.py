"""``Experiment.make``: check an experiment definition, then store it as a Queue of jobs in one transaction."""

from __future__ import annotations

import inspect
import itertools
import json
import random
from collections.abc import Callable
from typing import Any

from assay import errors, plugins
from assay.db.queries import data as data_queries
from assay.db.queries import experiments as experiment_queries
from assay.experiment.functions import FUNCTION_NAMES, serialise_functions, source_of
from assay.objects.data import Splitset
from assay.objects.experiment import Queue

# how each user function is called; the names are for error messages
SIGNATURES = {
    "fn_build": ("features_shape", "label_shape"),
    "fn_train": ("model", "loser", "optimizer", "samples_train", "samples_evaluate"),
    "fn_lose": (),
    "fn_optimize": (),
    "fn_predict": ("model", "samples"),
}
REQUIRED = ("fn_build", "fn_train")


def _check_function(name: str, fn: Any, hyperparameter_names: list[str]) -> None:
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


def _check_grid(hyperparameters: Any) -> dict[str, list[Any]]:
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


def _combinations(grid: dict[str, list[Any]], search_count: int | None, search_percent: float | None,
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


def _check_labels(splitset: Any, analysis_type: str) -> None:
    if splitset.label_column is None:
        raise errors.ExperimentError(
            "splitset_id", f"splitset {splitset.id} has no label (unsupervised); supervised analysis types need "
            "a splitset made with label_column=..."
        )
    categorical = data_queries.label_encoder_is_categorical(splitset.id)
    labels = splitset.raw_labels(sorted(i for rows in splitset.samples.values() for i in rows))
    plugins.analysis_type(analysis_type).check_labels(labels, categorical_encoder=bool(categorical))


class Experiment:
    """High-level entry point: define an experiment and get a :class:`~assay.Queue` of jobs."""

    @staticmethod
    def make(
        library: str,
        analysis_type: str,
        fn_build: Callable[..., Any],
        fn_train: Callable[..., Any],
        fn_lose: Callable[..., Any] | None = None,
        fn_optimize: Callable[..., Any] | None = None,
        fn_predict: Callable[..., Any] | None = None,
        repeat_count: int = 1,
        hyperparameters: dict[str, list[Any]] | None = None,
        search_count: int | None = None,
        search_percent: float | None = None,
        splitset_id: int | None = None,
        hide_test: bool = False,
        seed: int | None = None,
        max_attempts: int = 3,
        permute_count: int = 0,
    ) -> Queue:
        """Check the definition and store a Queue with one Job per combination x fold x repeat.

        Args:
            library: the ML library of the functions (``"keras"``, ``"torch"`` (or ``"pytorch"``), or one a
                plugin provides).
            analysis_type: ``"regression"``, ``"classification_binary"`` or ``"classification_multi"``.
            fn_build: ``fn_build(features_shape, label_shape, **hp)`` returns an untrained model.
            fn_train: ``fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp)`` returns the
                trained model (torch: or ``(model, history)``).
            fn_lose: ``fn_lose(**hp)`` returns the loss; default by library and analysis type.
            fn_optimize: ``fn_optimize(**hp)`` (or ``fn_optimize(model, **hp)``) returns the optimizer.
            fn_predict: ``fn_predict(model, samples)`` returns ``(predictions, probabilities)``.
            repeat_count: how many times each combination is trained.
            hyperparameters: a dict of lists; every combination is run. ``None`` or ``{}``: one run.
            search_count / search_percent: run only a random (seeded) subset of the combinations.
            splitset_id: the splitset from ``Pipeline.Tabular.make``.
            hide_test: keep the test split out of training and evaluation.
            seed: seeds splits of the search and every job (a random one is drawn and stored if ``None``).
            max_attempts: how often a job whose worker died is tried before it is marked failed.
            permute_count: permutations per feature column of the permutation feature importance that
                ``queue.run_jobs()`` computes on the train split of every trained model (AIQC's
                ``permute_count``); 0 (the default) computes none until ``predictor.feature_importance()``
                is asked for.

        Raises:
            assay.errors.AssayError: a clear error naming the parameter; nothing is stored then.
        """
        library = plugins.canonical_library(library)
        plugins.backend(library)  # fails early, naming the package to install
        plugins.analysis_type(analysis_type)
        if splitset_id is None:
            raise errors.ExperimentError("splitset_id", "pass the id of a splitset from assay.Pipeline.Tabular.make")
        try:
            splitset = Splitset.get(splitset_id)
        except errors.NotFoundError as exc:
            raise errors.ExperimentError("splitset_id", str(exc)) from None
        _check_labels(splitset, analysis_type)
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
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        elif not isinstance(seed, int) or isinstance(seed, bool):
            raise errors.ExperimentError("seed", f"must be an int, got {seed!r}")
        grid = _check_grid(hyperparameters)
        functions = {
            "fn_build": fn_build, "fn_train": fn_train, "fn_lose": fn_lose, "fn_optimize": fn_optimize,
            "fn_predict": fn_predict,
        }
        for name in FUNCTION_NAMES:
            _check_function(name, functions[name], list(grid))
        combos = _combinations(grid, search_count, search_percent, seed)
        try:
            functions_blob = serialise_functions(functions)
        except Exception as exc:
            raise errors.ExperimentError(
                "fn_build", f"the functions cannot be serialised for other processes: {exc}"
            ) from exc

        queue = experiment_queries.store_queue(
            algorithm=dict(library=library, analysis_type=analysis_type, functions=functions_blob,
                           sources={name: source_of(fn) for name, fn in functions.items()}),
            hyperparamset=dict(grid=grid, search_count=search_count, search_percent=search_percent),
            combinations=combos, folds=data_queries.fold_ids(splitset.id) or [(None, None)],
            queue=dict(splitset_id=splitset.id, repeat_count=repeat_count, hide_test=hide_test, seed=seed,
                       max_attempts=max_attempts, permute_count=permute_count),
        )
        return Queue(queue)
