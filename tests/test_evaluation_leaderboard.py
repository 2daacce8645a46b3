"""The metrics table and leaderboard over runs stored through the runner's own storage path, on SQLite and
PostgreSQL: exact aggregates, a constant number of queries, empty and partly failed queues.

Nothing is trained here: each job is claimed and its results stored with ``runner._store`` (what ``run_jobs``
does after training), with metric values chosen by the test so the aggregates can be checked exactly. The queues
name the test backend's library (``numpy_linear``, tests/thirdparty_plugin), so no deep-learning library is needed.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sqlalchemy import event, update

import assay
from assay import datum, errors
from assay.db import engine as db_engine
from assay.db.models import JobRow, PredictionRow
from assay.evaluation import leaderboard as tables
from assay.experiment import arrays, runner

WORKER = "test-worker"
#: the third-party test backend: these tests store results, they train nothing
LIBRARY = "numpy_linear"
pytest.importorskip("assay_dummy", reason="install tests/thirdparty_plugin (nox -s tests does)")


def fn_build(features_shape, label_shape, **hp):  # never called: nothing is trained
    raise AssertionError("not trained in these tests")


def fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hp):
    raise AssertionError("not trained in these tests")


def make_queue(hyperparameters, repeat_count=1, size_validation=0.12):
    splitset = assay.Pipeline.Tabular.make(
        df_or_path=datum.to_pandas("iris.tsv"), label_column="species",
        label_encoder=dict(sklearn_preprocess=OneHotEncoder()), feature_cols_excluded="species",
        feature_encoders=[dict(sklearn_preprocess=StandardScaler(), dtypes=["float64"])],
        size_test=0.22, size_validation=size_validation,
    )
    return assay.Experiment.make(library=LIBRARY, analysis_type="classification_multi", fn_build=fn_build,
                                 fn_train=fn_train, repeat_count=repeat_count, hyperparameters=hyperparameters,
                                 splitset_id=splitset.id, seed=0)


def store(queue, metrics_for, splits=("train", "validation", "test")):
    """Store every job's results; ``metrics_for(job, split)`` gives the metrics of one split."""
    splitset = queue.splitset
    rng = np.random.default_rng(0)
    with db_engine.session_scope() as session:
        session.execute(update(JobRow).where(JobRow.queue_id == queue.id).values(status="running", worker=WORKER))
    for job in queue.jobs:
        evaluated = []
        for split in splits:
            rows = np.asarray(splitset.row_indices(split))
            probabilities = rng.dirichlet(np.ones(3), size=len(rows))
            classes = np.asarray(splitset.label_classes)
            blob = arrays.dumps(row_indices=rows, predictions=classes[probabilities.argmax(1)],
                                probabilities=probabilities, labels=splitset.raw_labels(rows), classes=classes)
            evaluated.append(runner._Evaluated(split, blob, metrics_for(job, split), len(rows)))
        predictor = {"model_format": LIBRARY, "model_blob": b"",
                     "history": {"loss": [1.0, 0.8], "val_loss": [1.1, 0.9]}, "features_shape": [4],
                     "label_shape": [3], "versions": {}, "seconds_train": 0.1, "seconds_total": 0.1}
        assert runner._store(job.id, WORKER, predictor, evaluated)


def accuracy_of(job, split):
    """A distinct, known accuracy per run: combination, repeat and split all change it."""
    return 0.5 + 0.1 * job.hyperparameters["neuron_count"] / 10 + 0.01 * job.repeat_index + (split == "test") * 0.2


