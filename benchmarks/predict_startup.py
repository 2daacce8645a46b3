"""Start-up of ``assay predict``: a new process predicting 6 rows with an exported bundle, against bare imports.

``assay predict`` needs no database: it reads the bundle, imports the model's library (and, for encoders
written only as skops files, scikit-learn and skops; portable encoders load with numpy alone), predicts and writes
CSV. Every command below is timed as a fresh process (the
files already in the operating system's cache: one untimed run of each first), ``--repeat`` times, and the
table shows the median and the fastest wall time, the median's ratio to ``python -c "import torch"``, and the
median CPU time (user + system; on a busy machine it varies less than the wall time):

* ``python -c pass``: the interpreter alone;
* ``python -c "import torch"`` and ``python -c "import keras"``: the library a bundle cannot predict without;
* ``python -c "import torch, pandas"``: what a torch bundle with portable encoders has to import, the floor for
  ``assay predict`` of it;
* ``python -c "import torch, pandas, sklearn.preprocessing"``: the floor for a bundle whose encoders are skops
  files only (written before portable encoders, or of classes that have no portable form);
* ``assay predict torch.assay rows.csv`` and ``assay predict keras.assay rows.csv``: iris, 6 rows, a small MLP.

A second table lists, for each bundle, which of the heavy packages the predicting process imported: a torch
bundle must not import TensorFlow, Keras, SQLAlchemy, alembic or matplotlib, and with portable encoders
(``assay_sklearn.portable``) neither scikit-learn, scipy nor skops; ``pyarrow.parquet`` only for Parquet files.
The target (issue 31): a torch bundle predicts in under 1.5 s from a cold start.

    python benchmarks/predict_startup.py                 # 5 runs of each command
    python benchmarks/predict_startup.py --repeat 9
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUIET = {"TF_ENABLE_ONEDNN_OPTS": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}
os.environ.update({name: os.environ.get(name, value) for name, value in QUIET.items()})

#: packages whose presence in the predicting process the second table reports
HEAVY = ["torch", "torch.export._trace", "tensorflow", "keras", "sklearn", "scipy", "skops", "narwhals", "pandas",
         "pyarrow.parquet", "sqlalchemy", "alembic", "matplotlib"]
#: ``assay predict ...`` as the console script runs it; then the heavy packages it imported, as JSON on stderr
PREDICT = f"""
import json, sys
from assay.cli import main
code = main(sys.argv[1:])
print(json.dumps([heavy for heavy in {HEAVY!r} if any(name == heavy or name.startswith(heavy + ".")
                                                      for name in sys.modules)]), file=sys.stderr)
