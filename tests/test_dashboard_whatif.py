"""The what-if form on a predictor's page (AIQC 7), over HTTP: typed fields with the training data's defaults, a
prediction through the model's own encoders that stores nothing, clear refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from whatif_helpers import whatif_queue

import assay

pytest.importorskip("starlette")
pytest.importorskip("assay_torch")


@pytest.fixture
def client_and_predictor(db):
    from starlette.testclient import TestClient

    from assay.dashboard.app import create_app

    queue = whatif_queue()
    return TestClient(create_app(), base_url="http://127.0.0.1"), queue.predictors[0], queue


def test_the_fields_follow_the_dtypes_and_start_at_the_training_median_or_most_frequent(client_and_predictor):
    from assay.dashboard.whatif import WhatIf

    _, predictor, queue = client_and_predictor
    splitset = queue.splitset
    train = assay.Dataset.get(splitset.dataset_id).to_pandas().iloc[splitset.row_indices("train")]
    form = WhatIf().form(predictor.id)
    fields = {field["column"]: field for field in form["fields"]}
    assert [field["column"] for field in form["fields"]] == ["size", "rooms", "color"]
    assert (fields["size"]["kind"], fields["rooms"]["kind"], fields["color"]["kind"]) == ("float", "integer", "text")
    assert float(fields["size"]["default"]) == pytest.approx(train["size"].median())
    assert int(fields["rooms"]["default"]) == round(train["rooms"].median())
    assert fields["color"]["default"] == train["color"].mode().iloc[0]
    assert fields["color"]["choices"] == sorted(train["color"].unique())


def test_a_what_if_prediction_equals_infer_on_the_same_row_and_stores_nothing(client_and_predictor):
    client, predictor, _ = client_and_predictor
    before = len(assay.Prediction.all())
    answer = client.get(f"/predictors/{predictor.id}/whatif", params={"f0": "140.5", "f1": "2", "f2": "red"})
    assert answer.status_code == 200
    body = answer.json()
    assert len(assay.Prediction.all()) == before  # the dashboard only reads

    row = pd.DataFrame({"size": [140.5], "rooms": [2], "color": ["red"]})
    expected = predictor.infer(row)
    assert body["prediction"] == expected["prediction"].iloc[0]
    probabilities = {item["class"]: item["probability"] for item in body["probabilities"]}
    for column in expected.columns[1:]:
        assert probabilities[column[len("probability_"):]] == pytest.approx(expected[column].iloc[0], rel=1e-5)
    assert sum(probabilities.values()) == pytest.approx(1.0, rel=1e-5)

    changed = client.get(f"/predictors/{predictor.id}/whatif", params={"f0": "20", "f2": "blue"}).json()
    assert changed["probabilities"] != body["probabilities"]


def test_values_the_model_cannot_take_are_refused_naming_the_column(client_and_predictor):
    client, predictor, _ = client_and_predictor
    answer = client.get(f"/predictors/{predictor.id}/whatif", params={"f0": "big"})
    assert answer.status_code == 400
    assert answer.json()["error"] == "size: must be a number (float64), got 'big'"
    assert "whole number" in client.get(f"/predictors/{predictor.id}/whatif", params={"f1": "2.5"}).json()["error"]
    unknown = client.get(f"/predictors/{predictor.id}/whatif", params={"f2": "<b>mauve</b>"})
    assert unknown.status_code == 400
    assert "mauve" in unknown.json()["error"]
    page = client.get(f"/predictors/{predictor.id}", params={"f2": "<b>mauve</b>"}).text  # without JavaScript
    assert "<b>mauve</b>" not in page
    assert "&lt;b&gt;mauve&lt;/b&gt;" in page


def fn_build_sequence(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(features_shape)), label_shape[0]), nn.Sigmoid())


def fn_train_sequence(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=1)


def test_a_model_of_another_kind_says_the_form_takes_tables(db):
    from starlette.testclient import TestClient

    from assay.dashboard.app import create_app

    rng = np.random.default_rng(0)
    splitset = assay.Pipeline.Sequence.make(rng.normal(size=(30, 4, 1)),
                                            label_df_or_path=pd.DataFrame({"y": np.tile([0, 1], 15)}),
                                            label_column="y", size_test=0.3)
    queue = assay.Experiment.make(library="torch", analysis_type="classification_binary", fn_build=fn_build_sequence,
                                  fn_train=fn_train_sequence, splitset_id=splitset.id)
    queue.run_jobs(progress=False)
    client = TestClient(create_app(), base_url="http://127.0.0.1")
    page = client.get(f"/predictors/{queue.predictors[0].id}").text
    assert "takes one row of a table; this model was trained on sequence data" in page
    assert client.get(f"/predictors/{queue.predictors[0].id}/whatif").status_code == 400