def test_leaderboard_gives_exact_statistics_per_combination_on_either_database(any_db):
    queue = make_queue({"neuron_count": [10, 30, 20]}, repeat_count=3)
    store(queue, lambda job, split: {"accuracy": accuracy_of(job, split), "loss": 1 - accuracy_of(job, split)})
    board = queue.leaderboard()
    assert board.attrs["split"] == "validation"
    assert board["neuron_count"].tolist() == [30, 20, 10]
    assert board["rank"].tolist() == [1, 2, 3]
    assert board["run_count"].tolist() == [3, 3, 3]
    top = [0.5 + 0.3 + 0.01 * repeat for repeat in range(3)]
    assert board.loc[0, "accuracy_mean"] == pytest.approx(np.mean(top))
    assert board.loc[0, "accuracy_std"] == pytest.approx(np.std(top, ddof=1))
    assert board.loc[0, "accuracy_min"] == pytest.approx(0.8)
    assert board.loc[0, "accuracy_max"] == pytest.approx(0.82)
    best = assay.Predictor.get(int(board.loc[0, "best_predictor_id"]))
    assert (best.hyperparameters, best.repeat_index) == ({"neuron_count": 30}, 2)
    by_loss = queue.leaderboard(split="test", metric="loss")
    assert by_loss["loss_mean"].tolist() == sorted(by_loss["loss_mean"])
    assert by_loss["neuron_count"].tolist() == [30, 20, 10]


def count_statements(engine):
    counter = {"statements": 0}

    def count(*_):
        counter["statements"] += 1

    event.listen(engine, "before_cursor_execute", count)
    return counter, lambda: event.remove(engine, "before_cursor_execute", count)


def test_the_leaderboard_aggregates_the_metrics_table_with_missing_values_and_ties_on_either_database(any_db,
                                                                                                     monkeypatch):
    """The leaderboard's own reading of the results (one split, three columns) gives what aggregating
    ``metrics_to_pandas()`` by hand gives: NaN and absent metrics skipped, ties broken the documented way."""
    queue = make_queue({"neuron_count": [1, 2, 3], "activation": ["relu", "tanh"]}, repeat_count=3)

    def metrics(job, split):
        n = job.hyperparameters["neuron_count"]
        values = {"accuracy": 0.5 + 0.1 * n - 0.05 * (job.repeat_index == 2),  # repeats 0 and 1 tie for best
                  "f1": float("nan") if job.repeat_index == 0 or n == 3 else 0.1 * job.repeat_index + n,
                  "loss": 1.0 / n + 0.01 * job.repeat_index}
        if job.hyperparameters["activation"] == "tanh":  # relu runs have no roc_auc at all
            values["roc_auc"] = 0.7 + 0.01 * job.repeat_index + (split == "test")
        return values

    store(queue, metrics)
    board = queue.leaderboard()
    table = queue.metrics_to_pandas()
    runs = table[table["split"] == "validation"]
    names = ["accuracy", "f1", "loss", "roc_auc"]
    expected = runs.groupby("combo_index")[names].agg(tables.STATISTICS)
    expected.columns = [f"{name}_{stat}" for name, stat in expected.columns]
    stat_columns = [column for column in board.columns if column.endswith(tuple(tables.STATISTICS))]
    assert stat_columns == list(expected.columns)
    by_combo = board.set_index("combo_index").sort_index()
    np.testing.assert_allclose(by_combo[stat_columns].to_numpy(float), expected.to_numpy(float), equal_nan=True)
    assert np.isnan(by_combo.loc[runs.loc[runs["neuron_count"] == 3, "combo_index"].iloc[0], "f1_mean"])
    # equal means (relu and tanh of one size) and equal spreads: the lower combination index ranks first
    ranked = expected.reset_index().sort_values(["accuracy_mean", "accuracy_std", "combo_index"],
                                                ascending=[False, True, True], kind="stable")
    assert board["combo_index"].tolist() == ranked["combo_index"].tolist()
    assert board["rank"].tolist() == list(range(1, 7))
    assert board["run_count"].tolist() == [3] * 6
    for combo_index, rows in runs.groupby("combo_index"):
        best_runs = rows[rows["accuracy"] == rows["accuracy"].max()]
        tied_first = best_runs.sort_values("run_index")["predictor_id"].iloc[0]
        assert by_combo.loc[combo_index, "best_predictor_id"] == tied_first
        assert by_combo.loc[combo_index, "neuron_count"] == rows["neuron_count"].iloc[0]
        assert by_combo.loc[combo_index, "activation"] == rows["activation"].iloc[0]
    # the same on the test split, ranked by a metric only some runs have
    on_test = queue.leaderboard(split="test", metric="roc_auc")
    assert on_test["roc_auc_mean"].notna().tolist() == [True] * 3 + [False] * 3
    assert on_test.loc[0, "roc_auc_mean"] == pytest.approx(1.71)
    # read in chunks of 4 runs, parsed apart (some with a NaN written as a tagged value, some without roc_auc at
    # all): the same leaderboards
    monkeypatch.setattr(tables, "READ_CHUNK", 4)
    pd.testing.assert_frame_equal(queue.leaderboard(), board)
    pd.testing.assert_frame_equal(queue.leaderboard(split="test", metric="roc_auc"), on_test)


