"""Conformal calibration: the quantile and the sets against crepes, coverage on exchangeable synthetic data within
the binomial tolerance, and every bad input refused before anything is stored.

The calibration is assay's own (the ``ceil((n + 1)(1 - alpha))``-th smallest score); crepes
(``ConformalClassifier``/``ConformalRegressor``, fitted on the same scores) is the independent implementation.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sqlalchemy import update

import assay
from assay import datum, errors
from assay.db import engine as db_engine
from assay.db.models import JobRow
from assay.evaluation import conformal as calibrating
from assay.experiment import arrays, runner
from assay.inference import conformal

crepes = pytest.importorskip("crepes")

CLASSES = ["setosa", "versicolor", "virginica"]


def frame_of(probabilities: np.ndarray, classes=CLASSES) -> pd.DataFrame:
    frame = pd.DataFrame({"prediction": np.asarray(classes)[probabilities.argmax(1)]})
    for i, value in enumerate(classes):
        frame[f"probability_{value}"] = probabilities[:, i]
    return frame


def off_grid(alpha: float) -> float:
    """``alpha`` moved off the values where ``alpha * (n + 1)`` is a whole number: there crepes' floating-point
    ``int((1 - confidence) * (n + 1))`` may land one order statistic away from the exact rank."""
    return alpha + 1e-7 * math.sqrt(2)


@settings(max_examples=40, deadline=None)
@given(st.integers(10, 300), st.floats(0.02, 0.5), st.integers(0, 10_000))
def test_the_regression_interval_is_the_one_crepes_gives_for_the_same_residuals(n, alpha, seed):
    alpha = off_grid(alpha)
    residuals = np.abs(np.random.default_rng(seed).normal(size=n))
    if n < math.ceil(1 / alpha):
        return
    calibration = calibrating.calibration_from("absolute", alpha, "validation", None, residuals, [])
    predictions = np.random.default_rng(seed + 1).normal(size=7)
    ours = conformal.apply(calibration, pd.DataFrame({"prediction": predictions}))
    theirs = crepes.ConformalRegressor().fit(residuals).predict_int(predictions, confidence=1 - alpha)
    assert ours["interval_low"].to_numpy() == pytest.approx(theirs[:, 0], abs=1e-9)
    assert ours["interval_high"].to_numpy() == pytest.approx(theirs[:, 1], abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.integers(20, 200), st.floats(0.05, 0.3), st.integers(0, 10_000))
def test_lac_and_mondrian_sets_are_the_ones_crepes_gives(n, alpha, seed):
    alpha = off_grid(alpha)
    rng = np.random.default_rng(seed)
    probabilities = rng.dirichlet(np.ones(3), size=n)
    truth = np.arange(n) % 3  # every class at least n // 3 times
    new = rng.dirichlet(np.ones(3), size=9)
    # LAC: crepes fitted on 1 - p(true class), asked about 1 - p(class) of each class
    lac = calibrating.calibration_from("lac", alpha, "validation", probabilities, truth, CLASSES)
    sets = conformal.apply(lac, frame_of(new))["prediction_set"]
    fitted = crepes.ConformalClassifier().fit(1 - probabilities[np.arange(n), truth])
    expected = fitted.predict_set(1 - new, confidence=1 - alpha, smoothing=False)
    assert [sorted(chosen) for chosen in sets] == [
        sorted(CLASSES[j] for j in range(3) if row[j]) for row in expected]
    # Mondrian: crepes with the true class as the bin, each candidate class its own bin
    if min(np.bincount(truth)) < math.ceil(1 / alpha) - 1:
        return
    mondrian = calibrating.calibration_from("mondrian", alpha, "validation", probabilities, truth, CLASSES)
    sets = conformal.apply(mondrian, frame_of(new))["prediction_set"]
    fitted = crepes.ConformalClassifier().fit(1 - probabilities[np.arange(n), truth], bins=truth)
    columns = [fitted.predict_set((1 - new[:, [j]]), bins=np.full(len(new), j), confidence=1 - alpha,
                                  smoothing=False)[:, 0] for j in range(3)]
    assert [sorted(chosen) for chosen in sets] == [
        sorted(CLASSES[j] for j in range(3) if columns[j][i]) for i in range(len(new))]


def test_aps_scores_the_true_class_as_inference_scores_every_class():
    rng = np.random.default_rng(3)
    probabilities = rng.dirichlet(np.ones(4), size=50)
    truth = rng.integers(0, 4, 50)
    mass = conformal.aps_mass(probabilities)
    assert calibrating.scores("aps", probabilities, truth) == pytest.approx(mass[np.arange(50), truth])
    # textbook: the mass of the classes sorted by probability, down to but excluding the class
    order = np.argsort(-probabilities[0])
    cumulative = np.cumsum(probabilities[0][order]) - probabilities[0][order]
    assert mass[0][order] == pytest.approx(cumulative)
    # so the most likely class is always in an APS set
    calibration = calibrating.calibration_from("aps", 0.1, "validation", probabilities, truth, ["a", "b", "c", "d"])
    frame = frame_of(probabilities, ["a", "b", "c", "d"])
    sets = conformal.apply(calibration, frame)["prediction_set"]
    assert all(chosen and chosen[0] == top for chosen, top in zip(sets, frame["prediction"], strict=True))


def synthetic(rng, n, classes=3):
    """Rows whose true class is drawn from the model's own probabilities: calibrated, exchangeable."""
    probabilities = rng.dirichlet(np.ones(classes) * 0.7, size=n)
    truth = np.array([rng.choice(classes, p=p) for p in probabilities])
    return probabilities, truth


