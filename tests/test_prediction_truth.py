"""A run's prediction stores only what the run made; its split's rows and true labels are read from the splitset.

Every run on a split (and fold) of one splitset predicts the same rows with the same true labels, so they are
kept once with the splitset instead of with every prediction. Readers still see them (``Prediction.row_indices``,
``Prediction.labels``, the comparison and conformal code); predictions stored before carry their own and are read
as stored. Runs train the third-party test plugin's ``numpy_linear`` model.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler
from sqlalchemy import update
from test_workers_local import make_queue

import assay
from assay import datum
from assay.db.engine import session_scope
from assay.db.models import PredictionRow
from assay.evaluation import conformal
from assay.experiment import arrays as stored_arrays


@pytest.fixture
def folded(db, thirdparty_plugin):
    return assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="petal_width",
        feature_cols_excluded=["species", "petal_width"],
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.2, fold_count=3, bin_count=3, seed=4,
    )


def expected_rows(splitset, split, fold_index):
    return list(splitset.row_indices(split, fold_index=fold_index))


def test_each_fold_runs_predictions_read_back_that_folds_rows_and_true_labels_not_stored_with_them(folded):
    queue = make_queue(folded, hyperparameters={"epoch_count": [3]})
    assert queue.run_jobs(progress=False).succeeded == 3
    labels = datum.to_pandas("iris.tsv")["petal_width"].to_numpy()
    seen_validation = set()
    for job in queue.jobs:
        predictor = job.predictor
        for split, prediction in predictor.predictions.items():
            raw = stored_arrays.loads(prediction.arrays)
            assert set(raw) <= {"predictions", "probabilities", "classes"}, "the splitset's arrays stored with a run"
            rows = expected_rows(folded, split, job.fold_index)
            assert prediction.row_indices.tolist() == rows, (split, job.fold_index)
            assert np.allclose(prediction.labels.astype(float).ravel(), labels[rows]), (split, job.fold_index)
            assert len(prediction.predictions) == len(rows) == prediction.row_count
            if split == "validation":
                seen_validation.add(tuple(rows))
        # the conformal reader gets the same rows and labels
        frame, truth, _ = conformal.stored_split(predictor.id, "validation")
        assert np.allclose(truth.astype(float).ravel(), labels[expected_rows(folded, "validation", job.fold_index)])
        assert len(frame) == len(truth)
    assert len(seen_validation) == 3, "each fold's runs read their own fold's validation rows"


def test_a_prediction_stored_with_its_own_rows_and_labels_is_read_as_stored(folded):
    queue = make_queue(folded, hyperparameters={"epoch_count": [3]})
    assert queue.run_jobs(progress=False).succeeded == 3
    prediction = queue.jobs[0].predictor.predictions["test"]
    raw = stored_arrays.loads(prediction.arrays)
    count = len(raw["predictions"])
    # as versions before this one stored it: rows and labels inside the blob (here deliberately not the split's)
    old_rows, old_labels = np.arange(1000, 1000 + count), np.linspace(0.0, 1.0, count)
    blob = stored_arrays.dumps(row_indices=old_rows, labels=old_labels, **raw)
    with session_scope() as session:
        session.execute(update(PredictionRow).where(PredictionRow.id == prediction.id).values(arrays=blob))
    again = assay.Prediction.get(prediction.id)
    assert again.row_indices.tolist() == old_rows.tolist()
    assert np.array_equal(again.labels, old_labels)


def test_a_run_stores_fewer_bytes_per_prediction_than_with_the_splits_arrays(folded):
    queue = make_queue(folded, hyperparameters={"epoch_count": [3]})
    assert queue.run_jobs(progress=False).succeeded == 3
    prediction = queue.jobs[0].predictor.predictions["train"]
    with_truth = stored_arrays.dumps(**{**stored_arrays.loads(prediction.arrays),
                                        "row_indices": prediction.row_indices, "labels": prediction.labels})
    assert len(prediction.arrays) < len(with_truth)
