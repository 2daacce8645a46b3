"""Tabular pipeline overhead: ``Pipeline.Tabular.make`` against the same work done directly with pandas + sklearn.

Data: ``--rows`` rows (default 1,000,000) x 20 float columns + 2 text columns + a 3-class text label.
Work, both ways: a stratified test split (20 %) and 5 stratified folds on the rest; OneHotEncoder on the label
and on the text columns (all rows), StandardScaler on the floats fitted on the train split and on each fold's
train rows; then the encoded arrays of fold 0 (train and validation), as the first training job receives them.
The pipeline additionally stores everything in a SQLite file (dataset as Parquet, folds, fitted encoders).

Each approach runs in a child forked from the process that built the DataFrame, so both start from the same
memory state; peak memory is the child's peak RSS above its RSS at the start (Linux ``VmHWM``), which counts
numpy, Arrow and SQLite buffers alike. Targets: at most 1.1x the direct time and under 2x its peak memory. The
CPU seconds of each child are printed beside the wall time: on a shared machine they move less with its load
(the pipeline's waits on the disk are in the wall time only).

    python benchmarks/pipeline.py --rows 200000
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.preprocessing import OneHotEncoder, StandardScaler

FLOATS = [f"f{i}" for i in range(20)]
TEXTS = ["city", "grade"]
SIZE_TEST, FOLDS, SEED = 0.2, 5, 0


def make_frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    data = {name: rng.normal(size=rows) for name in FLOATS}
    data["city"] = pd.Series(rng.choice(["oslo", "rome", "lima", "pune", "kyiv", "lyon", "bern"], size=rows),
                             dtype="str")
    data["grade"] = pd.Series(rng.choice(list("ABCDE"), size=rows), dtype="str")
    data["label"] = pd.Series(rng.choice(["low", "mid", "high"], p=[0.5, 0.3, 0.2], size=rows), dtype="str")
    return pd.DataFrame(data)


def direct(df: pd.DataFrame, folder: Path) -> tuple[int, int]:
    """The same work with pandas and scikit-learn only, nothing persisted."""
    label = df["label"]
    rows = np.arange(len(df))
    train, _test = train_test_split(rows, test_size=SIZE_TEST, stratify=label, random_state=SEED)
    folds = list(StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(train, label.iloc[train]))
    label_encoder = OneHotEncoder(sparse_output=False).fit(label.to_frame())
    text_encoder = OneHotEncoder(sparse_output=False).fit(df[TEXTS])
    floats = df[FLOATS]
    StandardScaler().fit(floats.iloc[train])
    scalers = [StandardScaler().fit(floats.iloc[train[fold_train]]) for fold_train, _ in folds]

    def encode(part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        features = np.hstack([scalers[0].transform(floats.iloc[part]), text_encoder.transform(df[TEXTS].iloc[part])])
        return features.astype(np.float32), label_encoder.transform(label.iloc[part].to_frame()).astype(np.float32)

    fold_train, fold_validation = folds[0]
    train_x, _ = encode(train[fold_train])
    validation_x, _ = encode(train[fold_validation])
    return train_x.shape[1], len(train_x) + len(validation_x)


def pipeline(df: pd.DataFrame, folder: Path) -> tuple[int, int]:
    """``Pipeline.Tabular.make`` and the samples of fold 0."""
    import assay

    splitset = assay.Pipeline.Tabular.make(
        df, label_column="label", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"]),
                          dict(sklearn_preprocess=OneHotEncoder(), dtypes=["str"])],
        size_test=SIZE_TEST, fold_count=FOLDS, seed=SEED,
    )
    train = splitset.samples_for("train", 0)
    validation = splitset.samples_for("validation", 0)
    return train["features"].shape[1], len(train["features"]) + len(validation["features"])


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status (this benchmark needs Linux)")


def _child(work: Callable, df: pd.DataFrame, folder: Path, connection) -> None:
    if work is pipeline:
        import assay

        assay.setup(f"sqlite:///{folder}/bench.sqlite3")  # migrating is setup, not part of the measured work
        assert assay.Pipeline  # its modules imported before the clock starts, as the direct approach's are
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS to the current RSS
    start_kb = _status_kb("VmRSS")
    started, cpu_started = time.perf_counter(), time.process_time()
    width, rows = work(df, folder)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    connection.send((seconds, cpu_seconds, (_status_kb("VmHWM") - start_kb) * 1024, width, rows))


def measure(work: Callable, df: pd.DataFrame) -> tuple[float, float, int, int, int]:
    """Seconds, CPU seconds, peak extra bytes, encoded width and encoded rows of ``work`` in a forked child."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    with tempfile.TemporaryDirectory() as folder:
        process = context.Process(target=_child, args=(work, df, Path(folder), send))
        process.start()
        result = receive.recv()
        process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the synthetic table")
    args = parser.parse_args()
    df = make_frame(args.rows)
    frame_bytes = int(df.memory_usage(deep=True).sum())
    results = {name: measure(work, df) for name, work in (("direct pandas+sklearn", direct), ("pipeline", pipeline))}
    (d_seconds, d_cpu, d_bytes, d_width, d_rows), (p_seconds, p_cpu, p_bytes, p_width, p_rows) = results.values()
    assert (d_width, d_rows) == (p_width, p_rows), "both approaches must produce the same arrays"

    mb = 2**20
    print(f"{args.rows:,} rows x {df.shape[1]} columns; DataFrame memory {frame_bytes / mb:,.0f} MB; "
          f"fold-0 arrays {p_rows:,} x {p_width}")
    print(f"{'approach':<24}{'seconds':>10}{'CPU s':>8}{'peak MB':>10}{'x DataFrame':>13}")
    for name, (seconds, cpu, peak, _, _) in results.items():
        print(f"{name:<24}{seconds:>10.2f}{cpu:>8.2f}{peak / mb:>10.0f}{peak / frame_bytes:>13.2f}")
    time_ratio, memory_ratio = p_seconds / d_seconds, p_bytes / frame_bytes
    peak_ratio = p_bytes / d_bytes
    print(f"pipeline / direct time: {time_ratio:.2f}x (target <= 1.1x) "
          f"{'OK' if time_ratio <= 1.1 else 'ABOVE TARGET'}; CPU time {p_cpu / d_cpu:.2f}x")
    print(f"pipeline / direct peak memory: {peak_ratio:.2f}x (target < 2x) "
          f"{'OK' if peak_ratio < 2 else 'ABOVE TARGET'}; pipeline peak / DataFrame memory: {memory_ratio:.2f}x")
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (times on a loaded machine are longer)")


if __name__ == "__main__":
    main()
