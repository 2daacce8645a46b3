"""Queues run on a Dask cluster: one claim loop per Dask worker, the database the single source of truth."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from test_workers_local import assert_each_job_has_exactly_one_complete_result, iris_regression_splitset, make_queue

from assay.db.engine import session_scope
from assay.db.models import JobRow

distributed = pytest.importorskip("distributed")


@pytest.fixture
def splitset(db, thirdparty_plugin):
    return iris_regression_splitset()


def test_a_dask_local_cluster_of_two_worker_processes_runs_a_queue_to_completion(splitset):
    queue = make_queue(splitset, hyperparameters={"epoch_count": list(range(3, 11)), "sleep": [0.1]})
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        dask_pids = set(client.run(lambda: __import__("os").getpid()).values())

        summary = queue.run_jobs(executor=client, progress=False)

    assert (summary.succeeded, summary.failed) == (8, 0)
    assert_each_job_has_exactly_one_complete_result(queue)
    with session_scope() as session:
        rows = session.execute(select(JobRow.attempts, JobRow.worker).where(JobRow.queue_id == queue.id)).all()
    assert {row.attempts for row in rows} == {1}
    ran_in = {int(row.worker.split(":")[1]) for row in rows}
    assert ran_in <= dask_pids  # the jobs ran inside the Dask workers, not in this process
