"""Scale: one queue of 100,000 runs, bookkeeping per run at its start and its end, and what reads it cost.

For each database (SQLite file; PostgreSQL when a server is reachable) it makes the iris splitset and one queue of
``--runs`` tiny torch runs (a 4-8-3 MLP, ``--epochs`` epochs), then:

1. runs the first ``--real`` runs for real, in this process, through the claim loop every worker runs
   (``workers.work``: claim, train, evaluate, store the model and its three predictions, claim the next in the
   same transaction);
2. stores the runs between through the same store statements (``experiments._store_statements``: the job's end,
   its Predictor, its Predictions), a real run's model, history and prediction arrays copied, in batches of
   ``--batch`` runs per transaction (``--all-real`` runs every one of them for real instead); on PostgreSQL it
   then runs ``VACUUM ANALYZE`` and a ``CHECKPOINT``, the upkeep autovacuum and the checkpointer do while those
   runs would take their 15 minutes for real (the bulk store packs them into half a minute: 100,000 dead job rows
   and a gigabyte of WAL a real queue never has at once);
3. runs the last ``--real`` runs for real, as in 1.

Bookkeeping per run is assay's time in storage calls (``claiming.STORAGE_TIMER``: claim, store, heartbeat) per
finished run, over the first and the last ``--real`` runs; the target is last/first <= 1.2. The wall time per
run (training included) is printed beside it. Then, at the full queue, the best of ``--repeat`` calls of
``queue.leaderboard()`` (target < 1 s), ``queue.status()`` (< 50 ms) and ``queue.metrics_to_pandas()`` (< 5 s);
the dashboard's queue page in a fresh process (server wall ms of the first and of later requests, from its
``Server-Timing``; targets < 300 ms and < 100 ms), and the first request after the warm-up ``assay dashboard``
runs while it starts (the newest queues' leaderboards computed ahead), with that process's peak memory
(< 500 MB); and the database's bytes per run, with the columns that take them.

    python benchmarks/scale.py                                   # 100,000 runs, SQLite and PostgreSQL
    python benchmarks/scale.py --runs 20000 --real 500 --postgres none

Note the machine's load average printed with the table: on a shared machine every time is longer.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402
from sqlalchemy import create_engine, func, select, text, update  # noqa: E402

import assay  # noqa: E402
from assay import datum  # noqa: E402
from assay.db import engine as db_engine  # noqa: E402
from assay.db.models import JobRow, PredictionRow, PredictorRow, utcnow  # noqa: E402
from assay.db.queries import claims  # noqa: E402
from assay.db.queries import experiments as experiment_queries  # noqa: E402
from assay.experiment import arrays as stored_arrays  # noqa: E402
from assay.experiment import claiming, runner, workers  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import leaderboard as board_bench  # noqa: E402

WORKER = "scale-benchmark"


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], 8), nn.ReLU(), nn.Linear(8, label_shape[0]))


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    for _ in range(hp["epoch_count"]):
        optimizer.zero_grad()
        loss = loser(model(samples_train["features"]), samples_train["labels"])
        loss.backward()
        optimizer.step()
    return model


def make_queue(runs: int, epochs: int) -> assay.Queue:
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()), feature_cols_excluded="species",
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.22, size_validation=0.12,
    )
    repeats = 10 if runs % 10 == 0 else 1
    return assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=fn_build,
                                 fn_train=fn_train, repeat_count=repeats,
                                 hyperparameters={"run": list(range(runs // repeats)), "epoch_count": [epochs]},
                                 splitset_id=splitset.id, seed=0)


def run_real(queue_id: int, count: int) -> dict[str, float]:
    """Run ``count`` runs of the queue for real in this process; (storage ms per run, wall ms per run)."""
    done = [0]

    def counted(_outcome) -> None:
        done[0] += 1

    started = time.perf_counter()
    report = workers.work(queue_id, wait=False, should_stop=lambda: done[0] >= count, on_job=counted)
    wall = time.perf_counter() - started
    finished = report.succeeded + report.failed + report.pruned
    assert finished == count and report.failed == 0, report
    seconds = report.storage_seconds
    return {"storage ms": 1000 * sum(seconds.values()) / finished,
            "claim+store ms": 1000 * (seconds.get("claim", 0.0) + seconds.get("store", 0.0)) / finished,
            "wall ms": 1000 * wall / finished}


def template_run(queue_id: int) -> tuple[dict, list[dict]]:
    """A real run's predictor and predictions (trained now, stored nowhere), to copy into the bulk-stored runs."""
    engine = db_engine.get_engine()
    with engine.connect() as connection:
        job_id = connection.execute(select(JobRow.id).where(JobRow.queue_id == queue_id, JobRow.status == "queued")
                                    .order_by(JobRow.run_index).limit(1)).scalar_one()
    predictor, evaluated = runner.train_and_evaluate(claims.job_context(job_id))
    predictions = [{"split": e.split, "arrays": e.arrays, "metrics": e.metrics, "row_count": e.row_count}
                   for e in evaluated]
    return predictor, predictions


