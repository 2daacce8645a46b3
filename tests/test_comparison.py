"""``queue.compare(a, b)`` and the leaderboard's ``p_value_vs_best``/``tied_with_best``, checked against independent
computations: scipy's Student t for the corrected resampled t-test, ``baycomp`` for the Bayesian correlated t-test,
and a bootstrap written out here with scikit-learn's metrics.

Nothing is trained: results are stored through the runner's own storage path with metrics and predictions the
test chooses (the test backend ``numpy_linear``); the real Keras and torch queues are in test_conformal_queues.py.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sqlalchemy import update

import assay
from assay import datum, errors
from assay.db import engine as db_engine
from assay.db.models import JobRow
from assay.evaluation import significance
from assay.experiment import arrays, runner

baycomp = pytest.importorskip("baycomp")
pytest.importorskip("assay_dummy", reason="install tests/thirdparty_plugin (nox -s tests does)")

WORKER = "test-worker"
LIBRARY = "numpy_linear"


def fn_build(features_shape, label_shape, **hp):  # never called: nothing is trained
    raise AssertionError("not trained in these tests")


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    raise AssertionError("not trained in these tests")


def make_queue(combos=3, repeat_count=1, fold_count=None, size_validation=0.2, **more):
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()), feature_cols_excluded="species",
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.2, size_validation=None if fold_count else size_validation, fold_count=fold_count,
    )
    return assay.Experiment.make(library=LIBRARY, analysis_type="classification_multi", fn_build=fn_build,
                                 fn_train=fn_train, repeat_count=repeat_count,
                                 hyperparameters={"quality": list(range(combos))}, splitset_id=splitset.id, seed=0,
                                 **more)


def store(queue, accuracy_for=None, seed=0):
    """Store every job's results. With ``accuracy_for(job)`` the validation accuracy is that number (folds);
    otherwise predictions are drawn so that combination ``quality`` q is right on about 55% + 10% q of rows."""
    splitset = queue.splitset
    classes = np.asarray(splitset.label_classes)
    rng = np.random.default_rng(seed)
    with db_engine.session_scope() as session:
        session.execute(update(JobRow).where(JobRow.queue_id == queue.id).values(status="running", worker=WORKER))
    for job in queue.jobs:
        evaluated = []
        for split in [name for name in ("train", "validation", "test")
                      if name in splitset.samples or (name == "validation" and job.fold_index is not None)]:
            rows = np.asarray(splitset.row_indices(split, fold_index=job.fold_index))
            labels = np.asarray(splitset.raw_labels(rows))
            truth = pd.Index(classes).get_indexer(labels)
            right = rng.random(len(rows)) < 0.55 + 0.1 * job.hyperparameters["quality"]
            predicted = np.where(right, truth, (truth + 1 + rng.integers(0, 2, len(rows))) % 3)
            probabilities = rng.dirichlet(np.ones(3), size=len(rows)) * 0.5
            probabilities[np.arange(len(rows)), predicted] += 0.5
            metrics = {"accuracy": float(accuracy_score(truth, predicted)),
                       "f1": float(f1_score(truth, predicted, average="weighted")), "loss": float(rng.random())}
            if accuracy_for is not None and split == "validation":
                metrics["accuracy"] = accuracy_for(job)
            blob = arrays.dumps(row_indices=rows, predictions=classes[predicted], probabilities=probabilities,
                                labels=labels, classes=classes)
            evaluated.append(runner._Evaluated(split, blob, metrics, len(rows)))
        predictor = {"model_format": LIBRARY, "model_blob": b"", "history": {"loss": [1.0]}, "features_shape": [4],
                     "label_shape": [3], "versions": {}, "seconds_train": 0.1, "seconds_total": 0.1}
        assert runner._store(job.id, WORKER, predictor, evaluated)


def fold_accuracy(job):
    """A known validation accuracy per (combination, fold, repeat), noisy enough to give a spread."""
    noise = np.random.default_rng(1000 * job.hyperparameters["quality"] + 10 * job.fold_index + job.repeat_index)
    return float(0.8 + 0.02 * job.hyperparameters["quality"] + noise.normal(0, 0.03))


def paired_scores(queue, combo):
    runs = queue.metrics_to_pandas()
    runs = runs[(runs["split"] == "validation") & (runs["combo_index"] == combo)]
    return runs.sort_values(["repeat_index", "fold_index"])["accuracy"].to_numpy(float)


def test_with_folds_compare_matches_scipy_corrected_t_and_baycomp_correlated_t_on_either_database(any_db):
    queue = make_queue(combos=3, repeat_count=2, fold_count=4)
    store(queue, fold_accuracy)
    result = queue.compare(2, 0, rope=0.01)
    x, y = paired_scores(queue, 2), paired_scores(queue, 0)
    d = x - y
    n, k = len(d), 4
    scale = np.sqrt(np.var(d, ddof=1) * (1 / n + 1 / (k - 1)))
    assert result.method.startswith("corrected resampled t-test")
    assert result.n_pairs == 8
    assert result.mean_difference == pytest.approx(d.mean(), abs=1e-12)
    assert result.p_value == pytest.approx(2 * stats.t.sf(abs(d.mean()) / scale, n - 1), abs=1e-6)
    half = stats.t.ppf(0.975, n - 1) * scale
    assert (result.ci_low, result.ci_high) == pytest.approx((d.mean() - half, d.mean() + half), abs=1e-6)
    # baycomp's difference is y - x: its "left" is x (combination 2) better
    left, rope, right = baycomp.CorrelatedTTest.probs(x, y, rope=0.01, runs=2)
    assert (result.prob_better, result.prob_equivalent, result.prob_worse) == pytest.approx((left, rope, right),
                                                                                            abs=1e-6)
    assert result.rope == 0.01
    assert result.higher_is_better
    # and the leaderboard's p-value against the best is compare's
    board = queue.leaderboard()
    best = int(board.loc[0, "combo_index"])
    assert pd.isna(board.loc[0, "p_value_vs_best"])
    assert board.loc[0, "tied_with_best"]
    for _, row in board.iloc[1:].iterrows():
        expected = queue.compare(int(row["combo_index"]), best).p_value
        assert row["p_value_vs_best"] == pytest.approx(expected, abs=1e-9)
        assert row["tied_with_best"] == (expected >= 0.05)


def test_with_one_split_compare_is_a_seeded_paired_bootstrap_of_the_stored_predictions(db):
    queue = make_queue(combos=3, repeat_count=2)
    store(queue)
    result = queue.compare(2, 0)
    assert result.method.startswith("paired bootstrap over the validation rows (2000 resamples)")
    # the same bootstrap written out: sklearn's accuracy on each resample's rows, repeats averaged
    runs = {combo: [p.predictions["validation"] for p in queue.predictors if p.job.hyperparameters["quality"] == combo]
            for combo in (0, 2)}
    n = len(runs[0][0].labels)
    picks = np.random.default_rng(0).integers(0, n, size=(2000, n))

    def accuracy(combo, rows):
        return np.mean([accuracy_score(p.labels[rows], p.predictions[rows]) for p in runs[combo]])

    observed = accuracy(2, np.arange(n)) - accuracy(0, np.arange(n))
    resampled = np.array([accuracy(2, rows) - accuracy(0, rows) for rows in picks])
    assert result.n_pairs == n
    assert result.mean_difference == pytest.approx(observed, abs=1e-12)
    assert (result.ci_low, result.ci_high) == pytest.approx(tuple(np.percentile(resampled, [2.5, 97.5])), abs=1e-12)
    extreme = np.abs(resampled - observed) >= abs(observed) - 1e-12
    assert result.p_value == pytest.approx((1 + extreme.sum()) / 2001, abs=1e-12)
    assert result.prob_better == pytest.approx(np.mean(resampled > 0.01))
    assert result.prob_worse == pytest.approx(np.mean(resampled < -0.01))
    # a metric with no per-row form (F1) is recomputed on each resample
    by_f1 = queue.compare(2, 0, metric="f1", resamples=2000)
    f1 = [np.mean([f1_score(p.labels[rows], p.predictions[rows], average="weighted") for p in runs[2]])
          - np.mean([f1_score(p.labels[rows], p.predictions[rows], average="weighted") for p in runs[0]])
          for rows in picks[:50]]
    assert by_f1.posterior["samples"][:50] == pytest.approx(f1, abs=1e-9)
    board = queue.leaderboard()
    best = int(board.loc[0, "combo_index"])
    for _, row in board.iloc[1:].iterrows():
        assert row["p_value_vs_best"] == pytest.approx(queue.compare(int(row["combo_index"]), best).p_value)


def test_compare_refuses_unknown_combinations_bad_ropes_and_a_loss_it_cannot_resample(db):
    queue = make_queue(combos=2)
    store(queue)
    with pytest.raises(errors.ValidationError, match=r"combination 7 has no trained model.*combo_index"):
        queue.compare(0, 7)
    with pytest.raises(errors.ValidationError, match="rope"):
        queue.compare(0, 1, rope=-0.1)
    with pytest.raises(errors.ValidationError, match="'loss' metric comes from the model itself"):
        queue.compare(0, 1, metric="loss")
    with pytest.raises(errors.ValidationError, match="metric"):
        queue.compare(0, 1, metric="nonsense")


def test_the_rope_defaults_to_a_hundredth_of_a_bounded_score_and_can_be_set_per_queue(db):
    queue = make_queue(combos=2, rope=0.05)
    store(queue)
    assert queue.rope == 0.05
    assert queue.compare(0, 1).rope == 0.05
    assert queue.compare(0, 1, rope=0.0).rope == 0.0
    itself = queue.compare(1, 1)
    assert itself.mean_difference == 0
    assert itself.prob_equivalent == 1
    assert itself.p_value == 1
    assert significance.default_rope("accuracy", 0.9) == 0.01
    assert significance.default_rope("mse", -250.0) == pytest.approx(2.5)


def test_ranking_on_the_test_split_warns_that_the_chosen_models_test_score_is_optimistic(db):
    queue = make_queue(combos=2, size_validation=None)
    store(queue)
    board = queue.leaderboard()
    assert board.attrs["split"] == "test"
    assert "optimistic" in board.attrs["warning"]
    validated = make_queue(combos=2)
    store(validated)
    assert validated.leaderboard().attrs["warning"] is None


def test_the_performance_plot_stars_the_leaderboards_best_model(db):
    from assay.evaluation import plots

    queue = make_queue(combos=3, repeat_count=3)
    store(queue)
    board = queue.leaderboard()
    figure = plots.plot_performance(queue.id)
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert f"best (predictor {int(board.loc[0, 'best_predictor_id'])}, combination {board.loc[0, 'combo_index']})" \
        in labels


def test_a_comparison_shows_its_numbers_and_its_posterior(db):
    queue = make_queue(combos=2, repeat_count=1, fold_count=3)
    store(queue, fold_accuracy)
    result = queue.compare(1, 0)
    page = result._repr_html_()
    assert "Combination 1 vs 0" in page
    assert "p-value" in page
    assert "data:image/png;base64," in page
    figure = result.plot()
    assert "P(rope)" in figure.axes[0].get_title()
    assert result.to_dict()["n_pairs"] == 3


finite = st.floats(-1, 1, allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None)
@given(st.lists(finite, min_size=2, max_size=20), st.integers(2, 10), st.floats(0.001, 0.2))
def test_comparing_scores_with_themselves_gives_no_difference_and_certain_equivalence(scores, folds, rope):
    result = significance.corrected_ttest(np.asarray(scores) - np.asarray(scores), folds, rope)
    assert result["mean_difference"] == 0
    assert result["p_value"] == 1
    assert result["prob_equivalent"] == 1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=3, max_size=20), st.integers(2, 10), st.floats(0, 0.2),
       st.booleans())
def test_swapping_a_and_b_mirrors_the_difference_and_the_probabilities(pairs, folds, rope, higher):
    a, b = np.asarray(pairs).T
    forward = significance.corrected_ttest(a - b, folds, rope, higher)
    backward = significance.corrected_ttest(b - a, folds, rope, higher)
    assert backward["mean_difference"] == pytest.approx(-forward["mean_difference"], abs=1e-12)
    assert (backward["ci_low"], backward["ci_high"]) == pytest.approx((-forward["ci_high"], -forward["ci_low"]),
                                                                      abs=1e-9)
    assert backward["p_value"] == pytest.approx(forward["p_value"], abs=1e-9)
    assert backward["prob_better"] == pytest.approx(forward["prob_worse"], abs=1e-9)
    assert backward["prob_equivalent"] == pytest.approx(forward["prob_equivalent"], abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(st.integers(5, 40), st.integers(0, 10_000), st.floats(0.001, 0.1))
def test_the_bootstrap_of_a_combination_against_itself_and_swapped_is_exact(rows, seed, rope):
    rng = np.random.default_rng(seed)
    classes = np.array(["a", "b", "c"])

    def run():
        labels = classes[rng.integers(0, 3, rows)]
        return {"row_indices": np.arange(rows), "labels": labels, "classes": classes,
                "predictions": classes[rng.integers(0, 3, rows)], "probabilities": rng.dirichlet(np.ones(3), rows)}

    first, second = run(), run()
    second["labels"] = first["labels"]
    same_a, same_b, same = significance.bootstrap_rows([first], [first], "accuracy", "classification_multi")
    itself = significance.bootstrap_result(same_a - same_b, same, rope)
    assert itself["mean_difference"] == 0
    assert itself["prob_equivalent"] == 1
    assert itself["p_value"] == 1
    a, b, forward = significance.bootstrap_rows([first], [second], "accuracy", "classification_multi")
    b2, a2, backward = significance.bootstrap_rows([second], [first], "accuracy", "classification_multi")
    assert np.array_equal(forward, -backward)
    there = significance.bootstrap_result(a - b, forward, rope)
    back = significance.bootstrap_result(b2 - a2, backward, rope)
    assert (back["prob_better"], back["prob_worse"]) == (there["prob_worse"], there["prob_better"])
    assert back["p_value"] == there["p_value"]


def test_the_dashboard_and_the_report_show_ties_the_comparison_and_the_conformal_calibration(db, tmp_path):
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from assay import dashboard

    queue = make_queue(combos=3, repeat_count=2, size_validation=None, fold_count=3)
    store(queue, fold_accuracy)
    board = queue.leaderboard()
    best = assay.Predictor.get(int(board.loc[0, "best_predictor_id"]))
    best.calibrate(alpha=0.2)
    with TestClient(dashboard.create_app(db), base_url="http://127.0.0.1") as client:
        page = client.get(f"/queues/{queue.id}").text
        tied = int(board["tied_with_best"].sum()) - 1
        assert ("tied with best</span>" in page) == (tied > 0)
        other = int(board.loc[1, "best_predictor_id"])
        compared = client.get(f"/compare?ids={best.id},{other}").text
        assert f"Is combination {board.loc[0, 'combo_index']} really better than {board.loc[1, 'combo_index']}?" \
            in compared
        assert "data:image/png;base64," in compared
        predictor_page = client.get(f"/predictors/{best.id}").text
        assert "Conformal prediction" in predictor_page
        assert "coverage on test" in predictor_page
    assert "coverage on test" in best._repr_html_()
    report = (tmp_path / "report.html")
    queue.report(str(report))
    text = report.read_text()
    assert "really better than" in text
    assert "Tied with best" in text


def test_a_queue_ranked_on_test_warns_in_the_report_and_the_notebook(db, tmp_path):
    queue = make_queue(combos=2, size_validation=None)
    store(queue)
    report = tmp_path / "report.html"
    queue.report(str(report))
    assert "Optimistic test score" in report.read_text()
    assert "optimistic" in queue._repr_html_()


def test_experiment_make_refuses_a_conformal_alpha_its_validation_split_cannot_calibrate(db):
    with pytest.raises(errors.ValidationError, match="needs a validation split") as raised:
        make_queue(size_validation=None, conformal_alpha=0.1)
    assert raised.value.parameter == "conformal_alpha"
    with pytest.raises(errors.ValidationError, match=r"alpha=0.01 needs at least 1/alpha = 100 calibration rows"):
        make_queue(conformal_alpha=0.01)
    with pytest.raises(errors.ValidationError, match="strictly between 0 and 1"):
        make_queue(conformal_alpha=1.0)
    assert assay.Queue.all() == []


def test_a_deferred_leaderboard_ranks_at_once_and_completes_to_the_same_p_values(db):
    from assay.evaluation import leaderboard

    queue = make_queue(combos=4, repeat_count=2)
    store(queue)
    full = leaderboard.leaderboard(queue.id)
    deferred = leaderboard.leaderboard(queue.id, significance="deferred")
    assert deferred.attrs["significance_pending"]
    assert not full.attrs["significance_pending"]
    assert deferred["p_value_vs_best"].isna().all()
    assert list(deferred["tied_with_best"]) == [True, False, False, False]
    ranking = [column for column in full.columns if column not in ("p_value_vs_best", "tied_with_best")]
    pd.testing.assert_frame_equal(deferred[ranking], full[ranking])

    completed = leaderboard.with_significance(deferred)
    pd.testing.assert_frame_equal(completed, full)
    assert completed.attrs == full.attrs
    assert completed["p_value_vs_best"].iloc[1:].between(0, 1).all()
    assert leaderboard.with_significance(full) is full

    # with folds the p-values come from the metrics alone: nothing is left for later
    folds = make_queue(combos=3, repeat_count=2, size_validation=None, fold_count=3)
    store(folds, fold_accuracy)
    now = leaderboard.leaderboard(folds.id, significance="deferred")
    assert not now.attrs["significance_pending"]
    pd.testing.assert_frame_equal(now, leaderboard.leaderboard(folds.id))
    with pytest.raises(errors.ValidationError, match=r"significance.*'deferred'"):
        leaderboard.leaderboard(queue.id, significance="later")


def test_the_dashboard_shows_the_ranking_first_and_the_ties_once_they_are_computed(db, monkeypatch):
    import threading
    import time

    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from assay import dashboard
    from assay.dashboard.formatting import number
    from assay.evaluation import leaderboard

    queue = make_queue(combos=4, repeat_count=2)
    store(queue)
    board = leaderboard.leaderboard(queue.id)
    tied = board[board["tied_with_best"] & (board["rank"] != 1)]
    release, original = threading.Event(), leaderboard.with_significance

    def held(frame):
        assert release.wait(30)
        return original(frame)

    monkeypatch.setattr(leaderboard, "with_significance", held)
    with TestClient(dashboard.create_app(db), base_url="http://127.0.0.1") as client:
        page = client.get(f"/queues/{queue.id}").text
        assert "data-significance-pending" in page
        assert "badge-tied" not in page
        ranked = re.findall(r'<a href="/predictors/(\d+)">#', page)
        assert ranked == [str(value) for value in board["best_predictor_id"]]

        release.set()
        for _ in range(300):
            live = client.get(f"/queues/{queue.id}/live").text
            if "data-significance-pending" not in live:
                break
            time.sleep(0.05)
        assert "data-significance-pending" not in live
        shown = re.findall(r"badge-tied\" title=\"not significantly different from rank 1 \(p = ([^ ]+) ", live)
        assert shown == [number(value) for value in tied["p_value_vs_best"]]
        assert "data-significance-pending" not in client.get(f"/queues/{queue.id}").text


def test_the_dashboard_names_why_the_ties_could_not_be_computed(db, monkeypatch):
    import time

    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from assay import dashboard
    from assay.evaluation import leaderboard

    queue = make_queue(combos=3)
    store(queue)

    def fails(frame):
        raise errors.ValidationError("split", "the stored predictions are gone")

    monkeypatch.setattr(leaderboard, "with_significance", fails)
    with TestClient(dashboard.create_app(db), base_url="http://127.0.0.1") as client:
        for _ in range(300):
            page = client.get(f"/queues/{queue.id}").text
            if "data-significance-pending" not in page:
                break
            time.sleep(0.05)
    assert "could not be computed" in page
    assert "the stored predictions are gone" in page
