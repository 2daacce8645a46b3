"""``assay.TrainingCallback.Torch.MetricCutoff`` with ``assay_torch.fit(..., callbacks=[...])``: training stops once
every threshold on the listed metrics is met, as Keras' MetricCutoff does."""

from __future__ import annotations

import numpy as np
import pytest

import assay
from assay import errors

torch = pytest.importorskip("torch")
assay_torch = pytest.importorskip("assay_torch")


def separable(rows=64, seed=0):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 2)).astype("float32")
    labels = (features[:, :1] > 0).astype("float32")
    return {"features": torch.from_numpy(features), "labels": torch.from_numpy(labels)}


def model_and_optimizer():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Sigmoid())
    return model, torch.nn.BCELoss(), torch.optim.Adam(model.parameters(), lr=0.05)


def test_training_stops_after_the_first_epoch_where_every_threshold_is_met():
    train, evaluate = separable(), separable(seed=1)
    thresholds = [{"metric": "val_accuracy", "cutoff": 0.9, "above_or_below": "above"},
                  {"metric": "loss", "cutoff": 0.45, "above_or_below": "below"}]
    full = assay_torch.fit(*model_and_optimizer(), train, evaluate, epochs=60, batch_size=8, seed=0)
    # the epoch an independent reading of the full history says both thresholds are first met
    met = [i for i in range(60) if full["val_accuracy"][i] >= 0.9 and full["loss"][i] <= 0.45]
    assert met, "the thresholds must be reachable for this test to mean anything"

    cutoff = assay.TrainingCallback.Torch.MetricCutoff(thresholds)
    history = assay_torch.fit(*model_and_optimizer(), train, evaluate, epochs=60, batch_size=8, seed=0,
                              callbacks=[cutoff])

    assert cutoff.stopped_epoch == met[0]
    assert len(history["loss"]) == met[0] + 1
    np.testing.assert_allclose(history["loss"], full["loss"][: met[0] + 1], rtol=1e-6)


def test_a_threshold_never_met_trains_every_epoch_and_a_missing_metric_is_named():
    train, evaluate = separable(), separable(seed=1)
    never = assay.TrainingCallback.Torch.MetricCutoff([{"metric": "accuracy", "cutoff": 1.5,
                                                        "above_or_below": "above"}])
    history = assay_torch.fit(*model_and_optimizer(), train, evaluate, epochs=4, callbacks=[never])
    assert len(history["loss"]) == 4
    assert never.stopped_epoch is None

    missing = assay.TrainingCallback.Torch.MetricCutoff([{"metric": "val_auc", "cutoff": 0.5,
                                                          "above_or_below": "above"}])
    with pytest.raises(errors.ValidationError, match=r"'val_auc' is not in this epoch's logs \['accuracy', 'loss'"):
        assay_torch.fit(*model_and_optimizer(), train, evaluate, epochs=2, callbacks=[missing])
    with pytest.raises(errors.ExperimentError, match=r"callbacks\[0\]"):
        assay_torch.fit(*model_and_optimizer(), train, evaluate, epochs=2, callbacks=[object()])
    with pytest.raises(errors.ValidationError, match=r"thresholds\[0\]\.cutoff"):
        assay.TrainingCallback.Torch.MetricCutoff([{"metric": "loss", "cutoff": "low", "above_or_below": "below"}])
