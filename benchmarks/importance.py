"""Permutation importance against one prediction pass, in the same process.

A small Keras LSTM reads the 178 readings of ``epilepsy.parquet`` (one tabular column each) and is trained for
one epoch. On its test split the script times:

* one prediction pass: encode the split, predict it, score it (what one permuted copy costs on its own);
* importance with one copy predicted per call (``batch_rows=1``, how importance ran before batching);
* importance as ``feature_importance`` runs it (copies stacked, ``BATCH_ROWS`` rows per call);
* the floor: the model's forward pass alone over the stacked copies of one round (columns x rows), with no
  encoding and no scoring: what any permutation importance on every row must at least spend;
* importance on a row sample (``sample_rows=``), the way the issue bounds the cost.

and prints seconds per permutation round (every column shuffled once) and its ratio to one prediction pass.
Target: importance for all features under 20x one prediction pass per round. A model whose forward pass is
compute-bound (the LSTM here, since Keras runs recurrent models through its compiled predict function) has a
floor near ``columns x`` one pass's forward time on every row; the row sample is what brings a round under 20x.

    python benchmarks/importance.py [--permutations 2] [--rows 1000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from sklearn.preprocessing import OrdinalEncoder, StandardScaler

import assay
from assay import datum, plugins
from assay.evaluation import importance, permutation
from assay.experiment.trained import Trained


def fn_build(features_shape, label_shape, **hp):
    from keras import Input, Sequential
    from keras.layers import LSTM, Dense, Reshape

    return Sequential([Input(shape=features_shape), Reshape((features_shape[0], 1)), LSTM(8),
                       Dense(1, activation="sigmoid")])


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    model.compile(loss=loser, optimizer=optimizer, metrics=["accuracy"])
    model.fit(samples_train["features"], samples_train["labels"], verbose=0, batch_size=64, epochs=1)
    return model


def floor_seconds(predictor, columns: int, repeats: int = 2) -> float:
    """The model's forward pass alone over ``columns`` stacked copies of the encoded test split."""
    splitset = predictor.queue.splitset
    algorithm = predictor.queue.algorithm
    backend = plugins.backend(algorithm.library)
    model = Trained.load(predictor.id).model()
    samples = splitset.samples_for("test")
    stacked = {"features": np.concatenate([samples["features"]] * columns),
               "labels": np.concatenate([samples["labels"]] * columns)}
    prepared = backend.prepare_samples(algorithm.analysis_type, stacked)
    best = float("inf")
    for _ in range(repeats + 1):  # the first call traces the compiled predict function for the new shapes
        started = time.perf_counter()
        backend.default_predict(algorithm.analysis_type, model, prepared)
        best = min(best, time.perf_counter() - started)
    return best


def one_pass_seconds(predictor, repeats: int = 3) -> float:
    """Encode, predict and score the unshuffled test split through the importance path; best of ``repeats``."""
    splitset = predictor.queue.splitset
    rows = np.asarray(predictor.predictions["test"].row_indices, dtype=np.int64)
    raw = assay.Dataset.get(splitset.dataset_id).to_pandas().iloc[rows].reset_index(drop=True)
    algorithm = predictor.queue.algorithm
    analysis = plugins.analysis_type(algorithm.analysis_type)
    base = splitset.encode_features(raw)
    labels = splitset.samples_for("test")["labels"]
    score, _, _, _ = importance._scorer(Trained.load(predictor.id), algorithm, analysis, splitset, rows, labels, base)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        score([splitset.encode_features(raw)])
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--permutations", type=int, default=2)
    parser.add_argument("--rows", type=int, default=1000, help="rows of epilepsy.parquet to use")
    parser.add_argument("--sample-rows", type=int, nargs="*", default=[50],
                        help="row samples to time importance on (sample_rows=)")
    args = parser.parse_args()

    assay.setup(f"sqlite:///{tempfile.mkdtemp()}/importance.sqlite3")
    df = datum.to_pandas("epilepsy.parquet")
    df = df.sample(n=min(args.rows, len(df)), random_state=0).reset_index(drop=True)
    splitset = assay.Pipeline.Tabular.make(
        df, label_column="seizure", label_encoder=dict(sklearn_preprocess=OrdinalEncoder()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes="number")], size_test=0.25,
    )
    queue = assay.Experiment.make(library="keras", analysis_type="classification_binary", fn_build=fn_build,
                                  fn_train=fn_train, splitset_id=splitset.id, seed=1)
    queue.run_jobs(progress=False)
    [predictor] = queue.predictors
    columns = len(splitset.feature_columns)
    test_rows = len(splitset.samples["test"])

    one_pass = one_pass_seconds(predictor)
    timings = {}
    for name, batch_rows in (("one copy per call", 1), ("batched", permutation.BATCH_ROWS)):
        started = time.perf_counter()
        importance._compute(Trained.load(predictor.id), "test", args.permutations, batch_rows=batch_rows)
        timings[name] = (time.perf_counter() - started) / args.permutations
    auto = importance.sample_size("auto", test_rows, columns)
    for sample_rows in [auto, *args.sample_rows]:
        started = time.perf_counter()
        importance._compute(Trained.load(predictor.id), "test", args.permutations, sample_size=sample_rows)
        name = f"default ({sample_rows} rows)" if sample_rows == auto else f"sample_rows={sample_rows}"
        timings[name] = (time.perf_counter() - started) / args.permutations
    floor = floor_seconds(predictor, columns)

    print(f"\nepilepsy: {columns} feature columns, {test_rows} test rows, small LSTM (keras), "
          f"{args.permutations} permutation round(s)\n")
    print(f"{'':<36}{'seconds/round':>15}{'x one pass':>12}")
    print(f"{'one prediction pass':<36}{one_pass:>15.3f}{1:>12.1f}")
    print(f"{'floor: forward pass only, every row':<36}{floor:>15.3f}{floor / one_pass:>12.1f}")
    for name, seconds in timings.items():
        print(f"{'importance, ' + name:<36}{seconds:>15.3f}{seconds / one_pass:>12.1f}")
    batched = timings["batched"] / one_pass
    print(f"\nbatched vs one copy per call: {timings['one copy per call'] / timings['batched']:.1f}x faster; "
          f"every row: {batched:.1f}x one pass ({'under' if batched < 20 else 'NOT under'} 20x; the forward pass "
          f"alone is {floor / one_pass:.1f}x)")
    default = timings[f"default ({auto} rows)"] / one_pass
    print(f"default (sample_rows='auto': {auto} of {test_rows} rows per round): {default:.1f}x one pass "
          f"({'under' if default < 20 else 'NOT under'} 20x)")
    for sample_rows in args.sample_rows:
        ratio = timings[f"sample_rows={sample_rows}"] / one_pass
        print(f"sample_rows={sample_rows}: {ratio:.1f}x one pass ({'under' if ratio < 20 else 'NOT under'} 20x)")


if __name__ == "__main__":
    main()
