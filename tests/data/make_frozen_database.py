"""Make the frozen database of the current schema revision, with data in it: ``python make_frozen_database.py``.

Run it once per released schema revision, on the commit that released it, and commit the file it writes
(``assay_<revision>.sqlite3``, next to this script). ``tests/test_db_upgrades.py`` copies every such file, runs
``assay.setup()`` on the copy (which migrates it to head) and reads every object back. The data covers every
table: a dataset with a label and features, encoders fitted on the splitset and per fold, an algorithm, a
hyperparameter set, a queue whose jobs succeeded and failed, predictors with histories, predictions per split,
feature importance and an inference.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sklearn.preprocessing import OneHotEncoder, StandardScaler
from torch import nn

import assay
import assay_torch
from assay import datum
from assay.db import engine as db_engine
from assay.db import migrate

HERE = Path(__file__).parent


def fn_build(features_shape, label_shape, **hp):
    return nn.Sequential(nn.Linear(features_shape[0], hp["neuron_count"]), nn.ReLU(),
                         nn.Linear(hp["neuron_count"], label_shape[0]), nn.Softmax(dim=1))


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    if hp["neuron_count"] == 3:
        raise RuntimeError("this combination fails on purpose, so the database holds a failed job")
    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=3, batch_size=16)


def main() -> Path:
    engine = db_engine.create_assay_engine("sqlite://")
    revision = migrate.head_revision()
    engine.dispose()
    path = HERE / f"assay_{revision}.sqlite3"
    if path.exists():
        sys.exit(f"{path} exists: a frozen database is never remade; delete it only if it never landed")
    assay.setup(f"sqlite:///{path}")
    df = datum.to_pandas("iris.tsv")
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=df, label_column="species", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_cols_excluded="species",
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.2, size_validation=None, fold_count=2, bin_count=None,
    )
    queue = assay.Experiment.make(
        library="torch", analysis_type="classification_multi", fn_build=fn_build, fn_train=fn_train,
        repeat_count=1, hyperparameters={"neuron_count": [3, 8]}, splitset_id=splitset.id, hide_test=False,
    )
    queue.run_jobs()
    predictor = next(p for p in queue.predictors)
    predictor.feature_importance()
    predictor.infer(df.drop(columns="species").head(5))
    db_engine.dispose()
    with sqlite3_connection(path) as connection:
        connection.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        connection.execute("VACUUM")
    return path


def sqlite3_connection(path: Path):
    import contextlib
    import sqlite3

    return contextlib.closing(sqlite3.connect(path))


if __name__ == "__main__":
    print(main())
