"""Databases made by earlier assay releases upgrade through ``assay.setup()`` and read back whole.

``tests/data/assay_<revision>.sqlite3`` is a database frozen at each released schema revision, with data in every
table (``tests/data/make_frozen_database.py`` made it). Each test works on a copy, so the frozen file never changes.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import undefer

import assay
from assay import datum
from assay.db import engine as db_engine
from assay.db import migrate
from assay.db.models import Base

#: tables of revisions no frozen database has reached yet: empty after an upgrade
ADDED_AFTER_THE_FROZEN_DATABASES = ["ensemble", "ensemblemember", "ensembleprediction"]  # revision 0010
FROZEN = sorted((Path(__file__).parent / "data").glob("assay_*.sqlite3"))


def frozen_since(revision: str) -> list[Path]:
    """The frozen databases of ``revision`` and later ones (those holding what that revision added)."""
    return [path for path in FROZEN if path.stem >= f"assay_{revision}"]


def frozen_before(revision: str) -> list[Path]:
    """The frozen databases of the revisions before ``revision`` (none of them holds what it added)."""
    return [path for path in FROZEN if path.stem < f"assay_{revision}"]


@pytest.mark.parametrize("revision", ["0001", "0005", "0006", "0007", "0008", "0012"])
def test_a_frozen_database_exists_for_each_released_revision(revision):
    assert (Path(__file__).parent / "data" / f"assay_{revision}.sqlite3") in FROZEN


def set_up_a_copy(frozen: Path, tmp_path: Path) -> str:
    """``assay.setup()`` on a copy of a frozen database (so it upgrades the copy); returns its URL."""
    copy = tmp_path / frozen.name
    shutil.copyfile(frozen, copy)
    url = f"sqlite:///{copy}"
    assay.setup(url)
    return url


@pytest.fixture(params=FROZEN, ids=[path.stem for path in FROZEN])
def upgraded(request, tmp_path) -> str:
    return set_up_a_copy(request.param, tmp_path)


def test_setup_upgrades_a_frozen_database_to_the_newest_revision(upgraded):
    assert migrate.current_revision(db_engine.get_engine()) == migrate.head_revision()


def test_every_row_of_every_table_reads_back_after_the_upgrade(upgraded):
    with db_engine.session_scope() as session:
        for mapper in Base.registry.mappers:
            row_type = mapper.class_
            deferred = [undefer(getattr(row_type, prop.key)) for prop in mapper.column_attrs]
            rows = session.scalars(select(row_type).options(*deferred)).all()
            for row in rows:
                for prop in mapper.column_attrs:
                    getattr(row, prop.key)
    with db_engine.session_scope() as session:
        counts = {mapper.class_.__tablename__: len(session.scalars(select(mapper.class_)).all())
                  for mapper in Base.registry.mappers}
    # the frozen data covers the whole object model of revision 0001
    for table in ["dataset", "label", "feature", "splitset", "fold", "encoderspec", "fittedencoder", "algorithm",
                  "hyperparamset", "hyperparamcombo", "queue", "job", "predictor", "prediction"]:
        assert counts[table] > 0, table


def test_the_stored_splitset_and_queue_read_back_through_the_public_objects(upgraded):
    splitset = assay.Splitset.all()[0]
    assert splitset.label_column == "species"
    assert len(splitset.folds) == 2
    train = splitset.samples_for("train", fold_index=0)
    assert train["features"].shape[1] == 4
    assert train["labels"].shape[1] == 3
    assert np.isfinite(train["features"]).all()

    queue = assay.Queue.all()[0]
    status = queue.status()
    assert status["succeeded"] == 2
    assert status["failed"] == 2
    assert "fails on purpose" in " ".join(str(error) for error in status["errors"].values())
    predictors = queue.predictors
    assert len(predictors) == 2
    for predictor in predictors:
        assert set(predictor.metrics) == {"train", "validation", "test"}
        assert 0.0 <= predictor.metrics["test"]["accuracy"] <= 1.0
        assert len(predictor.history["loss"]) == 3
    leaderboard = queue.leaderboard()
    assert len(leaderboard) >= 1


def test_a_model_stored_before_the_upgrade_still_predicts_and_its_stored_results_stay(upgraded):
    predictor = assay.Queue.all()[0].predictors[0]
    stored_importance = predictor.feature_importance()
    assert sorted(stored_importance["feature"]) == ["petal_length", "petal_width", "sepal_length", "sepal_width"]
    assert len(predictor.inferences) == 1
    df = datum.to_pandas("iris.tsv")
    result = predictor.infer(df.drop(columns="species").tail(7))
    assert len(result) == 7
    assert set(result["prediction"]) <= set(df["species"])
    assert np.allclose(result.filter(like="probability_").sum(axis=1), 1.0, atol=1e-5)
    assert len(predictor.inferences) == 2


def test_queues_stored_before_the_ensemble_revision_ensemble_after_the_upgrade(upgraded):
    queue = assay.Queue.all()[0]  # two combinations on two folds, stored before revision 0010; one failed
    assert queue.ensembles == []
    with pytest.raises(assay.errors.ValidationError, match="has 1 combination"):
        queue.ensemble()  # its failing combination never counts
    algorithm = queue.algorithm
    new_queue = assay.Experiment.make(
        library="torch", analysis_type="classification_multi", fn_build=algorithm.functions["fn_build"],
        fn_train=algorithm.functions["fn_train"], hyperparameters={"neuron_count": [4, 6]},
        splitset_id=queue.splitset_id,
    )
    new_queue.run_jobs(progress=False)
    ensemble = new_queue.ensemble(size=4, candidates=2)
    assert ensemble.out_of_fold
    assert sum(ensemble.members.values()) == pytest.approx(1.0)
    assert set(ensemble.metrics) == {"train", "validation", "test"}
    df = datum.to_pandas("iris.tsv")
    result = ensemble.infer(df.drop(columns="species").tail(5))
    assert set(result["prediction"]) <= set(df["species"])
    assert new_queue.ensembles == [ensemble]


def test_new_work_runs_on_an_upgraded_database(upgraded):
    queue = assay.Queue.all()[0]
    algorithm = queue.algorithm
    new_queue = assay.Experiment.make(
        library="torch", analysis_type="classification_multi",
        fn_build=algorithm.functions["fn_build"], fn_train=algorithm.functions["fn_train"],
        repeat_count=1, hyperparameters={"neuron_count": [5]}, splitset_id=queue.splitset_id, hide_test=False,
    )
    new_queue.run_jobs(progress=False)
    assert new_queue.status()["succeeded"] == 2  # one combination on each of the two folds


@pytest.fixture(params=frozen_since("0005"), ids=[path.stem for path in frozen_since("0005")])
def upgraded_later(request, tmp_path) -> str:
    return set_up_a_copy(request.param, tmp_path)


def test_what_revisions_0002_to_0005_stored_reads_back_after_the_upgrade(upgraded_later):
    with db_engine.session_scope() as session:
        empty = [mapper.class_.__tablename__ for mapper in Base.registry.mappers
                 if not session.scalars(select(mapper.class_)).first()]
    assert sorted(empty) == sorted(table for table in ADDED_AFTER_THE_FROZEN_DATABASES if table in empty)

    splitsets = assay.Splitset.all()
    step_by_step, sequences, windowed = splitsets[1], splitsets[2], splitsets[3]
    # 0003: the step-by-step splitset, its foldset and its coders
    assert step_by_step.foldset.fold_count == 2
    train = step_by_step.samples_for("train", fold_index=1)
    assert train["features"].shape[1] == 4
    assert train["labels"].shape[1] == 3
    # 0004: the sequence dataset, read back from its chunks through its encoder
    samples = sequences.samples_for("train", fold_index=0)
    assert samples["features"].shape[1:] == (6, 2)
    assert np.isfinite(samples["features"]).all()
    # 0002: interpolated gaps are filled and the window shapes the samples
    windowed_train = windowed.samples_for("train")
    assert windowed_train["features"].shape[1:] == (4, 2)
    assert np.isfinite(windowed_train["features"]).all()

    queues = assay.Queue.all()
    # the queue made step by step, and the adaptive search (3 combinations on 2 folds)
    assert queues[1].status()["succeeded"] == 2
    search = queues[2]
    assert search.status()["succeeded"] == 6
    assert len(search.leaderboard()) >= 1
    result = search.predictors[0].infer(datum.to_pandas("iris.tsv").drop(columns="species").head(3))
    assert len(result) == 3


def test_predictions_stored_before_the_upgrade_read_back_beside_new_ones(upgraded):
    old = assay.Queue.all()[0].predictors[0].predictions["test"]
    assert len(old.predictions) == old.row_count == len(old.labels) == len(old.row_indices)
    assert np.allclose(old.probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert set(old.predictions) <= set(old.classes)


@pytest.fixture(params=frozen_since("0006"), ids=[path.stem for path in frozen_since("0006")])
def upgraded_multi_input(request, tmp_path) -> str:
    return set_up_a_copy(request.param, tmp_path)


def test_a_multi_input_splitset_and_its_model_read_back_and_predict_after_the_upgrade(upgraded_multi_input):
    multi = next(splitset for splitset in assay.Splitset.all() if splitset.kind == "multi")
    assert list(multi.inputs) == ["table", "series"]
    train = multi.samples_for("train")
    table, series = train["features"]
    assert len(table) == len(series) == len(train["labels"])
    assert series.shape[1:] == (6, 2)
    queue = next(queue for queue in assay.Queue.all() if queue.splitset_id == multi.id)
    assert queue.status()["succeeded"] == 1
    predictor = queue.predictors[0]
    rows = np.asarray(predictor.predictions["test"].row_indices)
    # the inputs as make_frozen_database.py drew them (seed 4: the sequences, then the table)
    rng = np.random.default_rng(4)
    sequences = rng.normal(size=(24, 6, 2)).astype("float32")
    table = pd.DataFrame({"level": rng.normal(size=24), "kind": rng.choice(["a", "b"], size=24)})
    np.testing.assert_array_equal(multi.inputs["table"].samples_for("test")["features"],
                                  multi.inputs["table"].encode_features(table.iloc[rows]))

    result = predictor.infer([table.iloc[rows], sequences[rows]])

    stored = predictor.predictions["test"]
    np.testing.assert_array_equal(result["prediction"].to_numpy(), np.asarray(stored.predictions))


BETWEEN_0005_AND_0007 = [path for path in frozen_since("0005") if path in frozen_before("0007")]


@pytest.fixture(params=BETWEEN_0005_AND_0007, ids=[path.stem for path in BETWEEN_0005_AND_0007])
def upgraded_before_0007(request, tmp_path) -> str:
    return set_up_a_copy(request.param, tmp_path)


def test_features_and_coders_stored_before_0007_read_back_and_take_its_step_by_step_kinds(upgraded_before_0007):
    from sklearn.preprocessing import MinMaxScaler

    with db_engine.session_scope() as session:
        from assay.db.models import CoderRow, FeatureRow

        assert all(row.interpolaters is None and row.window is None for row in session.scalars(select(FeatureRow)))
        assert all(row.axis is None for row in session.scalars(select(CoderRow)))
    feature = assay.Dataset.Image.from_files(datum.get_image_files("brain_tumor.csv")[:8]).make_feature()
    coder = feature.make_encoderset().make_featurecoder(sklearn_preprocess=MinMaxScaler(), axis="pixel")
    assert assay.Coder.get(coder.id).axis == "pixel"


FROZEN_AT_0007 = [path for path in frozen_since("0007") if path not in frozen_since("0008")]


@pytest.fixture(params=FROZEN_AT_0007, ids=[path.stem for path in FROZEN_AT_0007])
def upgraded_step_by_step_kinds(request, tmp_path) -> str:
    return set_up_a_copy(request.param, tmp_path)


def test_what_0007_stored_reads_back_and_its_labels_take_an_interpolater_after_the_upgrade(
        upgraded_step_by_step_kinds):
    from assay.data.build.step_by_step_encoders import plan_encoding
    from assay.db.models import LabelRow
    from assay.db.queries import steps as step_queries

    with db_engine.session_scope() as session:
        assert all(row.interpolater is None for row in session.scalars(select(LabelRow)))
    # 0007: the step-by-step forecast feature (interpolaters, window) and its open splitset encode as before
    forecast = next(f for f in assay.Feature.all() if f.window is not None)
    assert [step["columns"] for step in forecast.interpolaters] == [["x"]]
    [open_splitset] = [s for s in assay.Splitset.all() if not s.is_encoded and s.feature_id == forecast.id]
    step_queries.store_encoding(**plan_encoding(open_splitset.id).rows)
    train = assay.Splitset.get(open_splitset.id).samples_for("train")
    assert train["features"].shape[1:] == (4, 2)
    assert np.isfinite(train["features"]).all()
    coder = next(c for c in assay.Coder.all() if c.columns_selected == ["feature_0"])
    assert coder.axis == "feature"
    # 0008: a float label with gaps takes an interpolater, stored on the label
    df = pd.DataFrame({"x": np.arange(20.0), "y": np.arange(20.0) * 2})
    df.loc[[3, 11], "y"] = np.nan
    label = assay.Dataset.Tabular.from_pandas(df).make_label(columns=["y"])
    label.make_labelinterpolater()
    assert assay.Label.get(label.id).interpolater == {}


@pytest.fixture(params=frozen_since("0008"), ids=[path.stem for path in frozen_since("0008")])
def upgraded_label_interpolaters(request, tmp_path) -> str:
    return set_up_a_copy(request.param, tmp_path)


def test_what_0008_stored_reads_back_a_gappy_label_with_its_interpolater_and_a_sequence_feature_interpolater(
        upgraded_label_interpolaters):
    # 0008: the step-by-step float label with gaps keeps its interpolater spec, and splits on the interpolated label
    [label] = [label for label in assay.Label.all() if label.interpolater is not None]
    assert label.interpolater == {}
    assert assay.Dataset.get(label.dataset_id).to_pandas()["y"].isna().any()
    # the sequence feature's interpolaters (its own interpolaterset) read back with their dtypes
    sequence_features = [f for f in assay.Feature.all()
                         if f.interpolaters and assay.Dataset.get(f.dataset_id).kind == "sequence"]
    assert sequence_features
    assert sequence_features[0].interpolaters[0]["dtypes"] == "float32"


def test_predictors_and_queues_stored_before_0009_upgrade_uncalibrated_and_calibrate_afterwards(upgraded):
    # 0009: predictor.calibration, queue.conformal and queue.rope are new and empty for everything stored before
    predictors = assay.Predictor.all()
    assert all(predictor.calibration is None for predictor in predictors)
    assert all(queue.conformal is None and queue.rope is None for queue in assay.Queue.all())
    # a classification model stored before the revision calibrates from its stored predictions
    [predictor, *_] = [predictor for predictor in predictors
                       if predictor.queue.analysis_type.startswith("classification")
                       and "test" in predictor.predictions and len(predictor.predictions["test"].predictions) >= 5
                       and predictor.predictions["test"].probabilities is not None]
    calibration = predictor.calibrate(alpha=0.2, split="test")
    assert assay.Predictor.get(predictor.id).calibration == calibration
    assert predictor.coverage("test")["n"] == calibration["n"]


def stored_json_samples(frozen: Path) -> tuple[dict[int, dict], dict[int, dict]]:
    """Every splitset's and fold's row indices as the frozen database holds them (JSON), read with sqlite3."""
    with sqlite3.connect(f"file:{frozen}?mode=ro", uri=True) as connection:
        return tuple({row_id: json.loads(text) for row_id, text in connection.execute(
            f"SELECT id, samples FROM {table} ORDER BY id")} for table in ("splitset", "fold"))


@pytest.mark.parametrize("frozen", FROZEN, ids=[path.stem for path in FROZEN])
def test_row_indices_stored_as_json_read_back_identically_after_revision_0013_stores_them_as_bytes(frozen, tmp_path):
    from assay.data.read.splitsets import SplitsetData
    from assay.db.models import FoldRow
    from assay.db.queries import data as data_queries

    splitsets, folds = stored_json_samples(frozen)
    assert splitsets
    assert folds
    upgraded = set_up_a_copy(frozen, tmp_path)

    assert {splitset.id: splitset.samples for splitset in assay.Splitset.all()} == splitsets
    assert {fold.id: fold.samples for fold in assay.Fold.all()} == folds
    for fold_id, samples in folds.items():  # what samples_for reads: the same rows, as arrays
        arrays = data_queries.sample_arrays(FoldRow, fold_id)
        assert {split: rows.tolist() for split, rows in arrays.items()} == samples
    splitset = SplitsetData.load(min(splitsets))
    assert {split: splitset.row_indices(split) for split in splitsets[splitset.id]} == splitsets[splitset.id]
    first_folds = [fold.samples for fold in assay.Splitset.get(splitset.id).folds]
    assert [{split: splitset.row_indices(split, index) for split in fold} for index, fold in enumerate(first_folds)] \
        == first_folds
    # the JSON column keeps no second copy
    with sqlite3.connect(upgraded.removeprefix("sqlite:///")) as connection:
        for table in ("splitset", "fold"):
            assert {text for (text,) in connection.execute(f"SELECT samples FROM {table}")} == {"null"}


def test_revision_0013_moves_row_indices_to_bytes_and_back_exactly_on_sqlite_and_postgresql(any_db_url):
    from alembic import command
    from sklearn.preprocessing import OneHotEncoder
    from sqlalchemy import text

    assay.setup(any_db_url)
    splitset = assay.Pipeline.Tabular.make(
        datum.to_pandas("iris.tsv"), label_column="species", label_encoder=dict(sklearn_preprocess=OneHotEncoder()),
        size_test=0.2, fold_count=3)
    samples, folds = splitset.samples, [fold.samples for fold in splitset.folds]
    assert sorted(i for rows in samples.values() for i in rows) == list(range(150))

    with db_engine.get_engine().begin() as connection:
        command.downgrade(migrate.alembic_config(connection), "0012")
        # 0012 reads JSON lists: what the downgrade wrote back is what was stored
        stored = [json.loads(value) for (value,) in connection.execute(
            text("SELECT CAST(samples AS TEXT) FROM fold ORDER BY fold_index"))]
        assert stored == folds
        command.upgrade(migrate.alembic_config(connection), "head")
    db_engine.dispose()
    assay.setup(any_db_url)

    again = assay.Splitset.get(splitset.id)
    assert again.samples == samples
    assert [fold.samples for fold in again.folds] == folds
    np.testing.assert_array_equal(again.samples_for("validation", fold_index=2)["features"],
                                  splitset.samples_for("validation", fold_index=2)["features"])
