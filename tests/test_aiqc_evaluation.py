"""AIQC 3.1.1's evaluation spellings run on assay's objects: ``queue.metrics_to_pandas(selected_metrics=...,
sort_by=...)``, ``queue.metrics_aggregate_to_pandas()``, ``queue.plot_performance(max_loss=..., min_accuracy=...,
min_r2=...)``, ``predictor.get_hyperparameters/export_model/plot_learning_curve(loss_skip_15pct=True)/
get_label_names/infer(splitset_id=...)`` and ``prediction.plot_feature_importance(top_n=..., height=...)``.

Two real torch queues per module, trained once: iris (multi-class, 2 combinations, stored train-split
importance) and a small regression.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import assay
from assay import datum, errors
from assay.orm import Dataset, Splitset

torch = pytest.importorskip("torch")
pytest.importorskip("assay_torch")
torch.set_num_threads(1)

EPOCHS = 10


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], hp["neuron_count"]), nn.ReLU(),
                         nn.Linear(hp["neuron_count"], label_shape[0]))


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=EPOCHS,
                                  batch_size=16, seed=0)


def regression_frame():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": 2 * x[:, 0] - x[:, 1] + 0.1 * x[:, 2]})


@pytest.fixture(scope="module")
def queues(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('aiqc-evaluation') / 'assay.sqlite3'}"
    assay.setup(url)
    iris = assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()), feature_cols_excluded="species",
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.22, size_validation=0.12,
    )
    classification = assay.Experiment.make(
        library="torch", analysis_type="classification_multi", fn_build=fn_build, fn_train=fn_train,
        hyperparameters={"neuron_count": [2, 8]}, splitset_id=iris.id, seed=1, permute_count=2,
    )
    assert classification.run_jobs(progress=False).succeeded == 2
    numbers = assay.Pipeline.Tabular.make(
        df_or_path=regression_frame(), label_column="y",
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.2, size_validation=0.2, bin_count=3,
    )
    regression = assay.Experiment.make(
        library="torch", analysis_type="regression", fn_build=fn_build, fn_train=fn_train,
        hyperparameters={"neuron_count": [4]}, splitset_id=numbers.id, seed=1,
    )
    assert regression.run_jobs(progress=False).succeeded == 1
    return url, classification.id, regression.id


@pytest.fixture
def queue(queues):
    assay.setup(queues[0])  # conftest disposes the engine after every test
    return assay.Queue.get(queues[1])


@pytest.fixture
def regression_queue(queues):
    assay.setup(queues[0])
    return assay.Queue.get(queues[2])


# --- queue tables -------------------------------------------------------------------------------------------------


def test_metrics_to_pandas_without_arguments_is_unchanged(queue):
    from assay.evaluation import leaderboard

    pd.testing.assert_frame_equal(queue.metrics_to_pandas(), leaderboard.metrics_to_pandas(queue.id))


def test_metrics_to_pandas_keeps_the_selected_metrics_and_sorts_descending_by_default(queue):
    table = queue.metrics_to_pandas(selected_metrics=["loss", "accuracy"], sort_by=["accuracy"])
    full = queue.metrics_to_pandas()
    metrics = [c for c in full.columns if c not in table.columns]
    assert "roc_auc" in metrics  # the other metrics are gone, identity columns stay
    assert list(table.columns[:9]) == list(full.columns[:9])
    kept = [c for c in full.columns if c in ("accuracy", "loss")]  # in the table's order
    assert list(table.columns[-2:]) == kept
    assert table["accuracy"].tolist() == sorted(full["accuracy"], reverse=True)
    rising = queue.metrics_to_pandas(selected_metrics="loss", sort_by="loss", ascending=True)
    assert rising["loss"].is_monotonic_increasing
    assert "accuracy" not in rising


def test_metrics_to_pandas_names_the_available_metrics_for_an_unknown_one(queue):
    with pytest.raises(errors.ValidationError, match=r"selected_metrics.*'r2' is not a metric.*accuracy.*loss"):
        queue.metrics_to_pandas(selected_metrics=["r2"])
    with pytest.raises(errors.ValidationError, match=r"sort_by.*'score' is not a column.*predictor_id"):
        queue.metrics_to_pandas(sort_by="score")


def test_metrics_aggregate_summarises_each_models_metrics_over_its_splits_as_aiqc(queue):
    aggregate = queue.metrics_aggregate_to_pandas()
    table = queue.metrics_to_pandas()
    assert list(aggregate.columns[-6:]) == ["metric", "mean", "median", "pstdev", "minimum", "maximum"]
    metric_count = len(table.columns) - table.columns.get_loc("split") - 1
    assert len(aggregate) == 2 * metric_count
    predictor_id = queue.predictors[0].id
    row = aggregate[(aggregate["predictor_id"] == predictor_id) & (aggregate["metric"] == "accuracy")].iloc[0]
    values = table.loc[table["predictor_id"] == predictor_id, "accuracy"].to_numpy()
    assert row["mean"] == pytest.approx(values.mean())
    assert row["median"] == pytest.approx(np.median(values))
    assert row["pstdev"] == pytest.approx(values.std(ddof=0))
    assert (row["minimum"], row["maximum"]) == pytest.approx((values.min(), values.max()))

    picked = queue.metrics_aggregate_to_pandas(selected_metrics=["loss"], selected_stats=["mean", "maximum"],
                                               sort_by="mean", ascending=True)
    assert picked["metric"].unique().tolist() == ["loss"]
    assert list(picked.columns[-3:]) == ["metric", "mean", "maximum"]
    assert picked["mean"].is_monotonic_increasing
    with pytest.raises(errors.ValidationError, match=r"selected_stats.*'std' is not a statistic.*pstdev"):
        queue.metrics_aggregate_to_pandas(selected_stats="std")


# --- plot_performance thresholds ---------------------------------------------------------------------------------


def overview_points(figure) -> int:
    return len(figure.axes[0].collections[0].get_offsets())


def test_plot_performance_thresholds_leave_out_models_as_aiqc(queue):
    table = queue.metrics_to_pandas()
    assert overview_points(queue.plot_performance()) == 2
    worst_accuracy = table.groupby("predictor_id")["accuracy"].min()
    # between the two models' worst splits: only the better model is kept
    threshold = float(worst_accuracy.mean())
    if worst_accuracy.iloc[0] == worst_accuracy.iloc[1]:
        pytest.skip("both models reached the same worst-split accuracy")
    figure = queue.plot_performance(min_accuracy=threshold)
    assert overview_points(figure) == 1
    assert "1 models" in figure.axes[0].get_title()
    kept_loss = queue.plot_performance(max_loss=float(table["loss"].max()) + 1)
    assert overview_points(kept_loss) == 2


def test_plot_performance_refuses_a_threshold_of_the_other_analysis_type_and_says_when_none_is_left(
        queue, regression_queue):
    with pytest.raises(errors.ValidationError, match=r"min_r2.*classification_multi.*use max_loss and min_accuracy"):
        queue.plot_performance(min_r2=0.5)
    with pytest.raises(errors.ValidationError, match=r"min_accuracy.*'regression'.*use max_loss and min_r2"):
        regression_queue.plot_performance(min_accuracy=0.5)
    with pytest.raises(errors.ValidationError, match=r"max_loss.*no model of queue .* meets max_loss=0"):
        queue.plot_performance(max_loss=0)
    assert overview_points(regression_queue.plot_performance(min_r2=-1e9)) == 1


# --- predictor --------------------------------------------------------------------------------------------------


def test_get_hyperparameters_as_a_dict_or_a_param_value_frame(queue):
    predictor = queue.predictors[1]
    assert predictor.get_hyperparameters() == {"neuron_count": 8}
    frame = predictor.get_hyperparameters(as_pandas=True)
    assert list(frame.columns) == ["param", "value"]
    assert frame.to_dict("records") == [{"param": "neuron_count", "value": 8}]


def test_export_model_writes_the_torch_weights_that_load_back_and_predict_like_get_model(queue, tmp_path,
                                                                                         monkeypatch):
    predictor = queue.predictors[0]
    path = predictor.export_model(str(tmp_path / "model.pt"))
    assert path == str((tmp_path / "model.pt").resolve())
    model = fn_build(predictor.features_shape, predictor.label_shape, **predictor.hyperparameters)
    model.load_state_dict(torch.load(path, weights_only=True))
    model.eval()
    features = torch.as_tensor(queue.splitset.samples_for("test")["features"], dtype=torch.float32)
    with torch.no_grad():
        assert torch.equal(model(features), predictor.get_model()(features))
    monkeypatch.chdir(tmp_path)
    default = predictor.export_model()
    assert default == str(tmp_path / f"predictor{predictor.id}_model.pt")
    with pytest.raises(errors.ValidationError, match=r"file_path.*does not exist"):
        predictor.export_model(str(tmp_path / "missing" / "model.pt"))


def test_plot_learning_curve_skips_the_first_15_percent_of_loss_epochs(queue):
    predictor = queue.predictors[0]
    full = predictor.plot_learning_curve()
    skipped = predictor.plot_learning_curve(loss_skip_15pct=True)
    train_loss = full.axes[0].get_lines()[0]
    assert list(train_loss.get_xdata()) == list(range(1, EPOCHS + 1))
    kept = skipped.axes[0].get_lines()[0]
    skip = EPOCHS - round(EPOCHS * 0.85)  # AIQC: tail(round(epochs * .85))
    assert list(kept.get_xdata()) == list(range(skip + 1, EPOCHS + 1))
    assert list(kept.get_ydata()) == predictor.history["loss"][skip:]
    # other metrics keep every epoch
    assert len(skipped.axes[1].get_lines()[0].get_xdata()) == EPOCHS


def test_get_label_names_lists_the_classes_or_none_for_regression(queue, regression_queue):
    assert queue.predictors[0].get_label_names() == ["setosa", "versicolor", "virginica"]
    assert queue.predictors[0].get_label_names() == queue.predictors[0].predictions["test"].classes
    assert regression_queue.predictors[0].get_label_names() is None


def test_infer_a_splitset_made_step_by_step_from_new_rows(queue):
    predictor = queue.predictors[1]
    new = datum.to_pandas("iris.tsv").sample(12, random_state=0).reset_index(drop=True)
    dataset = Dataset.Tabular.from_pandas(new)
    label = dataset.make_label(columns=["species"])
    feature = dataset.make_feature(exclude_columns=["species"])
    splitset = Splitset.make(feature_ids=[feature.id], label_id=label.id)
    by_splitset = predictor.infer(splitset_id=splitset.id)
    by_rows = predictor.infer(new)
    pd.testing.assert_frame_equal(by_splitset, by_rows, check_like=True)
    assert set(by_splitset.attrs["metrics"]) >= {"accuracy", "loss"}
    assert predictor.infer(splitset.id)["prediction"].tolist() == by_rows["prediction"].tolist()  # AIQC positional
    with pytest.raises(errors.ValidationError, match=r"splitset_id.*not both"):
        predictor.infer(new, splitset_id=splitset.id)


# --- prediction --------------------------------------------------------------------------------------------------


def test_prediction_plot_feature_importance_shows_the_stored_importance_of_its_split(queue):
    predictor = queue.predictors[0]
    stored = predictor.feature_importance(split="train", permutation_count=2)
    figure = predictor.predictions["train"].plot_feature_importance(top_n=2, height=300)
    bars = figure.axes[0].patches
    assert [bar.get_width() for bar in bars][::-1] == pytest.approx(stored["importance_mean"][:2].tolist())
    assert figure.get_size_inches()[1] * figure.dpi == pytest.approx(300)
    every = predictor.predictions["train"].plot_feature_importance()
    assert len(every.axes[0].patches) == 4


def test_export_model_writes_a_keras_archive_that_keras_loads_and_refuses_aiqcs_h5_name(db, tmp_path):
    keras = pytest.importorskip("keras")
    import experiment_helpers

    splitset = assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])], size_test=0.2,
    )
    queue = assay.Experiment.make(
        library="keras", analysis_type="classification_multi", fn_build=experiment_helpers.fn_build,
        fn_train=experiment_helpers.fn_train, hyperparameters={"epoch_count": [1]}, splitset_id=splitset.id,
    )
    assert queue.run_jobs(progress=False).succeeded == 1
    predictor = queue.predictors[0]
    path = predictor.export_model(str(tmp_path))  # a folder: the default name inside it
    assert path == str(tmp_path / f"predictor{predictor.id}_model.keras")
    features = splitset.samples_for("test")["features"]
    np.testing.assert_allclose(keras.models.load_model(path).predict(features, verbose=0),
                               predictor.get_model().predict(features, verbose=0), rtol=1e-6)
    with pytest.raises(errors.ValidationError, match=r"file_path.*\.keras archive.*'model\.keras'"):
        predictor.export_model(str(tmp_path / "model.h5"))


def test_aiqcs_way_to_reach_a_model_and_its_predictions(queue):
    job = queue.jobs[0]
    [predictor] = job.predictors
    assert predictor == job.predictor
    assert assay.Predictor.get_by_id(predictor.id) == predictor
    assert predictor.predictions["test"].plot_confusion_matrix().axes
    with pytest.raises(KeyError, match=r"0: no prediction on that split \(AIQC's predictions\[0\].*'train', 'valid"):
        predictor.predictions[0]