def test_metrics_written_plainly_tagged_or_pretty_printed_read_back_as_the_same_columns():
    nan = float("nan")
    plain = ['{"accuracy": 0.5, "f1": 1}', None, '{"f1": 0.25, "roc_auc": null}', '{"accuracy": 1, "loss": 0.125}']
    expected = pd.DataFrame({"accuracy": [0.5, nan, nan, 1.0], "f1": [1.0, nan, 0.25, nan], "roc_auc": [nan] * 4,
                             "loss": [nan, nan, nan, 0.125]})
    pd.testing.assert_frame_equal(tables.metric_columns(plain, pd.RangeIndex(4)), expected)
    # a non-finite metric is stored as a tagged object; a row written by hand may span lines
    tagged = [*plain[:3], '{"accuracy": {"$float": "inf"}, "loss": 0.125}']
    pd.testing.assert_frame_equal(tables.metric_columns(tagged, pd.RangeIndex(4)),
                                  expected.assign(accuracy=[0.5, nan, nan, float("inf")]))
    pretty = ['{\n  "accuracy": 0.5,\n  "f1": 1\n}', *plain[1:]]
    pd.testing.assert_frame_equal(tables.metric_columns(pretty, pd.RangeIndex(4)), expected)
    assert tables.metric_columns([], pd.RangeIndex(0)).empty


def test_metrics_table_costs_the_same_queries_for_4_runs_as_for_40(db):
    counts = []
    for repeat_count in (1, 10):
        queue = make_queue({"neuron_count": [1, 2, 3, 4]}, repeat_count=repeat_count)
        store(queue, lambda job, split: {"accuracy": 0.5, "f1": 0.4})
        counter, stop = count_statements(db_engine.get_engine())
        table = queue.metrics_to_pandas()
        queue.leaderboard()
        stop()
        assert len(table) == 4 * repeat_count * 3
        counts.append(counter["statements"])
    assert counts[0] == counts[1]


def test_models_are_compared_on_test_when_there_is_no_validation_split(db):
    queue = make_queue({"neuron_count": [10, 20]}, size_validation=None)
    store(queue, lambda job, split: {"accuracy": accuracy_of(job, split)}, splits=("train", "test"))
    board = queue.leaderboard()
    assert board.attrs["split"] == "test"
    assert board.loc[0, "accuracy_mean"] == pytest.approx(0.5 + 0.2 + 0.2)
    with pytest.raises(errors.ValidationError, match="train, test"):
        queue.leaderboard(split="validation")


def test_hyperparameter_columns_keep_lists_as_text_and_rename_clashing_names(db):
    queue = make_queue({"split": [1], "layers": [[4, 4], [8]]})
    store(queue, lambda job, split: {"accuracy": 0.5 + len(job.hyperparameters["layers"]) / 10})
    table = queue.metrics_to_pandas()
    assert "hp_split" in table.columns
    assert set(table["split"]) == {"train", "validation", "test"}
    assert set(table["layers"]) == {"[4, 4]", "[8]"}
    board = queue.leaderboard()
    assert board["layers"].tolist() == ["[4, 4]", "[8]"]


