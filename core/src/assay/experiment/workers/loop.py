"""The claim loop every worker runs: in this process, in local worker processes, on Dask and in ``assay worker``.

Every worker runs :func:`work` against the database, which is the single source of truth: a worker claims a job
atomically (see :mod:`assay.experiment.claiming`), runs it, stores its results in one transaction and claims the
next. Workers never talk to each other or to the process that started them, so a worker may die at any moment:
its job is taken again when its lease expires (or at once, by a worker on the same machine that sees its process
is gone), and nothing it half-wrote remains.

Imports no numpy at module level (the runner is imported on first use), so a worker process can cap its threads
before numpy loads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from assay import errors
from assay.db import retry
from assay.experiment import claiming
from assay.experiment.outcomes import MissingHyperparameterError

if TYPE_CHECKING:
    from assay.experiment.runner import JobOutcome

logger = logging.getLogger("assay.workers")


@attrs.define
class WorkerReport:
    """What one worker did: its name, the jobs it finished, and why it stopped early (if it did).

    ``lost`` counts jobs whose lease another worker took over before this one could store them (this worker
    stalled for longer than the lease); their results were dropped, the other worker's count.
    """

    worker: str
    succeeded: int = 0
    failed: int = 0
    lost: int = 0
    pruned: int = 0
    #: jobs given back and run again because the database failed while they ran (a restart)
    rerun: int = 0
    stopped_by: dict[str, str] | None = None  # {"error": class name, "parameter": ..., "message": ...}
    storage_seconds: dict[str, float] = attrs.field(factory=dict)
    #: the exception behind ``stopped_by``, in the process that ran the loop (it does not travel in reports)
    error: BaseException | None = attrs.field(default=None, eq=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self, filter=lambda attribute, _: attribute.name != "error")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkerReport:
        return cls(**data)


def _idle_poll_seconds(lease_seconds: float | None) -> float:
    # Waiting for other workers' jobs: poll often enough to notice a dead one well within its lease.
    lease = claiming.LEASE_SECONDS if lease_seconds is None else lease_seconds
    return max(0.05, min(0.2, lease / 4))


def work(
    queue_id: int,
    *,
    worker: str | None = None,
    lease_seconds: float | None = None,
    wait: bool = True,
    should_stop: Callable[[], bool] | None = None,
    on_job: Callable[[JobOutcome], None] | None = None,
) -> WorkerReport:
    """Claim and run jobs of a queue in this process until none is left; the loop every worker runs.

    Args:
        queue_id: the queue to work on (``assay.setup`` must point at its database).
        worker: this worker's name (default: ``host:pid:random``).
        lease_seconds: the lease of each claimed job (default ``ASSAY_LEASE_SECONDS``, else 60 s).
        wait: when nothing can be claimed but other workers still run jobs, wait: their worker may die and
            its job come back. With ``False`` the worker stops as soon as nothing can be claimed.
        should_stop: asked between jobs; ``True`` ends the loop (Dask uses it to stop its workers).
        on_job: called with each finished job's outcome (the in-process run draws its progress bar with it).

    Returns:
        A :class:`WorkerReport`. A missing hyperparameter (every job would fail the same way) stops the loop;
        ``stopped_by`` says so. An interruption (Ctrl-C, SIGTERM) gives the running job back to the queue.
    """
    from assay.experiment import runner

    worker = worker or claiming.worker_name()
    report = WorkerReport(worker)
    storage_before = claiming.STORAGE_TIMER.snapshot()
    claimed = None
    try:
        while should_stop is None or not should_stop():
            if claimed is None:
                claimed = claiming.claim(queue_id, worker, lease_seconds)
            if claimed is None:
                if not wait or not _others_may_hand_back(queue_id):
                    break
                time.sleep(_idle_poll_seconds(lease_seconds))
                continue
            try:
                # the next job is claimed in the transaction that stores this one: one commit per job
                outcome = runner.run_claimed_job(claimed.job_id, worker, lease_seconds, context=claimed,
                                                 next_of=queue_id)
            except Exception as exc:
                job_id, claimed = claimed.job_id, None
                if retry.is_transient(exc):
                    # the job's own reads (its functions, the pruner's histories) met a restarting database: the
                    # job goes back and runs again from scratch, its attempt not counted
                    claiming.unclaim(job_id, worker)
                    report.rerun += 1
                    continue
                if retry.disk_full(exc):
                    _give_back_quietly(job_id, worker)  # may fail too on a full disk: its lease brings it back
                    raise retry.disk_full_error(exc, f"storing job {job_id} of queue {queue_id}") from exc
                _give_back_quietly(job_id, worker)  # e.g. the database stayed away past the retry budget
                raise
            except BaseException:
                claiming.unclaim(claimed.job_id, worker)  # interrupted: the job runs again later, from scratch
                claimed = None
                raise
            claimed = outcome.next_job
            if on_job is not None:
                on_job(outcome)
            if outcome.status == "succeeded":
                report.succeeded += 1
            elif outcome.status == "lost":
                report.lost += 1
            elif outcome.status == "pruned":
                report.pruned += 1
            else:
                report.failed += 1
                if isinstance(outcome.error, MissingHyperparameterError):
                    report.stopped_by = _describe(outcome.error)
                    report.error = outcome.error
                    break
    finally:
        if claimed is not None:  # claimed with the last job's results, but the loop stopped: give it back
            _give_back_quietly(claimed.job_id, worker)
        claiming.worker_ended(worker)
        report.storage_seconds = claiming.seconds_since(storage_before)
    return report


def _give_back_quietly(job_id: int, worker: str) -> None:
    """Give a job back while the loop stops for another reason; if the database refuses, the job is left to its
    lease (or to the next run in this process, which knows this worker ended)."""
    try:
        claiming.unclaim(job_id, worker)
    except Exception as exc:  # the reason the loop stops is the error the caller needs to see
        if not (isinstance(exc, errors.DatabaseError) or retry.is_transient(exc) or retry.disk_full(exc)):
            raise
        logger.warning("could not give job %s back to the queue (%s); it is taken again when its lease expires",
                       job_id, retry.reason(exc))


def _others_may_hand_back(queue_id: int) -> bool:
    """True while other workers hold jobs that may come back (their worker may die); requeues dead local ones."""
    claiming.release_dead_local_jobs(queue_id)
    counts = claiming.unfinished_counts(queue_id)
    return counts["queued"] + counts["running"] > 0


def _describe(exc: errors.ValidationError) -> dict[str, str]:
    prefix = f"{exc.parameter}: "
    text = str(exc)
    return {"error": type(exc).__name__, "parameter": exc.parameter,
            "message": text[len(prefix):] if text.startswith(prefix) else text}
