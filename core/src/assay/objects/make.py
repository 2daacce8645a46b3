"""``Experiment.make``: check an experiment definition, then store it as a Queue of jobs in one transaction."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from assay import errors
from assay.db.queries import data as data_queries
from assay.db.queries import experiments as experiment_queries
from assay.evaluation import conformal, significance
from assay.experiment import definition
from assay.experiment.search import pruning, space_checks
from assay.experiment.search import strategies as searching
from assay.objects.experiment import Queue


def _evaluated_splits(splitset: Any, hide_test: bool) -> list[str]:
    """The splits every job of the queue predicts and scores (the objective must be one of them)."""
    available = set(splitset.samples)
    splits = ["train"]
    if splitset.fold_count or "validation" in available:
        splits.append("validation")
    if "test" in available and not hide_test:
        splits.append("test")
    return splits


def _conformal_setting(alpha: Any, splits: list[str], splitset: Any) -> dict[str, Any] | None:
    """The queue's conformal setting for ``conformal_alpha`` (calibrated on the validation split, or each fold's),
    checked before anything is stored: a validation split of at least ``1/alpha`` rows."""
    if alpha is None:
        return None
    alpha = conformal.check_alpha(alpha, "conformal_alpha")
    if "validation" not in splits:
        raise errors.ValidationError(
            "conformal_alpha", "calibration needs a validation split the models did not train on; make the splitset "
            "with size_validation=... or fold_count=..., or calibrate a model later with "
            "predictor.calibrate(split=...)")
    folds = splitset.folds
    smallest = min(len(fold.samples["validation"]) for fold in folds) if folds else len(
        splitset.samples["validation"])
    if smallest < math.ceil(1 / alpha - 1e-9):
        raise errors.ValidationError(
            "conformal_alpha", f"alpha={alpha} needs at least 1/alpha = {math.ceil(1 / alpha - 1e-9)} calibration "
            f"rows, but the {'smallest fold' if folds else 'splitset'}'s validation split has {smallest}; use a "
            "larger alpha or a larger validation split")
    return {"alpha": alpha, "split": "validation", "method": None}


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
        hyperparameters: dict[str, Any] | None = None,
        search_count: int | None = None,
        search_percent: float | None = None,
        splitset_id: int | None = None,
        hide_test: bool = False,
        seed: int | None = None,
        max_attempts: int = 3,
        permute_count: int = 0,
        search: str | None = None,
        objective: Any = None,
        pruner: Any = None,
        conformal_alpha: float | None = None,
        rope: float | None = None,
        foldset_id: int | None = None,
    ) -> Queue:
        """Check the definition and store a Queue with one Job per combination x fold x repeat.

        A grid (or a random sample of the space) stores every job now; an adaptive search (``tpe``, ``gp``,
        ``cmaes``) stores its combinations as results arrive, each chosen by an Optuna sampler that sees every
        stored result, until ``search_count`` exist.

        Args:
            library: the ML library of the functions (``"keras"``, ``"torch"`` (or ``"pytorch"``), or one a
                plugin provides).
            analysis_type: ``"regression"``, ``"classification_binary"`` or ``"classification_multi"``.
            fn_build: ``fn_build(features_shape, label_shape, **hp)`` returns an untrained model; for a multi-input
                splitset (``Pipeline.make(inputs=[...])``) ``features_shape`` is a list of shapes, one per input,
                and ``samples["features"]`` a list of arrays in that order.
            fn_train: ``fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp)`` returns the
                trained model (torch: or ``(model, history)``).
            fn_lose: ``fn_lose(**hp)`` returns the loss; default by library and analysis type.
            fn_optimize: ``fn_optimize(**hp)`` (or ``fn_optimize(model, **hp)``) returns the optimizer.
            fn_predict: ``fn_predict(model, samples)`` returns ``(predictions, probabilities)``.
            repeat_count: how many times each combination is trained.
            hyperparameters: name → a list of values, or a range (``assay.space.Int(low, high, step=1,
                log=False)``, ``assay.space.Float(low, high, log=False)``). ``None`` or ``{}``: one run.
            search_count / search_percent: how many combinations to run (``search_percent``: a share of a
                finite space). With lists only and no ``search``, a random (seeded) subset of the grid.
            search: ``"grid"`` (every combination of the lists; ranges are refused), ``"random"`` (a seeded
                random sample, made up front), or an adaptive Optuna sampler: ``"tpe"``, ``"gp"`` (needs torch
                and scipy), ``"cmaes"`` (needs cmaes). Default: ``"grid"`` for lists (``"random"`` with
                ``search_count``), ``"tpe"`` once a range is given.
            objective: what the search optimises and the pruner judges: a metric name (``"accuracy"``),
                ``(metric, split)`` or ``{"metric", "split", "direction"}``. Default: the analysis type's main
                metric on the validation split (test, then train, without one) in its own direction. A
                combination's value is the mean over its folds and repeats.
            pruner: stop runs early that are worse than the others at the same epoch: ``"median"``,
                ``"hyperband"``, ``"successive_halving"`` or an ``optuna.pruners`` pruner. The backends report
                each epoch by themselves (``assay_torch.fit``; Keras' ``model.fit`` gets a callback). A pruned
                run is stored (status ``pruned``, with its history and predictions) and never ranked best.
            splitset_id: the splitset from ``Pipeline.Tabular.make``.
            foldset_id: AIQC's spelling: the splitset's foldset, when it was made step by step
                (``splitset.make_foldset``). Optional here: the queue trains on the splitset's folds, whichever
                way they were made; an id that is not the splitset's foldset is refused.
            hide_test: keep the test split out of training and evaluation.
            seed: seeds splits of the search and every job (a random one is drawn and stored if ``None``).
            max_attempts: how often a job whose worker died is tried before it is marked failed.
            permute_count: permutations per feature column of the permutation feature importance that
                ``queue.run_jobs()`` computes on the train split of every trained model (AIQC's
                ``permute_count``); 0 (the default) computes none until ``predictor.feature_importance()``
                is asked for.
            conformal_alpha: calibrate every trained model for conformal prediction at this alpha (e.g. 0.1
                for 90% coverage) on its validation split (a fold's validation rows with folds) once
                ``run_jobs`` has trained it, as ``predictor.calibrate(alpha)`` would; its ``infer`` then returns
                prediction sets or intervals. Needs a validation split or folds. ``None``: no calibration.
            rope: the region of practical equivalence of ``queue.compare`` and the leaderboard, in the ranking
                metric's units (default: 0.01 for bounded scores, 1% of the best mean for losses and errors).

        Raises:
            assay.errors.AssayError: a clear error naming the parameter; nothing is stored then.
        """
        # checked with the step-by-step API's functions (assay.experiment.definition), in the same order as
        # Algorithm.make, algorithm.make_hyperparamset and algorithm.make_queue
        library = definition.check_names(library, analysis_type)
        splitset, pending_encoding = definition.queue_splitset(splitset_id, analysis_type)
        definition.check_foldset(splitset.id, foldset_id, required=False)
        queue_fields = definition.queue_fields(splitset.id, repeat_count, hide_test, definition.check_seed(seed),
                                               max_attempts, permute_count)
        seed = queue_fields["seed"]
        grid = space_checks.check_space(hyperparameters)
        strategy = searching.check_strategy(search, grid, search_count, search_percent)
        splits = _evaluated_splits(splitset, hide_test)
        objective_spec = searching.check_objective(objective, analysis_type, splits)
        pruner_blob = pruning.check_pruner(pruner)
        queue_fields.update(conformal=_conformal_setting(conformal_alpha, splits, splitset),
                            rope=significance.check_rope(rope))
        functions = {
            "fn_build": fn_build, "fn_train": fn_train, "fn_lose": fn_lose, "fn_optimize": fn_optimize,
            "fn_predict": fn_predict,
        }
        algorithm_fields = definition.algorithm_fields(library, analysis_type, functions, list(grid))
        combos = searching.initial_combinations(strategy, grid, search_count, search_percent, seed)
        adaptive = strategy in searching.ADAPTIVE
        combination_count = searching.adaptive_count(grid, search_count, search_percent) if adaptive else len(combos)

        queue = experiment_queries.store_queue(
            algorithm=algorithm_fields,
            hyperparamset=dict(
                grid=space_checks.stored_space(grid), search_count=combination_count if adaptive else search_count,
                search_percent=search_percent, combination_count=combination_count, search=strategy,
                objective=objective_spec, pruner=pruner_blob,
            ),
            combinations=combos,
            folds=data_queries.fold_ids(splitset.id) or [(None, None)],
            queue=queue_fields,
            encoding=None if pending_encoding is None else pending_encoding.rows,
        )
        return Queue(queue)
