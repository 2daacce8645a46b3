"""``queue.compare`` with an ensemble on either side (or both), checked against computations written out here:
scipy's Student t for the corrected resampled t-test on per-(fold, repeat) scores recomputed from the members'
stored predictions, and a paired bootstrap of scikit-learn's accuracy over the split's rows.

Trained once for the module: two tiny torch queues on iris, one with a validation split and repeats, one with
3 folds.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import assay
from assay import datum, errors
from assay.db import engine as db_engine
from assay.evaluation import ensemble as selection

pytest.importorskip("assay_torch")


def torch_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], hp["units"]), nn.ReLU(), nn.Linear(hp["units"], 3),
                         nn.Softmax(dim=1))


def torch_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=hp["epochs"],
                                  batch_size=16, seed=0)


def iris_queue(**split):
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])], size_test=0.3, **split)
    return splitset


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('compare_ensembles') / 'assay.sqlite3'}"
    assay.setup(url)
    one_split = assay.Experiment.make(
        library="torch", analysis_type="classification_multi", fn_build=torch_build, fn_train=torch_train,
        hyperparameters={"units": [3, 12], "epochs": [1, 6]}, splitset_id=iris_queue(size_validation=0.25).id,
        repeat_count=2, seed=1)
    assert one_split.run_jobs(progress=False).failed == 0
    folded = assay.Experiment.make(
        library="torch", analysis_type="classification_multi", fn_build=torch_build, fn_train=torch_train,
        hyperparameters={"units": [3, 12], "epochs": [2, 5]}, splitset_id=iris_queue(fold_count=3).id, seed=2)
    assert folded.run_jobs(progress=False).failed == 0
    one_split.ensemble(size=8, candidates=4)
    one_split.ensemble(size=2, candidates=4, method="mean")
    folded.ensemble(size=8, candidates=4)
    db_engine.dispose()
    return {"url": url, "one_split": one_split.id, "folded": folded.id}


@pytest.fixture
def db(trained):
    assay.setup(trained["url"])
    yield trained
    db_engine.dispose()


def ensemble_runs(ensemble, split):
    """The ensemble's probabilities per (fold, repeat), written out: each member model of that fold and repeat
    weighted as in the ensemble, on its own rows of ``split``."""
    runs = {}
    for predictor_id, weight in ensemble.members.items():
        predictor = assay.Predictor.get(predictor_id)
        stored = predictor.predictions[split]
        key = (predictor.job.fold_index, predictor.job.repeat_index)
        rows, labels, total, weights = runs.get(key, (stored.row_indices, stored.labels, 0.0, 0.0))
        assert np.array_equal(rows, stored.row_indices)
        runs[key] = (rows, labels, total + weight * stored.probabilities, weights + weight)
    return runs


def accuracy_of(classes, labels, probabilities):
    return skm.accuracy_score(labels, np.asarray(classes)[np.asarray(probabilities).argmax(axis=1)])


def test_with_folds_an_ensemble_pairs_its_fold_scores_with_a_combinations_runs_as_scipy_computes(db):
    queue = assay.Queue.get(db["folded"])
    ensemble = queue.ensembles[0]
    classes = queue.splitset.label_classes
    combo = int(queue.leaderboard().loc[1, "combo_index"])
    result = queue.compare(ensemble, combo, rope=0.01)
    assert result.split == "validation"  # the objective's split, which the ensemble was selected on (out of fold)
    assert result.method.startswith("corrected resampled t-test and Bayesian correlated t-test (3 folds)")
    assert (result.a_name, result.b_name) == (f"ensemble {ensemble.id}", f"combination {combo}")
    assert (result.a, result.b) == (ensemble.id, combo)

    written = ensemble_runs(ensemble, "validation")
    metrics = queue.metrics_to_pandas()
    metrics = metrics[(metrics["split"] == "validation") & (metrics["combo_index"] == combo)]
    combination = {(int(row.fold_index), int(row.repeat_index)): row.accuracy for row in metrics.itertuples()}
    keys = sorted(written)
    assert keys == sorted(combination)
    x = np.array([accuracy_of(classes, written[key][1], written[key][2]) for key in keys])
    y = np.array([combination[key] for key in keys])
    d = x - y
    n, k = len(d), 3
    scale = np.sqrt(np.var(d, ddof=1) * (1 / n + 1 / (k - 1)))
    assert result.n_pairs == n == 3
    assert (result.mean_a, result.mean_b) == pytest.approx((x.mean(), y.mean()), abs=1e-12)
    assert result.mean_difference == pytest.approx(d.mean(), abs=1e-12)
    assert scale > 0  # models that differ per fold: the t-test has a spread
    assert result.p_value == pytest.approx(2 * stats.t.sf(abs(d.mean()) / scale, n - 1), abs=1e-6)
    half = stats.t.ppf(0.975, n - 1) * scale
    assert (result.ci_low, result.ci_high) == pytest.approx((d.mean() - half, d.mean() + half), abs=1e-6)
    assert result.prob_better == pytest.approx(stats.t.sf(0.01, n - 1, loc=d.mean(), scale=scale), abs=1e-6)
    assert result.prob_worse == pytest.approx(stats.t.cdf(-0.01, n - 1, loc=d.mean(), scale=scale), abs=1e-6)
    # selected on this split: compared, and marked optimistic everywhere it shows
    assert result.optimistic
    assert result.notes == (f"ensemble {ensemble.id}: {selection.SELECTION_NOTE}",)
    assert "optimistic=True" in repr(result)
    assert "optimistic" in result.summary
    page = result._repr_html_()
    assert f"Ensemble {ensemble.id} vs combination {combo}" in page
    assert "optimistic" in page
    assert f"ensemble {ensemble.id} minus combination {combo}" in result.plot().axes[0].get_title()

    # on test every fold model predicts the same rows: paired by (fold, repeat) too, and honest
    honest = queue.compare(combo, ensemble, split="test", rope=0.01)
    written = ensemble_runs(ensemble, "test")
    tests = queue.metrics_to_pandas()
    tests = tests[(tests["split"] == "test") & (tests["combo_index"] == combo)]
    by_run = {(int(row.fold_index), int(row.repeat_index)): row.accuracy for row in tests.itertuples()}
    d = np.array([by_run[key] - accuracy_of(classes, written[key][1], written[key][2]) for key in sorted(written)])
    assert honest.mean_difference == pytest.approx(d.mean(), abs=1e-12)
    assert honest.notes == ()
    assert not honest.optimistic
    assert (honest.a_name, honest.b_name) == (f"combination {combo}", f"ensemble {ensemble.id}")


def test_with_one_split_an_ensemble_enters_the_seeded_paired_bootstrap_of_stored_predictions(db):
    queue = assay.Queue.get(db["one_split"])
    ensemble = queue.ensembles[0]
    combo = 0
    result = queue.compare(ensemble, combo, split="test")
    assert result.method == "paired bootstrap over the test rows (2000 resamples)"
    assert not result.optimistic
    # written out: sklearn's accuracy on each resample's rows; the combination's two repeats averaged
    mine = ensemble.predictions["test"]
    runs = [p.predictions["test"] for p in queue.predictors if p.job.hyperparameters == {"units": 3, "epochs": 1}]
    assert len(runs) == 2
    order = [np.searchsorted(run.row_indices, mine.row_indices) for run in runs]
    assert all(np.array_equal(run.row_indices[at], mine.row_indices) for run, at in zip(runs, order, strict=True))
    n = len(mine.row_indices)
    picks = np.random.default_rng(0).integers(0, n, size=(2000, n))

    mine_right = mine.labels == mine.predictions
    their_right = [run.labels[at] == run.predictions[at] for run, at in zip(runs, order, strict=True)]
    observed = skm.accuracy_score(mine.labels, mine.predictions) - np.mean(
        [skm.accuracy_score(run.labels[at], run.predictions[at]) for run, at in zip(runs, order, strict=True)])
    resampled = np.array([mine_right[rows].mean() - np.mean([right[rows].mean() for right in their_right])
                          for rows in picks])
    assert result.n_pairs == n
    assert result.mean_difference == pytest.approx(observed, abs=1e-12)
    assert result.mean_a == pytest.approx(ensemble.metrics["test"]["accuracy"], abs=1e-12)
    assert (result.ci_low, result.ci_high) == pytest.approx(tuple(np.percentile(resampled, [2.5, 97.5])), abs=1e-12)
    assert observed != 0
    extreme = np.abs(resampled - observed) >= abs(observed) - 1e-12
    assert result.p_value == pytest.approx((1 + extreme.sum()) / 2001, abs=1e-12)
    assert result.prob_better == pytest.approx(np.mean(resampled > 0.01))
    assert result.prob_worse == pytest.approx(np.mean(resampled < -0.01))
    # swapped: the mirror image
    swapped = queue.compare(combo, ensemble, split="test")
    assert swapped.mean_difference == pytest.approx(-observed, abs=1e-12)
    assert (swapped.prob_better, swapped.prob_worse) == pytest.approx((result.prob_worse, result.prob_better))
    assert swapped.p_value == pytest.approx(result.p_value)
    assert (swapped.a_name, swapped.b_name) == ("combination 0", f"ensemble {ensemble.id}")


def test_two_ensembles_compare_and_the_selection_split_is_marked_optimistic(db):
    queue = assay.Queue.get(db["one_split"])
    caruana, mean = queue.ensembles
    result = queue.compare(caruana, mean)
    assert result.split == "validation" == caruana.split
    assert (result.a_name, result.b_name) == (f"ensemble {caruana.id}", f"ensemble {mean.id}")
    assert result.mean_difference == pytest.approx(caruana.metrics["validation"]["accuracy"]
                                                   - mean.metrics["validation"]["accuracy"], abs=1e-12)
    assert len(result.notes) == 2
    assert all("selected on this split" in note for note in result.notes)
    itself = queue.compare(caruana, caruana, split="test")
    assert (itself.mean_difference, itself.p_value, itself.prob_equivalent) == (0, 1, 1)


def test_compare_refuses_an_ensemble_of_another_queue_the_training_loss_and_an_ensembles_bare_id(db):
    queue = assay.Queue.get(db["one_split"])
    other = assay.Queue.get(db["folded"]).ensembles[0]
    with pytest.raises(errors.ValidationError, match=rf"ensemble {other.id} was made from queue {db['folded']}, "
                       rf"not queue {queue.id}.*assay.Queue.get\({db['folded']}\).compare") as raised:
        queue.compare(0, other)
    assert raised.value.parameter == "b"
    mine = queue.ensembles[0]
    with pytest.raises(errors.ValidationError, match="training loss, which an ensemble") as raised:
        queue.compare(mine, 0, metric="loss")
    assert raised.value.parameter == "metric"
    with pytest.raises(errors.ValidationError, match=r"assay.Ensemble.get\(id\)") as raised:
        queue.compare(f"ensemble {mine.id}", 0)
    assert raised.value.parameter == "a"
    with pytest.raises(errors.ValidationError, match="combination 99 has no trained model") as raised:
        queue.compare(mine, 99)
    assert raised.value.parameter == "b"


def test_the_ensembles_dashboard_page_compares_it_with_the_best_combination_on_test(db):
    from starlette.testclient import TestClient

    from assay.dashboard import create_app

    queue = assay.Queue.get(db["one_split"])
    ensemble = queue.ensembles[0]
    best = int(queue.leaderboard().loc[0, "combo_index"])
    expected = queue.compare(ensemble, best, metric=ensemble.metric, split="test")
    with TestClient(create_app(db["url"]), base_url="http://127.0.0.1") as client:
        page = client.get(f"/ensembles/{ensemble.id}").text
    section = page[page.index('id="significance"'):]
    section = section[:section.index("</section>")]
    assert f"Is ensemble {ensemble.id} really better than combination {best}?" in section
    assert expected.summary in section
    assert "data:image/png;base64," in section
