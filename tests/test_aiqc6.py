"""AIQC 6: starred models, an algorithm's code, datasets versioned by name, and drop() in cascade."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dashboard_helpers import fn_build, fn_train, iris_splitset, make_queue
from sqlalchemy import func, select

import assay
from assay import Dataset, errors
from assay.db import session_scope
from assay.db.models import Base, JobRow, SplitsetRow


def trained_queue(repeat_count=1):
    pytest.importorskip("assay_torch")
    queue = make_queue(iris_splitset(), {"neuron_count": [3, 4, 5], "epoch_count": [2]}, repeat_count=repeat_count)
    queue.run_jobs(progress=False)
    return queue


# ------------------------ versions ------------------------
def test_a_name_stored_twice_with_different_content_makes_versions_1_and_2(any_db):
    df = pd.DataFrame({"rooms": [3, 4, 5], "price": [1.0, 2.0, 3.5]})
    first = Dataset.Tabular.from_pandas(df, name="houses")
    second = Dataset.Tabular.from_pandas(df.assign(price=[1.0, 2.0, 4.0]), name="houses")
    again = Dataset.Tabular.from_pandas(df, name="houses")
    other = Dataset.Tabular.from_pandas(df.assign(rooms=[1, 1, 1]), name="flats")

    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert again.id == first.id  # the same content is the same dataset
    assert again.version == 1
    assert Dataset.Tabular.from_pandas(df.assign(rooms=[9, 9, 9])).version is None  # unnamed: no version
    arr = np.arange(24.0).reshape(2, 3, 4)
    sequences = [Dataset.Sequence.from_numpy(arr + shift, name="eeg") for shift in (0, 1)]
    assert [d.version for d in sequences] == [1, 2]


# ------------------------ code ------------------------
def test_get_code_returns_the_source_of_the_users_functions_as_stored(db):
    algorithm = assay.Algorithm.make(library="torch", analysis_type="classification_multi", fn_build=fn_build,
                                     fn_train=fn_train)
    code = assay.Algorithm.get(algorithm.id).get_code()
    assert code["fn_build"].startswith("def fn_build(features_shape, label_shape, **hp):")
    assert "assay_torch.fit" in algorithm.get_code("fn_train")
    with pytest.raises(errors.ValidationError, match="stored no source for fn_lose"):
        algorithm.get_code("fn_lose")
    with pytest.raises(errors.ValidationError, match="'fn_nope' is not one of"):
        algorithm.get_code("fn_nope")


# ------------------------ stars ------------------------
def test_a_starred_model_floats_to_the_top_of_the_leaderboard_keeping_its_rank(db):
    queue = trained_queue()
    ranked = queue.leaderboard()
    assert not ranked["starred"].any()
    last = ranked.iloc[-1]
    predictor = assay.Predictor.get(int(last["best_predictor_id"]))

    assert predictor.flip_star() is True
    assert assay.Predictor.get(predictor.id).is_starred
    board = queue.leaderboard()
    assert board.iloc[0]["combo_index"] == last["combo_index"]
    assert board.iloc[0]["rank"] == last["rank"]  # the ranking itself is the metric's
    assert list(board["combo_index"][1:]) == [c for c in ranked["combo_index"] if c != last["combo_index"]]
    assert predictor.flip_star() is False
    assert list(queue.leaderboard()["combo_index"]) == list(ranked["combo_index"])


def test_the_dashboard_star_toggle_needs_write_rights_and_the_pages_token(db):
    from starlette.testclient import TestClient

    from assay.dashboard.app import create_app

    queue = trained_queue()
    last_id = int(queue.leaderboard().iloc[-1]["best_predictor_id"])
    read_only = TestClient(create_app(), base_url="http://127.0.0.1")
    page = read_only.get(f"/queues/{queue.id}")
    assert "/star" not in page.text
    refused = read_only.post(f"/predictors/{last_id}/star", data={"token": "x"})
    assert refused.status_code == 403
    assert not assay.Predictor.get(last_id).is_starred

    app = create_app(allow_retry=True)
    client = TestClient(app, base_url="http://127.0.0.1")
    assert client.post(f"/predictors/{last_id}/star", data={"token": "wrong"}).status_code == 403
    assert not assay.Predictor.get(last_id).is_starred
    token = app.state.dashboard.token
    answer = client.post(f"/predictors/{last_id}/star", data={"token": token, "back": "//evil.example/"},
                         follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/predictors/{last_id}"  # never another site
    assert assay.Predictor.get(last_id).is_starred
    page = client.get(f"/queues/{queue.id}").text
    first_row = page.split('<tbody>', 1)[1].split("</tr>", 1)[0]
    assert f'href="/predictors/{last_id}"' in first_row
    assert "★" in first_row
    assert "★" in client.get(f"/predictors/{last_id}").text


# ------------------------ drop ------------------------
def dangling(session) -> list[str]:
    """Every reference to a row that does not exist: foreign keys and a multi-input splitset's inputs."""
    found = []
    for table in Base.metadata.sorted_tables:
        for key in table.foreign_keys:
            parent = key.column.table
            missing = session.scalar(select(func.count()).select_from(table).where(
                key.parent.is_not(None), ~key.parent.in_(select(parent.c.id))))
            if missing:
                found.append(f"{table.name}.{key.parent.name}: {missing}")
    ids = set(session.scalars(select(SplitsetRow.id)))
    for splitset_id, inputs in session.execute(select(SplitsetRow.id, SplitsetRow.inputs)
                                               .where(SplitsetRow.inputs.is_not(None))):
        found += [f"splitset {splitset_id} input {e['splitset_id']}" for e in inputs or []
                  if e["splitset_id"] not in ids]
    return found


