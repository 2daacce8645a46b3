"""Ensembles (``queue.ensemble``): is the ensemble better than the best single model, is it built fast, and does
it predict at the cost of its members?

Quality: a torch MLP queue of 24 combinations (hidden units x epochs) on wine (3 classes), sonar (binary) and
scikit-learn's diabetes (regression), each split 25 % test / 20 % validation. The best single model is the
leaderboard's first combination ranked by the ensemble's selection metric on the validation split, where the
ensemble is selected too; both are then judged on the test split, which neither saw. Classification ensembles
are selected on the objective (accuracy) and on log loss.

Build time: a queue of 100 combinations (a one-epoch MLP each) on 1,600 synthetic rows with a 1,000-row
validation split; ``queue.ensemble(size=50, candidates=100)`` end to end (reading every candidate's stored
predictions, 50 Caruana iterations over 100 candidates, every split's predictions and metrics, storing), and the
selection alone. Target: under 1 s.

Inference: 1,000 raw rows through the ensemble (members already loaded, nothing stored) against the sum of the
members' own ``predict`` of the same rows. Target: at most 1.2x.

    python benchmarks/ensemble.py
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

import assay
from assay import datum


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    outputs = {"multi": 3, "binary": 1, "regression": 1}[hp["kind"]]
    last = [nn.Softmax(dim=1)] if hp["kind"] == "multi" else [nn.Sigmoid()] if hp["kind"] == "binary" else []
    return nn.Sequential(nn.Linear(features_shape[0], hp["units"]), nn.ReLU(), nn.Linear(hp["units"], outputs), *last)


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=hp["epochs"],
                                  batch_size=16, seed=hp["units"])


def _wine() -> tuple[pd.DataFrame, str, str, dict]:
    frame = datasets.load_wine(as_frame=True).frame
    frame["target"] = frame["target"].astype(int)
    return frame, "target", "multi", dict(sklearn_preprocess=OneHotEncoder())


def _sonar() -> tuple[pd.DataFrame, str, str, dict]:
    return datum.to_pandas("sonar.csv"), "object", "binary", dict(sklearn_preprocess=OrdinalEncoder())


def _diabetes() -> tuple[pd.DataFrame, str, str, dict]:
    return datasets.load_diabetes(as_frame=True).frame, "target", "regression", \
        dict(sklearn_preprocess=StandardScaler())


#: timings are the best of this many runs
REPEATS = 5
ANALYSIS = {"multi": "classification_multi", "binary": "classification_binary", "regression": "regression"}


def queue_of(df: pd.DataFrame, label: str, kind: str, encoder: dict, grid: dict, size_validation: float,
             size_test: float) -> assay.Queue:
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=df, label_column=label, label_encoder=encoder, size_test=size_test,
        size_validation=size_validation, feature_encoders=[dict(sklearn_preprocess=StandardScaler(),
                                                                dtypes=["float64", "float32", "int64"])],
    )
    queue = assay.Experiment.make(library="torch", analysis_type=ANALYSIS[kind], fn_build=fn_build,
                                  fn_train=fn_train, hyperparameters={"kind": [kind], **grid},
                                  splitset_id=splitset.id, seed=0)
    queue.run_jobs(progress=False)
    return queue


def quality() -> None:
    print(f"{'data':<9} {'metric':<9} {'models':>6} {'single val':>10} {'ens. val':>9} {'single test':>11} "
          f"{'ens. test':>9} {'members':>7}")
    grid = {"units": [2, 4, 8, 16, 32, 64], "epochs": [2, 5, 15, 40]}
    for name, load in (("wine", _wine), ("sonar", _sonar), ("diabetes", _diabetes)):
        df, label, kind, encoder = load()
        queue = queue_of(df, label, kind, encoder, grid, 0.2, 0.25)
        board = queue.leaderboard()
        selections = [None] if kind == "regression" else [None, "log_loss"]
        for selected_on in selections:  # the objective (accuracy, r2), and log loss for classification
            ensemble = queue.ensemble(size=50, candidates=20, metric=selected_on)
            # the best single model by the same metric on the same split
            ranked = queue.leaderboard(split=ensemble.split, metric=ensemble.metric)
            best = assay.Predictor.get(int(ranked["best_predictor_id"].iloc[0]))
            for metric in dict.fromkeys([ensemble.metric, board.attrs["metric"]]):
                print(f"{name:<9} {metric:<9} {len(queue.predictors):>6} "
                      f"{best.metrics['validation'][metric]:>10.4f} {ensemble.metrics['validation'][metric]:>9.4f} "
                      f"{best.metrics['test'][metric]:>11.4f} {ensemble.metrics['test'][metric]:>9.4f} "
                      f"{len(ensemble.combinations):>7}  (selected on {ensemble.metric})")


def build_and_inference(candidates: int) -> None:
    from assay.evaluation import ensemble as selection
    from assay.inference import ensemble as inference

    features, target = datasets.make_classification(n_samples=1600, n_features=12, n_informative=6, n_classes=3,
                                                    random_state=0)
    df = pd.DataFrame(features, columns=[f"x{i}" for i in range(12)]).assign(label=target)
    started = time.perf_counter()
    queue = queue_of(df, "label", "multi", dict(sklearn_preprocess=OneHotEncoder()),
                     {"units": list(range(2, 2 + candidates)), "epochs": [1]}, 0.625, 0.125)
    print(f"\n{candidates} combinations trained in {time.perf_counter() - started:.1f} s "
          f"({len(queue.splitset.samples['validation'])} validation rows)")

    build = np.inf
    for _ in range(REPEATS):  # each call stores a new ensemble
        started = time.perf_counter()
        ensemble = queue.ensemble(size=50, candidates=candidates)
        build = min(build, time.perf_counter() - started)
    # the selection alone, on the candidates' stored predictions already read and averaged
    chosen, _ = selection.candidates_of(queue.id, candidates)
    classes = list(queue.splitset.label_classes)
    combined, _ = selection.combined_split(chosen, "validation", classes)
    truth = np.asarray([classes.index(value) for value in combined[0].labels])
    outputs = np.stack([one.values for one in combined])
    started = time.perf_counter()
    selection.caruana(lambda trial: selection.scores("accuracy", "classification_multi", truth, trial, classes,
                                                     None, -np.inf), outputs, 50, True)
    select = time.perf_counter() - started
    print(f"{'build':<44} {'seconds':>8} {'target':>8}")
    print(f"{'queue.ensemble(size=50), end to end (best of 5)':<44} {build:>8.3f} {'< 1':>8}")
    print(f"{'Caruana selection alone (50 x ' + str(candidates) + ')':<44} {select:>8.3f}")

    rows = df.drop(columns="label").iloc[:1000]
    members = inference.member_inferences(ensemble.members)
    info = inference.described(members[0][1])
    predicts = [(weight, inference.inference_predict(one)) for weight, one in members]
    inference.predict_with(predicts, info, rows)  # warm up every model once
    member_seconds, ensemble_seconds = np.inf, np.inf
    for _ in range(REPEATS):  # the best of a few, alternating, so a busy machine hurts neither side alone
        started = time.perf_counter()
        for _, one in members:
            one.predict(rows)
        member_seconds = min(member_seconds, time.perf_counter() - started)
        started = time.perf_counter()
        inference.predict_with(predicts, info, rows)
        ensemble_seconds = min(ensemble_seconds, time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as folder:
        bundle = assay.load_bundle(ensemble.export(str(Path(folder) / "ensemble.assay"))).load()
        bundle.predict(rows)
        bundle_seconds = np.inf
        for _ in range(REPEATS):
            started = time.perf_counter()
            bundle.predict(rows)
            bundle_seconds = min(bundle_seconds, time.perf_counter() - started)
    print(f"\n{'inference of 1,000 rows':<44} {'seconds':>8} {'ratio':>8}")
    print(f"{'sum of the ' + str(len(members)) + ' members own predict':<44} {member_seconds:>8.3f} {1.0:>8.2f}")
    print(f"{'ensemble (members loaded)':<44} {ensemble_seconds:>8.3f} "
          f"{ensemble_seconds / member_seconds:>8.2f}  (target <= 1.2)")
    print(f"{'ensemble bundle (loaded)':<44} {bundle_seconds:>8.3f} {bundle_seconds / member_seconds:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        assay.setup(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        if not args.skip_quality:
            quality()
        build_and_inference(args.candidates)


if __name__ == "__main__":
    main()
