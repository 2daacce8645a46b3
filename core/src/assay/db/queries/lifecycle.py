"""AIQC 6's lifecycle of stored objects: starring predictors and dropping any object with what depends on it.

``drop`` follows every foreign key of the schema (so tables added later are followed too) and the one reference
kept in JSON, a multi-input splitset's ``inputs``; it deletes children before parents in one transaction and
reports what it removed. It refuses, before deleting anything, when the cascade would interrupt a running job or
leave part of something behind: runs of a queue without the queue, a predictor's stored predictions without the
predictor (the leaderboard and the report need every run).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session

from assay import errors
from assay.db.engine import session_scope
from assay.db.models import Base, JobRow, PredictionDatasetRow, PredictionRow, PredictorRow, SplitsetRow

CHUNK = 500


def flip_star(predictor_id: int) -> bool:
    """Star an unstarred predictor, unstar a starred one; returns the new state."""
    with session_scope() as session:
        row = session.get(PredictorRow, predictor_id)
        if row is None:
            raise errors.NotFoundError(f"Predictor {predictor_id} does not exist")
        row.is_starred = not row.is_starred
        return bool(row.is_starred)


def set_star(predictor_id: int, starred: bool) -> bool:
    with session_scope() as session:
        done = session.execute(update(PredictorRow).where(PredictorRow.id == predictor_id)
                               .values(is_starred=bool(starred))).rowcount
        if not done:
            raise errors.NotFoundError(f"Predictor {predictor_id} does not exist")
        return bool(starred)


def starred_ids(predictor_ids: Iterable[int]) -> set[int]:
    """Which of these predictors are starred."""
    ids = list(predictor_ids)
    found: set[int] = set()
    with session_scope() as session:
        for start in range(0, len(ids), CHUNK):
            found.update(session.scalars(select(PredictorRow.id).where(
                PredictorRow.id.in_(ids[start:start + CHUNK]), PredictorRow.is_starred.is_(True))))
    return found


def _tables() -> dict[str, Table]:
    return {table.name: table for table in Base.metadata.sorted_tables}


def _children(table: Table) -> list[tuple[Table, object]]:
    """``(child table, its foreign-key column)`` for every foreign key pointing at ``table``."""
    found = []
    for child in Base.metadata.sorted_tables:
        for key in child.foreign_keys:
            if key.column.table is table:
                found.append((child, key.parent))
    return found


def _ids(session: Session, column: object, values: set[int], table: Table) -> set[int]:
    out: set[int] = set()
    values_list = sorted(values)
    for start in range(0, len(values_list), CHUNK):
        out.update(session.scalars(select(table.c.id).where(column.in_(values_list[start:start + CHUNK]))))
    return out


def _input_links(session: Session) -> list[tuple[int, list[int]]]:
    """``(multi-input splitset, its input splitsets)``: the reference kept in JSON, not in a foreign key."""
    rows = session.execute(select(SplitsetRow.id, SplitsetRow.inputs).where(SplitsetRow.inputs.is_not(None)))
    return [(parent, [int(entry["splitset_id"]) for entry in inputs or []]) for parent, inputs in rows]


def closure(session: Session, table_name: str, row_id: int) -> dict[str, set[int]]:
    """Every row that goes when this one goes: ``{table: ids}``, the row itself included."""
    tables = _tables()
    found: dict[str, set[int]] = {table_name: {row_id}}
    links = None
    pending = [(table_name, {row_id})]
    while pending:
        name, ids = pending.pop()
        table = tables[name]
        additions: list[tuple[str, set[int]]] = []
        for child, column in _children(table):
            additions.append((child.name, _ids(session, column, ids, child)))
        if name == PredictionDatasetRow.__tablename__:  # a prediction goes with any of the datasets it read
            additions.append((PredictionRow.__tablename__, set(session.scalars(
                select(PredictionDatasetRow.prediction_id).where(PredictionDatasetRow.id.in_(sorted(ids)))))))
        if name == SplitsetRow.__tablename__:  # a multi-input splitset and its inputs go together
            links = _input_links(session) if links is None else links
            related = {parent for parent, inputs in links if ids & set(inputs)}
            related |= {i for parent, inputs in links if parent in ids for i in inputs}
            additions.append((name, related))
        for child_name, child_ids in additions:
            new = child_ids - found.setdefault(child_name, set())
            if new:
                found[child_name] |= new
                pending.append((child_name, new))
    return {name: ids for name, ids in found.items() if ids}


def _rows(session: Session, columns: tuple, key: object, ids: list[int]) -> list[tuple]:
    out: list[tuple] = []
    for start in range(0, len(ids), CHUNK):
        out += session.execute(select(*columns).where(key.in_(ids[start:start + CHUNK]))).all()
    return out


def _refusals(session: Session, found: dict[str, set[int]]) -> list[str]:
    """Why dropping ``found`` would interrupt a running queue or leave part of something behind."""
    reasons = []
    job_ids = sorted(found.get(JobRow.__tablename__, set()))
    queues_dropped = found.get("queue", set())
    if job_ids:
        rows = _rows(session, (JobRow.id, JobRow.queue_id, JobRow.status), JobRow.id, job_ids)
        running = sorted({queue for _, queue, status in rows if status == "running"})
        if running:
            reasons.append(f"queue(s) {running} are running jobs it would remove; wait until they finish (or stop "
                           "their workers) and drop again")
        partial = sorted({queue for _, queue, _ in rows if queue not in queues_dropped})
        if partial:
            reasons.append(f"it would remove runs of queue(s) {partial} but not the queue(s), whose leaderboard and "
                           "report need every run; drop the queue instead (queue.drop())")
    predictors = sorted(found.get(PredictorRow.__tablename__, set()))
    jobs = found.get(JobRow.__tablename__, set())
    if predictors:
        owners = _rows(session, (PredictorRow.id, PredictorRow.job_id), PredictorRow.id, predictors)
        kept = sorted(pid for pid, job in owners if job not in jobs)
        if kept:
            reasons.append(f"predictor(s) {kept} are runs of a queue; drop the queue instead (queue.drop())")
    predictions = sorted(found.get(PredictionRow.__tablename__, set()))
    if predictions:
        rows = _rows(session, (PredictionRow.id, PredictionRow.predictor_id, PredictionRow.split), PredictionRow.id,
                     predictions)
        kept = sorted(pid for pid, predictor, split in rows
                      if split != "inference" and predictor not in found.get(PredictorRow.__tablename__, set()))
        if kept:
            reasons.append(f"prediction(s) {kept} are a model's scores on its splits; drop the queue instead")
    return list(dict.fromkeys(reasons))


def drop(table_name: str, row_id: int, what: str) -> dict[str, list[int]]:
    """Delete a row and everything depending on it in one transaction; returns ``{table: ids}`` removed, the row's
    own table first. Raises :class:`assay.errors.ValidationError` (nothing deleted) when it would interrupt a
    running queue or leave part of a queue behind."""
    tables = _tables()
    with session_scope() as session:
        if session.scalar(select(tables[table_name].c.id).where(tables[table_name].c.id == row_id)) is None:
            raise errors.NotFoundError(f"{what} {row_id} does not exist (dropped already?)")
        found = closure(session, table_name, row_id)
        reasons = _refusals(session, found)
        if reasons:
            raise errors.ValidationError(what.lower(), f"{what} {row_id} is not dropped: " + "; ".join(reasons))
        for table in reversed(Base.metadata.sorted_tables):  # children before parents
            ids = sorted(found.get(table.name, ()))
            for start in range(0, len(ids), CHUNK):
                session.execute(delete(table).where(table.c.id.in_(ids[start:start + CHUNK])))
    order = {table.name: index for index, table in enumerate(Base.metadata.sorted_tables)}
    return {name: sorted(found[name]) for name in sorted(found, key=lambda n: (n != table_name, order[n]))}


def starred_combo_indexes(queue_id: int) -> set[int]:
    """The combinations of a queue with a starred model among their runs.

    ``is_starred`` has no index, so this visits every predictor row of the queue (120 ms at 100,000 runs on
    SQLite): it is read as one statement outside a session (:func:`assay.db.queries.results.plain_rows`), which
    holds no write lock meanwhile.
    """
    from assay.db.models import HyperparamcomboRow
    from assay.db.queries.results import plain_rows

    combo, job, predictor = HyperparamcomboRow.__table__.c, JobRow.__table__.c, PredictorRow.__table__.c
    return {row[0] for row in plain_rows(
        select(combo.combo_index).select_from(
            HyperparamcomboRow.__table__.join(JobRow.__table__, job.hyperparamcombo_id == combo.id)
            .join(PredictorRow.__table__, predictor.job_id == job.id))
        .where(job.queue_id == queue_id, predictor.is_starred.is_(True)))}
