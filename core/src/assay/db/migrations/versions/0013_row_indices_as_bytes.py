"""row indices as bytes: ``splitset.sample_rows`` and ``fold.sample_rows``

A splitset's splits and each fold's train and validation rows were JSON lists of row indices in ``samples``: a
million-row table's splitset and five folds hold about five million of them, and writing and reading them as JSON
took about a second. ``sample_rows`` holds them as fixed-width little-endian integers behind a small header
(:mod:`assay.db.rowindices`). Every stored splitset and fold is converted here, in order and value exactly, and its
``samples`` becomes JSON ``null``. ``samples`` itself stays: SQLite before 3.35 cannot drop a column, nor any SQLite
lift its NOT NULL, without copying the table, and dropping the old copy of a table cascades into its children.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 02:40:00
"""

import json

import sqlalchemy as sa
from alembic import op

from assay.db import rowindices

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = ("splitset", "fold")


def _table(name: str) -> sa.TableClause:
    return sa.table(name, sa.column("id", sa.Integer), sa.column("samples", sa.JSON(none_as_null=False)),
                    sa.column("sample_rows", sa.LargeBinary))


def upgrade() -> None:
    bind = op.get_bind()
    for name in TABLES:
        # plain ADD COLUMN: a batch would copy the table on SQLite, and dropping the old copy cascades
        op.add_column(name, sa.Column("sample_rows", sa.LargeBinary(), nullable=True))
        table = _table(name)
        ids = bind.execute(sa.select(table.c.id).order_by(table.c.id)).scalars().all()
        for row_id in ids:  # one row at a time: a fold of a large table holds millions of indices
            # read as text and parsed here: PostgreSQL's driver would parse a json column itself, SQLite's not
            text = bind.execute(sa.select(sa.cast(table.c.samples, sa.Text)).where(table.c.id == row_id)).scalar()
            samples = json.loads(text) if text is not None else None
            if samples is None:
                continue
            bind.execute(sa.update(table).where(table.c.id == row_id).values(
                sample_rows=rowindices.dumps(samples), samples=sa.JSON.NULL))


def downgrade() -> None:
    bind = op.get_bind()
    for name in TABLES:
        table = _table(name)
        ids = bind.execute(sa.select(table.c.id).where(table.c.sample_rows.is_not(None))
                           .order_by(table.c.id)).scalars().all()
        for row_id in ids:
            data = bind.execute(sa.select(table.c.sample_rows).where(table.c.id == row_id)).scalar()
            bind.execute(sa.update(table).where(table.c.id == row_id).values(
                samples=rowindices.loads(data)))
        # a plain DROP COLUMN (SQLite 3.35+), never a batch that copies the table
        op.drop_column(name, "sample_rows")
