"""Scaling benchmark: a queue of small CPU-bound torch runs with 1 and 2 local workers, on SQLite and PostgreSQL.

For every database and worker count it makes a fresh database, the iris splitset and a queue of ``--runs``
runs of a tiny torch MLP, then times ``queue.run_jobs(workers=N)``. Local workers are long-lived: the processes
of one ``run_jobs`` take the next queue (see :mod:`assay.experiment.workers.pool`). By default each measurement
first runs a small warm-up queue with the same workers, untimed, so the timed queue finds them ready, as every
queue after the first one of a session does; ``--cold`` stops them before each measurement instead, so the
timed call starts its processes (Python, torch and assay imports included). It prints:

* runs per minute, wall clock from the call to its return, and "steady" (from the first job's start to the last
  job's end, i.e. without the start-up of the worker processes);
* the speed-up of 2 workers over 1 (target: at least 1.85x on 2 cores);
* the database overhead per run in ms: the time spent in assay's own storage calls (claim, load, heartbeat,
  store; see ``assay.experiment.claiming.STORAGE_TIMER``), summed over all workers and divided by the runs.
  Optuna documents about 10 ms per trial on SQLite; an assay run stores far more (the model's bytes, its
  history, predictions, probabilities and metrics of three splits).

Usage::

    python benchmarks/scaling.py                     # SQLite, plus PostgreSQL when a URL is given
    python benchmarks/scaling.py --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python benchmarks/scaling.py --runs 40 --epochs 60 --workers 1 2
    python benchmarks/scaling.py --cold --rounds 3   # worker start-up included; medians of 3 rounds

``--postgres-url`` defaults to ``ASSAY_TEST_POSTGRES_URL``; a fresh database is created on that server per
measurement and dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import assay  # noqa: E402
from assay import datum  # noqa: E402
from assay.db import engine as db_engine  # noqa: E402
from assay.db.engine import session_scope  # noqa: E402
from assay.db.models import JobRow  # noqa: E402
from assay.experiment import workers as parallel  # noqa: E402


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], hp["neuron_count"]), nn.ReLU(),
                         nn.Linear(hp["neuron_count"], label_shape[0]))


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate,
                                  epochs=hp["epoch_count"], batch_size=hp["batch_size"])


def make_queue(runs: int, epochs: int) -> assay.Queue:
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()), feature_cols_excluded="species",
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.22, size_validation=0.12,
    )
    return assay.Experiment.make(
        library="torch", analysis_type="classification_multi", fn_build=fn_build, fn_train=fn_train,
        hyperparameters={"neuron_count": [8], "batch_size": [8], "epoch_count": [epochs]}, repeat_count=runs,
        splitset_id=splitset.id, seed=1,
    )


class Database:
    """A fresh database for one measurement: a SQLite file, or a new database on a PostgreSQL server."""

    def __init__(self, kind: str, folder: Path, postgres_admin_url: str | None):
        self.kind, self.admin, self.name = kind, postgres_admin_url, None
        if kind == "sqlite":
            self.url = f"sqlite:///{folder / f'scaling-{uuid.uuid4().hex[:8]}.sqlite3'}"
        else:
            self.name = f"assay_scaling_{uuid.uuid4().hex[:10]}"
            with create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT").connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{self.name}"'))
            self.url = make_url(postgres_admin_url).set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        db_engine.dispose()
        if self.name is not None:
            with create_engine(self.admin, isolation_level="AUTOCOMMIT").connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


def measure(kind: str, workers: int, args: argparse.Namespace, folder: Path) -> dict:
    database = Database(kind, folder, args.postgres_url)
    try:
        assay.setup(database.url)
        if args.cold:
            parallel.stop_workers()  # the timed call starts its worker processes
        else:
            # the workers of an earlier queue, ready: what every queue after the first of a session finds
            warm_up = make_queue(2 * workers, 1)
            parallel.run_parallel(warm_up.id, workers=workers, threads=1, progress=False)
        queue = make_queue(args.runs, args.epochs)
        started = time.perf_counter()
        # one thread per worker: the best for small models (see run_parallel's `threads`), so that the 1-worker
        # baseline is not slowed by threads fighting over the cores
        summary = parallel.run_parallel(queue.id, workers=workers, threads=1, progress=False)
        wall = time.perf_counter() - started
        with session_scope() as session:
            first, last = session.execute(
                select(func.min(JobRow.started_at), func.max(JobRow.finished_at)).where(JobRow.queue_id == queue.id)
            ).one()
            attempts = session.execute(select(func.max(JobRow.attempts)).where(JobRow.queue_id == queue.id)).scalar()
        if summary.succeeded != args.runs or attempts != 1:
            raise RuntimeError(f"every run should succeed once: {summary}, max attempts {attempts}")
        runs = summary.succeeded
        return {
            "database": kind, "workers": workers, "wall_s": wall,
            "runs_per_min": 60 * runs / wall,
            "steady_runs_per_min": 60 * runs / (last - first).total_seconds(),
            "storage_ms_per_run": summary.storage_ms_per_run,
            "storage_ms_by_kind": {k: 1000 * v / runs for k, v in sorted(summary.storage_seconds.items())},
        }
    finally:
        parallel.stop_workers()  # their database is dropped next (PostgreSQL: they hold connections to it)
        database.drop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=48, help="runs in the queue (default 48)")
    parser.add_argument("--epochs", type=int, default=60, help="epochs of each run: its CPU cost (default 60)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default 1 2)")
    parser.add_argument("--cold", action="store_true",
                        help="stop the workers before each measurement, so the timed call starts them")
    parser.add_argument("--rounds", type=int, default=1, help="repeat every measurement; medians are reported")
    parser.add_argument("--postgres-url", default=os.environ.get("ASSAY_TEST_POSTGRES_URL"),
                        help="admin URL of a PostgreSQL server (default: $ASSAY_TEST_POSTGRES_URL; none: skip)")
    args = parser.parse_args(argv)
    kinds = ["sqlite"] + (["postgresql"] if args.postgres_url else [])
    # the speed-up is only meaningful on otherwise idle cores: print the load the machine had before and after
    print(f"{args.runs} torch runs of {args.epochs} epochs each; {os.cpu_count()} cores; "
          f"workers {args.workers}; databases {kinds}; load average before {os.getloadavg()[0]:.2f}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="assay-scaling-") as folder:
        for round_index in range(args.rounds):
            for kind in kinds:
                for workers in args.workers:
                    result = measure(kind, workers, args, Path(folder))
                    results.append(result)
                    by_kind = ", ".join(f"{k} {v:.2f}" for k, v in result["storage_ms_by_kind"].items())
                    print(f"round {round_index + 1} {kind:<10} workers={workers}  {result['wall_s']:6.1f} s  "
                          f"{result['runs_per_min']:6.1f} runs/min (steady {result['steady_runs_per_min']:6.1f})  "
                          f"db overhead {result['storage_ms_per_run']:.2f} ms/run ({by_kind})", flush=True)
    print(f"\nload average after {os.getloadavg()[0]:.2f} (other processes on these cores lower the speed-up)")
    mode = "workers started by the timed call" if args.cold else "workers ready from an earlier queue"
    print(f"\n| database | workers | wall s (median) | runs/min | speed-up vs 1, wall | speed-up, steady "
          f"| db ms/run | target |  ({mode}, {args.rounds} round(s))")
    print("|---|---|---|---|---|---|---|---|")
    for kind in kinds:
        medians = {}
        for workers in args.workers:
            rows = [r for r in results if r["database"] == kind and r["workers"] == workers]
            medians[workers] = {key: statistics.median(r[key] for r in rows)
                                for key in ("wall_s", "runs_per_min", "steady_runs_per_min", "storage_ms_per_run")}
        base = medians.get(1)
        for workers, row in medians.items():
            wall_up = row["runs_per_min"] / base["runs_per_min"] if base else float("nan")
            steady_up = row["steady_runs_per_min"] / base["steady_runs_per_min"] if base else float("nan")
            target = "" if workers == 1 else ("met" if wall_up >= 1.85 else "MISSED") + " (>= 1.85x wall)"
            print(f"| {kind} | {workers} | {row['wall_s']:.1f} | {row['runs_per_min']:.1f} | {wall_up:.2f}x "
                  f"| {steady_up:.2f}x | {row['storage_ms_per_run']:.2f} | {target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
