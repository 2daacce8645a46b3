"""The process that started workers: one progress bar fed by the database, and one summary of every worker."""

from __future__ import annotations

import logging
from typing import Any

from assay import errors
from assay.db.queries import experiments as queries
from assay.experiment import claiming
from assay.experiment.outcomes import MissingHyperparameterError, RunSummary
from assay.experiment.workers.loop import WorkerReport

logger = logging.getLogger("assay.workers")

#: how often the parent process polls the database for the progress bar
PROGRESS_POLL_SECONDS = 0.25


def progress_bar(queue_id: int, status: dict[str, Any], progress: bool) -> Any:
    """A tqdm bar over all of a queue's runs, starting at those already finished."""
    from tqdm.auto import tqdm

    return tqdm(total=status["total"], initial=status["succeeded"] + status["failed"], disable=not progress,
                desc=f"Queue {queue_id}", unit="run")


class Watch:
    """One progress bar over all runs, fed by polling the database while workers run elsewhere."""

    def __init__(self, queue_id: int, progress: bool):
        self.queue_id = queue_id
        self.before = queries.queue_status(queue_id)
        self.bar = progress_bar(queue_id, self.before, progress)

    def update(self) -> None:
        counts = claiming.unfinished_counts(self.queue_id)
        done = self.before["total"] - counts["queued"] - counts["running"]
        if done != self.bar.n:
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def summarise(queue_id: int, watch: Watch, reports: list[WorkerReport], progress: bool) -> RunSummary:
    after = queries.queue_status(queue_id)
    storage: dict[str, float] = {}
    for report in reports:
        for kind, seconds in report.storage_seconds.items():
            storage[kind] = storage.get(kind, 0.0) + seconds
    summary = RunSummary(queue_id, after["succeeded"] - watch.before["succeeded"],
                         after["failed"] - watch.before["failed"], after, storage)
    stopped = next((r.stopped_by for r in reports if r.stopped_by), None)
    if stopped is not None and stopped["error"] == MissingHyperparameterError.__name__:
        raise MissingHyperparameterError(stopped["parameter"], stopped["message"])
    if progress:
        print(summary)
    return summary


def check_finished(queue_id: int, problems: list[str]) -> None:
    """Raise when workers died and left jobs behind; only log when the surviving workers made up for it."""
    if not problems:
        return
    left = claiming.unfinished_counts(queue_id)
    if left["queued"] + left["running"]:
        raise errors.JobError(
            f"queue {queue_id}: the workers stopped with {left['queued']} jobs queued and {left['running']} "
            f"running ({'; '.join(problems)}); their output above says why; call queue.run_jobs() again to resume"
        )
    logger.warning("queue %s finished, but %s; their jobs ran again", queue_id, "; ".join(problems))
