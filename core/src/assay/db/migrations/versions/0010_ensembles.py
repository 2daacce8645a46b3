"""ensembles: an ensemble of a queue's trained models, its members and weights, and its predictions

``queue.ensemble(...)`` selects trained models by Caruana's greedy ensemble selection (or averages the best
ones) from their stored predictions. Three new tables; no existing table changes, so databases of earlier
revisions upgrade by adding them (empty).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 23:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ensemble",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("candidate_count", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("split", sa.String(length=32), nullable=False),
        sa.Column("higher_is_better", sa.Boolean(), nullable=False),
        sa.Column("best_iteration", sa.Integer(), nullable=False),
        sa.Column("curve", sa.JSON(), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("out_of_fold", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["queue_id"], ["queue.id"], name=op.f("fk_ensemble_queue_id_queue"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ensemble")),
    )
    op.create_index(op.f("ix_ensemble_queue_id"), "ensemble", ["queue_id"], unique=False)
    op.create_table(
        "ensemblemember",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ensemble_id", sa.Integer(), nullable=False),
        sa.Column("predictor_id", sa.Integer(), nullable=False),
        sa.Column("combo_index", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["ensemble_id"], ["ensemble.id"], name=op.f("fk_ensemblemember_ensemble_id_ensemble"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["predictor_id"], ["predictor.id"],
                                name=op.f("fk_ensemblemember_predictor_id_predictor"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ensemblemember")),
        sa.UniqueConstraint("ensemble_id", "predictor_id", name=op.f("uq_ensemblemember_ensemble_id")),
    )
    op.create_index(op.f("ix_ensemblemember_ensemble_id"), "ensemblemember", ["ensemble_id"], unique=False)
    op.create_index(op.f("ix_ensemblemember_predictor_id"), "ensemblemember", ["predictor_id"], unique=False)
    op.create_table(
        "ensembleprediction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ensemble_id", sa.Integer(), nullable=False),
        sa.Column("split", sa.String(length=32), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("arrays", sa.LargeBinary(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ensemble_id"], ["ensemble.id"],
                                name=op.f("fk_ensembleprediction_ensemble_id_ensemble"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ensembleprediction")),
    )
    op.create_index(op.f("ix_ensembleprediction_ensemble_id"), "ensembleprediction", ["ensemble_id"], unique=False)
    op.create_index("ix_ensembleprediction_ensemble_id_split", "ensembleprediction", ["ensemble_id", "split"],
                    unique=False)


def downgrade() -> None:
    op.drop_table("ensembleprediction")
    op.drop_table("ensemblemember")
    op.drop_table("ensemble")