sys.exit(code)
"""
TARGET_S = 1.5


def make_bundles(folder: Path) -> dict[str, Path]:
    """Train one tiny iris model per library on a throw-away SQLite file and export it; returns the bundle paths."""
    import keras
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from torch import nn

    import assay
    import assay_torch
    from assay import datum

    assay.setup(f"sqlite:///{folder / 'bench.sqlite3'}")
    df = datum.to_pandas("iris.tsv")
    df.drop(columns="species").sample(6, random_state=0).to_csv(folder / "rows.csv", index=False)
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=df, label_column="species", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])], size_test=0.2)

    def torch_build(features_shape, label_shape, **hp):
        return nn.Sequential(nn.Linear(features_shape[0], 12), nn.ReLU(), nn.Linear(12, label_shape[0]))

    def torch_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
        return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=5,
                                      batch_size=16)

    def keras_build(features_shape, label_shape, **hp):
        return keras.Sequential([keras.Input(features_shape), keras.layers.Dense(12, activation="relu"),
                                 keras.layers.Dense(label_shape[0], activation="softmax")])

    def keras_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
        model.compile(loss=loser, optimizer=optimizer)
        model.fit(samples_train["features"], samples_train["labels"], epochs=5, verbose=0)
        return model

    bundles = {}
    for library, fn_build, fn_train in (("torch", torch_build, torch_train), ("keras", keras_build, keras_train)):
        queue = assay.Experiment.make(library=library, analysis_type="classification_multi", fn_build=fn_build,
                                      fn_train=fn_train, splitset_id=splitset.id)
        queue.run_jobs(progress=False)
        bundles[library] = Path(queue.predictors[0].export(folder / f"iris_{library}.assay"))
    bundles["torch_skops"] = skops_only(bundles["torch"], folder / "iris_torch_skops.assay")
    return bundles


def skops_only(path: Path, target: Path) -> Path:
    """A copy of the bundle at ``path`` as assay wrote it before portable encoders: skops files only."""
    import zipfile

    from assay.inference.export import write_archive

    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members["manifest.json"])
    for entry in [manifest["encoders"]["label"], *manifest["encoders"]["features"]]:
        members.pop(entry.pop("portable_file", None) or "", None)
        entry.pop("portable_format", None)
    members["manifest.json"] = json.dumps(manifest).encode()
    return Path(write_archive(target, members))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


#: the timed processes' environment: Python writes and reads its bytecode caches, as in a user's installation (pip
#: compiles an installed package's modules; an editable one's are cached at their first import). A shell with
#: ``PYTHONDONTWRITEBYTECODE`` set would otherwise compile every module of assay again in each process (60 ms).
CHILD_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def run_once(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds of one fresh process running ``command``, and its stderr; raises when it fails."""
    cpu, start = _children_cpu(), time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, env=CHILD_ENV, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"{command} failed:\n{completed.stderr[-2000:]}")
    return elapsed, _children_cpu() - cpu, completed.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each command (default 5)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="assay-predict-bench-") as tmp:
        folder = Path(tmp)
        # made in a child process: training imports both libraries, and only the timed processes should
        subprocess.run([sys.executable, __file__, "--make-bundles-in", tmp], check=True)
        python = sys.executable
        commands = {
            "python -c pass": [python, "-c", "pass"],
            'python -c "import torch"': [python, "-c", "import torch"],
            'python -c "import keras"': [python, "-c", "import keras"],
            'python -c "import torch, pandas"': [python, "-c", "import torch, pandas"],
            'python -c "import torch, pandas, sklearn.preprocessing"':
                [python, "-c", "import torch, pandas, sklearn.preprocessing"],
            "assay predict iris_torch.assay rows.csv": [python, "-c", PREDICT, "predict", "iris_torch.assay",
                                                        "rows.csv", "-o", "torch.csv"],
            "assay predict iris_keras.assay rows.csv": [python, "-c", PREDICT, "predict", "iris_keras.assay",
                                                        "rows.csv", "-o", "keras.csv"],
            "assay predict iris_torch_skops.assay rows.csv (skops only)": [
                python, "-c", PREDICT, "predict", "iris_torch_skops.assay", "rows.csv", "-o", "torch-skops.csv"],
        }
        timings: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}
        imported: dict[str, list[str]] = {}
        for name, command in commands.items():
            *_, stderr = run_once(command, folder)  # untimed: fills the file cache and the bytecode caches
            if name.startswith("assay predict"):
                imported[name] = json.loads(stderr.strip().splitlines()[-1])
        for _ in range(args.repeat):  # interleaved, so a burst of load elsewhere hits every command alike
            for name, command in commands.items():
                wall, seconds, _ = run_once(command, folder)
                timings.setdefault(name, []).append(wall)
                cpu.setdefault(name, []).append(seconds)

    baseline = statistics.median(timings['python -c "import torch"'])
    width = max(map(len, commands))
    print(f"\nCold start, {args.repeat} fresh processes each ({sys.platform}, Python {sys.version.split()[0]})\n")
    print(f"{'command':<{width}}  {'median s':>9}  {'fastest s':>9}  {'x import torch':>14}  {'CPU s':>6}")
    for name, values in timings.items():
        median = statistics.median(values)
        print(f"{name:<{width}}  {median:>9.2f}  {min(values):>9.2f}  {median / baseline:>14.2f}  "
              f"{statistics.median(cpu[name]):>6.2f}")
    torch_median = statistics.median(timings["assay predict iris_torch.assay rows.csv"])
    verdict = "met" if torch_median < TARGET_S else "NOT met"
    floor = statistics.median(timings['python -c "import torch, pandas"'])
    print(f"\ntarget: a torch bundle predicts in under {TARGET_S} s from a cold start: {verdict} "
          f"({torch_median:.2f} s median, {torch_median - floor:.2f} s above import torch, pandas)\n")
    print(f"{'bundle':<{width}}  heavy packages imported ({', '.join(HEAVY)})")
    for name, packages in imported.items():
        print(f"{name:<{width}}  {', '.join(packages) or 'none'}")


if __name__ == "__main__":
    if "--make-bundles-in" in sys.argv:
        make_bundles(Path(sys.argv[sys.argv.index("--make-bundles-in") + 1]))
    else:
        main()
