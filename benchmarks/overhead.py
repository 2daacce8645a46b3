"""Overhead of running a queue through assay against a plain training loop, in the same process.

The seed example's 16 runs (iris, 2x2x2 grid x 2 repeats) go through ``queue.run_jobs()``; the baseline trains
the same 16 models on the same arrays with the same seeds, computes the same metrics on the same splits and
saves each model to a file. Prints both times and the ratio (targets: Keras at most 1.02x, torch 1.10x).

    python benchmarks/overhead.py --library keras
    python benchmarks/overhead.py --library torch
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import assay
from assay import datum, plugins
from assay.defaults import classification_metrics
from assay.experiment.runner import job_seed

GRID = {"neuron_count": [9, 12], "batch_size": [3, 5], "epoch_count": [30, 60]}


def keras_functions():
    def fn_build(features_shape, label_shape, **hp):
        from keras import Input, Sequential
        from keras.layers import Dense

        model = Sequential()
        model.add(Input(shape=features_shape))
        model.add(Dense(units=hp["neuron_count"], activation="relu"))
        model.add(Dense(units=label_shape[0], activation="softmax"))
        return model

    def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
        model.compile(loss=loser, optimizer=optimizer, metrics=["accuracy"])
        model.fit(samples_train["features"], samples_train["labels"],
                  validation_data=(samples_evaluate["features"], samples_evaluate["labels"]),
                  verbose=0, batch_size=hp["batch_size"], epochs=hp["epoch_count"])
        return model

    return fn_build, fn_train


def torch_functions():
    def fn_build(features_shape, label_shape, **hp):
        import torch

        return torch.nn.Sequential(
            torch.nn.Linear(features_shape[0], hp["neuron_count"]), torch.nn.ReLU(),
            torch.nn.Linear(hp["neuron_count"], label_shape[0]), torch.nn.Softmax(dim=1),
        )

    def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
        import assay_torch

        history = assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate,
                                  epochs=hp["epoch_count"], batch_size=hp["batch_size"])
        return model, history

    return fn_build, fn_train


def baseline(library, splitset, fn_build, fn_train, seed, folder) -> float:
    """The same work without assay's bookkeeping: train, predict each split, metrics, save the model to a file."""
    backend = plugins.backend(library)
    analysis_type = "classification_multi"
    combos = [dict(zip(GRID, values, strict=True)) for values in itertools.product(*GRID.values())]
    splits = {name: splitset.samples_for(name) for name in ("train", "validation", "test")}
    classes = list(splitset.label_classes)
    started = time.perf_counter()
    run = 0
    for combo_index, combo in enumerate(combos):
        for repeat in range(2):
            backend.seed(job_seed(seed, combo_index, None, repeat))
            prepared = {name: backend.prepare_samples(analysis_type, s) for name, s in splits.items()}
            model = fn_build((4,), (3,), **combo)
            loser = backend.default_loss(analysis_type)
            optimizer = backend.default_optimizer(analysis_type, model)
            model = backend.train(analysis_type, fn_train, model, loser, optimizer, prepared["train"],
                                  prepared["validation"], combo).model
            for name, samples in prepared.items():
                predictions, probabilities = backend.default_predict(analysis_type, model, samples)
                y_true = np.argmax(splits[name]["labels"], axis=1)
                classification_metrics(y_true, predictions, probabilities, classes, binary=False)
                backend.evaluate_loss(analysis_type, model, loser, samples)
            with open(os.path.join(folder, f"model_{run}.bin"), "wb") as handle:
                handle.write(backend.model_to_bytes(model))
            backend.clear_session()
            run += 1
    return time.perf_counter() - started


def iris_splitset():
    """The seed example's splitset: iris, one-hot label, scaled features, test and validation splits."""
    return assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()), feature_cols_excluded="species",
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.22, size_validation=0.12,
    )


def warm_up(library, splitset, fn_build, fn_train) -> None:
    backend = plugins.backend(library)
    samples = backend.prepare_samples("classification_multi", splitset.samples_for("train"))
    model = fn_build((4,), (3,), neuron_count=4)
    backend.train("classification_multi", fn_train, model, backend.default_loss("classification_multi"),
                  backend.default_optimizer("classification_multi", model), samples, samples,
                  {"neuron_count": 4, "batch_size": 32, "epoch_count": 1})
    backend.clear_session()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", default="keras", choices=["keras", "torch"])
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate the two ways this many times and report medians (a shared machine is noisy)")
    args = parser.parse_args()
    fn_build, fn_train = keras_functions() if args.library == "keras" else torch_functions()
    # the ratio is only meaningful on otherwise idle cores: say how busy the machine was
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before", flush=True)
    plains, queued, ratios = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        assay.setup(f"sqlite:///{folder}/bench.sqlite3")
        splitset = iris_splitset()
        seed = 42
        warm_up(args.library, splitset, fn_build, fn_train)  # imports and first-graph costs are paid by neither
        for _ in range(args.rounds):
            plain = baseline(args.library, splitset, fn_build, fn_train, seed, folder)
            queue = assay.Experiment.make(
                library=args.library, analysis_type="classification_multi", fn_build=fn_build, fn_train=fn_train,
                repeat_count=2, hyperparameters=GRID, splitset_id=splitset.id, seed=seed,
            )
            started = time.perf_counter()
            queue.run_jobs(progress=False)
            through_assay = time.perf_counter() - started
            plains.append(plain)
            queued.append(through_assay)
            ratios.append(through_assay / plain)
            print(f"  round {len(ratios)}: plain {plain:.2f} s, assay {through_assay:.2f} s, "
                  f"ratio {ratios[-1]:.3f}", flush=True)
    print(f"load average after {os.getloadavg()[0]:.2f}")
    print(f"| library | runs | plain loop (s) | queue.run_jobs (s) | ratio, median of {args.rounds} "
          "(target: Keras <= 1.02, torch <= 1.10) |")
    print("|---|---|---|---|---|")
    print(f"| {args.library} | 16 | {statistics.median(plains):.2f} | {statistics.median(queued):.2f} "
          f"| {statistics.median(ratios):.3f} |")


if __name__ == "__main__":
    main()
