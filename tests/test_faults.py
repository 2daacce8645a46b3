"""Faults on real components: a PostgreSQL server restarted mid-queue, a database that stays away, a full disk.

The restarts happen at chosen moments, not by luck of timing: a job's ``fn_train`` waits at a named gate (a file
it writes, then a file it waits for) while the test stops, starts or restarts the server, so every run of the test
hits the worker's first claim, a job in training and a job's store. The server is a private cluster of the test's
own (``private_postgres``), never the shared one. The jobs train the third-party test plugin's ``numpy_linear``
model, so worker processes start in about a second.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

import assay
from assay import epochs, errors
from assay.db import engine as db_engine
from assay.db.engine import session_scope
from assay.db.models import HyperparamcomboRow, JobRow, PredictionRow, PredictorRow

private_postgres = pytest.importorskip("private_postgres")

GATE_TIMEOUT = 60.0


# ---------------------------------------------------------------------------------------------------------------
# the model functions (module level: worker processes load them by reference)
# ---------------------------------------------------------------------------------------------------------------


def fn_build(features_shape, label_shape, **hp):
    from assay_dummy.model import LinearModel

    return LinearModel(features_shape, label_shape)


def fn_optimize(**hp):
    from assay_dummy.model import GradientDescent

    return GradientDescent(hp.get("learning_rate", 0.05))


def wait_at_gate(folder: str, name: str) -> None:
    """Say this job reached gate ``name`` and wait until the test opens it (a rerun passes an open gate)."""
    gate = Path(folder)
    if (gate / f"{name}.go").exists():
        return
    (gate / f"{name}.reached").write_text(str(os.getpid()))
    deadline = time.monotonic() + GATE_TIMEOUT
    while not (gate / f"{name}.go").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gate {name} was never opened")
        time.sleep(0.02)


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    """Trains; the job whose ``epoch_count`` has a gate waits there (``before`` training or ``after`` it)."""
    from assay_dummy.model import fit

    gates = hp.get("gates") or {}
    gate = gates.get(str(hp["epoch_count"]))
    if gate is not None and gate[1] == "before":
        wait_at_gate(hp["gate_dir"], gate[0])
    time.sleep(hp.get("sleep", 0.0))
    fit(model, loser, optimizer, samples_train, samples_evaluate, epoch_count=hp["epoch_count"])
    if gate is not None and gate[1] == "after":
        wait_at_gate(hp["gate_dir"], gate[0])
    return model


def fn_train_search(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    """Trains epoch by epoch, reporting each to the pruner; the n-th job run (counted in a file) may wait at a
    gate named ``"<n>"``, before its first epoch or after its last."""
    from assay_dummy.model import fit

    folder = Path(hp["gate_dir"])
    counter = folder / "runs"
    run = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(run))
    moment = (hp.get("gates") or {}).get(str(run))
    if moment == "before":
        wait_at_gate(str(folder), str(run))
    model.history = {"loss": [], "val_loss": []}
    for epoch in range(hp["epoch_count"]):
        step = fit(model, loser, optimizer, samples_train, samples_evaluate, epoch_count=1).history
        model.history["loss"] += step["loss"]
        model.history["val_loss"] += step["val_loss"]
        model.history = dict(model.history)
        if epochs.report({"loss": step["loss"][-1], "val_loss": step["val_loss"][-1]}, epoch):
            break
    if moment == "after":
        wait_at_gate(str(folder), str(run))
    return model


def fn_train_disk(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    """The job with ``epoch_count == fill_at`` fills the disk (the test's page limit) before it is stored; the one
    with ``enospc_at`` meets a full disk writing its own file."""
    from assay_dummy.model import fit

    once = Path(hp["full_flag"] + ".once")
    if hp["epoch_count"] == hp.get("fill_at") and not once.exists():
        once.write_text("")
        Path(hp["full_flag"]).write_text("full")
    if hp["epoch_count"] == hp.get("enospc_at") and not Path(hp["full_flag"]).exists():
        raise OSError(errno.ENOSPC, "No space left on device", hp["checkpoint"])
    return fit(model, loser, optimizer, samples_train, samples_evaluate, epoch_count=hp["epoch_count"])


# ---------------------------------------------------------------------------------------------------------------
# helpers


def started_logging_to(log: Path, command: list[str], **options) -> subprocess.Popen:
    """``command`` started with its stderr written to ``log`` (the child keeps the file open; this process does not)."""
    with log.open("w") as stderr:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, **options)
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture
def cluster():
    reason = private_postgres.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with private_postgres.private_cluster() as made:
        yield made
    db_engine.dispose()


def iris_splitset():
    from sklearn.preprocessing import StandardScaler

    return assay.Pipeline.Tabular.make(
        df_or_path=assay.datum.to_pandas("iris.tsv"), label_column="petal_width",
        feature_cols_excluded=["species", "petal_width"],
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.2, size_validation=0.2, bin_count=3,
    )


def open_gate(folder: Path, name: str, action=None, after_open=None) -> None:
    """Wait until a job reaches gate ``name``; run ``action`` (stop, restart...), open the gate, then run
    ``after_open`` (e.g. start the server again once the job met it stopped)."""
    deadline = time.monotonic() + GATE_TIMEOUT
    while not (folder / f"{name}.reached").exists():
        assert time.monotonic() < deadline, f"no job reached gate {name}"
        time.sleep(0.02)
    if action is not None:
        action()
    (folder / f"{name}.go").write_text("go")
    if after_open is not None:
        after_open()


def wait_for(condition, timeout: float = GATE_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def job_rows(queue_id: int):
    with session_scope() as session:
        return session.execute(
            select(JobRow.run_index, JobRow.status, JobRow.attempts, func.count(PredictorRow.id).label("stored"))
            .outerjoin(PredictorRow, PredictorRow.job_id == JobRow.id)
            .where(JobRow.queue_id == queue_id).group_by(JobRow.id).order_by(JobRow.run_index)
        ).all()


def orphan_predictions() -> int:
    with session_scope() as session:
        return session.execute(
            select(func.count()).select_from(PredictionRow)
            .where(~PredictionRow.predictor_id.in_(select(PredictorRow.id)))
        ).scalar_one()


def assert_every_job_stored_once(queue_id: int, finished=("succeeded",)) -> list:
    rows = job_rows(queue_id)
    assert {row.status for row in rows} <= set(finished), rows
    assert {row.stored for row in rows} == {1}  # never lost, never doubled
    assert all(1 <= row.attempts <= 2 for row in rows)  # stored once, or run again once
    assert orphan_predictions() == 0
    return rows


# ---------------------------------------------------------------------------------------------------------------
# PostgreSQL restarts
# ---------------------------------------------------------------------------------------------------------------


def test_two_assay_workers_finish_a_queue_through_postgresql_restarts_at_claim_training_and_store(
        cluster, thirdparty_plugin, tmp_path):
    assay.setup(cluster.url)
    gates = tmp_path / "gates"
    gates.mkdir()
    queue = assay.Experiment.make(
        library="numpy_linear", analysis_type="regression", fn_build=fn_build, fn_train=fn_train,
        fn_optimize=fn_optimize, splitset_id=iris_splitset().id, seed=3,
        hyperparameters={"epoch_count": list(range(3, 15)), "sleep": [0.1], "gate_dir": [str(gates)],
                         "gates": [{"6": ["training", "before"], "9": ["store", "after"]}]},
    )
    db_engine.dispose()
    environment = {**os.environ, "ASSAY_DB_RETRY_SECONDS": "60", "ASSAY_LEASE_SECONDS": "20"}
    command = [sys.executable, "-m", "assay.cli.worker", "--url", cluster.url, "--queue", str(queue.id)]

    # 1. the workers start while the server is down: their first connection and claim wait for it
    cluster.stop()
    logs = [tmp_path / f"worker-{index}.err" for index in range(2)]
    processes = [started_logging_to(log, command, env=environment) for log in logs]
    wait_for(lambda: all("database fault while starting the worker" in log.read_text() for log in logs))
    cluster.start()
    # 2. a restart while a job trains: every connection is terminated under the running workers
    open_gate(gates, "training", action=cluster.restart)
    # 3. the server is down when a finished job is stored: the store waits for it
    open_gate(gates, "store", action=cluster.stop, after_open=lambda: (time.sleep(1.5), cluster.start()))
    # 4. and restarts while jobs are being claimed and stored back to back
    for _ in range(2):
        time.sleep(0.4)
        cluster.restart()
    for process in processes:
        process.wait(timeout=90)

    for process, log in zip(processes, logs, strict=True):
        assert process.returncode == 0, log.read_text()
        assert "Traceback" not in log.read_text()
    said = "".join(log.read_text() for log in logs)
    assert "database fault while storing job" in said  # the job finished while the server was down was kept
    assay.setup(cluster.url)
    rows = assert_every_job_stored_once(queue.id)
    assert len(rows) == 12
    assert queue.status()["succeeded"] == 12
    assert cluster.restarts == 3


def test_a_tpe_search_with_a_pruner_proposes_and_prunes_as_without_restarts(
        cluster, thirdparty_plugin, tmp_path, sqlite_url):
    import optuna

    def run(url: str, gates: Path, during=None):
        assay.setup(url)
        queue = assay.Experiment.make(
            library="numpy_linear", analysis_type="regression", fn_build=fn_build, fn_train=fn_train_search,
            fn_optimize=fn_optimize, splitset_id=iris_splitset().id, seed=5, search="tpe", search_count=10,
            objective="loss", pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
            hyperparameters={"learning_rate": assay.space.Float(1e-4, 0.5, log=True),
                             "epoch_count": [6], "gate_dir": [str(gates)],
                             "gates": [{"3": "before", "5": "after", "7": "before"} if during else {}]},
        )
        controller = threading.Thread(target=during, daemon=True) if during else None
        if controller is not None:
            controller.start()
        summary = queue.run_jobs(progress=False)
        if controller is not None:
            controller.join(timeout=60)
        with session_scope() as session:
            combos = [(row.hyperparameters["learning_rate"], row.sampler_attrs) for row in session.scalars(
                select(HyperparamcomboRow).where(HyperparamcomboRow.hyperparamset_id == queue.hyperparamset_id)
                .order_by(HyperparamcomboRow.combo_index))]
        rows = assert_every_job_stored_once(queue.id, finished=("succeeded", "pruned"))
        db_engine.dispose()
        return summary, [lr for lr, _ in combos], [row.status for row in rows]

    def faults():
        gates = tmp_path / "faulted"
        open_gate(gates, "3", action=cluster.restart)  # in training, before the pruner's first read
        open_gate(gates, "5", action=cluster.stop, after_open=lambda: (time.sleep(1.5), cluster.start()))  # store
        open_gate(gates, "7", action=cluster.stop, after_open=lambda: (time.sleep(1.0), cluster.start()))  # pruner
        done.append(True)

    done: list[bool] = []

    (tmp_path / "calm").mkdir()
    (tmp_path / "faulted").mkdir()
    calm, calm_proposals, calm_states = run(sqlite_url, tmp_path / "calm")
    faulted, proposals, states = run(cluster.url, tmp_path / "faulted", during=faults)

    assert done
    assert cluster.restarts == 1
    assert "pruned" in calm_states  # the pruner did prune in the undisturbed search
    # the sampler saw every stored trial and the pruner every stored history: the same search, step by step
    assert proposals == pytest.approx(calm_proposals)
    assert states == calm_states
    assert (faulted.succeeded, faulted.pruned, faulted.failed) == (calm.succeeded, calm.pruned, 0)


def test_a_database_away_longer_than_the_budget_stops_the_run_with_its_url_and_the_next_run_completes(
        cluster, thirdparty_plugin, tmp_path, monkeypatch):
    monkeypatch.setenv("ASSAY_DB_RETRY_SECONDS", "1.5")
    assay.setup(cluster.url)
    gates = tmp_path / "gates"
    gates.mkdir()
    queue = assay.Experiment.make(
        library="numpy_linear", analysis_type="regression", fn_build=fn_build, fn_train=fn_train,
        fn_optimize=fn_optimize, splitset_id=iris_splitset().id, seed=3,
        hyperparameters={"epoch_count": [3, 4, 5, 6], "gate_dir": [str(gates)],
                         "gates": [{"5": ["away", "after"]}]},
    )
    controller = threading.Thread(target=open_gate, args=(gates, "away", cluster.stop), daemon=True)
    controller.start()

    with pytest.raises(errors.DatabaseUnavailableError) as raised:
        queue.run_jobs(progress=False)

    controller.join(timeout=30)
    message = str(raised.value)
    assert f"127.0.0.1:{cluster.port}/postgres" in message
    assert "storing job" in message
    assert "ASSAY_DB_RETRY_SECONDS=1.5" in message
    cluster.start()
    monkeypatch.setenv("ASSAY_DB_RETRY_SECONDS", "30")
    assay.setup(cluster.url)
    left = job_rows(queue.id)
    assert [row.status for row in left] == ["succeeded", "succeeded", "running", "queued"]  # lease brings it back
    summary = queue.run_jobs(progress=False)  # the job this process's stopped loop held is taken again at once
    assert summary.succeeded == 2
    assert_every_job_stored_once(queue.id)


def test_a_worker_that_cannot_reach_its_database_exits_with_code_3_naming_the_url_without_its_password():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once the probe is closed
    url = f"postgresql+psycopg://assay:s3cret@127.0.0.1:{port}/jobs"
    environment = {**os.environ, "ASSAY_DB_RETRY_SECONDS": "1"}

    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "assay.cli.worker", "--url", url, "--queue", "1"],
                            env=environment, capture_output=True, text=True, timeout=60)

    assert result.returncode == 3
    *notices, error = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert all(line.startswith("database fault while starting the worker") for line in notices)  # the retries
    lines = [error]
    assert lines[0].startswith(f"assay: error: cannot reach the database at postgresql+psycopg://assay:***@"
                               f"127.0.0.1:{port}/jobs while starting the worker")
    assert "s3cret" not in result.stderr
    assert "ASSAY_DB_RETRY_SECONDS=1" in lines[0]
    assert time.monotonic() - started < 30


def test_a_bad_retry_budget_is_refused_naming_the_variable(monkeypatch):
    from assay.db import retry

    monkeypatch.setenv("ASSAY_DB_RETRY_SECONDS", "soon")
    with pytest.raises(errors.ConfigurationError, match="ASSAY_DB_RETRY_SECONDS='soon' must be a number"):
        retry.budget_seconds()


# ---------------------------------------------------------------------------------------------------------------
# a full disk
# ---------------------------------------------------------------------------------------------------------------


def test_a_full_disk_at_a_store_stops_the_run_naming_the_database_and_the_queue_completes_once_space_is_back(
        db, thirdparty_plugin, tmp_path):
    full_flag = tmp_path / "disk-full"
    engine = db_engine.get_engine()

    @event.listens_for(engine, "begin")
    def limit_pages(connection):
        # SQLite's own page limit: past it every write that needs a page fails with SQLITE_FULL, "database or
        # disk is full", exactly as on a full disk; removing the flag gives the space back
        limit = 1 if full_flag.exists() else 1_000_000_000  # clamped to the file's current size
        connection.exec_driver_sql(f"PRAGMA max_page_count = {limit}")

    queue = assay.Experiment.make(
        library="numpy_linear", analysis_type="regression", fn_build=fn_build, fn_train=fn_train_disk,
        fn_optimize=fn_optimize, splitset_id=iris_splitset().id, seed=3,
        hyperparameters={"epoch_count": [3, 4, 5, 6, 7, 8], "fill_at": [5], "full_flag": [str(full_flag)]},
    )

    with pytest.raises(errors.DiskFullError) as raised:
        queue.run_jobs(progress=False)

    message = str(raised.value)
    database = db.removeprefix("sqlite:///")
    assert "the disk is full" in message
    assert database in message
    assert "database or disk is full" in message
    assert "Free space on that disk" in message
    rows = job_rows(queue.id)
    assert "running" not in {row.status for row in rows}  # the job that met the full disk went back
    assert [row.stored for row in rows] == [1 if row.status == "succeeded" else 0 for row in rows]
    statuses = [row.status for row in rows]
    # the third job fills the disk; its own store or a later one (once SQLite's free pages are used up) meets it,
    # stops the run and goes back, and the jobs after it never start
    went_back = statuses.index("queued")
    assert went_back >= 2
    assert statuses[:went_back] == ["succeeded"] * went_back
    assert statuses[went_back:] == ["queued"] * (len(statuses) - went_back)
    assert orphan_predictions() == 0

    full_flag.unlink()  # space is back
    summary = queue.run_jobs(progress=False)

    assert summary.failed == 0
    assert_every_job_stored_once(queue.id)
    event.remove(engine, "begin", limit_pages)


def test_a_job_meeting_a_full_disk_in_its_own_files_stops_the_run_naming_the_file(db, thirdparty_plugin, tmp_path):
    checkpoint = tmp_path / "checkpoints" / "model.ckpt"
    queue = assay.Experiment.make(
        library="numpy_linear", analysis_type="regression", fn_build=fn_build, fn_train=fn_train_disk,
        fn_optimize=fn_optimize, splitset_id=iris_splitset().id, seed=3,
        hyperparameters={"epoch_count": [3, 4, 5], "enospc_at": [4], "checkpoint": [str(checkpoint)],
                         "full_flag": [str(tmp_path / "space-back")]},
    )

    with pytest.raises(errors.DiskFullError, match=f"writing the file '{checkpoint}' failed"):
        queue.run_jobs(progress=False)

    assert [row.status for row in job_rows(queue.id)] == ["succeeded", "queued", "queued"]
    (tmp_path / "space-back").write_text("")
    assert queue.run_jobs(progress=False).succeeded == 2
    assert_every_job_stored_once(queue.id)


# ---------------------------------------------------------------------------------------------------------------
# workers frozen or killed
# ---------------------------------------------------------------------------------------------------------------


def test_a_worker_frozen_past_its_lease_loses_its_job_to_another_and_stores_nothing_when_it_wakes(
        db, thirdparty_plugin, tmp_path):
    from assay.experiment import workers

    gates = tmp_path / "gates"
    gates.mkdir()
    queue = assay.Experiment.make(
        library="numpy_linear", analysis_type="regression", fn_build=fn_build, fn_train=fn_train,
        fn_optimize=fn_optimize, splitset_id=iris_splitset().id, seed=3,
        hyperparameters={"epoch_count": [3, 4, 5], "gate_dir": [str(gates)], "gates": [{"3": ["frozen", "after"]}]},
    )
    log = tmp_path / "frozen.err"
    frozen = started_logging_to(log, [sys.executable, "-m", "assay.cli.worker", "--url", db, "--queue", str(queue.id),
                                      "--lease-seconds", "1"])
    try:
        open_gate(gates, "frozen", action=lambda: os.kill(frozen.pid, signal.SIGSTOP))  # trained, not stored
        report = workers.work(queue.id, lease_seconds=1)  # waits for the lease to expire, then takes the job
    finally:
        os.kill(frozen.pid, signal.SIGCONT)
    frozen.wait(timeout=60)

    assert report.succeeded == 3
    assert frozen.returncode == 0, log.read_text()
    assert f"queue {queue.id}: 0 succeeded, 0 failed, 1 taken over by other workers" in log.read_text()
    rows = assert_every_job_stored_once(queue.id)
    assert [row.attempts for row in rows] == [2, 1, 1]


def test_a_dask_worker_killed_mid_job_leaves_its_run_to_the_others_and_every_run_is_stored_once(
        db, thirdparty_plugin, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setenv("ASSAY_LEASE_SECONDS", "3")
    gates = tmp_path / "gates"
    gates.mkdir()
    queue = assay.Experiment.make(
        library="numpy_linear", analysis_type="regression", fn_build=fn_build, fn_train=fn_train,
        fn_optimize=fn_optimize, splitset_id=iris_splitset().id, seed=3,
        hyperparameters={"epoch_count": list(range(3, 9)), "sleep": [0.1], "gate_dir": [str(gates)],
                         "gates": [{"5": ["killed", "before"]}]},
    )

    def kill_the_worker_in_training() -> None:
        open_gate(gates, "killed", action=lambda: os.kill(int((gates / "killed.reached").read_text()),
                                                          signal.SIGKILL))

    killer = threading.Thread(target=kill_the_worker_in_training, daemon=True)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as dask_cluster, distributed.Client(dask_cluster) as client:
        killer.start()
        summary = queue.run_jobs(executor=client, progress=False)
    killer.join(timeout=30)

    assert summary.failed == 0
    assert queue.status()["succeeded"] == 6
    rows = assert_every_job_stored_once(queue.id)
    assert rows[2].attempts == 2  # the killed run ran again, once


def test_a_database_refused_for_good_is_reported_at_once_not_retried(monkeypatch):
    from conftest import postgres_admin_url
    from sqlalchemy.engine import make_url

    from assay.db import retry

    admin = postgres_admin_url()
    if admin is None:
        pytest.skip("set ASSAY_TEST_POSTGRES_URL to run PostgreSQL tests")
    monkeypatch.setenv("ASSAY_DB_RETRY_SECONDS", "60")
    missing = make_url(admin).set(database="assay_no_such_database").render_as_string(hide_password=False)

    started = time.monotonic()
    with pytest.raises(errors.DatabaseError, match='database "assay_no_such_database" does not exist') as raised:
        retry.setup(missing, what="starting the worker")

    assert not isinstance(raised.value, errors.DatabaseUnavailableError)
    assert time.monotonic() - started < 30  # a wrong name is not waited for
