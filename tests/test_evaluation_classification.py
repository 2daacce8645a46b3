"""Evaluation of a multi-class queue: metrics against scikit-learn, the leaderboard, every plot, importance.

One real queue per module: iris, a tiny torch network, 2 combinations x 2 repeats, trained once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sqlalchemy import select

import assay
from assay import datum, errors, plugins
from assay.db.engine import session_scope
from assay.db.models import PredictorRow
from assay.hookspecs import hookimpl

torch = pytest.importorskip("torch")
torch.set_num_threads(1)


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], hp["neuron_count"]), nn.ReLU(),
                         nn.Linear(hp["neuron_count"], label_shape[0]))


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate,
                                  epochs=hp["epoch_count"], batch_size=16)


@pytest.fixture(scope="module")
def queue_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('evaluation-multi') / 'assay.sqlite3'}"
    assay.setup(url)
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()), feature_cols_excluded="species",
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.22, size_validation=0.12,
    )
    queue = assay.Experiment.make(
        library="torch", analysis_type="classification_multi", fn_build=fn_build, fn_train=fn_train,
        repeat_count=2, hyperparameters={"neuron_count": [3, 12], "epoch_count": [8]}, splitset_id=splitset.id,
        seed=3,
    )
    summary = queue.run_jobs(progress=False)
    assert summary.succeeded == 4
    return url, queue.id


@pytest.fixture
def queue(queue_url):
    url, queue_id = queue_url
    assay.setup(url)  # conftest disposes the engine after every test
    return assay.Queue.get(queue_id)


def line_labels(axis) -> list[str]:
    return [line.get_label() for line in axis.get_lines()]


# --- metrics ----------------------------------------------------------------------------------------------------


def test_metrics_table_has_one_row_per_model_and_split_with_its_hyperparameters(queue):
    table = queue.metrics_to_pandas()
    assert list(table.columns[:9]) == ["queue_id", "job_id", "predictor_id", "run_index", "combo_index",
                                       "neuron_count", "epoch_count", "fold_index", "repeat_index"]
    assert len(table) == 4 * 3
    assert list(table["split"][:3]) == ["train", "validation", "test"]
    for predictor in queue.predictors:
        rows = table[table["predictor_id"] == predictor.id]
        assert set(rows["split"]) == set(predictor.predictions)
        assert set(rows["neuron_count"]) == {predictor.hyperparameters["neuron_count"]}
        assert set(rows["repeat_index"]) == {predictor.repeat_index}
        assert rows["fold_index"].isna().all()
        for _, row in rows.iterrows():
            assert row["accuracy"] == pytest.approx(predictor.metrics[row["split"]]["accuracy"])


def test_stored_metrics_equal_scikit_learn_on_the_stored_predictions(queue):
    for predictor in queue.predictors:
        for split, prediction in predictor.predictions.items():
            truth, predicted = prediction.labels, prediction.predictions
            classes = prediction.classes
            assert classes == ["setosa", "versicolor", "virginica"]
            expected = {
                "accuracy": skm.accuracy_score(truth, predicted),
                "balanced_accuracy": skm.balanced_accuracy_score(truth, predicted),
                "precision": skm.precision_score(truth, predicted, average="weighted", zero_division=0),
                "recall": skm.recall_score(truth, predicted, average="weighted", zero_division=0),
                "f1": skm.f1_score(truth, predicted, average="weighted", zero_division=0),
                "roc_auc": skm.roc_auc_score(truth, prediction.probabilities, multi_class="ovr", labels=classes),
                "log_loss": skm.log_loss(truth, prediction.probabilities, labels=classes),
            }
            for name, value in expected.items():
                assert prediction.metrics[name] == pytest.approx(value, rel=1e-4, abs=1e-6), (split, name)
            assert prediction.metrics["loss"] > 0


# --- leaderboard ------------------------------------------------------------------------------------------------


def test_leaderboard_aggregates_repeats_per_combination_on_the_validation_split(queue):
    board = queue.leaderboard()
    assert board.attrs["split"] == "validation"
    assert board.attrs["metric"] == "accuracy"
    assert list(board["rank"]) == [1, 2]
    assert list(board["run_count"]) == [2, 2]
    per_combo: dict[int, list[float]] = {}
    for predictor in queue.predictors:
        per_combo.setdefault(predictor.hyperparameters["neuron_count"], []).append(
            predictor.metrics["validation"]["accuracy"])
    for _, row in board.iterrows():
        values = per_combo[row["neuron_count"]]
        assert row["accuracy_mean"] == pytest.approx(np.mean(values))
        assert row["accuracy_std"] == pytest.approx(np.std(values, ddof=1))
        assert row["accuracy_min"] == pytest.approx(min(values))
        assert row["accuracy_max"] == pytest.approx(max(values))
        best = assay.Predictor.get(int(row["best_predictor_id"]))
        assert best.metrics["validation"]["accuracy"] == pytest.approx(max(values))
    means = list(board["accuracy_mean"])
    assert means == sorted(means, reverse=True)


def test_leaderboard_ranks_by_a_chosen_metric_and_split_in_that_metrics_direction(queue):
    board = queue.leaderboard(split="test", metric="loss")
    assert board.attrs == {**board.attrs, "split": "test", "metric": "loss", "higher_is_better": False}
    assert list(board["loss_mean"]) == sorted(board["loss_mean"])
    assert board.columns[6] == "loss_mean"  # the ranking metric comes first


def test_leaderboard_names_the_available_splits_and_metrics_when_asked_for_unknown_ones(queue):
    with pytest.raises(errors.ValidationError, match="train, validation, test"):
        queue.leaderboard(split="holdout")
    with pytest.raises(errors.ValidationError, match=r"metric.*'r2'.*accuracy"):
        queue.leaderboard(metric="r2")


# --- plots ------------------------------------------------------------------------------------------------------


def test_confusion_matrix_shows_the_counts_scikit_learn_computes(queue):
    prediction = queue.predictors[0].predictions["test"]
    figure = prediction.plot_confusion_matrix()
    axis = figure.axes[0]
    classes = ["setosa", "versicolor", "virginica"]
    assert [t.get_text() for t in axis.get_xticklabels()] == classes
    assert [t.get_text() for t in axis.get_yticklabels()] == classes
    assert axis.get_xlabel() == "Predicted label"
    assert axis.get_ylabel() == "True label"
    assert "test split" in axis.get_title()
    expected = skm.confusion_matrix(prediction.labels, prediction.predictions, labels=classes)
    np.testing.assert_array_equal(axis.images[0].get_array(), expected)
    assert [int(t.get_text()) for t in axis.texts] == expected.ravel().tolist()


def test_roc_curve_has_one_curve_per_class_matching_scikit_learn(queue):
    prediction = queue.predictors[-1].predictions["test"]
    axis = prediction.plot_roc_curve().axes[0]
    assert axis.get_xlabel() == "False positive rate"
    assert axis.get_ylabel() == "True positive rate"
    labels = line_labels(axis)
    assert labels[-1] == "chance"
    assert len(labels) == 4
    for index, name in enumerate(prediction.classes):
        fpr, tpr, _ = skm.roc_curve(prediction.labels == name, prediction.probabilities[:, index])
        line = axis.get_lines()[index]
        np.testing.assert_allclose(line.get_xdata(), fpr)
        np.testing.assert_allclose(line.get_ydata(), tpr)
        assert labels[index] == f"{name} (AUC {skm.auc(fpr, tpr):.3f})"
    assert axis.get_legend() is not None


def test_precision_recall_curve_matches_scikit_learn_with_average_precision_in_the_legend(queue):
    prediction = queue.predictors[-1].predictions["validation"]
    axis = prediction.plot_precision_recall().axes[0]
    assert (axis.get_xlabel(), axis.get_ylabel()) == ("Recall", "Precision")
    for index, name in enumerate(prediction.classes):
        truth = prediction.labels == name
        precision, recall, _ = skm.precision_recall_curve(truth, prediction.probabilities[:, index])
        line = axis.get_lines()[index]
        np.testing.assert_allclose(line.get_xdata(), recall)
        np.testing.assert_allclose(line.get_ydata(), precision)
        ap = skm.average_precision_score(truth, prediction.probabilities[:, index])
        assert line.get_label() == f"{name} (AP {ap:.3f})"


def test_unknown_plot_name_lists_the_plots_available(queue):
    prediction = queue.predictors[0].predictions["test"]
    with pytest.raises(errors.ValidationError, match="confusion_matrix, precision_recall, roc_curve"):
        prediction.plot("residuals")


def test_a_plugin_adds_a_named_plot_for_predictions(queue):
    from matplotlib.figure import Figure

    def row_count_plot(prediction):
        figure = Figure()
        figure.add_subplot().bar(["rows"], [len(prediction.predictions)])
        return figure

    class Plugin:
        @hookimpl
        def assay_plots(self, analysis_type):
            return {"row_count": row_count_plot} if analysis_type == "classification_multi" else None

    plugins.get_plugin_manager().register(Plugin(), name="row-count-plot")
    prediction = queue.predictors[0].predictions["test"]
    bar = prediction.plot("row_count").axes[0].patches[0]
    assert bar.get_height() == len(prediction.labels)
    assert set(plugins.plots("classification_multi")) >= {"row_count", "confusion_matrix", "roc_curve"}


def test_learning_curve_draws_each_history_metric_for_train_and_validation(queue):
    predictor = queue.predictors[0]
    figure = predictor.plot_learning_curve()
    loss, accuracy = figure.axes
    assert (loss.get_title(), accuracy.get_title()) == ("Loss", "Accuracy")
    assert loss.get_xlabel() == "Epoch"
    assert line_labels(loss) == ["train", "validation"]
    np.testing.assert_allclose(loss.get_lines()[0].get_ydata(), predictor.history["loss"])
    np.testing.assert_allclose(loss.get_lines()[1].get_ydata(), predictor.history["val_loss"])
    np.testing.assert_array_equal(loss.get_lines()[0].get_xdata(), np.arange(1, 9))
    only_loss = predictor.plot_learning_curve(metrics=["val_loss"])
    assert len(only_loss.axes) == 1
    with pytest.raises(errors.ValidationError, match=r"metrics.*loss, accuracy"):
        predictor.plot_learning_curve(metrics=["auc"])


def test_queue_comparison_plots_loss_against_accuracy_and_each_hyperparameter(queue):
    figure = queue.plot_performance()
    overview, neuron_count, epoch_count = figure.axes[:3]
    runs = queue.metrics_to_pandas().query("split == 'validation'")
    np.testing.assert_allclose(overview.collections[0].get_offsets(), runs[["loss", "accuracy"]].to_numpy())
    assert overview.get_xlabel() == "loss (validation)"
    assert overview.get_ylabel() == "accuracy (validation)"
    best = runs.loc[runs["accuracy"].idxmax()]
    np.testing.assert_allclose(overview.collections[1].get_offsets(), [[float(best["loss"]), float(best["accuracy"])]])
    assert neuron_count.get_xlabel() == "neuron_count"
    assert neuron_count.get_title() == "Effect of neuron_count"
    assert [t.get_text() for t in neuron_count.get_xticklabels()] == ["3", "12"]
    means = runs.groupby("neuron_count")["accuracy"].mean()
    np.testing.assert_allclose(neuron_count.get_lines()[0].get_ydata(), [means[3], means[12]])
    assert epoch_count.get_xlabel() == "epoch_count"


def test_figures_do_not_register_with_pyplot(queue):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    queue.plot_performance()
    queue.predictors[0].predictions["test"].plot_roc_curve()
    assert plt.get_fignums() == before


# --- feature importance -----------------------------------------------------------------------------------------


def test_feature_importance_scores_each_original_column_and_is_stored(queue):
    predictor = queue.predictors[-1]
    table = predictor.feature_importance(split="test", permutation_count=3)
    assert sorted(table["feature"]) == ["petal_length", "petal_width", "sepal_length", "sepal_width"]
    assert list(table["importance_mean"]) == sorted(table["importance_mean"], reverse=True)
    # the unshuffled score is the model's stored test accuracy: importance predicts exactly like the runner
    assert table.attrs["baseline"] == pytest.approx(predictor.metrics["test"]["accuracy"])
    assert table.attrs["metric"] == "accuracy"
    with session_scope() as session:
        stored = session.execute(select(PredictorRow.feature_importance).where(PredictorRow.id == predictor.id))
        stored = stored.scalar_one()
    assert set(stored["test"]["3"]["drops"]) == set(table["feature"])
    assert all(len(values) == 3 for values in stored["test"]["3"]["drops"].values())
    again = assay.Predictor.get(predictor.id).feature_importance(split="test", permutation_count=3)
    pd.testing.assert_frame_equal(again, table)

    figure = predictor.plot_feature_importance(split="test", permutation_count=3, top_n=2)
    axis = figure.axes[0]
    assert [t.get_text() for t in axis.get_yticklabels()] == list(table["feature"][:2])[::-1]
    np.testing.assert_allclose([bar.get_width() for bar in axis.patches], table["importance_mean"][:2][::-1])
    assert axis.get_xlabel() == "Drop in accuracy when the column is shuffled"


def test_feature_importance_rejects_a_split_the_model_was_not_evaluated_on(queue):
    with pytest.raises(errors.ValidationError, match=r"split.*train, validation, test"):
        queue.predictors[0].feature_importance(split="holdout")
    with pytest.raises(errors.ValidationError, match="permutation_count"):
        queue.predictors[0].feature_importance(permutation_count=0)
