"""A small database of finished queues for the dashboard and notebook tests (real torch training, a few epochs).

Module-level model functions, so worker processes started by the live test can load them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: a column name and class names a careless page would run as markup
XSS_COLUMN = "<script>window.__xss_column = 1</script>"
XSS_CLASSES = ["<script>window.__xss_class = 1</script>", "<img src=x onerror=\"window.__xss_img = 1\">"]
XSS_HP_VALUE = "<b onmouseover=alert(1)>relu</b>"


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], hp["neuron_count"]), nn.ReLU(),
                         nn.Linear(hp["neuron_count"], label_shape[0]))


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    if hp.get("fail"):
        raise ValueError(f"this combination always fails: fail={hp['fail']!r} <and its message has <markup>>")
    if hp.get("sleep"):
        import time

        time.sleep(hp["sleep"])
    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate,
                                  epochs=hp["epoch_count"], batch_size=hp.get("batch_size", 16))


def iris_splitset(fold_count=None):
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    import assay
    from assay import datum

    return assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()), feature_cols_excluded="species",
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.22, size_validation=0.12, fold_count=fold_count,
    )


def xss_splitset():
    """A dataset whose column and class names hold markup, split into 2 folds."""
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    import assay

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({XSS_COLUMN: rng.normal(size=60), "plain": rng.normal(size=60),
                          "kind": np.repeat(XSS_CLASSES, 30)})
    frame.loc[frame["kind"] == XSS_CLASSES[1], XSS_COLUMN] += 2.0
    return assay.Pipeline.Tabular.make(
        df_or_path=frame, label_column="kind", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_cols_excluded="kind", feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.2, size_validation=None, fold_count=2,
    )


def make_queue(splitset, hyperparameters, repeat_count=1, **options):
    import assay

    return assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=fn_build,
                                 fn_train=fn_train, repeat_count=repeat_count, hyperparameters=hyperparameters,
                                 splitset_id=splitset.id, seed=0, **options)


def build_database(url: str) -> dict[str, int]:
    """Fill the database at ``url``: a finished iris queue (4 combinations x 2 repeats, feature importance stored
    for its best model, on train as a row sample), a queue with failed jobs, an adaptive (TPE) search of 5
    combinations, and the markup dataset's queue. Returns their ids."""
    import assay

    assay.setup(url)
    iris = iris_splitset()
    finished = make_queue(iris, {"neuron_count": [3, 12], "epoch_count": [2, 8], "activation": [XSS_HP_VALUE]},
                          repeat_count=2)
    finished.run_jobs(progress=False)
    board = finished.leaderboard()
    best = assay.Predictor.get(int(board.iloc[0]["best_predictor_id"]))
    best.feature_importance(split="validation", permutation_count=3)
    best.feature_importance(split="train", permutation_count=2, sample_rows=10)  # a row sample's result
    failing = make_queue(iris, {"neuron_count": [4], "epoch_count": [2], "fail": [False, True]})
    failing.run_jobs(progress=False)
    adaptive = make_queue(iris, {"neuron_count": [3, 6, 12], "epoch_count": [2, 4]}, search="tpe", search_count=5)
    adaptive.run_jobs(progress=False)
    xss = xss_splitset()
    xss_queue = make_queue(xss, {"neuron_count": [4], "epoch_count": [3]})
    xss_queue.run_jobs(progress=False)
    return {"finished": finished.id, "failing": failing.id, "xss": xss_queue.id, "iris_splitset": iris.id,
            "xss_splitset": xss.id, "best_predictor": best.id, "adaptive": adaptive.id,
            "predictors": [p.id for p in finished.predictors]}