def bulk_store(queue_id: int, first: int, last: int, batch: int) -> float:
    """Store runs ``first``..``last - 1`` (run indexes) with the store statements, ``batch`` runs a transaction."""
    predictor, predictions = template_run(queue_id)
    _, insert_predictor, insert_predictions = experiment_queries._store_statements()
    engine = db_engine.get_engine()
    started = time.perf_counter()
    for low in range(first, last, batch):
        high = min(last, low + batch)
        now = utcnow()
        with engine.begin() as connection:
            job_ids = connection.execute(
                update(JobRow).where(JobRow.queue_id == queue_id, JobRow.run_index >= low, JobRow.run_index < high)
                .values(status="succeeded", worker=WORKER, attempts=1, started_at=now, finished_at=now)
                .returning(JobRow.id)
            ).scalars().all()
            predictor_ids = connection.execute(
                insert_predictor, [{"feature_importance": None, **predictor, "job_id": job_id} for job_id in job_ids],
            ).scalars().all()
            connection.execute(insert_predictions, [
                {"dataset_id": None, "plot_data": None, **prediction, "predictor_id": predictor_id}
                for predictor_id in predictor_ids for prediction in predictions])
    return time.perf_counter() - started


def upkeep(url: str) -> None:
    """What autovacuum and the checkpointer would have done by now had the bulk-stored runs run for real."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("VACUUM ANALYZE"))
            connection.execute(text("CHECKPOINT"))
    finally:
        engine.dispose()


def best(call, repeat: int) -> tuple[float, float, float]:
    """(first call's wall seconds, best wall seconds, best CPU seconds of this process) over ``repeat`` calls;
    on a loaded machine the CPU time is the closer guess of what a quiet one takes."""
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return times[0], min(times), min(cpu)


# what `assay dashboard` holds: the app over the database, nothing of this benchmark imported
DASHBOARD_PROCESS = """
import json, resource, time, warnings
from assay import dashboard
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient
client = TestClient(dashboard.create_app({url!r}), base_url="http://127.0.0.1")
pending = [False]
def served_ms():
    response = client.get("/queues/{queue_id}")
    assert response.status_code == 200, response.text[:300]
    pending[0] = "data-significance-pending" in response.text
    timings = dict(part.strip().split(";dur=") for part in response.headers["server-timing"].split(","))
    return float(timings["app"])
started = time.perf_counter()
first = served_ms()
# the p-values against the best (one split: a bootstrap of stored predictions) come on a thread after the page
while pending[0]:
    time.sleep(0.01)
    served_ms()
ties_ms = 1000 * (time.perf_counter() - started)
later = sorted(served_ms() for _ in range(5))
# `assay dashboard` computes the newest queues' leaderboards while it starts: a visitor's first view after that
app = dashboard.create_app({url!r})
started = time.perf_counter()
app.state.dashboard.pages.warm()
warm_s = time.perf_counter() - started
client = TestClient(app, base_url="http://127.0.0.1")
warmed = served_ms()
try:  # this process's own peak: ru_maxrss would also count the benchmark's process this one was forked from
    peak_mb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")) / 1024
except OSError:
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"first": first, "ties_ms": ties_ms, "later": later[2], "warm_s": warm_s, "warmed": warmed,
                  "peak_mb": peak_mb}}))
