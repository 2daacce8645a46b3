"""MLflow export at scale: ``queue.to_mlflow()`` of a queue of 1,000 trained models.

The queue is made with ``Experiment.make`` on iris (torch, a 10 x 10 x 10 grid), then every job is claimed and its
results written through the runner's own storage function (``runner._store``: the Predictor row with a real
model's bytes, its 30-epoch history, one Prediction per split with its arrays and metrics, and the job's success,
in one transaction per job, as ``run_jobs`` does). Nothing is trained but one real model whose bytes every
predictor shares: the benchmark measures the export, not training.

Rows printed, per MLflow store (a SQLite store and a file store, in a temporary folder):

- ``export``: the first export of the 1,000 predictors with ``artifacts=False, models=False``: a parent run and
  1,000 child runs, each with its params, 24 split metrics and 120 learning-curve points (``log_batch``).
  Target: under 60 s.
- ``export again``: the same call once the runs exist (each run read back, nothing to add).
- ``one call per value``: the baseline, in the same process: the same runs written with one
  ``log_param``/``log_metric`` call per value (MLflow's per-value API, as a hand-written loop would), timed on
  ``--baseline`` predictors and scaled to the queue; the ratio is the export's speed-up.
- ``with artifacts and models``: ``--full`` predictors of a second queue exported with everything (plots drawn as
  PNG, the bundle, the model logged with ``mlflow.pytorch``); seconds per predictor.

    python benchmarks/mlflow_export.py                   # 1,000 predictors
    python benchmarks/mlflow_export.py --runs 200 --baseline 20 --full 3
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sqlalchemy import update

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no usage reports from a benchmark
os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3.x refuses a file store unless allowed

import assay  # noqa: E402
from assay import datum  # noqa: E402
from assay.db import engine as db_engine  # noqa: E402
from assay.db.models import JobRow  # noqa: E402
from assay.experiment import arrays, runner  # noqa: E402

METRICS = ["accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "loss"]
SPLIT_ROWS = {"train": 99, "validation": 18, "test": 33}
EPOCHS = 30
WORKER = "mlflow-benchmark"


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], 8), nn.ReLU(), nn.Linear(8, 3), nn.Softmax(dim=1))


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=2, seed=0)


def splitset() -> assay.Splitset:
    return assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.22, size_validation=0.12,
    )


def grid_for(runs: int) -> dict[str, list[int]]:
    side = round(runs ** (1 / 3))
    if side**3 == runs:
        return {"neurons": list(range(side)), "batch_size": list(range(side)), "epoch_count": list(range(side))}
    return {"run": list(range(runs))}


def store_runs(queue: assay.Queue, model_blob: bytes, rng: np.random.Generator) -> float:
    """Claim every job and store a result with ``runner._store``; returns the seconds taken."""
    classes = np.array(["setosa", "versicolor", "virginica"])
    blobs = {}
    for split, count in SPLIT_ROWS.items():
        probabilities = rng.dirichlet(np.ones(3), size=count)
        blobs[split] = arrays.dumps(row_indices=np.arange(count), predictions=classes[probabilities.argmax(1)],
                                    probabilities=probabilities, labels=classes[rng.integers(0, 3, count)],
                                    classes=classes)
    started = time.perf_counter()
    with db_engine.session_scope() as session:  # what claim_next does, for all jobs at once
        session.execute(update(JobRow).where(JobRow.queue_id == queue.id)
                        .values(status="running", worker=WORKER, attempts=1))
    for job in queue.jobs:
        history = {key: rng.random(EPOCHS).tolist() for key in ("loss", "accuracy", "val_loss", "val_accuracy")}
        predictor = {"model_format": "torch", "model_blob": model_blob, "history": history, "features_shape": [4],
                     "label_shape": [3], "versions": {}, "seconds_train": 0.1, "seconds_total": 0.2}
        evaluated = [runner._Evaluated(split, blobs[split], dict(zip(METRICS, rng.random(len(METRICS)).tolist(),
                                                                     strict=True)), count)
                     for split, count in SPLIT_ROWS.items()]
        runner._store(job.id, WORKER, predictor, evaluated)
    return time.perf_counter() - started


def one_call_per_value(queue: assay.Queue, uri: str, count: int) -> float:
    """Seconds to write ``count`` of the queue's predictors with one MLflow call per param and metric value."""
    import mlflow

    client = mlflow.MlflowClient(uri)
    experiment = client.create_experiment(f"baseline {time.time()}")
    parent = client.create_run(experiment, run_name="baseline")
    started = time.perf_counter()
    for predictor in queue.predictors[:count]:
        run = client.create_run(experiment, tags={"mlflow.parentRunId": parent.info.run_id,
                                                  "assay.predictor_id": str(predictor.id)})
        run_id = run.info.run_id
        for name, value in predictor.hyperparameters.items():
            client.log_param(run_id, name, value)
        client.log_param(run_id, "repeat", predictor.repeat_index)
        for split, metrics in predictor.metrics.items():
            for name, value in metrics.items():
                client.log_metric(run_id, f"{split}_{name}", value)
        for key, values in predictor.history.items():
            for step, value in enumerate(values, 1):
                client.log_metric(run_id, key, value, step=step)
        client.set_terminated(run_id)
    return time.perf_counter() - started


