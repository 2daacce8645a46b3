"""``Experiment.make``: check an experiment definition, then store it as a Queue of jobs in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assay import plugins
from assay.db.queries import data as data_queries
from assay.db.queries import experiments as experiment_queries
from assay.experiment import definition
from assay.objects import pipeline
from assay.objects.experiment import Queue


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
        functions = {
            "fn_build": fn_build, "fn_train": fn_train, "fn_lose": fn_lose, "fn_optimize": fn_optimize,
            "fn_predict": fn_predict,
        }
        # the same checks, in the same order, as Algorithm.make, make_hyperparamset and make_queue
        plugins.backend(plugins.canonical_library(library))  # fails early, naming the package to install
        plugins.analysis_type(analysis_type)
        splitset = pipeline.queue_splitset(splitset_id, analysis_type)
        queue = definition.queue_fields(splitset.id, repeat_count, hide_test, definition.check_seed(seed),
                                        max_attempts, permute_count)
        grid = definition.check_grid(hyperparameters)
        algorithm = definition.algorithm_fields(library, analysis_type, functions, list(grid))
        combos = definition.combinations(grid, search_count, search_percent, queue["seed"])
        row = experiment_queries.store_queue(
            algorithm=algorithm,
            hyperparamset=dict(grid=grid, search_count=search_count, search_percent=search_percent),
            combinations=combos, folds=data_queries.fold_ids(splitset.id) or [(None, None)], queue=queue,
        )
        return Queue(row)

