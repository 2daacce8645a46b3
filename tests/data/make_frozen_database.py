"""Make the frozen database of the current schema revision, with data in it: ``python make_frozen_database.py``.

Run it once per released schema revision, on the commit that released it, and commit the file it writes
(``assay_<revision>.sqlite3``, next to this script). ``tests/test_db_upgrades.py`` copies every such file, runs
``assay.setup()`` on the copy (which migrates it to head) and reads every object back. The data covers every
table: a dataset with a label and features, encoders fitted on the splitset and per fold, an algorithm, a
hyperparameter set, a queue whose jobs succeeded and failed, predictors with histories, predictions per split,
feature importance and an inference. From revision 0005 on it also holds what the later revisions store: a
splitset made step by step (foldset, encoderset, coders), a sequence dataset in chunks, a splitset with
interpolaters and a forecasting window, and an adaptive (TPE) search queue with a median pruner; from 0006 on, a
multi-input splitset (a table and a sequence per sample) with a queue of a two-input torch model; from 0007 on, a
step-by-step feature with interpolaters and a window (and its open splitset), and a sequence featurecoder; from
0008 on, a step-by-step float label with gaps and its interpolater, and a sequence feature's interpolaters.
``assay_0012.sqlite3`` holds the same rows as 0008's, with every splitset's and fold's row indices as the JSON lists
revision 0013 converts to bytes.

``assay_0001.sqlite3`` was made by this script as it stood at revision 0001 (the iris part only); a frozen
database is never remade.
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
    later_revisions(df)
    db_engine.dispose()
    with sqlite3_connection(path) as connection:
        connection.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        connection.execute("VACUUM")
    return path


def later_revisions(iris) -> None:
    """What revisions 0002 to 0005 added, each with rows: they come after the iris splitset and queue, which
    ``tests/test_db_upgrades.py`` reads back as the first of each."""
    import numpy as np
    import pandas as pd

    from assay import Algorithm, Dataset, Splitset

    # 0003: the step-by-step API (foldset, encoderset, coders) and a queue made from an algorithm
    dataset = Dataset.Tabular.from_pandas(dataframe=iris)
    label = dataset.make_label(columns=["species"])
    feature = dataset.make_feature(exclude_columns=["species"])
    splitset = Splitset.make(feature_ids=[feature.id], label_id=label.id, size_test=0.2, size_validation=None)
    foldset = splitset.make_foldset(fold_count=2)
    label.make_labelcoder(sklearn_preprocess=OneHotEncoder())
    feature.make_encoderset().make_featurecoder(sklearn_preprocess=StandardScaler(), dtypes=["float64"])
    algorithm = Algorithm.make(library="pytorch", analysis_type="classification_multi", fn_build=fn_build,
                               fn_train=fn_train)
    hyperparamset = algorithm.make_hyperparamset(hyperparameters={"neuron_count": [4, 6]}, search_count=1, seed=3)
    algorithm.make_queue(splitset_id=splitset.id, foldset_id=foldset.id, hyperparamset_id=hyperparamset.id,
                         repeat_count=1, permute_count=0).run_jobs(progress=False)

    # 0004: a sequence dataset stored in chunks, with a per-array encoder and folds
    rng = np.random.default_rng(4)
    sequences = rng.normal(size=(24, 6, 2)).astype("float32")
    sequence_label = pd.DataFrame({"high": (sequences[:, :, 0].mean(axis=1) > 0).astype("int64")})
    assay.Pipeline.Sequence.make(sequences, label_df_or_path=sequence_label, size_test=0.25, fold_count=2,
                                 feature_encoders=[dict(sklearn_preprocess=StandardScaler())])

    # 0002: interpolaters and a forecasting window
    series = pd.DataFrame({"x": np.sin(np.arange(60) / 5.0), "y": np.cos(np.arange(60) / 5.0)})
    series.loc[[7, 31], "x"] = np.nan
    assay.Pipeline.Tabular.make(
        df_or_path=series, feature_encoders=[dict(sklearn_preprocess=StandardScaler())],
        feature_interpolaters=[dict(interpolate_kwargs=dict(method="linear"), columns=["x"])],
        feature_window=dict(size_window=4, size_shift=2, record_shifted=True), size_test=0.2, size_validation=0.2,
    )

    # 0005: an adaptive search with a median pruner over ranges
    search = assay.Experiment.make(
        library="torch", analysis_type="classification_multi", fn_build=fn_build, fn_train=fn_train,
        hyperparameters={"neuron_count": assay.space.Int(4, 12, step=4)}, search="tpe", search_count=3,
        pruner="median", repeat_count=1, splitset_id=splitset.id, seed=5,
    )
    search.run_jobs(progress=False)

    # 0006: a multi-input splitset (a table and a sequence per sample, one label) and a two-input model
    table = pd.DataFrame({"level": rng.normal(size=24), "kind": rng.choice(["a", "b"], size=24)})
    multi = assay.Pipeline.make(
        inputs=[dict(name="table", df_or_path=table,
                     feature_encoders=[dict(sklearn_preprocess=OneHotEncoder(), columns=["kind"]),
                                       dict(sklearn_preprocess=StandardScaler(), columns=["level"])]),
                dict(name="series", feature_ndarray3D_or_npyPath=sequences,
                     feature_encoders=[dict(sklearn_preprocess=StandardScaler())])],
        label_df_or_path=sequence_label, label_column="high", size_test=0.25, size_validation=0.25,
    )
    assay.Experiment.make(library="torch", analysis_type="classification_binary", fn_build=fn_build_two_inputs,
                          fn_train=fn_train, hyperparameters={"neuron_count": [4]}, splitset_id=multi.id,
                          ).run_jobs(progress=False)

    # 0007: step by step, a table's interpolaters and forecasting window, and a sequence featurecoder (coder.axis)
    forecast = Dataset.Tabular.from_pandas(series).make_feature()
    forecast.make_interpolaterset().make_featureinterpolater(interpolate_kwargs=dict(method="linear"), columns=["x"])
    forecast.make_window(size_window=4, size_shift=2)
    Splitset.make(feature_ids=[forecast.id], size_test=0.2, size_validation=0.2)
    series_feature = Dataset.Sequence.from_numpy(sequences).make_feature()
    series_feature.make_encoderset().make_featurecoder(sklearn_preprocess=StandardScaler(), columns=["0"])

    # 0008: step by step, a float label with gaps and its interpolater (label.interpolater); sequence interpolaters
    gappy = series.assign(y=series["y"].where(series.index % 9 != 4))
    Dataset.Tabular.from_pandas(gappy).make_label(columns=["y"]).make_labelinterpolater()
    series_feature.make_interpolaterset().make_featureinterpolater(dtypes="float32")


def fn_build_two_inputs(features_shape, label_shape, **hp):
    import torch

    table_shape, series_shape = features_shape

    class TableAndSeries(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(table_shape[0] + series_shape[0] * series_shape[1], hp["neuron_count"])
            self.out = nn.Linear(hp["neuron_count"], 1)

        def forward(self, x_table, x_series):
            joined = torch.cat([x_table, x_series.flatten(1)], dim=1)
            return torch.sigmoid(self.out(torch.relu(self.hidden(joined))))

    return TableAndSeries()


def sqlite3_connection(path: Path):
    import contextlib
    import sqlite3

    return contextlib.closing(sqlite3.connect(path))


if __name__ == "__main__":
    print(main())