"""


def dashboard_process(url: str, queue_id: int) -> dict[str, float]:
    """The queue page's first and later server wall ms, and the peak RSS of a fresh dashboard process."""
    done = subprocess.run([sys.executable, "-c", DASHBOARD_PROCESS.format(url=url, queue_id=queue_id)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def bytes_per_run(url: str, runs: int) -> tuple[float, list[tuple[str, float]]]:
    """(database bytes per run, [(what, bytes per run)] of the biggest stored columns)."""
    engine = db_engine.get_engine()
    length = func.length if engine.dialect.name == "sqlite" else func.octet_length
    parts = {
        "model_blob": select(func.sum(length(PredictorRow.model_blob))),
        "history": select(func.sum(length(func.cast(PredictorRow.history, assay_text())))),
        "versions": select(func.sum(length(func.cast(PredictorRow.versions, assay_text())))),
        "prediction arrays": select(func.sum(length(PredictionRow.arrays))),
        "prediction metrics": select(func.sum(length(func.cast(PredictionRow.metrics, assay_text())))),
    }
    with engine.connect() as connection:
        found = [(name, (connection.execute(query).scalar() or 0) / runs) for name, query in parts.items()]
        if engine.dialect.name != "sqlite":
            total = connection.execute(text("SELECT pg_database_size(current_database())")).scalar()
    if engine.dialect.name == "sqlite":
        engine.dispose()
        with contextlib.closing(sqlite3.connect(engine.url.database)) as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        total = Path(engine.url.database).stat().st_size
    return total / runs, sorted(found, key=lambda item: -item[1])


def prediction_arrays_before_after(queue_id: int) -> tuple[int, int]:
    """(bytes of one run's prediction arrays as stored, as they were stored with each split's rows and labels)."""
    job = next(job for job in assay.Queue.get(queue_id).jobs if job.status == "succeeded")
    now = before = 0
    for prediction in job.predictor.predictions.values():
        blob = prediction.arrays
        stored = stored_arrays.loads(blob)
        now += len(blob)
        before += len(stored_arrays.dumps(**{**stored, "row_indices": prediction.row_indices,
                                             "labels": prediction.labels}))
    return now, before


def assay_text():
    from sqlalchemy import Text

    return Text()


def bench(url: str, label: str, args: argparse.Namespace) -> dict[str, object]:
    assay.setup(url)
    queue = make_queue(args.runs, args.epochs)
    claiming.STORAGE_TIMER.snapshot()
    first = run_real(queue.id, args.real)
    middle = args.runs - 2 * args.real
    if args.all_real:
        run_real(queue.id, middle)
        bulk = float("nan")
    else:
        bulk = bulk_store(queue.id, args.real, args.runs - args.real, args.batch)
        if db_engine.get_engine().dialect.name == "postgresql":
            upkeep(url)
    last = run_real(queue.id, args.real)
    status = queue.status()
    assert status["succeeded"] == args.runs, status
    leaderboard_first, leaderboard_best, leaderboard_cpu = best(queue.leaderboard, args.repeat)
    _, status_best, _ = best(queue.status, args.repeat)
    _, table_best, table_cpu = best(queue.metrics_to_pandas, args.repeat)
    size, parts = bytes_per_run(url, args.runs)
    arrays_now, arrays_before = prediction_arrays_before_after(queue.id)
    db_engine.dispose()
    page = dashboard_process(url, queue.id)
    return {
        "database": label, "runs": args.runs,
        "first claim+store ms": first["claim+store ms"], "last claim+store ms": last["claim+store ms"],
        "last/first": last["claim+store ms"] / first["claim+store ms"],
        "first wall ms/run": first["wall ms"], "last wall ms/run": last["wall ms"],
        "bulk-stored s": bulk,
        "leaderboard s": leaderboard_best, "leaderboard cpu s": leaderboard_cpu,
        "leaderboard first s": leaderboard_first, "status ms": 1000 * status_best,
        "metrics_to_pandas s": table_best, "metrics_to_pandas cpu s": table_cpu,
        "page first ms": page["first"], "ties shown ms": page["ties_ms"], "page later ms": page["later"],
        "warm-up s": page["warm_s"], "page after warm-up ms": page["warmed"], "dashboard MB": page["peak_mb"],
        "bytes/run": size, "parts": parts, "arrays now": arrays_now, "arrays before": arrays_before,
    }


def measure_only(path: Path, load: tuple[float, float, float]) -> None:
    """The dashboard part alone, over the newest queue of a database kept by ``--keep``."""
    if not path.exists():
        raise SystemExit(f"--measure-only {path}: no such file; build one with --keep {path}")
    with contextlib.closing(sqlite3.connect(path)) as raw:
        queue_id, runs = raw.execute(
            "SELECT queue_id, count(*) FROM job WHERE queue_id = (SELECT max(id) FROM queue)").fetchone()
    page = dashboard_process(f"sqlite:///{path.resolve()}", queue_id)
    print(f"queue {queue_id}, {runs:,} runs: page first {page['first']:.0f} ms (ties shown after "
          f"{page['ties_ms']:.0f} ms), later {page['later']:.0f} ms, "
          f"warm-up {page['warm_s']:.2f} s, after warm-up {page['warmed']:.0f} ms, dashboard peak "
          f"{page['peak_mb']:.0f} MB")
    print(f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, at end "
          + " ".join(f"{value:.2f}" for value in os.getloadavg()))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--real", type=int, default=1_000, help="runs run for real at the start and at the end")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=2_000, help="bulk-stored runs per transaction")
    parser.add_argument("--all-real", action="store_true", help="run every run for real (slow)")
    parser.add_argument("--repeat", type=int, default=3, help="timings per call; the best is reported")
    parser.add_argument("--postgres", default=board_bench.POSTGRES_ADMIN,
                        help="admin URL of a PostgreSQL server (a scratch database is made), or 'none'")
    parser.add_argument("--sqlite", default="yes", choices=["yes", "no"])
    parser.add_argument("--keep", type=Path, default=None,
                        help="build the SQLite database at this path and keep it (for --measure-only later)")
    parser.add_argument("--measure-only", type=Path, default=None, metavar="PATH",
                        help="only measure the dashboard over the newest queue of this SQLite database")
    args = parser.parse_args()
    load = os.getloadavg()
    if args.measure_only is not None:
        measure_only(args.measure_only, load)
        return
    results = []
    if args.sqlite == "yes" and args.keep is not None:
        if args.keep.exists():
            parser.error(f"--keep {args.keep}: the file exists; name a new path or remove it")
        results.append(bench(f"sqlite:///{args.keep.resolve()}", "SQLite", args))
    elif args.sqlite == "yes":
        with tempfile.TemporaryDirectory() as folder:
            results.append(bench(f"sqlite:///{folder}/scale.sqlite3", "SQLite", args))
    if args.postgres != "none" and (scratch := board_bench.postgres_database(args.postgres)) is not None:
        url, drop = scratch
        try:
            results.append(bench(url, "PostgreSQL", args))
        finally:
            drop()
    columns = [column for column in results[0] if column not in ("parts", "arrays now", "arrays before")]
    widths = [max(len(c), *(len(_cell(r[c])) for r in results)) for c in columns]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    for result in results:
        print("  ".join(_cell(result[c]).rjust(w) for c, w in zip(columns, widths, strict=True)))
    for result in results:
        print(f"{result['database']}: bytes per run by column: "
              + ", ".join(f"{name} {value:.0f}" for name, value in result["parts"]))
        print(f"{result['database']}: one run's prediction arrays {result['arrays now']:,} bytes; stored with each "
              f"split's rows and true labels (before they were read from the splitset) {result['arrays before']:,}")
    print(f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, at end "
          + " ".join(f"{value:.2f}" for value in os.getloadavg()))
    print("targets: last/first <= 1.2, leaderboard < 1 s, status < 50 ms, metrics_to_pandas < 5 s, page first "
          "< 300 ms, page later < 100 ms, dashboard < 500 MB")


if __name__ == "__main__":
    main()
