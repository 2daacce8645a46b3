"""A multi-input model's inference records its Prediction against every input's dataset, in input order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

import assay


def fn_build(features_shape, label_shape, **hp):
    import torch
    from torch import nn

    class Both(nn.Module):
        def __init__(self):
            super().__init__()
            self.out = nn.Sequential(nn.Linear(1 + 6 * 2, 1), nn.Sigmoid())

        def forward(self, x_table, x_sequence):
            return self.out(torch.cat([x_table, x_sequence.flatten(1)], dim=1))

    return Both()


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=1, batch_size=8)


def test_multi_input_inference_records_every_inputs_dataset_in_order(any_db):
    pytest.importorskip("assay_torch")
    rng = np.random.default_rng(0)
    readings = rng.normal(size=(40, 6, 2))
    labels = pd.DataFrame({"rising": (readings[:, -1, 0] > readings[:, 0, 0]).astype(int)})
    table = pd.DataFrame({"size": rng.normal(size=40)})
    splitset = assay.Pipeline.make(
        inputs=[dict(df_or_path=table), dict(feature_ndarray3D_or_npyPath=readings,
                                             feature_encoders=[dict(sklearn_preprocess=StandardScaler())])],
        label_df_or_path=labels, label_column="rising", size_test=0.25)
    queue = assay.Experiment.make(library="torch", analysis_type="classification_binary", fn_build=fn_build,
                                  fn_train=fn_train, splitset_id=splitset.id)
    queue.run_jobs(progress=False)
    [predictor] = queue.predictors
    new_table, new_readings = table.iloc[:7].reset_index(drop=True), readings[:7] + 1.0

    frame = predictor.infer({"tabular": new_table, "sequence": new_readings})

    prediction = assay.Prediction.get(frame.attrs["prediction_id"])
    first, second = prediction.datasets
    assert prediction.dataset_id == first.id
    assert (first.kind, second.kind) == ("tabular", "sequence")
    pd.testing.assert_frame_equal(first.to_pandas(), new_table, check_dtype=False)
    np.testing.assert_array_equal(second.to_numpy(), new_readings)
    again = assay.Prediction.get(predictor.infer([new_table, new_readings]).attrs["prediction_id"])
    assert [d.id for d in again.datasets] == [first.id, second.id]  # the same data is found again, not copied
    assert predictor.predictions["test"].datasets == []  # a split's prediction read no new data

    single = make_single_input_prediction()
    assert [d.id for d in single.datasets] == [single.dataset_id]


def make_single_input_prediction():
    from dashboard_helpers import iris_splitset, make_queue

    from assay import datum

    queue = make_queue(iris_splitset(), {"neuron_count": [3], "epoch_count": [1]})
    queue.run_jobs(progress=False)
    frame = queue.predictors[0].infer(datum.to_pandas("iris.tsv").head(5))
    return assay.Prediction.get(frame.attrs["prediction_id"])


def test_dropping_any_dataset_a_prediction_read_drops_the_prediction(db):
    pytest.importorskip("assay_torch")
    rng = np.random.default_rng(1)
    readings = rng.normal(size=(40, 6, 2))
    labels = pd.DataFrame({"rising": (readings[:, -1, 0] > readings[:, 0, 0]).astype(int)})
    table = pd.DataFrame({"size": rng.normal(size=40)})
    splitset = assay.Pipeline.make(inputs=[dict(df_or_path=table), dict(feature_ndarray3D_or_npyPath=readings)],
                                   label_df_or_path=labels, label_column="rising", size_test=0.25)
    queue = assay.Experiment.make(library="torch", analysis_type="classification_binary", fn_build=fn_build,
                                  fn_train=fn_train, splitset_id=splitset.id)
    queue.run_jobs(progress=False)
    frame = queue.predictors[0].infer([table.iloc[:5] + 3.0, readings[:5] * 2.0])
    prediction = assay.Prediction.get(frame.attrs["prediction_id"])
    second = prediction.datasets[1]

    removed = second.drop()  # the second input's data: the prediction cannot stand without it

    assert removed["prediction"] == [prediction.id]
    assert assay.Dataset.get(prediction.dataset_id)  # the first input's data stays
    with pytest.raises(assay.errors.NotFoundError):
        assay.Prediction.get(prediction.id)