@settings(max_examples=12, deadline=None)
@given(st.sampled_from(["lac", "aps", "mondrian", "absolute"]), st.sampled_from([0.05, 0.1, 0.2]),
       st.integers(0, 10_000))
def test_coverage_on_exchangeable_synthetic_data_lies_within_the_binomial_tolerance_of_1_minus_alpha(
        method, alpha, seed):
    rng = np.random.default_rng(seed)
    n_calibration, n_test = 1000, 4000
    if method == "absolute":
        y, y_hat = rng.normal(size=n_calibration + n_test), rng.normal(size=n_calibration + n_test) * 0.3
        y = y_hat + rng.standard_t(4, size=len(y))
        calibration = calibrating.calibration_from(method, alpha, "validation", None,
                                                   np.abs(y - y_hat)[:n_calibration], [])
        frame, labels = pd.DataFrame({"prediction": y_hat[n_calibration:]}), y[n_calibration:]
    else:
        probabilities, truth = synthetic(rng, n_calibration + n_test)
        calibration = calibrating.calibration_from(method, alpha, "validation", probabilities[:n_calibration],
                                                   truth[:n_calibration], CLASSES)
        frame, labels = frame_of(probabilities[n_calibration:]), np.asarray(CLASSES)[truth[n_calibration:]]
    result = conformal.coverage_of(calibration, frame, labels)
    # the marginal guarantee: 1 - alpha <= E[coverage] <= 1 - alpha + 1/(n + 1), give or take the binomial
    # spread of n_test rows (4 standard deviations) and of the calibration draw (Beta, about as wide again); the
    # upper bound needs continuous scores, which APS without randomisation lacks (it covers more, by design)
    spread = 4 * math.sqrt(alpha * (1 - alpha) / n_test) + 4 * math.sqrt(alpha * (1 - alpha) / n_calibration)
    assert 1 - alpha - spread <= result["coverage"], result
    if method != "aps":
        assert result["coverage"] <= 1 - alpha + 1 / (n_calibration + 1) + spread, result
    assert result["n"] == n_test
    assert result["alpha"] == alpha


# -- stored predictors (nothing trained: the test backend's results stored through the runner) ------------------

WORKER = "test-worker"


def fn_build(features_shape, label_shape, **hp):
    raise AssertionError("not trained in these tests")


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    raise AssertionError("not trained in these tests")


@pytest.fixture
def stored_predictor(db):
    pytest.importorskip("assay_dummy", reason="install tests/thirdparty_plugin (nox -s tests does)")
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()), feature_cols_excluded="species",
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.3, size_validation=0.2,
    )
    queue = assay.Experiment.make(library="numpy_linear", analysis_type="classification_multi", fn_build=fn_build,
                                  fn_train=fn_train, splitset_id=splitset.id, seed=0)
    with db_engine.session_scope() as session:
        session.execute(update(JobRow).where(JobRow.queue_id == queue.id).values(status="running", worker=WORKER))
    [job] = queue.jobs
    rng = np.random.default_rng(0)
    classes = np.asarray(splitset.label_classes)
    evaluated = []
    for split in ("train", "validation", "test"):
        rows = np.asarray(splitset.row_indices(split))
        labels = np.asarray(splitset.raw_labels(rows))
        truth = pd.Index(classes).get_indexer(labels)
        probabilities = rng.dirichlet(np.ones(3), size=len(rows)) * 0.4
        probabilities[np.arange(len(rows)), truth] += 0.6
        blob = arrays.dumps(row_indices=rows, predictions=classes[probabilities.argmax(1)],
                            probabilities=probabilities, labels=labels, classes=classes)
        evaluated.append(runner._Evaluated(split, blob, {"accuracy": 1.0}, len(rows)))
    predictor = {"model_format": "numpy_linear", "model_blob": b"", "history": {}, "features_shape": [4],
                 "label_shape": [3], "versions": {}, "seconds_train": 0.1, "seconds_total": 0.1}
    assert runner._store(job.id, WORKER, predictor, evaluated)
    return queue.predictors[0]


