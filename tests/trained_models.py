"""The trained-model fixture every library's tests share: one small queue per analysis type, trained once.

A test module passes its library, its cases (data and splitset settings per analysis type) and its functions;
it gets back the database URL and one trained predictor id per analysis type. Use it from a module-scoped
fixture, so each module trains once whatever number of tests read the models.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sklearn.preprocessing import StandardScaler

import assay
from assay.db import engine as db_engine


def train_per_analysis_type(folder: Path, library: str, cases: dict[str, dict[str, Any]], fn_build: Callable,
                            fn_train: Callable, seed: int) -> tuple[str, dict[str, int]]:
    """Train one queue per case; returns ``(database URL, {analysis_type: predictor id})``.

    Each case holds ``data`` (a function returning the DataFrame), ``kind`` (passed to the functions as the
    hyperparameter ``kind``), ``splitset`` (``Pipeline.Tabular.make`` arguments), and optionally ``functions``
    (more ``Experiment.make`` arguments) and ``fold_index`` (which fold's model to keep; default: the last model).
    """
    url = f"sqlite:///{folder / 'assay.sqlite3'}"
    assay.setup(url)
    predictor_ids = {}
    for analysis_type, case in cases.items():
        splitset = assay.Pipeline.Tabular.make(
            df_or_path=case["data"](),
            feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
            **case["splitset"],
        )
        queue = assay.Experiment.make(
            library=library, analysis_type=analysis_type, fn_build=fn_build, fn_train=fn_train,
            hyperparameters={"kind": [case["kind"]]}, splitset_id=splitset.id, seed=seed,
            **case.get("functions", {}),
        )
        summary = queue.run_jobs(progress=False)
        assert summary.failed == 0, queue.status()["errors"]
        if "fold_index" in case:
            [predictor] = [p for p in queue.predictors if p.fold_index == case["fold_index"]]
        else:
            predictor = queue.predictors[-1]
        predictor_ids[analysis_type] = predictor.id
    db_engine.dispose()
    return url, predictor_ids