def bench(store: str, uri: str, queue: assay.Queue, full_queue: assay.Queue, baseline: int) -> list[list[str]]:
    import mlflow

    runs = len(queue.predictors)
    mlflow.MlflowClient(uri).search_experiments()  # the store made (a new SQLite store migrates) before timing
    started = time.perf_counter()
    summary = queue.to_mlflow(tracking_uri=uri, experiment_name="benchmark", artifacts=False, models=False)
    seconds = time.perf_counter() - started
    assert summary.created == runs, summary
    started = time.perf_counter()
    again = queue.to_mlflow(tracking_uri=uri, experiment_name="benchmark", artifacts=False, models=False)
    seconds_again = time.perf_counter() - started
    assert (again.created, again.updated) == (0, 0), again
    per_value = one_call_per_value(queue, uri, baseline) / baseline * runs
    started = time.perf_counter()
    full = full_queue.to_mlflow(tracking_uri=uri, experiment_name="benchmark full")
    seconds_full = (time.perf_counter() - started) / full.created
    return [
        [store, "export", str(runs), f"{seconds:.1f}", f"{seconds / runs * 1000:.0f}", "1.00"],
        [store, "export again", str(runs), f"{seconds_again:.1f}", f"{seconds_again / runs * 1000:.0f}",
         f"{seconds_again / seconds:.2f}"],
        [store, f"one call per value (from {baseline})", str(runs), f"{per_value:.1f}",
         f"{per_value / runs * 1000:.0f}", f"{per_value / seconds:.2f}"],
        [store, "with artifacts and models", str(full.created), f"{seconds_full * full.created:.1f}",
         f"{seconds_full * 1000:.0f}", "-"],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="predictors in the queue (default 1000)")
    parser.add_argument("--baseline", type=int, default=20, help="predictors the per-value baseline writes")
    parser.add_argument("--full", type=int, default=3, help="predictors exported with artifacts and models")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="assay-mlflow-bench-") as folder:
        os.chdir(folder)  # a SQLite store's artifacts go to ./mlruns
        assay.setup(f"sqlite:///{Path(folder) / 'assay.sqlite3'}")
        data = splitset()
        trained = assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=fn_build,
                                        fn_train=fn_train, splitset_id=data.id, seed=0)
        trained.run_jobs(progress=False)
        model_blob = trained.predictors[0].model_blob
        queues = []
        for runs in (args.runs, args.full):
            queue = assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=fn_build,
                                          fn_train=fn_train, hyperparameters=grid_for(runs), splitset_id=data.id,
                                          seed=0)
            seconds_store = store_runs(queue, model_blob, rng)
            queues.append(queue)
        print(f"stored {args.runs} + {args.full} predictors in the assay database "
              f"({seconds_store:.1f} s for the last queue)")
        rows = []
        for store, uri in (("sqlite", f"sqlite:///{Path(folder) / 'mlflow.db'}"),
                           ("file", (Path(folder) / "mlruns-file").as_uri())):
            rows += bench(store, uri, queues[0], queues[1], args.baseline)
    header = ["store", "what", "predictors", "seconds", "ms per predictor", "ratio to export"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    print(f"target: the first export of {args.runs} predictors under 60 s (mlflow_export.export_queue batches each "
          "run's data in MlflowClient.log_batch)")


if __name__ == "__main__":
    main()
