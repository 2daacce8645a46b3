"""jobs left to claim: a partial index over unfinished jobs in run order; metrics read from an index


A worker claims the first job of a queue in run order that is ``queued`` (or ``running`` with an expired lease).
With only ``(queue_id, run_index)`` to go by, that search stepped over every finished job first, so a claim's
cost grew with the queue (33 ms per claim at run 99,000 of a 100,000-run queue on SQLite, 0.2 ms at the start).
``ix_job_claimable`` indexes ``(queue_id, run_index)`` of unfinished jobs only: the first entry is the answer,
however many jobs have finished. SQLite and PostgreSQL both support partial indexes; the claim queries repeat
the index's condition word for word so that both planners use it.

A leaderboard reads one split's metrics of every run of a queue. They sat in ``prediction`` rows beside the
prediction arrays, so 100,000 runs meant reading 100,000 wide rows spread over the whole table (the table of a
100,000-run queue is 800 MB on SQLite). ``ix_prediction_metrics`` replaces ``ix_prediction_predictor_id_split``
with the same key and the metrics in the index (SQLite: a third key column; PostgreSQL: ``INCLUDE``), so that
read is an index scan. ``ix_job_queue_id_finished_at`` answers when a queue's last job finished (what the
dashboard checks on every view) from the index's last entry instead of every job row.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 23:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UNFINISHED = "status IN ('queued', 'running')"


def upgrade() -> None:
    op.create_index("ix_job_claimable", "job", ["queue_id", "run_index"], unique=False,
                    sqlite_where=sa.text(UNFINISHED), postgresql_where=sa.text(UNFINISHED))
    op.create_index("ix_job_queue_id_finished_at", "job", ["queue_id", "finished_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_prediction_metrics", "prediction", ["predictor_id", "split"],
                        postgresql_include=["metrics"])
    else:
        op.create_index("ix_prediction_metrics", "prediction", ["predictor_id", "split", "metrics"])
    op.drop_index("ix_prediction_predictor_id_split", table_name="prediction")


def downgrade() -> None:
    op.create_index("ix_prediction_predictor_id_split", "prediction", ["predictor_id", "split"])
    op.drop_index("ix_prediction_metrics", table_name="prediction")
    op.drop_index("ix_job_queue_id_finished_at", table_name="job")
    op.drop_index("ix_job_claimable", table_name="job")
