"""Queues run by several local worker processes: each run done once, crashes survived, nothing half-written.

The jobs train the third-party test plugin's ``numpy_linear`` model (a real backend through a real entry point),
so that a worker process starts in about a second and the tests measure the workers, not a framework's import.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sklearn.preprocessing import StandardScaler
from sqlalchemy import func, select

import assay
from assay import datum, errors
from assay.db.engine import session_scope
from assay.db.models import JobRow, PredictionRow, PredictorRow
from assay.experiment import claiming, workers


def fn_build(features_shape, label_shape, **hp):
    from assay_dummy.model import LinearModel

    return LinearModel(features_shape, label_shape)


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    from threadpoolctl import threadpool_info

    from assay_dummy.model import fit

    time.sleep(hp.get("sleep", 0.0))  # long enough for every worker to get a share of the queue
    fit(model, loser, optimizer, samples_train, samples_evaluate, epoch_count=hp.get("epoch_count", 5))
    blas_threads = [float(pool["num_threads"]) for pool in threadpool_info() if pool["user_api"] == "blas"]
    model.history["blas_threads"] = blas_threads[:1]
    return model


def fn_train_dies_once(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    marker = Path(hp["marker"])
    if hp["epoch_count"] == 7 and not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)  # the worker dies in the middle of a job
    return fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp)


def fn_train_fails_once(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    marker = Path(hp["marker"])
    if hp["epoch_count"] in (3, 4) and not marker.with_suffix(f".{hp['epoch_count']}").exists():
        marker.with_suffix(f".{hp['epoch_count']}").write_text("failed")
        raise ValueError(f"diverged at epoch_count={hp['epoch_count']}")
    return fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp)


def fn_build_needs_units(features_shape, label_shape, **hp):
    hp["units"]  # not in the grid: every job would fail the same way
    return fn_build(features_shape, label_shape, **hp)


def iris_regression_splitset():
    return assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="petal_width",
        feature_cols_excluded=["species", "petal_width"],
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.2, size_validation=0.2, bin_count=3,
    )


@pytest.fixture
def splitset(db, thirdparty_plugin):
    """On SQLite."""
    return iris_regression_splitset()


@pytest.fixture
def any_splitset(any_db, thirdparty_plugin):
    """On SQLite, and on PostgreSQL when ASSAY_TEST_POSTGRES_URL is set."""
    return iris_regression_splitset()


def make_queue(splitset, **kwargs):
    options = dict(library="numpy_linear", analysis_type="regression", fn_build=fn_build, fn_train=fn_train,
                   hyperparameters={"epoch_count": [5, 6, 7, 8]}, splitset_id=splitset.id, seed=3)
    options.update(kwargs)
    return assay.Experiment.make(**options)


def assert_each_job_has_exactly_one_complete_result(queue):
    """Every job succeeded with one Predictor; no Prediction without its Predictor, no success without one."""
    with session_scope() as session:
        per_job = dict(session.execute(
            select(JobRow.id, func.count(PredictorRow.id))
            .outerjoin(PredictorRow, PredictorRow.job_id == JobRow.id)
            .where(JobRow.queue_id == queue.id).group_by(JobRow.id)
        ).all())
        orphans = session.execute(
            select(func.count()).select_from(PredictionRow)
            .where(~PredictionRow.predictor_id.in_(select(PredictorRow.id)))
        ).scalar_one()
        statuses = set(session.scalars(select(JobRow.status).where(JobRow.queue_id == queue.id)))
    assert set(per_job.values()) == {1}
    assert orphans == 0
    assert statuses == {"succeeded"}
    for predictor in queue.predictors:
        assert set(predictor.predictions) == {"train", "validation", "test"}


def job_columns(queue, *columns):
    with session_scope() as session:
        return session.execute(
            select(JobRow.run_index, *[getattr(JobRow, c) for c in columns])
            .where(JobRow.queue_id == queue.id).order_by(JobRow.run_index)
        ).all()


def test_four_workers_finish_a_40_run_queue_running_each_run_exactly_once(any_splitset, capfd):
    queue = make_queue(any_splitset, hyperparameters={"epoch_count": list(range(3, 13)), "sleep": [0.05]},
                       repeat_count=4)

    summary = queue.run_jobs(workers=4, progress=False)

    assert (summary.succeeded, summary.failed) == (40, 0)
    assert summary.queue_status["succeeded"] == 40
    assert_each_job_has_exactly_one_complete_result(queue)
    rows = job_columns(queue, "attempts", "worker")
    assert {row.attempts for row in rows} == {1}  # no worker died or lost a job: each run was done once
    assert len({row.worker for row in rows}) >= 2  # the queue was shared between processes
    # 2 cores shared by 4 workers: each worker's BLAS ran on one thread
    assert {tuple(p.history["blas_threads"]) for p in queue.predictors} <= {(1.0,), ()}
    assert "database is locked" not in capfd.readouterr().err
    assert set(summary.storage_seconds) >= {"claim", "store"}  # the claim reads the job's context too
    assert 0 < summary.storage_ms_per_run < 1000


def test_a_worker_killed_in_the_middle_of_a_job_leaves_nothing_half_written_and_the_others_finish(
        splitset, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("ASSAY_LEASE_SECONDS", "2")
    marker = tmp_path / "killed.pid"
    queue = make_queue(splitset, fn_train=fn_train_dies_once,
                       hyperparameters={"epoch_count": [5, 6, 7, 8, 9, 10], "marker": [str(marker)], "sleep": [0.2]})

    summary = queue.run_jobs(workers=2, progress=False)

    assert marker.exists()  # a worker did die with SIGKILL
    assert summary.succeeded == 6
    assert_each_job_has_exactly_one_complete_result(queue)
    attempts = {row.run_index: row.attempts for row in job_columns(queue, "attempts")}
    assert attempts == {0: 1, 1: 1, 2: 2, 3: 1, 4: 1, 5: 1}  # the killed run was run again, once
    finished_by = {row.run_index: row.worker for row in job_columns(queue, "worker")}
    assert f":{marker.read_text()}:" not in finished_by[2]  # a surviving worker finished the killed run
    assert "exited with code -9" in caplog.text


def test_a_job_held_by_a_vanished_worker_elsewhere_is_taken_again_once_its_lease_expires(splitset, monkeypatch):
    monkeypatch.setenv("ASSAY_LEASE_SECONDS", "1")
    queue = make_queue(splitset)
    # a worker on another machine claimed the first job, then vanished without a trace: only its lease tells
    taken = claiming.claim_next(queue.id, "elsewhere:4242:0badc0de", lease_seconds=1.5)

    summary = queue.run_jobs(workers=1, progress=False)  # it runs the other jobs, then waits for the lease

    assert summary.succeeded == 4
    assert_each_job_has_exactly_one_complete_result(queue)
    job = assay.Job.get(taken)
    assert job.attempts == 2
    assert not job.worker.startswith("elsewhere:")


def test_status_counts_failed_jobs_with_their_errors_and_retry_failed_runs_them_again(splitset, tmp_path):
    queue = make_queue(splitset, fn_train=fn_train_fails_once,
                       hyperparameters={"epoch_count": [2, 3, 4, 5], "marker": [str(tmp_path / "failed")]})

    first = queue.run_jobs(workers=2, progress=False)

    assert (first.succeeded, first.failed) == (2, 2)
    status = queue.status()
    assert {k: status[k] for k in ("queued", "running", "succeeded", "failed", "total")} == {
        "queued": 0, "running": 0, "succeeded": 2, "failed": 2, "total": 4}
    assert sorted(status["errors"].values()) == ["ValueError: diverged at epoch_count=3",
                                                 "ValueError: diverged at epoch_count=4"]
    assert all(job.traceback and "diverged" in job.traceback for job in queue.jobs if job.status == "failed")

    assert queue.retry_failed() == 2
    assert (queue.status()["queued"], queue.status()["failed"]) == (2, 0)
    second = queue.run_jobs(progress=False)  # in this process: the same queue, whichever way it runs

    assert (second.succeeded, second.failed) == (2, 0)
    assert queue.status()["errors"] == {}
    assert_each_job_has_exactly_one_complete_result(queue)


def test_a_missing_hyperparameter_stops_the_workers_with_an_error_naming_it(splitset):
    queue = make_queue(splitset, fn_build=fn_build_needs_units, hyperparameters={"epoch_count": list(range(2, 14))})

    with pytest.raises(errors.ExperimentError, match="'units'"):
        queue.run_jobs(workers=2, progress=False)

    status = queue.status()
    assert 1 <= status["failed"] <= 2  # each worker stopped at its first job
    assert status["queued"] == 12 - status["failed"]
    assert status["running"] == 0


def test_bad_workers_or_executor_are_refused_before_any_job_starts(splitset):
    queue = make_queue(splitset)

    with pytest.raises(errors.ValidationError, match="workers"):
        queue.run_jobs(workers=0)
    with pytest.raises(errors.ValidationError, match="executor"):
        queue.run_jobs(executor="localhost:8786")
    with pytest.raises(errors.ValidationError, match="not both"):
        queue.run_jobs(workers=2, executor=object())
    with pytest.raises(errors.ValidationError, match="threads"):
        workers.run_parallel(queue.id, workers=2, threads=0)
    assert queue.status()["queued"] == 4


def test_the_worker_command_runs_a_queue_from_another_process_and_reports_a_wrong_queue(splitset, db, tmp_path):
    queue = make_queue(splitset)
    command = [sys.executable, "-m", "assay.cli.worker", "--url", db]
    report = tmp_path / "report.json"

    done = subprocess.run([*command, "--queue", str(queue.id), "--report", str(report)],
                          capture_output=True, text=True, timeout=120)
    missing = subprocess.run([*command, "--queue", "999"], capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert f"queue {queue.id}: 4 succeeded, 0 failed" in done.stderr
    assert '"succeeded": 4' in report.read_text()
    assert_each_job_has_exactly_one_complete_result(queue)
    assert missing.returncode == 1
    assert "Queue id=999 does not exist" in missing.stderr


def test_assay_worker_runs_a_queue_through_the_assay_command_line(splitset, db, capsys):
    from assay import cli
    from assay.cli import worker as commands  # registers `assay worker`

    queue = make_queue(splitset)

    code = cli.main(["--url", db, "worker", "--queue", str(queue.id), "--no-wait"])
    bad = cli.main(["worker", "--url", db, "--queue", "0"])

    assert code == cli.EXIT_OK
    assert queue.status()["succeeded"] == 4
    assert bad == commands.EXIT_STOPPED == cli.EXIT_ERROR
    assert "--queue: must be a queue id (>= 1), got 0" in capsys.readouterr().err
