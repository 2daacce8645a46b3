"""starred models: a partial index over the few starred predictors

The leaderboard and the dashboard put a queue's starred models first, so they ask on every read which runs of the
queue are starred. ``predictor.is_starred`` had no index: the answer visited every predictor row of the queue
(110-120 ms at 100,000 runs on SQLite). ``ix_predictor_starred`` indexes the job of starred predictors only, so
the index holds a handful of entries and the read is a lookup. SQLite and PostgreSQL both support partial indexes;
the queries repeat the index's condition word for word (``PREDICTOR_STARRED``) so that both planners use it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 03:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

STARRED = "is_starred"


def upgrade() -> None:
    op.create_index("ix_predictor_starred", "predictor", ["job_id"], unique=False,
                    sqlite_where=sa.text(STARRED), postgresql_where=sa.text(STARRED))


def downgrade() -> None:
    op.drop_index("ix_predictor_starred", table_name="predictor")
