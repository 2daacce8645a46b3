"""Evaluation of a regression queue with folds: metrics against scikit-learn, aggregation over folds and repeats,
regression plots, importance of a one-hot encoded column, the HTML report and the ``assay`` subcommands.

One real queue per module: 90 synthetic rows (two numbers and a colour), a tiny torch network, 2 folds x
2 repeats of one combination, trained once.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import assay
from assay import cli, errors

torch = pytest.importorskip("torch")
torch.set_num_threads(1)


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], 8), nn.ReLU(), nn.Linear(8, label_shape[0]))


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate,
                                  epochs=hp["epoch_count"], batch_size=8)


def make_frame(rows: int = 90) -> pd.DataFrame:
    """A label driven by ``size`` and ``colour``; ``noise`` has no effect on it."""
    rng = np.random.default_rng(11)
    colour = rng.choice(["red", "green", "blue"], size=rows)
    size = rng.normal(size=rows)
    noise = rng.normal(size=rows)
    label = 3.0 * size + pd.Series(colour).map({"red": 4.0, "green": 0.0, "blue": -4.0}).to_numpy() + 10.0
    return pd.DataFrame({"size": size, "noise": noise, "colour": pd.Series(colour, dtype=object),
                         "target": label + 0.1 * rng.normal(size=rows)})


@pytest.fixture(scope="module")
def queue_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('evaluation-regression') / 'assay.sqlite3'}"
    assay.setup(url)
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=make_frame(), label_column="target", label_encoder=dict(sklearn_preprocess=StandardScaler()),
        feature_encoders=[dict(sklearn_preprocess=OneHotEncoder(), columns=["colour"]),
                          dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.2, fold_count=2,
    )
    queue = assay.Experiment.make(
        library="torch", analysis_type="regression", fn_build=fn_build, fn_train=fn_train, repeat_count=2,
        hyperparameters={"epoch_count": [30]}, splitset_id=splitset.id, seed=5,
    )
    assert queue.run_jobs(progress=False).succeeded == 4
    return url, queue.id


@pytest.fixture
def queue(queue_url):
    url, queue_id = queue_url
    assay.setup(url)
    return assay.Queue.get(queue_id)


def test_regression_metrics_equal_scikit_learn_on_the_stored_predictions(queue):
    for predictor in queue.predictors:
        for split, prediction in predictor.predictions.items():
            truth, predicted = prediction.labels.astype(float), prediction.predictions.astype(float)
            mse = skm.mean_squared_error(truth, predicted)
            expected = {
                "r2": skm.r2_score(truth, predicted), "mse": mse, "rmse": np.sqrt(mse),
                "mae": skm.mean_absolute_error(truth, predicted),
                "mape": skm.mean_absolute_percentage_error(truth, predicted),
                "explained_variance": skm.explained_variance_score(truth, predicted),
            }
            for name, value in expected.items():
                assert prediction.metrics[name] == pytest.approx(value, rel=1e-5), (split, name)


def test_leaderboard_aggregates_every_fold_and_repeat_of_the_combination(queue):
    table = queue.metrics_to_pandas()
    assert sorted(table["fold_index"].dropna().unique()) == [0, 1]
    assert set(table["split"]) == {"train", "validation", "test"}
    board = queue.leaderboard()
    assert board.attrs["metric"] == "r2"
    assert board.attrs["split"] == "validation"
    assert board["run_count"].tolist() == [4]
    validation = [p.metrics["validation"]["r2"] for p in queue.predictors]
    assert board["r2_mean"][0] == pytest.approx(np.mean(validation))
    assert board["r2_std"][0] == pytest.approx(np.std(validation, ddof=1))
    assert board.loc[0, "rmse_mean"] == pytest.approx(np.mean([p.metrics["validation"]["rmse"]
                                                               for p in queue.predictors]))


def test_residuals_plot_shows_each_rows_error_and_their_distribution(queue):
    prediction = queue.predictors[0].predictions["test"]
    scatter, histogram = prediction.plot_residuals().axes
    residuals = prediction.labels.astype(float) - prediction.predictions.astype(float)
    np.testing.assert_allclose(scatter.collections[0].get_offsets(),
                               np.column_stack([prediction.predictions.astype(float), residuals]))
    assert scatter.get_ylabel() == "Residual (actual - predicted)"
    assert scatter.get_xlabel() == "Predicted value"
    assert sum(patch.get_height() for patch in histogram.patches) == len(residuals)
    assert histogram.get_ylabel() == "Rows"


def test_predicted_vs_actual_plot_puts_each_row_against_the_diagonal(queue):
    prediction = queue.predictors[1].predictions["validation"]
    axis = prediction.plot_predicted_vs_actual().axes[0]
    np.testing.assert_allclose(axis.collections[0].get_offsets(),
                               np.column_stack([prediction.labels.astype(float), prediction.predictions]))
    diagonal = axis.get_lines()[0]
    np.testing.assert_allclose(diagonal.get_xdata(), diagonal.get_ydata())
    assert (axis.get_xlabel(), axis.get_ylabel()) == ("Actual value", "Predicted value")
    assert f"R² {prediction.metrics['r2']:.3f}" in axis.get_title()


def test_classification_plots_are_not_offered_for_regression(queue):
    with pytest.raises(errors.ValidationError, match="predicted_vs_actual, residuals"):
        queue.predictors[0].predictions["test"].plot_confusion_matrix()


def test_importance_counts_a_one_hot_encoded_column_once_and_finds_what_drives_the_label(queue):
    predictor = queue.predictors[0]
    table = predictor.feature_importance(split="train", permutation_count=2)
    assert sorted(table["feature"]) == ["colour", "noise", "size"]
    assert table.attrs["baseline"] == pytest.approx(predictor.metrics["train"]["r2"], rel=1e-5)
    importance = table.set_index("feature")["importance_mean"]
    assert importance["size"] > importance["noise"]
    assert importance["colour"] > importance["noise"]


def test_report_is_one_html_file_with_the_leaderboard_and_embedded_plots(queue, tmp_path):
    path = queue.report(tmp_path / "reports" / "queue.html")
    with open(path, encoding="utf-8") as file:
        page = file.read()
    assert page.startswith("<!DOCTYPE html>")
    assert f"Queue {queue.id}: regression with torch" in page
    assert "Leaderboard" in page
    assert "Ranked by mean <b>r2</b> on the <b>validation</b> split" in page
    best = queue.leaderboard()["r2_mean"][0]
    assert f"{best:.4f}" in page
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    # comparison, search history (one combination: no importance), and for the one best model: learning curve
    # + residuals + predicted-vs-actual on 2 splits
    assert len(images) == 1 + 1 + 1 + 2 * 2
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing to fetch: the file stands alone
    assert "could not be drawn" not in page
    with pytest.raises(errors.ValidationError, match="path"):
        queue.report(tmp_path)


def run_command(argv: list[str]) -> int:
    return cli.main(argv)


def test_leaderboard_command_prints_the_ranking_table(queue, queue_url, capsys):
    url = queue_url[0]
    assert run_command(["leaderboard", str(queue.id), "--url", url, "--metric", "mae", "--split", "test"]) == 0
    output = capsys.readouterr().out
    assert f"Queue {queue.id} leaderboard: 1 combinations ranked by mae on the test split (lower is better" in output
    header, row = output.splitlines()[1:3]
    columns = header.split()
    assert columns[:5] == ["rank", "combo_index", "epoch_count", "run_count", "best_predictor_id"]
    assert "tied_with_best" in columns  # one combination: it is the best, so tied with itself
    expected = np.mean([p.metrics["test"]["mae"] for p in queue.predictors])
    assert row.split()[columns.index("mae_mean")] == f"{expected:.4f}"


def test_queues_command_lists_progress_and_best_score(queue, queue_url, capsys):
    assert run_command(["--url", queue_url[0], "queues"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["queue", "created", "library", "analysis_type", "done", "succeeded", "failed",
                                "running", "queued", "best"]
    assert lines[1].split()[0] == str(queue.id)
    assert "4/4" in lines[1]
    assert f"{queue.leaderboard()['r2_mean'][0]:.4f} r2 (validation)" in lines[1]


def test_report_command_writes_the_file_it_names(queue, queue_url, tmp_path, capsys):
    target = tmp_path / "out.html"
    assert run_command(["report", str(queue.id), "-o", str(target), "--url", queue_url[0]]) == 0
    assert str(target) in capsys.readouterr().out
    assert target.read_text(encoding="utf-8").count("data:image/png;base64,") == 7
