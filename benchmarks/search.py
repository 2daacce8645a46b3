"""Adaptive search and pruning against a full grid, and assay's per-trial bookkeeping against Optuna's own.

On the built-in ``sonar`` data (208 rows, 60 features, two classes) a torch MLP with five hyperparameters:

1. the full grid (270 combinations) runs once: the reference best validation accuracy;
2. random search and TPE run with a budget of a quarter of the grid, ``--seeds`` seeds each: how many runs each
   needs to come within 1 percentage point of the grid's best (median over seeds; target for TPE: at most 25% of
   the grid's runs), and the curve of best score against runs;
3. TPE with the median pruner at the same budget: total epochs trained against TPE without it (target: at least
   40% fewer) and its best score (target: within 1 point);
4. Optuna's ``study.optimize`` with SQLite storage on the same objective, in the same process: its per-trial
   bookkeeping (everything but the objective) against assay's (claim, load, store of model, history and
   predictions, and asking the sampler), in ms per trial (target: assay's no higher).

Every model's initial weights and batch order are seeded from its hyperparameters, so a combination scores the
same in every queue and in Optuna: the strategies are compared on one fixed objective.

    python benchmarks/search.py                 # the full benchmark (about half an hour on two busy cores)
    python benchmarks/search.py --seeds 2 --grid-share 1   # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import zlib

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import assay
from assay import datum
from assay.experiment import claiming

torch.set_num_threads(1)

GRID = {
    "units": [8, 32, 128],
    "lr": [0.0003, 0.001, 0.003, 0.01, 0.03],
    "weight_decay": [0.0, 0.001, 0.01],
    "dropout": [0.0, 0.25, 0.5],
    "batch_size": [16, 32],
}
EPOCHS = 30
TOLERANCE = 0.01  # one percentage point


def hp_seed(hp: dict) -> int:
    """The same seed for the same combination, wherever it runs."""
    return zlib.crc32(json.dumps(hp, sort_keys=True).encode())


def fn_build(features_shape, label_shape, **hp):
    import torch
    from torch import nn

    torch.manual_seed(hp_seed(hp))
    return nn.Sequential(nn.Linear(features_shape[0], hp["units"]), nn.ReLU(), nn.Dropout(hp["dropout"]),
                         nn.Linear(hp["units"], label_shape[0]))


def fn_optimize(model, **hp):
    import torch

    return torch.optim.Adam(model.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"])


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=EPOCHS,
                                  batch_size=hp["batch_size"], seed=hp_seed(hp))


def make_splitset():
    return assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("sonar.csv"), label_column="object",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()), feature_cols_excluded="object",
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.2, size_validation=0.3,
    )


def run_queue(splitset, **options):
    queue = assay.Experiment.make(
        library="torch", analysis_type="classification_multi", fn_build=fn_build, fn_train=fn_train,
        fn_optimize=fn_optimize, hyperparameters=GRID, splitset_id=splitset.id, **options,
    )
    started = time.perf_counter()
    summary = queue.run_jobs(progress=False)
    seconds = time.perf_counter() - started
    history = queue.search_history()
    runs = summary.succeeded + summary.failed + summary.pruned
    return {
        "values": history["value"].tolist(),
        "best_so_far": history["best_so_far"].ffill().tolist(),
        "best": float(history["best_so_far"].max()),
        "epochs": int(history["epochs"].sum()),
        "pruned": int((history["state"] == "pruned").sum()),
        "seconds": seconds,
        "storage_ms": 1000 * sum(summary.storage_seconds.values()) / max(runs, 1),
        "storage_by_kind": {kind: 1000 * s / max(runs, 1) for kind, s in summary.storage_seconds.items()},
    }


def runs_to_reach(best_so_far: list[float], target: float) -> int | None:
    for index, value in enumerate(best_so_far, start=1):
        if value is not None and not np.isnan(value) and value >= target - 1e-12:
            return index
    return None


def optuna_bookkeeping(splitset, trials: int, seed: int) -> dict[str, float]:
    """Optuna's study.optimize with SQLite storage on the same objective: ms per trial outside the objective."""
    import optuna

    import assay_torch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    backend_samples = {}
    for split in ("train", "validation"):
        raw = splitset.samples_for(split)
        backend_samples[split] = {"features": torch.as_tensor(raw["features"], dtype=torch.float32),
                                  "labels": torch.as_tensor(np.argmax(raw["labels"], axis=1), dtype=torch.long)}
    features_shape, label_shape = tuple(splitset.features_shape), tuple(splitset.label_shape)
    inside = []

    def objective(trial):
        started = time.perf_counter()
        hp = {name: trial.suggest_categorical(name, values) for name, values in GRID.items()}
        model = fn_build(features_shape, label_shape, **hp)
        optimizer = fn_optimize(model, **hp)
        history = assay_torch.fit(model, torch.nn.CrossEntropyLoss(), optimizer, backend_samples["train"],
                                  backend_samples["validation"], epochs=EPOCHS, batch_size=hp["batch_size"],
                                  seed=hp_seed(hp))
        inside.append(time.perf_counter() - started)
        return history["val_accuracy"][-1]

    with tempfile.TemporaryDirectory() as folder:
        storage = f"sqlite:///{folder}/optuna.sqlite3"
        study = optuna.create_study(storage=storage, direction="maximize",
                                    sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True,
                                                                       constant_liar=True))
        started = time.perf_counter()
        study.optimize(objective, n_trials=trials)
        total = time.perf_counter() - started
    return {"ms_per_trial": 1000 * (total - sum(inside)) / trials, "objective_s": sum(inside) / trials}


