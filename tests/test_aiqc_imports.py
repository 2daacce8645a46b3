"""An AIQC script's imports with ``aiqc`` changed to ``assay``: ``from assay.orm import *`` and ``from assay.utils
import torch_batcher, div255, mult255, TrainingCallback`` (AIQC 3.1.1's tests module starts with these)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

import assay
from assay import datum, errors
from assay.utils import div255, mult255, tf_batcher, torch_batcher

AIQC_HEADER = """
from assay import datum
from assay.utils import torch_batcher, div255, mult255, TrainingCallback
from assay.orm import *
"""


def test_the_imports_of_an_aiqc_script_resolve_to_the_step_by_step_api():
    names: dict = {}
    exec(AIQC_HEADER, names)  # noqa: S102  (the text of a user's script)

    for name in ("Dataset", "Label", "Feature", "Splitset", "Foldset", "Encoderset", "LabelCoder", "FeatureEncoder",
                 "Interpolaterset", "FeatureInterpolater", "LabelInterpolater", "Window", "FeatureShaper",
                 "Algorithm", "Hyperparamset", "Queue", "Job", "Predictor", "Prediction"):
        assert name in names, name
    assert callable(names["Label"].from_dataset)
    assert callable(names["Queue"].from_algorithm)
    assert names["TrainingCallback"] is assay.TrainingCallback
    assert names["Dataset"] is assay.Dataset
    assert names["Predictor"] is assay.Predictor


def test_torch_batcher_cuts_batches_and_drops_a_last_batch_by_aiqc_rules():
    torch = pytest.importorskip("torch")
    features, labels = torch.arange(22.0).reshape(11, 2), torch.arange(11.0).reshape(11, 1)

    batched, batched_labels = torch_batcher(features, labels, batch_size=5)
    assert [len(batch) for batch in batched] == [5, 5]  # the lone 11th sample would break BatchNorm1d
    assert torch.equal(batched[1], features[5:10])
    assert torch.equal(batched_labels[1], labels[5:10])
    assert [len(b) for b in torch_batcher(features, labels, batch_size=5, allow_1Sample=True)[0]] == [5, 5, 1]
    assert [len(b) for b in torch_batcher(features[:8], labels[:8], batch_size=5)[0]] == [5, 3]
    assert [len(b) for b in torch_batcher(features[:8], labels[:8], batch_size=5, enforce_sameSize=True)[0]] == [5]
    with pytest.raises(errors.ValidationError, match="batch_size"):
        torch_batcher(features, labels, batch_size=0)
    with pytest.raises(errors.ValidationError, match="labels"):
        torch_batcher(features, labels[:10])


def test_tf_batcher_makes_near_equal_batches():
    features, labels = np.arange(22).reshape(11, 2), np.arange(11)
    batched, batched_labels = tf_batcher(features, labels, batch_size=5)
    assert [len(batch) for batch in batched] == [4, 4, 3]
    np.testing.assert_array_equal(np.concatenate(batched), features)
    np.testing.assert_array_equal(np.concatenate(batched_labels), labels)


def test_div255_scales_images_in_a_stored_encoder_that_loads_back(db):
    splitset = assay.Pipeline.Image.make(
        datum.get_image_files("brain_tumor.csv")[:12], feature_dtype="float32",
        feature_encoders=[dict(sklearn_preprocess=FunctionTransformer(div255, inverse_func=mult255))],
        label_df_or_path=datum.to_pandas("brain_tumor.csv").iloc[:12], label_column="status",
        label_encoder=dict(sklearn_preprocess=OrdinalEncoder()), size_test=0.25,
    )
    splitset = assay.Splitset.get(splitset.id)  # the fitted transformer read back from the database
    splitset.clear_cache()
    features = splitset.samples_for("train")["features"]
    files = np.asarray(datum.get_image_files("brain_tumor.csv"))[splitset.samples["train"]]
    raw = np.stack([np.asarray(Image.open(path), dtype=np.float32) for path in files])
    assert features.max() <= 1.0
    np.testing.assert_allclose(features.reshape(len(raw), -1), raw.reshape(len(raw), -1) / 255, rtol=1e-6)
    assert pd.Series(mult255(div255(np.array([3.0, 255.0])))).tolist() == [3.0, 255.0]
