"""Claiming jobs from the database: leases, attempts and ownership decide who runs and who stores a job."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select
from test_workers_local import iris_regression_splitset, make_queue

import assay
from assay.db.engine import session_scope
from assay.db.models import PredictorRow
from assay.experiment import claiming, runner


@pytest.fixture
def splitset(db, thirdparty_plugin):
    return iris_regression_splitset()


def test_a_job_whose_worker_keeps_dying_is_failed_after_max_attempts_and_the_queue_moves_on(splitset):
    queue = make_queue(splitset, max_attempts=2)
    first = claiming.claim_next(queue.id, "elsewhere:1:aaaa", lease_seconds=0.01)
    time.sleep(0.05)  # that worker died: its lease runs out
    again = claiming.claim_next(queue.id, "elsewhere:2:bbbb", lease_seconds=0.01)
    time.sleep(0.05)  # and so did the next one

    following = claiming.claim_next(queue.id, "elsewhere:3:cccc")

    assert again == first
    assert following != first
    job = assay.Job.get(first)
    assert (job.status, job.attempts) == ("failed", 2)
    assert "died 2 times (max_attempts=2)" in queue.status()["errors"][first]


def test_a_worker_whose_lease_was_taken_over_stores_nothing_and_the_new_owner_stores_once(splitset):
    queue = make_queue(splitset)
    job_id = claiming.claim_next(queue.id, "slow:1:aaaa", lease_seconds=0.01)
    time.sleep(0.05)  # the slow worker missed its heartbeats
    assert claiming.claim_next(queue.id, "fast:1:bbbb") == job_id

    late = runner.run_claimed_job(job_id, "slow:1:aaaa")
    on_time = runner.run_claimed_job(job_id, "fast:1:bbbb")

    assert (late.status, on_time.status) == ("lost", "succeeded")
    with session_scope() as session:
        assert session.execute(
            select(func.count()).select_from(PredictorRow).where(PredictorRow.job_id == job_id)
        ).scalar_one() == 1


def test_an_in_process_run_reports_the_time_spent_in_storage_calls(splitset):
    queue = make_queue(splitset)

    summary = queue.run_jobs(progress=False)

    assert summary.succeeded == 4
    assert {"claim", "store"} <= set(summary.storage_seconds)  # the claim reads the job's context too
    assert 0 < summary.storage_ms_per_run < 1000


def test_the_heartbeat_keeps_a_running_job_leased_and_stops_renewing_when_the_job_ends(splitset):
    queue = make_queue(splitset)
    job_id = claiming.claim_next(queue.id, "busy:1:aaaa", lease_seconds=0.3)
    with claiming.heartbeat(job_id, "busy:1:aaaa", lease_seconds=0.3):
        time.sleep(0.8)  # well past the first lease: only renewals keep the job ours
        assert claiming.claim_next(queue.id, "other:1:bbbb", lease_seconds=0.3) != job_id
    time.sleep(0.5)  # no more renewals: the lease runs out and the job can be taken
    taken = [claiming.claim_next(queue.id, "other:1:bbbb") for _ in range(4)]
    assert job_id in taken


def test_a_worker_told_to_stop_between_jobs_leaves_no_job_claimed_and_the_rest_run_once_later(splitset):
    from assay.experiment.workers import loop

    queue = make_queue(splitset)
    finished = []

    report = loop.work(queue.id, wait=False, should_stop=lambda: len(finished) >= 1, on_job=finished.append)

    assert report.succeeded == 1
    status = queue.status()
    assert (status["succeeded"], status["running"], status["queued"]) == (1, 0, 3)
    assert queue.run_jobs(progress=False).succeeded == 3
    assert {job.attempts for job in queue.jobs} == {1}
