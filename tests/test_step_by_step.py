"""The step-by-step API (AIQC's low-level API): AIQC's tabular scenarios run as translated, and a script
written step by step gives the same splitset and queue as ``Pipeline.Tabular.make`` + ``Experiment.make``."""

from __future__ import annotations

import numpy as np
import pytest
from aiqc_scenarios import SCENARIOS, make_test_queue_keras_multiclass, pytorch_regression_fn_build, torch_fn_train
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, PowerTransformer, StandardScaler
from sqlalchemy import func, select

import assay
from assay import Algorithm, Dataset, Splitset, datum, errors
from assay.db import session_scope
from assay.db.models import Base
from assay.evaluation import importance

TINY = {
    "keras_multiclass": {"neuron_count": [4], "batch_size": [16], "learning_rate": [0.05], "epoch_count": [1]},
    "keras_binary": {"neuron_count": [4], "epochs": [1]},
    "keras_regression": {"neuron_count": [4], "epochs": [1]},
    "pytorch_binary": {"learning_rate": [0.01], "epoch_count": [1]},
    "pytorch_multiclass": {"reduction": ["mean", "sum"], "batch_size": [16]},
    "pytorch_regression": {"neuron_count": [6], "loss_type": ["mae", "mse"]},
}


@pytest.mark.parametrize("fold_count", [None, 2], ids=["splits", "folds"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_aiqc_tabular_scenarios_run_as_translated(db, name, fold_count):
    if name.startswith("keras"):
        pytest.importorskip("assay_keras")
    else:
        pytest.importorskip("assay_torch")
    queue = SCENARIOS[name](repeat_count=1, fold_count=fold_count, permute_count=1, hyperparameters=TINY[name])

    summary = queue.run_jobs(progress=False)

    combos = int(np.prod([len(values) for values in TINY[name].values()]))
    assert queue.job_count == combos * (fold_count or 1)
    assert summary.failed == 0, queue.status()["errors"]
    splitset = queue.splitset
    assert splitset.is_encoded
    assert len(queue.predictors) == queue.job_count
    if fold_count:
        assert splitset.foldset.fold_count == 2
        assert sorted({p.fold_index for p in queue.predictors}) == [0, 1]
    if name != "keras_multiclass":  # AIQC's keras multi-class scenario passes no permute_count to make_queue
        # one permutation round each (on a row sample when the feature is wide: sample_rows="auto")
        for predictor in queue.predictors:
            [key] = predictor._column("feature_importance")["train"]
            assert importance.parse_key(key)[0] == 1


def step_by_step(df, fold_count):
    dataset = Dataset.Tabular.from_pandas(dataframe=df)
    label = dataset.make_label(columns=["price"])
    feature = dataset.make_feature(exclude_columns=["price"])
    splitset = Splitset.make(feature_ids=[feature.id], label_id=label.id, size_test=0.2,
                             size_validation=None if fold_count else 0.15, bin_count=3)
    foldset_id = splitset.make_foldset(fold_count=fold_count).id if fold_count else None
    label.make_labelcoder(sklearn_preprocess=PowerTransformer(method="box-cox", copy=False))
    encoderset = feature.make_encoderset()
    encoderset.make_featurecoder(sklearn_preprocess=OneHotEncoder(), columns=["district"])
    encoderset.make_featurecoder(include=False, dtypes=["int64"], sklearn_preprocess=MinMaxScaler(copy=False))
    algorithm = Algorithm.make(library="pytorch", analysis_type="regression", fn_build=pytorch_regression_fn_build,
                               fn_train=torch_fn_train)
    hyperparamset = algorithm.make_hyperparamset(hyperparameters={"neuron_count": [4, 6, 8], "epoch_count": [1, 2]},
                                                 search_count=4, seed=11)
    return algorithm.make_queue(splitset_id=splitset.id, foldset_id=foldset_id, hyperparamset_id=hyperparamset.id,
                                repeat_count=2, permute_count=0, seed=11)


def all_at_once(df, fold_count):
    splitset = assay.Pipeline.Tabular.make(
        df, label_column="price", label_encoder=dict(sklearn_preprocess=PowerTransformer(method="box-cox")),
        feature_encoders=[dict(sklearn_preprocess=OneHotEncoder(), columns=["district"]),
                          dict(sklearn_preprocess=MinMaxScaler(), dtypes=["int64"], include=False)],
        size_test=0.2, size_validation=None if fold_count else 0.15, fold_count=fold_count, bin_count=3,
    )
    return assay.Experiment.make(
        library="torch", analysis_type="regression", fn_build=pytorch_regression_fn_build, fn_train=torch_fn_train,
        hyperparameters={"neuron_count": [4, 6, 8], "epoch_count": [1, 2]}, search_count=4, repeat_count=2, seed=11,
        splitset_id=splitset.id,
    )


def houses_with_text():
    df = datum.to_pandas("houses.csv")
    df["district"] = np.where(df["rad"] > 5, "far", "near")
    return df


@pytest.mark.parametrize("fold_count", [None, 3], ids=["validation", "folds"])
def test_step_by_step_and_make_give_the_same_splitset_and_queue(db, fold_count):
    pytest.importorskip("assay_torch")
    df = houses_with_text()
    low, high = step_by_step(df, fold_count), all_at_once(df, fold_count)
    a, b = low.splitset, high.splitset

    assert a.dataset_id == b.dataset_id  # the same data is one dataset
    assert a.samples == b.samples
    assert [f.samples for f in a.folds] == [f.samples for f in b.folds]
    assert (a.feature_names, a.features_shape, a.label_shape) == (b.feature_names, b.features_shape, b.label_shape)
    assert (a.feature_columns, a.label_column, a.label_is_categorical) == (b.feature_columns, b.label_column, False)
    for split in a.samples:
        for key in ("features", "labels"):
            np.testing.assert_allclose(a.samples_for(split)[key], b.samples_for(split)[key], rtol=1e-6)
    for fold in a.folds:
        np.testing.assert_allclose(a.samples_for("validation", fold.fold_index)["features"],
                                   b.samples_for("validation", fold.fold_index)["features"], rtol=1e-6)
    assert (low.algorithm.library, low.job_count, low.seed) == (high.algorithm.library, high.job_count, high.seed)
    assert [(j.hyperparameters, j.fold_index, j.repeat_index) for j in low.jobs] == \
        [(j.hyperparameters, j.fold_index, j.repeat_index) for j in high.jobs]
    assert (a.foldset is None) == (b.foldset is None)


def table_counts():
    with session_scope() as session:
        return {m.class_.__tablename__: session.scalar(select(func.count()).select_from(m.class_))
                for m in Base.registry.mappers}


def test_bad_steps_are_refused_naming_the_parameter_before_anything_is_stored(db):
    df = houses_with_text()
    dataset = Dataset.Tabular.from_pandas(dataframe=df, name="houses")
    assert dataset.name == "houses"
    label = dataset.make_label(columns=["price"])
    feature = dataset.make_feature(exclude_columns=["price"])
    encoderset = feature.make_encoderset()
    before = table_counts()

    with pytest.raises(errors.DataError, match="columns"):
        dataset.make_label(columns=["price", "rm"])
    with pytest.raises(errors.DataError, match=r"exclude_columns.*'nope'"):
        dataset.make_feature(exclude_columns=["nope"])
    with pytest.raises(errors.SplitError, match=r"feature_ids.*holds the label column 'price'"):
        Splitset.make(feature_ids=[dataset.make_feature().id], label_id=label.id, size_test=0.2)
    before = table_counts()
    with pytest.raises(errors.EncoderError, match=r"feature_encoders\[0\]\.columns.*'nope' is not a feature"):
        encoderset.make_featurecoder(sklearn_preprocess=StandardScaler(), columns=["nope"])
    encoderset.make_featurecoder(sklearn_preprocess=OneHotEncoder(), columns=["district"])
    with pytest.raises(errors.EncoderError, match="is already encoded by an earlier feature encoder"):
        encoderset.make_featurecoder(sklearn_preprocess=StandardScaler(), columns=["district"])
    assert table_counts()["coder"] == before["coder"] + 1  # only the first, valid one

    splitset = Splitset.make(feature_ids=[feature.id], label_id=label.id, size_test=0.2)
    with pytest.raises(errors.SplitError, match="not encoded yet"):
        splitset.samples_for("train")
    foldset = splitset.make_foldset(fold_count=2)
    with pytest.raises(errors.SplitError, match="has its folds already"):
        splitset.make_foldset(fold_count=3)
    label.make_labelcoder(sklearn_preprocess=StandardScaler())
    with pytest.raises(errors.EncoderError, match="has its labelcoder already"):
        label.make_labelcoder(sklearn_preprocess=StandardScaler())
    algorithm = Algorithm.make(library="torch", analysis_type="regression", fn_build=pytorch_regression_fn_build,
                               fn_train=torch_fn_train)
    other = Algorithm.make(library="torch", analysis_type="regression", fn_build=pytorch_regression_fn_build,
                           fn_train=torch_fn_train)
    hyperparamset = other.make_hyperparamset(hyperparameters={"neuron_count": [4]})
    before = table_counts()
    with pytest.raises(errors.ExperimentError, match=f"foldset_id={foldset.id}"):
        algorithm.make_queue(splitset_id=splitset.id)
    with pytest.raises(errors.ExperimentError, match=r"hyperparamset_id.*use algorithm\.make_hyperparamset"):
        algorithm.make_queue(splitset_id=splitset.id, foldset_id=foldset.id, hyperparamset_id=hyperparamset.id)
    with pytest.raises(errors.ExperimentError, match="repeat_count"):
        algorithm.make_queue(splitset_id=splitset.id, foldset_id=foldset.id, repeat_count=0)
    with pytest.raises(errors.ExperimentError, match="search_count"):
        algorithm.make_hyperparamset(hyperparameters={"neuron_count": [4]}, search_count=2)
    classifier = Algorithm.make(library="torch", analysis_type="classification_binary",
                                fn_build=pytorch_regression_fn_build, fn_train=torch_fn_train)
    with pytest.raises(errors.AssayError, match="label"):  # a continuous price is no binary label
        classifier.make_queue(splitset_id=splitset.id, foldset_id=foldset.id)
    with pytest.raises(errors.AssayError, match="search"):  # the high-level make refuses after the same fit
        assay.Experiment.make(library="torch", analysis_type="regression", fn_build=pytorch_regression_fn_build,
                              fn_train=torch_fn_train, hyperparameters={"neuron_count": [4]}, search="nope",
                              splitset_id=splitset.id)
    # the refused queues stored nothing: not the splitset's encoders (fitted for the checks), no hyperparameters
    after = table_counts()
    assert {table: after[table] - before[table] for table in after if after[table] != before[table]} == \
        {"algorithm": 1}  # the classifier's own, stored by Algorithm.make
    assert not Splitset.get(splitset.id).is_encoded
    queue = algorithm.make_queue(splitset_id=splitset.id, foldset_id=foldset.id,
                                 hyperparamset_id=algorithm.make_hyperparamset({"neuron_count": [4]}).id)
    assert queue.job_count == 2
    with pytest.raises(errors.SplitError, match="encoded already"):
        Splitset.get(splitset.id).make_foldset(fold_count=3)


def test_keras_multiclass_scenario_matches_its_high_level_twin(db):
    pytest.importorskip("assay_keras")
    low = make_test_queue_keras_multiclass(hyperparameters=TINY["keras_multiclass"])
    high = assay.Pipeline.Tabular.make(
        df_or_path=datum.get_path("iris.tsv"), label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder(sparse_output=False)),
        feature_cols_excluded="species",
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(copy=False), columns=["petal_width"]),
                          dict(sklearn_preprocess=StandardScaler(copy=False), dtypes=["float64"])],
        size_test=0.18, size_validation=0.14,
    )
    assert low.splitset.samples == high.samples
    assert low.splitset.feature_names == high.feature_names
    assert low.splitset.label_classes == high.label_classes
    np.testing.assert_array_equal(low.splitset.samples_for("test")["features"], high.samples_for("test")["features"])


def test_an_upgraded_database_gets_a_foldset_for_each_splitset_with_folds(tmp_path):
    import shutil
    from pathlib import Path

    copy = tmp_path / "assay_0001.sqlite3"
    shutil.copyfile(Path(__file__).parent / "data" / "assay_0001.sqlite3", copy)
    assay.setup(f"sqlite:///{copy}")

    for splitset in Splitset.all():
        assert splitset.is_encoded
        if splitset.fold_count:
            assert splitset.foldset.fold_count == splitset.fold_count == len(splitset.folds)
        else:
            assert splitset.foldset is None
    assert all(queue.permute_count == 0 for queue in assay.Queue.all())
