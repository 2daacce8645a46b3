"""What a worker process keeps between jobs (splitsets, their prepared samples, the true labels) never leaks into
another queue's jobs, another splitset, another database, or the next job of the same queue.

Most jobs train the third-party test plugin's ``numpy_linear`` model (numpy arrays); one trains torch (tensors).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from test_workers_local import iris_regression_splitset, make_queue

import assay
from assay import datum
from assay.db import engine as db_engine


def iris_regression_splitset_with(size_test: float, seed: int):
    return assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="petal_width",
        feature_cols_excluded=["species", "petal_width"],
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=size_test, size_validation=0.2, bin_count=3, seed=seed,
    )


def assert_predictions_cover_the_splitset(queue, splitset):
    """Every stored prediction lists exactly its split's rows of ``splitset``, with their true labels."""
    labels = datum.to_pandas("iris.tsv")["petal_width"].to_numpy()
    for predictor in queue.predictors:
        for split, prediction in predictor.predictions.items():
            expected = splitset.samples[split]
            assert prediction.row_indices.tolist() == list(expected), split
            assert np.allclose(prediction.labels.astype(float).ravel(), labels[expected]), split


@pytest.fixture
def splitset(db, thirdparty_plugin):
    return iris_regression_splitset()


def test_queues_on_two_splitsets_run_in_one_process_each_predict_their_own_rows(splitset):
    other = iris_regression_splitset_with(size_test=0.3, seed=11)
    first, second = make_queue(splitset), make_queue(other)

    assert first.run_jobs(progress=False).succeeded == 4
    assert second.run_jobs(progress=False).succeeded == 4

    assert len(splitset.samples["test"]) != len(other.samples["test"])
    assert_predictions_cover_the_splitset(first, splitset)
    assert_predictions_cover_the_splitset(second, other)


def test_pooled_workers_see_a_splitset_made_after_they_started(splitset):
    first = make_queue(splitset, hyperparameters={"epoch_count": [3, 4]})
    assert first.run_jobs(workers=1, threads=1, progress=False).succeeded == 2
    later = iris_regression_splitset_with(size_test=0.3, seed=5)
    second = make_queue(later, hyperparameters={"epoch_count": [3, 4]})

    assert second.run_jobs(workers=1, threads=1, progress=False).succeeded == 2

    assert_predictions_cover_the_splitset(second, later)


def test_a_database_made_again_at_the_same_path_is_read_afresh(thirdparty_plugin, tmp_path):
    url = f"sqlite:///{tmp_path / 'again.sqlite3'}"
    assay.setup(url)
    before = iris_regression_splitset_with(size_test=0.2, seed=1)
    assert make_queue(before).run_jobs(progress=False).succeeded == 4
    db_engine.dispose()  # let go of the file, as a worker between two queues may
    for path in tmp_path.glob("again.sqlite3*"):
        path.unlink()
    assay.setup(url)
    after = iris_regression_splitset_with(size_test=0.35, seed=2)
    queue = make_queue(after)

    assert queue.run_jobs(progress=False).succeeded == 4

    assert after.id == before.id
    assert_predictions_cover_the_splitset(queue, after)


def fn_train_spoils_its_samples(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    from assay_dummy.model import fit

    fit(model, loser, optimizer, samples_train, samples_evaluate, epoch_count=hp["epoch_count"])
    model.history["feature_sum"] = [float(np.abs(samples_train["features"]).sum())]
    samples_train["features"][:] = 0.0  # a training function may change its samples in place
    samples_evaluate["features"][:] = 0.0
    return model


def test_samples_a_training_function_changes_in_place_are_fresh_again_for_the_next_job(splitset):
    queue = make_queue(splitset, fn_train=fn_train_spoils_its_samples, hyperparameters={"epoch_count": [3]},
                       repeat_count=3)

    assert queue.run_jobs(progress=False).succeeded == 3

    sums = {predictor.history["feature_sum"][0] for predictor in queue.predictors}
    assert len(sums) == 1
    assert sums.pop() > 0
    for predictor in queue.predictors:
        # predicted from the validation rows' real features, not from the zeros an earlier job left
        assert predictor.predictions["validation"].predictions.astype(float).std() > 0
    assert_predictions_cover_the_splitset(queue, splitset)


def torch_build(features_shape, label_shape, **hp):
    import torch

    return torch.nn.Sequential(torch.nn.Linear(features_shape[0], 8), torch.nn.ReLU(),
                               torch.nn.Linear(8, label_shape[0]))


def torch_train_spoils_its_samples(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    history = assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=1, batch_size=32)
    history["feature_sum"] = [float(samples_train["features"].abs().sum())]
    samples_train["features"].mul_(0)  # tensors changed in place
    samples_evaluate["features"].mul_(0)
    return model, history


def test_torch_tensors_a_training_function_changes_in_place_are_fresh_again_for_the_next_job(db):
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        label_encoder=dict(sklearn_preprocess=OneHotEncoder(sparse_output=False)),
        size_test=0.2, size_validation=0.2,
    )
    queue = assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=torch_build,
                                  fn_train=torch_train_spoils_its_samples, repeat_count=3, splitset_id=splitset.id)

    assert queue.run_jobs(progress=False).succeeded == 3

    sums = {predictor.history["feature_sum"][0] for predictor in queue.predictors}
    assert len(sums) == 1
    assert sums.pop() > 0
    for predictor in queue.predictors:
        # predictions on the validation rows came from their real features, not the zeros fn_train left
        validation = predictor.predictions["validation"]
        assert 0.0 <= predictor.metrics["validation"]["accuracy"] <= 1.0
        assert validation.probabilities.std(axis=0).max() > 0