def curve_points(budget: int) -> list[int]:
    points = [5, 10, 20, 30, 40, 50, 67, 100, 135, 200, 270]
    return [p for p in points if p <= budget] + ([budget] if budget not in points else [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per strategy (default 5)")
    parser.add_argument("--budget-share", type=float, default=0.25,
                        help="search budget as a share of the grid's runs (default 0.25)")
    parser.add_argument("--grid-share", type=float, default=1.0,
                        help="run this share of the grid as the reference (1: all of it, as the target says)")
    parser.add_argument("--url", default=None, help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="assay-search-bench-")
    assay.setup(args.url or f"sqlite:///{folder}/bench.sqlite3")
    splitset = make_splitset()
    grid_size = int(np.prod([len(v) for v in GRID.values()]))
    budget = max(10, round(grid_size * args.budget_share))
    print(f"sonar: {splitset.split_sizes}; torch MLP, {len(GRID)} hyperparameters, grid of {grid_size}, "
          f"{EPOCHS} epochs; budget {budget} runs; {args.seeds} seeds")

    grid_options = {"seed": 0}
    if args.grid_share < 1:
        grid_options.update(search="random", search_count=round(grid_size * args.grid_share))
    grid = run_queue(splitset, **grid_options)
    grid_best = grid["best"]
    target = grid_best - TOLERANCE
    print(f"grid: {len(grid['values'])} runs in {grid['seconds']:.0f} s, best validation accuracy {grid_best:.4f}")

    results: dict[str, list[dict]] = {"random": [], "tpe": [], "tpe+median": []}
    for seed in range(1, args.seeds + 1):
        results["random"].append(run_queue(splitset, search="random", search_count=budget, seed=seed))
        results["tpe"].append(run_queue(splitset, search="tpe", search_count=budget, seed=seed))
        results["tpe+median"].append(run_queue(splitset, search="tpe", search_count=budget, seed=seed,
                                               pruner="median"))
        print(f"seed {seed}: " + ", ".join(f"{name} best {runs[-1]['best']:.4f} ({runs[-1]['seconds']:.0f} s)"
                                          for name, runs in results.items()), flush=True)

    print("\nBest validation accuracy against runs (grid: in grid order; others: mean over seeds)")
    points = curve_points(max(budget, len(grid["values"])))
    print(f"{'runs':>6} | {'grid':>7} | {'random':>7} | {'tpe':>7} | {'tpe+median':>10}")
    for point in points:
        row = [grid["best_so_far"][point - 1] if point <= len(grid["best_so_far"]) else float("nan")]
        for name in ("random", "tpe", "tpe+median"):
            values = [r["best_so_far"][point - 1] for r in results[name] if point <= len(r["best_so_far"])]
            row.append(float(np.nanmean(values)) if values else float("nan"))
        print(f"{point:>6} | {row[0]:>7.4f} | {row[1]:>7.4f} | {row[2]:>7.4f} | {row[3]:>10.4f}")

    print(f"\nRuns to come within 1 point of the grid's best ({target:.4f}); budget {budget}, grid {grid_size}")
    print(f"{'strategy':>10} | {'per seed':>28} | {'median':>6} | {'share of grid':>13} | target <= 25%")
    for name in ("random", "tpe", "tpe+median"):
        reached = [runs_to_reach(r["best_so_far"], target) for r in results[name]]
        numbers = [n if n is not None else float("inf") for n in reached]
        median = statistics.median(numbers)
        share = median / grid_size
        verdict = "met" if share <= 0.25 else "missed"
        text = ", ".join("-" if n is None else str(n) for n in reached)
        print(f"{name:>10} | {text:>28} | {median:>6} | {share:>12.1%} | {verdict if name == 'tpe' else ''}")

    tpe_epochs = statistics.median(r["epochs"] for r in results["tpe"])
    pruned_epochs = statistics.median(r["epochs"] for r in results["tpe+median"])
    tpe_best = statistics.median(r["best"] for r in results["tpe"])
    pruned_best = statistics.median(r["best"] for r in results["tpe+median"])
    fall = 1 - pruned_epochs / tpe_epochs
    print("\nMedian pruner (median over seeds)")
    print(f"{'':>12} | {'epochs':>7} | {'pruned runs':>11} | {'best':>7} | {'seconds':>7}")
    for name, epochs, best in (("tpe", tpe_epochs, tpe_best), ("tpe+median", pruned_epochs, pruned_best)):
        pruned = statistics.median(r["pruned"] for r in results[name])
        seconds = statistics.median(r["seconds"] for r in results[name])
        print(f"{name:>12} | {epochs:>7.0f} | {pruned:>11.0f} | {best:>7.4f} | {seconds:>7.1f}")
    same_best = abs(pruned_best - tpe_best) <= TOLERANCE
    print(f"epochs fall by {fall:.0%} (target >= 40%: {'met' if fall >= 0.4 else 'missed'}); best score "
          f"{pruned_best - tpe_best:+.4f} (target within 0.01: {'met' if same_best else 'missed'})")

    optuna_numbers = optuna_bookkeeping(splitset, trials=budget, seed=1)
    assay_ms = statistics.median(r["storage_ms"] for r in results["tpe"])
    kinds = results["tpe"][0]["storage_by_kind"]
    print(f"\nPer-trial bookkeeping, TPE, {budget} trials (objective ~{optuna_numbers['objective_s'] * 1000:.0f} ms)")
    print(f"{'':>34} | ms per trial")
    print(f"{'optuna study.optimize, SQLite':>34} | {optuna_numbers['ms_per_trial']:>8.1f}")
    print(f"{'assay run_jobs, SQLite (+model, predictions)':>34} | {assay_ms:>8.1f}   "
          f"({', '.join(f'{k} {v:.1f}' for k, v in sorted(kinds.items()))})")
    ratio = assay_ms / optuna_numbers["ms_per_trial"]
    print(f"assay / optuna: {ratio:.2f}x (target <= 1.00: {'met' if ratio <= 1 else 'missed'})")
    print(f"\nclaim/store storage from assay.experiment.claiming.STORAGE_TIMER; database in {folder}")
    _ = claiming


if __name__ == "__main__":
    main()
