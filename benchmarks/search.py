"""Adaptive search and pruning against a full grid, and assay's per-trial bookkeeping against Optuna's own.

On the built-in ``sonar`` data (208 rows, 60 features, two classes) a torch MLP with five hyperparameters:

1. the full grid (270 combinations) runs once: the reference best validation accuracy;
2. random search and TPE with a budget of a quarter of the grid, ``--seeds`` seeds each: how many runs each needs
   to come within 1 percentage point of the grid's best (median over seeds; target for TPE: at most 25% of the
   grid's runs), and the curve of best score against runs;
3. TPE with the median pruner at the same budget: total epochs trained against TPE without it (target: at least
   40% fewer) and its best score (target: within 1 point);
4. Optuna's ``study.optimize`` with SQLite storage on the same objective, in the same process: its per-trial
   bookkeeping (everything but the objective) against assay's, in ms per trial (target: assay's no higher).

Every model's initial weights, dropout and batch order are seeded from its hyperparameters, so a combination scores
the same in every queue and in Optuna: the strategies are compared on one fixed objective. That is what lets the
grid's run be reused: random search over lists runs a seeded subset of the grid, in grid order, so its curve is
read from the grid's scores (``assay.experiment.search.strategies.initial_combinations``, the very subset a random
queue runs).
``--real-random N`` runs the first N random seeds as queues too and checks their scores equal the grid's.
TPE, with and without the pruner, always runs as real queues (it chooses from the scores it sees).

    python benchmarks/search.py                    # the full benchmark: full grid, 5 seeds (5-8 min on 2 busy cores)
    python benchmarks/search.py --seeds 2          # quicker
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
from assay.experiment.search import space_checks, strategies

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


def key(hp: dict) -> str:
    return json.dumps(hp, sort_keys=True)


def run_queue(splitset, **options) -> dict:
    """Run one queue in this process; its curve, epochs and per-trial overhead."""
    queue = assay.Experiment.make(
        library="torch", analysis_type="classification_multi", fn_build=fn_build, fn_train=fn_train,
        fn_optimize=fn_optimize, hyperparameters=GRID, splitset_id=splitset.id, **options,
    )
    started = time.perf_counter()
    summary = queue.run_jobs(progress=False)
    seconds = time.perf_counter() - started
    history = queue.search_history()
    runs = summary.succeeded + summary.failed + summary.pruned
    trained = sum(predictor.seconds_train for predictor in queue.predictors)
    return {
        "combos": [key({name: row[name] for name in GRID}) for _, row in history.iterrows()],
        "values": history["value"].tolist(),
        "best_so_far": history["best_so_far"].tolist(),
        "best": float(history["best_so_far"].max()),
        "epochs": int(history["epochs"].sum()),
        "pruned": int((history["state"] == "pruned").sum()),
        "seconds": seconds,
        "storage_ms": 1000 * sum(summary.storage_seconds.values()) / max(runs, 1),
        "storage_by_kind": {kind: 1000 * s / max(runs, 1) for kind, s in summary.storage_seconds.items()},
        "outside_training_ms": 1000 * (seconds - trained) / max(runs, 1),
    }


def random_from_grid(grid: dict, budget: int, seed: int) -> dict:
    """A random queue's curve read from the grid's scores: the subset and order a random queue runs."""
    combos = strategies.initial_combinations("random", space_checks.check_space(GRID), budget, None, seed)
    score = dict(zip(grid["combos"], grid["values"], strict=True))
    values = [score[key(combo)] for combo in combos]
    return {"combos": [key(c) for c in combos], "values": values,
            "best_so_far": list(np.maximum.accumulate(values)), "best": max(values)}


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


def curve_points(budget: int, grid_size: int) -> list[int]:
    points = [1, 5, 10, 15, 20, 30, 40, 50, 60, budget, 100, 135, 200, grid_size]
    return sorted({p for p in points if p <= grid_size})


def print_curves(grid: dict, results: dict, budget: int, grid_size: int) -> None:
    names = list(results)
    print("\nBest validation accuracy against runs (grid: in grid order; others: median over seeds)")
    print(f"{'runs':>6} | {'grid':>7} | " + " | ".join(f"{name:>10}" for name in names))
    for point in curve_points(budget, grid_size):
        cells = [f"{grid['best_so_far'][point - 1]:>7.4f}"]
        for name in names:
            values = [r["best_so_far"][point - 1] for r in results[name] if point <= len(r["best_so_far"])]
            cells.append(f"{float(np.nanmedian(values)):>10.4f}" if values else f"{'':>10}")
        print(f"{point:>6} | " + " | ".join(cells))


def print_runs_to_reach(grid: dict, results: dict, target: float, grid_size: int) -> None:
    print(f"\nRuns to come within 1 point of the grid's best (>= {target:.4f}); grid of {grid_size}, "
          f"target for TPE: median <= {0.25 * grid_size:.1f} runs (25%)")
    print(f"{'strategy':>10} | {'per seed':>30} | {'median':>6} | {'share of grid':>13} |")
    grid_reached = runs_to_reach(grid["best_so_far"], target)
    print(f"{'grid':>10} | {'(one order)':>30} | {grid_reached:>6} | {grid_reached / grid_size:>13.1%} |")
    for name, runs in results.items():
        reached = [runs_to_reach(r["best_so_far"], target) for r in runs]
        median = statistics.median(n if n is not None else float("inf") for n in reached)
        text = ", ".join("-" if n is None else str(n) for n in reached)
        verdict = ("met" if median <= 0.25 * grid_size else "NOT met") if name == "tpe" else ""
        shown = ("-", "-") if np.isinf(median) else (f"{median:g}", f"{median / grid_size:.1%}")
        print(f"{name:>10} | {text:>30} | {shown[0]:>6} | {shown[1]:>13} | {verdict}")
    print("('-': not reached within the budget)")


def print_pruning(results: dict) -> None:
    tpe, pruned = results["tpe"], results["tpe+median"]
    print("\nMedian pruner against TPE alone (same seeds, same budget)")
    print(f"{'seed':>5} | {'tpe epochs':>10} | {'+median epochs':>14} | {'fall':>5} | {'pruned runs':>11} | "
          f"{'tpe best':>8} | {'+median best':>12}")
    for seed, (a, b) in enumerate(zip(tpe, pruned, strict=True), start=1):
        print(f"{seed:>5} | {a['epochs']:>10} | {b['epochs']:>14} | {1 - b['epochs'] / a['epochs']:>5.0%} | "
              f"{b['pruned']:>11} | {a['best']:>8.4f} | {b['best']:>12.4f}")
    tpe_epochs, pruned_epochs = statistics.median(r["epochs"] for r in tpe), statistics.median(
        r["epochs"] for r in pruned)
    tpe_best, pruned_best = statistics.median(r["best"] for r in tpe), statistics.median(r["best"] for r in pruned)
    fall = 1 - pruned_epochs / tpe_epochs
    same_best = pruned_best >= tpe_best - TOLERANCE - 1e-12
    print(f"{'median':>5} | {tpe_epochs:>10.0f} | {pruned_epochs:>14.0f} | {fall:>5.0%} | "
          f"{statistics.median(r['pruned'] for r in pruned):>11.0f} | {tpe_best:>8.4f} | {pruned_best:>12.4f}")
    print(f"epochs fall by {fall:.0%} (target >= 40%: {'met' if fall >= 0.4 else 'NOT met'}); best score "
          f"{pruned_best - tpe_best:+.4f} (target: no more than 1 point lower: {'met' if same_best else 'NOT met'})")


def print_bookkeeping(results: dict, optuna_numbers: dict, budget: int) -> None:
    tpe = results["tpe"]
    assay_ms = statistics.median(r["storage_ms"] for r in tpe)
    outside_ms = statistics.median(r["outside_training_ms"] for r in tpe)
    kinds = sorted({kind for r in tpe for kind in r["storage_by_kind"]})
    by_kind = {kind: statistics.median(r["storage_by_kind"].get(kind, 0.0) for r in tpe) for kind in kinds}
    optuna_ms = optuna_numbers["ms_per_trial"]
    print(f"\nPer-trial bookkeeping, TPE, {budget} trials (training ~{optuna_numbers['objective_s'] * 1000:.0f} ms "
          "per trial); assay: median over seeds")
    print(f"{'':>52} | ms per trial | / optuna")
    print(f"{'optuna study.optimize, SQLite storage':>52} | {optuna_ms:>12.1f} |")
    print(f"{'assay run_jobs, SQLite: claim, propose, load, store':>52} | {assay_ms:>12.1f} | "
          f"{assay_ms / optuna_ms:>7.2f}x   ({', '.join(f'{k} {v:.1f}' for k, v in by_kind.items())})")
    print(f"{'assay, all outside fn_train (+predict 3 splits, metrics)':>52} | {outside_ms:>12.1f} | "
          f"{outside_ms / optuna_ms:>7.2f}x")
    ratio = assay_ms / optuna_ms
    print(f"assay / optuna bookkeeping: {ratio:.2f}x (target <= 1.00: {'met' if ratio <= 1 else 'NOT met'}); "
          "assay also stores each model, its history and its predictions on every split")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per strategy (default 5)")
    parser.add_argument("--budget-share", type=float, default=0.25,
                        help="search budget as a share of the grid's runs (default 0.25)")
    parser.add_argument("--real-random", type=int, default=1,
                        help="run this many random seeds as real queues and check them against the grid (default 1)")
    parser.add_argument("--url", default=None, help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()

    wall = time.perf_counter()
    folder = tempfile.mkdtemp(prefix="assay-search-bench-")
    assay.setup(args.url or f"sqlite:///{folder}/bench.sqlite3")
    splitset = make_splitset()
    grid_size = int(np.prod([len(v) for v in GRID.values()]))
    budget = max(10, round(grid_size * args.budget_share))
    print(f"sonar: {splitset.split_sizes}; torch MLP, {len(GRID)} hyperparameters, grid of {grid_size}, "
          f"{EPOCHS} epochs; budget {budget} runs; {args.seeds} seeds; load average {os.getloadavg()[0]:.2f}")

    grid = run_queue(splitset, seed=0)
    target = grid["best"] - TOLERANCE
    print(f"grid: {len(grid['values'])} runs in {grid['seconds']:.0f} s, best validation accuracy {grid['best']:.4f} "
          f"({sum(v >= target - 1e-12 for v in grid['values'])} combinations within 1 point)", flush=True)

    results: dict[str, list[dict]] = {"random": [], "tpe": [], "tpe+median": []}
    for seed in range(1, args.seeds + 1):
        results["random"].append(random_from_grid(grid, budget, seed))
        if seed <= args.real_random:
            real = run_queue(splitset, search="random", search_count=budget, seed=seed)
            same = real["combos"] == results["random"][-1]["combos"] and np.allclose(
                real["values"], results["random"][-1]["values"])
            print(f"random seed {seed} run as a queue ({real['seconds']:.0f} s): same combinations and scores as "
                  f"read from the grid: {'yes' if same else 'NO'}", flush=True)
            if not same:
                raise SystemExit("the objective is not deterministic per combination: the grid cannot be reused")
        results["tpe"].append(run_queue(splitset, search="tpe", search_count=budget, seed=seed))
        results["tpe+median"].append(run_queue(splitset, search="tpe", search_count=budget, seed=seed,
                                               pruner="median"))
        print(f"seed {seed}: " + ", ".join(
            f"{name} best {runs[-1]['best']:.4f}" + (f" ({runs[-1]['seconds']:.0f} s)" if "seconds" in runs[-1] else "")
            for name, runs in results.items()), flush=True)

    print_curves(grid, results, budget, grid_size)
    print_runs_to_reach(grid, results, target, grid_size)
    print_pruning(results)
    print_bookkeeping(results, optuna_bookkeeping(splitset, trials=budget, seed=1), budget)
    print(f"\nwall time {time.perf_counter() - wall:.0f} s; load average {os.getloadavg()[0]:.2f}; database in "
          f"{folder}")


if __name__ == "__main__":
    main()