def test_predictions_on_new_data_and_failed_jobs_stay_out_of_the_tables(db):
    queue = make_queue({"neuron_count": [1, 2]})
    first, second = queue.jobs
    with db_engine.session_scope() as session:
        session.execute(update(JobRow).where(JobRow.id == second.id).values(status="running", worker=WORKER))
    runner._fail(second.id, WORKER, RuntimeError("out of memory"))
    with db_engine.session_scope() as session:
        session.execute(update(JobRow).where(JobRow.id == first.id).values(status="running", worker=WORKER))
    blob = arrays.dumps(row_indices=np.arange(3), predictions=np.array(["setosa"] * 3))
    assert runner._store(first.id, WORKER, {"model_format": LIBRARY, "model_blob": b"", "history": {},
                                            "features_shape": [4], "label_shape": [3], "versions": {},
                                            "seconds_train": 0.0, "seconds_total": 0.0},
                         [runner._Evaluated("test", blob, {"accuracy": 0.9}, 3)])
    predictor = queue.predictors[0]
    with db_engine.session_scope() as session:
        session.add(PredictionRow(predictor_id=predictor.id, split="inference", arrays=blob, metrics={}, row_count=3))
    table = queue.metrics_to_pandas()
    assert table["split"].tolist() == ["test"]
    assert table["job_id"].tolist() == [first.id]
    assert queue.leaderboard()["run_count"].tolist() == [1]


def test_a_queue_without_results_has_empty_tables_and_says_so_when_plotted(db, tmp_path):
    queue = make_queue({"neuron_count": [1, 2]})
    table = queue.metrics_to_pandas()
    assert table.empty
    assert list(table.columns[:6]) == ["queue_id", "job_id", "predictor_id", "run_index", "combo_index",
                                       "neuron_count"]
    board = queue.leaderboard()
    assert board.empty
    assert "accuracy_mean" in board.columns
    with pytest.raises(errors.ValidationError, match=r"no trained model yet; run queue\.run_jobs\(\)"):
        queue.plot_performance()
    page = Path(queue.report(tmp_path / "empty.html")).read_text(encoding="utf-8")
    assert "No trained model yet" in page
    assert "in progress: 2 queued, 0 running" in page


def test_report_lists_failed_runs_with_their_error(db, tmp_path):
    queue = make_queue({"neuron_count": [1, 2]}, size_validation=None)
    first, second = queue.jobs
    with db_engine.session_scope() as session:
        session.execute(update(JobRow).where(JobRow.id == second.id).values(status="running", worker=WORKER))
    runner._fail(second.id, WORKER, RuntimeError("CUDA out of memory"))
    with db_engine.session_scope() as session:
        session.execute(update(JobRow).where(JobRow.id == first.id).values(status="queued"))
    page = Path(queue.report(tmp_path / "failed.html")).read_text(encoding="utf-8")
    assert "Failed runs" in page
    assert "RuntimeError: CUDA out of memory" in page
    # shown escaped (the template escapes every value), and read back as written
    assert "{'neuron_count': 2}" not in page
    assert "{'neuron_count': 2}" in html.unescape(page)


@pytest.mark.parametrize(("metric", "higher"), [("accuracy", True), ("roc_auc", True), ("r2", True), ("loss", False),
                                                ("log_loss", False), ("mae", False), ("rmse", False),
                                                ("max_abs_error", False)])
def test_metric_direction_follows_its_name(metric, higher):
    assert tables.higher_is_better(metric) is higher


def test_main_metric_direction_comes_from_the_analysis_type():
    assert tables.higher_is_better("r2", "regression") is True
    assert tables.higher_is_better("accuracy", "classification_binary") is True


def _reference_table(queue):
    """``metrics_to_pandas()`` built the plain way: every stored prediction read through the ORM (its metrics
    decoded by the JSON column type), one dict per row, pandas' own constructor."""
    from sqlalchemy import select

    from assay.db.models import HyperparamcomboRow, PredictorRow

    with db_engine.session_scope() as session:
        found = session.execute(
            select(JobRow.id, PredictorRow.id, JobRow.run_index, HyperparamcomboRow.combo_index,
                   HyperparamcomboRow.hyperparameters, JobRow.fold_index, JobRow.repeat_index, PredictionRow.split,
                   PredictionRow.metrics)
            .join(PredictorRow, PredictorRow.job_id == JobRow.id)
            .join(PredictionRow, PredictionRow.predictor_id == PredictorRow.id)
            .join(HyperparamcomboRow, HyperparamcomboRow.id == JobRow.hyperparamcombo_id)
            .where(JobRow.queue_id == queue.id, PredictionRow.split != "inference").order_by(JobRow.id)
        ).all()
    metric_names = list(dict.fromkeys(name for row in found for name in row[8]))
    records = [{"queue_id": queue.id, "job_id": job_id, "predictor_id": predictor_id, "run_index": run_index,
                "combo_index": combo_index, **hyperparameters, "fold_index": fold, "repeat_index": repeat,
                "split": split, **{name: metrics.get(name) for name in metric_names}}
               for job_id, predictor_id, run_index, combo_index, hyperparameters, fold, repeat, split, metrics in found]
    table = pd.DataFrame.from_records(records)
    table["fold_index"] = table["fold_index"].astype("Int64")
    table[metric_names] = table[metric_names].astype(float)
    order = table["split"].map({"train": 0, "validation": 1, "test": 2})
    return table.assign(order=order).sort_values(["run_index", "order"], kind="stable").drop(
        columns="order").reset_index(drop=True), metric_names


