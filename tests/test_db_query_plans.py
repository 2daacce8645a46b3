"""The reads a 100,000-run queue repeats use their partial indexes, on SQLite and on PostgreSQL.

Both planners use a partial index only when the query's condition matches the index's as written, so a query
reworded by a refactor would silently go back to visiting every row (docs/scale.md: 33 ms per claim at run 99,000,
120 ms per stars read). Each test runs the real query through assay, captures the statement it sent, and asks the
database's planner how it would run it; on PostgreSQL sequential scans are disabled for the question, so the
answer says whether the index *can* serve the query (on a table this small the planner would rightly scan it).
"""

from __future__ import annotations

import datetime as dt

import pytest
from dashboard_helpers import iris_splitset, make_queue
from sqlalchemy import event

import assay
from assay.db import engine as db_engine
from assay.db.queries import claims, lifecycle, results


def _statements(call):
    """``call()``'s result and the (statement, parameters) it sent to the database."""
    engine, sent = db_engine.get_engine(), []

    def capture(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        return call(), sent
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def _plan(statement: str, parameters) -> str:
    """How the database would run ``statement`` (not run), as one string."""
    engine = db_engine.get_engine()
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as connection:
        if postgres:
            connection.exec_driver_sql("SET enable_seqscan = off")
        rows = connection.exec_driver_sql(("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + statement,
                                          parameters).fetchall()
        connection.rollback()
    return "\n".join(" ".join(str(part) for part in row) for row in rows)


@pytest.fixture
def queue(any_db):
    pytest.importorskip("assay_torch")
    made = make_queue(iris_splitset(), {"neuron_count": [3, 4, 5], "epoch_count": [1]})
    made.run_jobs(progress=False)
    return made


def _compiled(query):
    """The statement and parameters :func:`assay.db.queries.results.plain_rows` sends for ``query``."""
    compiled = query.compile(dialect=db_engine.get_engine().dialect)
    parameters = compiled.construct_params()
    if compiled.positional:
        parameters = tuple(parameters[name] for name in compiled.positiontup)
    return compiled.string, parameters


def test_the_starred_models_of_a_queue_are_read_through_the_starred_index(queue, monkeypatch):
    board = queue.leaderboard()
    middle = board.iloc[1]
    assay.Predictor.get(int(middle["best_predictor_id"])).flip_star()
    read, sent = results.plain_rows, []
    monkeypatch.setattr(results, "plain_rows", lambda query: sent.append(query) or read(query))
    assert lifecycle.starred_combo_indexes(queue.id) == {int(middle["combo_index"])}
    statement, parameters = _compiled(sent[-1])
    assert "is_starred" in statement
    assert "ix_predictor_starred" in _plan(statement, parameters)


def test_a_worker_claims_the_next_job_through_the_claimable_jobs_index(any_db):
    pytest.importorskip("assay_torch")
    made = make_queue(iris_splitset(), {"neuron_count": [3, 4], "epoch_count": [1]})
    now = dt.datetime.now(dt.timezone.utc)
    claimed, sent = _statements(lambda: claims.claim_next_job(made.id, "planner-test", now,
                                                              now + dt.timedelta(minutes=5)))
    assert claimed is not None
    statement, parameters = next(item for item in sent if item[0].lstrip().upper().startswith("UPDATE JOB"))
    assert "ix_job_claimable" in _plan(statement, parameters)
