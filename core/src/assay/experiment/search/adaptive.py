"""Adaptive queues grow as results arrive: a worker that finds nothing queued adds the next combination.

:func:`extend` runs in one transaction that holds the queue (PostgreSQL: its row locked ``FOR UPDATE``;
SQLite: ``BEGIN IMMEDIATE``), so two workers never add a combination at the same time: the second one sees the
first one's jobs queued and claims one of them instead. Inside that transaction the sampler sees every stored
combination (running ones as pending), proposes the next, and its jobs (every fold x repeat) are stored queued.
Each process keeps the queue's study (:class:`assay.experiment.search.study.SearchStudy`) and reads only the
combinations added or finished since its last proposal.
Any claim loop (in-process ``run_jobs``, ``workers=N``, Dask, ``assay worker``) grows a queue the same way,
because :func:`assay.experiment.claiming.claim_next` calls :func:`extend` when nothing is left to claim.
"""

from __future__ import annotations

import functools
import threading

from assay.db.engine import current_url
from assay.db.queries import search as queries
from assay.experiment.search import space_checks, strategies
from assay.experiment.search.study import SearchStudy, StaleStudy
from assay.experiment.timing import STORAGE_TIMER


@functools.lru_cache(maxsize=64)
def _settings(url: str | None, queue_id: int) -> queries.SearchSettings:
    # a queue's search settings never change once written
    return queries.search_settings(queue_id)


def settings(queue_id: int) -> queries.SearchSettings:
    """The search settings of a queue (read once per process)."""
    return _settings(current_url(), queue_id)


def is_adaptive(queue_id: int) -> bool:
    """Whether the queue's combinations are added as results arrive."""
    return settings(queue_id).search in strategies.ADAPTIVE


def extend(queue_id: int) -> bool:
    """Add the next combination of an adaptive queue if nothing is claimable; True if there is work to claim.

    Returns False when the queue is not adaptive or its search is complete (``search_count`` combinations
    exist, or a finite space has no unused combination left: the queue's job count then shrinks to what exists).
    """
    config = settings(queue_id)
    if config.search not in strategies.ADAPTIVE or config.search_count is None:
        return False
    with STORAGE_TIMER.measure("search"), queries.extension(config) as held:
        if held.claimable_job_exists():
            return True  # another worker added a combination while this one waited for the lock
        # the queue's lock serialises this across processes; the process lock, threads sharing the cache
        with _STUDIES_LOCK:
            study = _current_study(held, config)
            if study.count >= config.search_count:
                return False
            _check_metric_exists(study, config.objective)
            try:
                proposal = study.propose()
            finally:
                if not study.reusable:
                    _STUDIES.pop(_study_key(config), None)
            index = study.count
        if proposal is None:
            held.finish()
            return False
        combo, sampler_attrs = proposal
        held.add_combination(index, combo, sampler_attrs)
    return True


#: each process's study per (database, queue, hyperparamset), brought up to date before each proposal; the most
#: recently used few, as a pooled worker serves one queue after another
_STUDIES: dict[tuple[str | None, int, int], SearchStudy] = {}
_STUDIES_KEPT = 8
_STUDIES_LOCK = threading.Lock()


def _study_key(config: queries.SearchSettings) -> tuple[str | None, int, int]:
    return current_url(), config.queue_id, config.hyperparamset_id


def _current_study(held: queries.Extension, config: queries.SearchSettings) -> SearchStudy:
    """The queue's study holding every stored combination: this process's, updated with what changed, or new."""
    key = _study_key(config)
    split = (config.objective or {}).get("split")
    study = _STUDIES.pop(key, None)  # put back only once it is up to date: a failure below leaves no half-updated one
    if study is not None:
        changed = held.combination_trials(split, from_index=study.count, also=study.open_indexes())
        try:
            study.update(changed)
        except StaleStudy:
            study = None
    if study is None:
        objective = config.objective or {"metric": "loss", "split": split or "validation", "direction": "minimize"}
        study = SearchStudy(config.search, space_checks.loaded_space(config.space), objective, config.seed,
                            config.search_count)
        study.update(held.combination_trials(split))
    _STUDIES[key] = study  # last in the dict: the most recently used
    while len(_STUDIES) > _STUDIES_KEPT:
        del _STUDIES[next(iter(_STUDIES))]
    return study


def _check_metric_exists(study: SearchStudy, objective: dict[str, str] | None) -> None:
    """A misspelt objective would leave the sampler blind (every value missing): say so once results exist."""
    if not objective or study.metric_seen or not study.measured:
        return
    from assay import errors

    raise errors.ExperimentError(
        "objective", f"{objective['metric']!r} is not a metric of split {objective['split']!r} in this queue; "
        f"use one of {', '.join(sorted(study.measured))}"
    )