def test_metrics_table_and_leaderboard_equal_a_plain_reading_of_the_stored_rows_on_either_database(any_db,
                                                                                                 monkeypatch):
    """Read in chunks and parsed column by column, the tables hold exactly what the stored rows say: NaN and
    infinities (stored tagged), JSON nulls, metrics some runs lack, a metric of the user's own, in the order the
    names first appear."""
    queue = make_queue({"neuron_count": [1, 2, 3], "activation": ["relu", "tanh"]}, repeat_count=3)

    def metrics(job, split):
        n, repeat = job.hyperparameters["neuron_count"], job.repeat_index
        values = {"accuracy": 0.5 + 0.1 * n + 0.013 * repeat + 0.001 * (split == "test"),
                  "f1": float("nan") if repeat == 0 else 1 / (n + repeat + 0.5),
                  "loss": float("inf") if (n, repeat) == (2, 1) else 1.0 / n + 0.01 * repeat,
                  "my_score": None if repeat == 2 else n * 0.3 - repeat / 7}
        if job.hyperparameters["activation"] == "tanh":  # relu runs have no roc_auc at all
            values["roc_auc"] = 0.7 + 0.01 * repeat
        return values

    store(queue, metrics)
    expected, names = _reference_table(queue)
    for chunk in (tables.READ_CHUNK, 4):
        monkeypatch.setattr(tables, "READ_CHUNK", chunk)
        table = queue.metrics_to_pandas()
        pd.testing.assert_frame_equal(table, expected, check_exact=True)
        board = tables.leaderboard(queue.id, significance=False)
        runs = expected[expected["split"] == "validation"]
        ordered = ["accuracy", *[name for name in names if name != "accuracy"]]
        grouped = runs.groupby("combo_index")[ordered]
        by_combo = pd.DataFrame({f"{name}_{stat}": getattr(grouped, stat)()[name]
                                 for name in ordered for stat in tables.STATISTICS})
        got = board.set_index("combo_index").sort_index()
        # the same runs' values (the table above is exact); a mean's last bit depends on how pandas blocks the
        # columns it sums (0.713 or 0.7130000000000001 for one combination here), not on what was read
        pd.testing.assert_frame_equal(got[list(by_combo.columns)], by_combo, rtol=1e-15, atol=0, check_names=False)
        assert np.isinf(got["loss_max"]).sum() == 2
        assert got["my_score_mean"].notna().all()
        assert got["roc_auc_mean"].isna().sum() == 3  # the relu combinations
        best = runs.sort_values(["accuracy", "run_index"], ascending=[False, True]).groupby("combo_index").first()
        assert got["best_predictor_id"].tolist() == best["predictor_id"].tolist()
        assert board["combo_index"].tolist() == by_combo.sort_values(
            ["accuracy_mean", "accuracy_std"], ascending=[False, True], kind="stable").index.tolist()


def test_reading_a_leaderboard_leaves_the_garbage_collector_as_it_found_it(db):
    """The runs are read with the cyclic collector paused; afterwards it runs again, or stays off when the
    program had turned it off itself."""
    import gc

    queue = make_queue({"neuron_count": [1, 2]})
    store(queue, lambda job, split: {"accuracy": 0.5 + job.hyperparameters["neuron_count"] / 10})
    queue.leaderboard()
    queue.metrics_to_pandas()
    assert gc.isenabled()
    gc.disable()
    try:
        queue.leaderboard()
        queue.metrics_to_pandas()
        assert not gc.isenabled()
    finally:
        gc.enable()
