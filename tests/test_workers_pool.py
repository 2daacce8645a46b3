"""Long-lived local workers: the processes of one ``run_jobs(workers=N)`` take the next queue without starting again.

The jobs train the third-party test plugin's ``numpy_linear`` model, so a worker starts in about a second.
"""

from __future__ import annotations

import os
import time

import pytest
from test_workers_local import assert_each_job_has_exactly_one_complete_result, iris_regression_splitset, make_queue

import assay
from assay import errors
from assay.experiment import workers


def worker_pids(queue) -> set[int]:
    """The process ids that ran a queue's jobs (a worker's name is ``host:pid:random``)."""
    return {int(job.worker.split(":")[1]) for job in queue.jobs}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_gone(pids: set[int], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(alive(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def splitset(db, thirdparty_plugin):
    return iris_regression_splitset()


def test_the_workers_of_one_queue_take_the_next_one_on_another_database_without_starting_again(splitset, tmp_path):
    grid = {"epoch_count": [3, 4, 5, 6, 7, 8], "sleep": [0.05]}
    first = make_queue(splitset, hyperparameters=grid)
    assert first.run_jobs(workers=2, threads=1, progress=False).succeeded == 6
    assay.setup(f"sqlite:///{tmp_path / 'other.sqlite3'}")  # the pooled workers follow the queue's database
    second = make_queue(iris_regression_splitset(), hyperparameters=grid)

    summary = second.run_jobs(workers=2, threads=1, progress=False)

    assert summary.succeeded == 6
    assert_each_job_has_exactly_one_complete_result(second)
    assert os.getpid() not in worker_pids(first)
    assert worker_pids(second) <= worker_pids(first)  # no new process: the first queue's workers ran it
    assert all(alive(pid) for pid in worker_pids(first))  # idle, waiting for the next queue


def test_start_workers_starts_them_ahead_and_stop_workers_ends_them(splitset):
    started = set(workers.start_workers(2, library="numpy_linear", threads=1))
    queue = make_queue(splitset, hyperparameters={"epoch_count": [3, 4, 5, 6], "sleep": [0.05]})

    assert queue.run_jobs(workers=2, threads=1, progress=False).succeeded == 4
    assert worker_pids(queue) <= started

    workers.stop_workers()
    assert wait_gone(started)


def test_workers_started_with_other_thread_caps_are_replaced(splitset):
    one_thread = set(workers.start_workers(1, threads=1))
    queue = make_queue(splitset)

    assert queue.run_jobs(workers=1, threads=2, progress=False).succeeded == 4

    assert not worker_pids(queue) & one_thread
    assert wait_gone(one_thread)


def test_start_workers_refuses_bad_arguments_before_starting_anything(splitset):
    with pytest.raises(errors.ValidationError, match="count"):
        workers.start_workers(0)
    with pytest.raises(errors.ValidationError, match="threads"):
        workers.start_workers(1, threads=0)
    with pytest.raises(errors.LibraryNotFoundError, match="no_such_library"):
        workers.start_workers(1, library="no_such_library")
