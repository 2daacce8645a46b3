"""Adaptive queues grow as results arrive: a worker that finds nothing queued adds the next combination.

:func:`extend` runs in one transaction that holds the queue (PostgreSQL: its row locked ``FOR UPDATE``;
SQLite: ``BEGIN IMMEDIATE``), so two workers never add a combination at the same time: the second one sees the
first one's jobs queued and claims one of them instead. Inside that transaction the sampler sees every stored
combination (running ones as pending), proposes the next, and its jobs (every fold x repeat) are stored queued.
Any claim loop (in-process ``run_jobs``, ``workers=N``, Dask, ``assay worker``) grows a queue the same way,
because :func:`assay.experiment.claiming.claim_next` calls :func:`extend` when nothing is left to claim.
"""

from __future__ import annotations

import functools

from assay.db import search_queries as queries
from assay.db.engine import current_url, session_scope
from assay.experiment import search
from assay.experiment.timing import STORAGE_TIMER


@functools.lru_cache(maxsize=64)
def _settings(url: str | None, queue_id: int) -> queries.SearchSettings:
    # a queue's search settings never change once written
    with session_scope() as session:
        return queries.search_settings(session, queue_id)


def settings(queue_id: int) -> queries.SearchSettings:
    """The search settings of a queue (read once per process)."""
    return _settings(current_url(), queue_id)


def is_adaptive(queue_id: int) -> bool:
    """Whether the queue's combinations are added as results arrive."""
    return settings(queue_id).search in search.ADAPTIVE


def extend(queue_id: int) -> bool:
    """Add the next combination of an adaptive queue if nothing is claimable; True if there is work to claim.

    Returns False when the queue is not adaptive or its search is complete (``search_count`` combinations
    exist, or a finite space has no unused combination left: the queue's job count then shrinks to what exists).
    """
    config = settings(queue_id)
    if config.search not in search.ADAPTIVE or config.search_count is None:
        return False
    with STORAGE_TIMER.measure("search"), session_scope() as session:
        queries.lock_queue(session, queue_id)
        if queries.claimable_job_exists(session, queue_id):
            return True  # another worker added a combination while this one waited for the lock
        split = (config.objective or {}).get("split")
        trials = queries.combination_trials(session, queue_id, config.hyperparamset_id, split)
        if len(trials) >= config.search_count:
            return False
        _check_metric_exists(trials, config.objective)
        checked = search.loaded_space(config.space)
        objective = config.objective or {"metric": "loss", "split": split or "validation", "direction": "minimize"}
        proposal = search.propose(config.search, checked, trials, objective, config.seed, config.search_count)
        if proposal is None:
            queries.set_job_count(session, queue_id, queries.job_row_count(session, queue_id))
            return False
        combo, sampler_attrs = proposal
        queries.add_combination(session, config, len(trials), combo, sampler_attrs,
                                queries.fold_keys(session, config.splitset_id))
    return True


def _check_metric_exists(trials: list[queries.CombinationTrial], objective: dict[str, str] | None) -> None:
    """A misspelt objective would leave the sampler blind (every value missing): say so once results exist."""
    if not objective:
        return
    measured = [job.metrics for trial in trials for job in trial.jobs
                if job.status in ("succeeded", "pruned") and job.metrics]
    if measured and not any(objective["metric"] in metrics for metrics in measured):
        from assay import errors

        available = sorted({name for metrics in measured for name in metrics})
        raise errors.ExperimentError(
            "objective", f"{objective['metric']!r} is not a metric of split {objective['split']!r} in this queue; "
            f"use one of {', '.join(available)}"
        )
