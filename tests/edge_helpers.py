"""Shared by the edge-case tests: a small torch model trained once per database, and row counts of every table."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

import assay
from assay.db import session_scope
from assay.db.models import Base


def fn_build(features_shape, label_shape, **hp):
    from torch import nn

    return nn.Sequential(nn.Linear(features_shape[0], 8), nn.ReLU(), nn.Linear(8, 3))


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    import assay_torch

    return model, assay_torch.fit(model, loser, optimizer, samples_train, samples_evaluate, epochs=2,
                                  batch_size=16, seed=0)


def frame(rows: int = 60, seed: int = 0) -> pd.DataFrame:
    """``scaled`` (StandardScaler, no imputer), ``imputed`` (imputer then scaler), ``raw`` (no encoder), ``city``
    (one-hot) and the label ``kind`` (three classes, ordinal-encoded)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "scaled": rng.normal(size=rows), "imputed": rng.normal(size=rows), "raw": rng.normal(size=rows),
        "city": rng.choice(["oslo", "lima", "pune"], size=rows), "kind": np.array(["a", "b", "c"] * rows)[:rows],
    })


SPLITSET = dict(
    label_column="kind", label_encoder=dict(sklearn_preprocess=OrdinalEncoder()),
    feature_encoders=[
        dict(sklearn_preprocess=StandardScaler(), columns=["scaled"]),
        dict(sklearn_preprocess=make_pipeline(SimpleImputer(), StandardScaler()), columns=["imputed"]),
        dict(sklearn_preprocess=OneHotEncoder(handle_unknown="ignore"), columns=["city"]),
    ],
    size_test=0.25,
)


def train_predictor() -> int:
    """One torch model of the frame above on the database set up now; returns its predictor id."""
    splitset = assay.Pipeline.Tabular.make(frame(), **SPLITSET)
    queue = assay.Experiment.make(library="torch", analysis_type="classification_multi", fn_build=fn_build,
                                  fn_train=fn_train, splitset_id=splitset.id, seed=3)
    summary = queue.run_jobs(progress=False)
    assert summary.failed == 0, queue.status()["errors"]
    return queue.predictors[0].id


def row_counts() -> dict[str, int]:
    """Rows per table: equal before and after a refused call means it wrote nothing."""
    with session_scope() as session:
        return {name: session.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in Base.metadata.tables.items()}


class PostgresDatabase:
    """A PostgreSQL database that lives as long as a module-scoped fixture needs it."""

    def __init__(self, admin_url: str):
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.name = f"assay_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = make_url(admin_url).set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def trained_database(kind: str, tmp_path_factory, name: str):
    """Yield ``(url, predictor_id)`` of a database (``kind`` "sqlite" or "postgresql") holding one trained
    predictor; the body of the module-scoped ``trained`` fixtures. Skips PostgreSQL when no server is set."""
    import pytest
    from conftest import postgres_admin_url

    from assay.db import engine as db_engine

    database = None
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp(name) / 'assay.sqlite3'}"
    else:
        if postgres_admin_url() is None:
            pytest.skip("set ASSAY_TEST_POSTGRES_URL to run PostgreSQL tests")
        database = PostgresDatabase(postgres_admin_url())
        url = database.url
    assay.setup(url)
    predictor_id = train_predictor()
    db_engine.dispose()
    yield url, predictor_id
    db_engine.dispose()
    if database is not None:
        database.drop()
