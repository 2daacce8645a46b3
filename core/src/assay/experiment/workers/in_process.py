"""``queue.run_jobs()``: the workers' claim loop, run in this process with a progress bar."""

from __future__ import annotations

from assay.db import retry
from assay.db.queries import experiments as queries
from assay.experiment import claiming, reclaim
from assay.experiment.outcomes import RunSummary
from assay.experiment.workers.loop import work
from assay.experiment.workers.progress import progress_bar


def run_in_process(queue_id: int, progress: bool = True, worker: str | None = None) -> RunSummary:
    """Run every runnable job of a queue in this process with a progress bar (``queue.run_jobs()``).

    The same loop as every other worker, without waiting for jobs other workers hold. A missing
    hyperparameter (every job would fail the same way) is raised at once; Ctrl-C gives the running job back.
    """
    storage_before = claiming.STORAGE_TIMER.snapshot()
    claiming.release_dead_local_jobs(queue_id)
    bar = progress_bar(queue_id, retry.call(queries.queue_status, queue_id, what=f"reading queue {queue_id}"),
                       progress)
    try:
        report = work(queue_id, worker=worker, wait=False, on_job=lambda _outcome: bar.update(1))
    finally:
        bar.close()
        reclaim.release()  # the user's own objects were frozen by the collections between jobs
    if report.error is not None:
        raise report.error
    status = retry.call(queries.queue_status, queue_id, what=f"reading queue {queue_id}")
    summary = RunSummary(queue_id, report.succeeded, report.failed, status,
                         claiming.seconds_since(storage_before), report.pruned)
    if progress:
        print(summary)
    return summary
