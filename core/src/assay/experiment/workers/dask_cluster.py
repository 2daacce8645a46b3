"""Dask: ``queue.run_jobs(executor=client)`` runs one long-running claim loop per worker of a
``dask.distributed.Client``; the calling process only watches the database."""

from __future__ import annotations

import time
import uuid
from typing import Any

from assay import errors
from assay.experiment import claiming
from assay.experiment.outcomes import RunSummary
from assay.experiment.workers.loop import WorkerReport, work
from assay.experiment.workers.progress import PROGRESS_POLL_SECONDS, Watch, check_finished, summarise
from assay.experiment.workers.threads import limit_threads


def dask_worker_task(queue_id: int, url: str, lease_seconds: float | None, threads: int, stop_event: str) -> dict:
    """The long-running task each Dask worker runs: set up the database here, then :func:`work` until done."""
    from distributed import Event

    from assay.db import retry

    limit_threads(threads)
    retry.setup(url, what="starting a Dask worker")
    event = Event(stop_event)
    last_check = [0.0, False]

    def should_stop() -> bool:
        # between jobs only; at most once a second, so a queue of tiny jobs does not flood the scheduler
        if time.monotonic() - last_check[0] > 1.0:
            last_check[:] = [time.monotonic(), event.is_set()]
        return bool(last_check[1])

    return work(queue_id, lease_seconds=lease_seconds, should_stop=should_stop).to_dict()


def run_on_dask(queue_id: int, client: Any, *, url: str, progress: bool = True,
                lease_seconds: float | None = None, threads: int | None = None) -> RunSummary:
    """Run one claim loop per worker of a ``dask.distributed.Client``; the database stays the source of truth."""
    from distributed import Event

    nthreads = client.nthreads()
    if not nthreads:
        raise errors.ValidationError("executor", "the Dask client has no workers; start some (e.g. "
                                                 "LocalCluster(n_workers=2)) and try again")
    claiming.release_dead_local_jobs(queue_id)
    token = uuid.uuid4().hex[:8]
    stop_name = f"assay-stop-{queue_id}-{token}"
    stop = Event(stop_name, client=client)
    watch = Watch(queue_id, progress)
    futures = []
    try:
        for index, (address, worker_threads) in enumerate(sorted(nthreads.items())):
            # one loop per Dask worker; allowed elsewhere only if that worker disappears before it starts
            futures.append(client.submit(
                dask_worker_task, queue_id, url, lease_seconds, threads or max(1, worker_threads), stop_name,
                key=f"assay-worker-{queue_id}-{token}-{index}", workers=[address], allow_other_workers=True,
                pure=False,
            ))
        while not all(future.done() for future in futures):
            watch.update()
            time.sleep(PROGRESS_POLL_SECONDS)
        watch.update()
    except BaseException:
        stop.set()  # running jobs finish and are stored; the loops then stop
        client.cancel(futures)
        raise
    finally:
        watch.close()
    reports, problems = [], []
    for future in futures:
        if future.status == "finished":
            reports.append(WorkerReport.from_dict(future.result()))
        else:
            problems.append(f"Dask task {future.key} ended with {future.status}: {_future_error(future)}")
    if not any(report.stopped_by for report in reports):
        check_finished(queue_id, problems)
    return summarise(queue_id, watch, reports, progress)


def _future_error(future: Any) -> str:
    try:
        exc = future.exception()
    except Exception as error:  # a cancelled future has no exception to give
        return type(error).__name__
    return f"{type(exc).__name__}: {exc}"
