"""Conformal prediction at alpha 0.1: test coverage and set size / interval width against naive baselines.

For each dataset and each of ``--seeds`` seeds (a new split and a new model each), a small torch MLP is trained
with ``Experiment.make``, calibrated on its validation split (``predictor.calibrate``: nothing is retrained) and
measured on its test split (``predictor.coverage("test")``). Printed per dataset and method: the mean test
coverage over the seeds (target 0.88 to 0.92 at alpha 0.1, i.e. 1 - alpha and a little above, as the finite-sample
quantile gives), its spread, and the mean set size or interval width; beside it the naive baseline:

- classification: the top class alone (a set of one; its coverage is the accuracy);
- regression: the prediction ± 1.645 standard deviations of the validation residuals (a normal 90% interval).

Datasets: wine (scikit-learn's bundled copy, 3 classes), sonar (``assay.datum``, 2 classes), houses
(``assay.datum``, regression of the price). No network.

    python benchmarks/conformal.py                 # 20 seeds
    python benchmarks/conformal.py --seeds 5 --epochs 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import pandas as pd
from sklearn.datasets import load_wine
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import assay
from assay import datum

ALPHA = 0.1


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], hp["neurons"]), nn.ReLU(),
                         nn.Linear(hp["neurons"], label_shape[0]))


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=hp["epochs"],
                                  batch_size=16, seed=hp["seed"])


def wine() -> pd.DataFrame:
    frame = load_wine(as_frame=True).frame
    return frame.assign(target=frame["target"].map({0: "class_0", 1: "class_1", 2: "class_2"}))


DATASETS = {
    "wine": dict(data=wine, label="target", analysis_type="classification_multi"),
    "sonar": dict(data=lambda: datum.to_pandas("sonar.csv"), label="object", analysis_type="classification_multi"),
    "houses": dict(data=lambda: datum.to_pandas("houses.csv"), label="price", analysis_type="regression"),
}


def trained_predictor(name: str, seed: int, epochs: int) -> assay.Predictor:
    spec = DATASETS[name]
    df = spec["data"]()
    is_classification = spec["analysis_type"].startswith("classification")
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=df, label_column=spec["label"],
        label_encoder=dict(sklearn_preprocess=OneHotEncoder() if is_classification else StandardScaler()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64", "int64"])],
        size_test=0.25, size_validation=0.25, seed=seed,
    )
    queue = assay.Experiment.make(
        library="torch", analysis_type=spec["analysis_type"], fn_build=fn_build, fn_train=fn_train,
        hyperparameters={"neurons": [16], "epochs": [epochs], "seed": [seed]}, splitset_id=splitset.id, seed=seed,
    )
    summary = queue.run_jobs(progress=False)
    if summary.failed:
        raise SystemExit(f"{name} seed {seed}: training failed: {queue.status()['errors']}")
    return queue.predictors[0]


def naive(predictor: assay.Predictor, is_classification: bool) -> dict[str, float]:
    """The naive baseline's test coverage and size: the top class alone, or ± 1.645 residual standard deviations."""
    test = predictor.predictions["test"]
    if is_classification:
        return {"coverage": float(np.mean(test.predictions.astype(str) == test.labels.astype(str).ravel())),
                "size": 1.0}
    validation = predictor.predictions["validation"]
    spread = float(np.std(validation.predictions.astype(float).ravel() - validation.labels.astype(float).ravel(),
                          ddof=1))
    residuals = np.abs(test.predictions.astype(float).ravel() - test.labels.astype(float).ravel())
    return {"coverage": float(np.mean(residuals <= 1.645 * spread)), "size": 2 * 1.645 * spread}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="assay-conformal-")
    assay.setup(f"sqlite:///{os.path.join(folder, 'bench.sqlite3')}")
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    started = time.perf_counter()
    for name in args.datasets.split(","):
        is_classification = DATASETS[name]["analysis_type"].startswith("classification")
        methods = ("lac", "aps", "mondrian") if is_classification else ("absolute",)
        for seed in range(args.seeds):
            predictor = trained_predictor(name, seed, args.epochs)
            for method in methods:
                predictor.calibrate(alpha=ALPHA, split="validation", method=method)
                measured = predictor.coverage("test")
                size = measured["mean_set_size"] if is_classification else measured["mean_interval_width"]
                results.setdefault((name, method), []).append({"coverage": measured["coverage"], "size": size,
                                                               "n": measured["n"]})
            results.setdefault((name, "naive"), []).append(naive(predictor, is_classification))
        print(f"{name}: {args.seeds} seeds done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    print(f"\nConformal prediction at alpha {ALPHA} (target test coverage 0.88-0.92), {args.seeds} seeds, "
          "calibrated on the validation split, measured on the test split")
    header = (f"{'dataset':<8} {'method':<9} {'coverage':>9} {'± std':>7} {'set size / width':>17} "
              f"{'naive coverage':>15} {'naive size / width':>19}")
    print(header)
    print("-" * len(header))
    for name in args.datasets.split(","):
        baseline = results[(name, "naive")]
        for method in [m for (dataset, m) in results if dataset == name and m != "naive"]:
            rows = results[(name, method)]
            coverages = [row["coverage"] for row in rows]
            print(f"{name:<8} {method:<9} {statistics.mean(coverages):>9.3f} "
                  f"{statistics.stdev(coverages) if len(coverages) > 1 else 0:>7.3f} "
                  f"{statistics.mean(row['size'] for row in rows):>17.3f} "
                  f"{statistics.mean(row['coverage'] for row in baseline):>15.3f} "
                  f"{statistics.mean(row['size'] for row in baseline):>19.3f}")
    test_rows = {name: rows[0]["n"] for (name, method), rows in results.items() if method != "naive"}
    print(f"\n(test rows per seed: {', '.join(f'{name} {count}' for name, count in test_rows.items())}; "
          f"{time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