@pytest.mark.parametrize(("alpha", "message"), [
    (0, "strictly between 0 and 1"), (1, "strictly between 0 and 1"), (1.5, "strictly between 0 and 1"),
    ("0.1", "strictly between 0 and 1"), (True, "strictly between 0 and 1"), (float("nan"), "strictly between"),
    (0.01, r"alpha=0.01 needs at least 1/alpha = 100 calibration rows, but the 'validation' split has 30"),
])
def test_calibrate_refuses_a_bad_alpha_and_too_few_rows_and_stores_nothing(stored_predictor, alpha, message):
    with pytest.raises(errors.ValidationError, match=message) as raised:
        stored_predictor.calibrate(alpha=alpha)
    assert raised.value.parameter == "alpha"
    assert stored_predictor.calibration is None


def test_calibrate_refuses_an_unknown_split_or_method_and_coverage_needs_a_calibration(stored_predictor):
    with pytest.raises(errors.ValidationError, match="no predictions on a 'holdout' split; use one of"):
        stored_predictor.calibrate(split="holdout")
    with pytest.raises(errors.ValidationError, match="use one of: lac, aps, mondrian"):
        stored_predictor.calibrate(method="absolute")
    with pytest.raises(errors.ValidationError, match=r"not calibrated; call predictor.calibrate"):
        stored_predictor.coverage()
    assert stored_predictor.calibration is None


@pytest.mark.parametrize("method", ["lac", "aps", "mondrian"])
def test_a_calibrated_predictor_reports_its_coverage_on_the_test_split(stored_predictor, method):
    calibration = stored_predictor.calibrate(alpha=0.2, method=method)
    assert calibration["n"] == 30
    assert calibration["split"] == "validation"
    assert calibration["method"] == method
    assert stored_predictor.calibration == calibration
    result = stored_predictor.coverage("test")
    assert result["n"] == 45
    assert result["alpha"] == 0.2
    assert result["split"] == "test"
    assert 0 <= result["coverage"] <= 1
    assert 0 <= result["mean_set_size"] <= 3
    # the same numbers by hand: the stored test predictions, sets from the stored threshold
    test = stored_predictor.predictions["test"]
    sets = conformal.apply(calibration, frame_of(test.probabilities))["prediction_set"]
    covered = [label in chosen for label, chosen in zip(test.labels, sets, strict=True)]
    assert result["coverage"] == pytest.approx(np.mean(covered))


def test_a_forecasting_model_is_refused_clearly_and_nothing_is_stored(db):
    """A model predicting several values per row (a forecast window) has no single residual per row."""
    pytest.importorskip("assay_dummy", reason="install tests/thirdparty_plugin (nox -s tests does)")
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("houses.csv"), label_column="price",
        label_encoder=dict(sklearn_preprocess=StandardScaler()),
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.2, size_validation=0.2,
    )
    queue = assay.Experiment.make(library="numpy_linear", analysis_type="regression", fn_build=fn_build,
                                  fn_train=fn_train, splitset_id=splitset.id, seed=0)
    with db_engine.session_scope() as session:
        session.execute(update(JobRow).where(JobRow.queue_id == queue.id).values(status="running", worker=WORKER))
    [job] = queue.jobs
    evaluated = []
    for split in ("train", "validation", "test"):
        rows = np.asarray(splitset.row_indices(split))
        window = np.zeros((len(rows), 3, 1))  # three steps ahead per row
        evaluated.append(runner._Evaluated(split, arrays.dumps(row_indices=rows, predictions=window, labels=window),
                                           {"r2": 0.0}, len(rows)))
    predictor = {"model_format": "numpy_linear", "model_blob": b"", "history": {}, "features_shape": [12],
                 "label_shape": [3, 1], "versions": {}, "seconds_train": 0.1, "seconds_total": 0.1}
    assert runner._store(job.id, WORKER, predictor, evaluated)
    [stored] = queue.predictors
    with pytest.raises(errors.ValidationError, match=r"forecasting models .* is not supported") as raised:
        stored.calibrate(alpha=0.1)
    assert raised.value.parameter == "predictor"
    assert stored.calibration is None
