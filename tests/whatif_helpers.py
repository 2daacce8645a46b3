"""A small finished queue for the what-if tests: a number, a category and markup in the class names."""

from __future__ import annotations

import numpy as np
import pandas as pd
from dashboard_helpers import XSS_CLASSES, make_queue


def houses_frame(rows=80, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"size": rng.normal(100, 20, size=rows).round(1),
                          "rooms": rng.integers(1, 6, size=rows),
                          "color": rng.choice(["red", "green", "green", "blue"], size=rows)})
    frame["kind"] = np.where(frame["size"] + 10 * (frame["color"] == "red") > 100, XSS_CLASSES[0], XSS_CLASSES[1])
    return frame


def whatif_queue():
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    import assay

    splitset = assay.Pipeline.Tabular.make(
        df_or_path=houses_frame(), label_column="kind", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        feature_encoders=[dict(sklearn_preprocess=OneHotEncoder(sparse_output=False), columns=["color"]),
                          dict(sklearn_preprocess=StandardScaler(), columns=["size", "rooms"])],
        size_test=0.2, size_validation=0.2,
    )
    queue = make_queue(splitset, {"neuron_count": [6], "epoch_count": [6]})
    queue.run_jobs(progress=False)
    return queue