def counts() -> dict[str, int]:
    with session_scope() as session:
        return {table.name: session.scalar(select(func.count()).select_from(table))
                for table in Base.metadata.sorted_tables}


def test_drop_deletes_in_cascade_reports_what_it_removed_and_leaves_nothing_dangling(any_db):
    queue = trained_queue()
    other = make_queue(queue.splitset, {"neuron_count": [2], "epoch_count": [1]})
    other.run_jobs(progress=False)
    dataset = Dataset.get(queue.splitset.dataset_id)
    before = counts()

    removed = queue.drop()

    assert next(iter(removed)) == "queue"
    assert removed["queue"] == [queue.id]
    assert len(removed["job"]) == len(removed["predictor"]) == 3
    assert len(removed["prediction"]) == 3 * 3  # train, validation, test of each model
    after = counts()
    assert {t: before[t] - after[t] for t in before if before[t] != after[t]} == \
        {table: len(ids) for table, ids in removed.items()}
    assert assay.Queue.get(other.id).leaderboard() is not None  # the other queue of the splitset is untouched
    with session_scope() as session:
        assert dangling(session) == []

    removed = dataset.drop()
    assert {"dataset", "label", "feature", "splitset", "queue", "job", "predictor"} <= set(removed)
    assert removed["queue"] == [other.id]
    with session_scope() as session:
        assert dangling(session) == []
    assert all(count == 0 for table, count in counts().items()
               if table not in ("algorithm", "hyperparamset", "hyperparamcombo"))
    with pytest.raises(errors.NotFoundError):
        dataset.drop()


def test_drop_refuses_to_interrupt_a_running_queue_or_to_leave_part_of_one(any_db):
    queue = trained_queue()
    predictor = queue.predictors[0]
    before = counts()
    with pytest.raises(errors.ValidationError, match=r"drop the queue instead \(queue.drop\(\)\)"):
        predictor.drop()
    with pytest.raises(errors.ValidationError, match="drop the queue instead"):
        assay.Job.get(predictor.job_id).drop()
    with session_scope() as session:  # as if a worker were running one of its jobs
        session.get(JobRow, predictor.job_id).status = "running"
    with pytest.raises(errors.ValidationError, match=rf"queue\(s\) \[{queue.id}\] are running jobs"):
        queue.drop()
    with pytest.raises(errors.ValidationError, match="running jobs"):
        Dataset.get(queue.splitset.dataset_id).drop()
    assert counts() == before  # nothing deleted


def test_drop_of_a_multi_input_splitset_takes_its_inputs_and_an_inference_prediction_goes_alone(db):
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    labels = pd.DataFrame({"y": np.repeat([0, 1], 20)})
    splitset = assay.Pipeline.make(inputs=[dict(df_or_path=table[["a"]]), dict(df_or_path=table[["b"]])],
                                   label_df_or_path=labels, label_column="y", size_test=0.25)
    input_ids = [entry["splitset_id"] for entry in splitset._row.inputs]
    removed = assay.Splitset.get(input_ids[0]).drop()  # an input takes the splitset it belongs to, and its sibling
    assert sorted(removed["splitset"]) == sorted([splitset.id, *input_ids])
    with session_scope() as session:
        assert dangling(session) == []
