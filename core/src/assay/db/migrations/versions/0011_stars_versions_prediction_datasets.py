"""AIQC 6: starred predictors, datasets versioned by name, every dataset of a prediction

``predictor.is_starred`` (``predictor.flip_star()``; false for the predictors earlier revisions stored),
``dataset.version`` (1, 2, ... per dataset name in order of storing; the named datasets earlier revisions stored
are numbered here in id order, unnamed ones stay NULL), and the table ``prediction_dataset``: the datasets a
prediction read, in input order (a multi-input model's inference reads one per input). Existing predictions with
a dataset get that one row.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 23:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN: a batch would copy the predictor table on SQLite, and dropping the old copy cascades
    op.add_column("predictor", sa.Column("is_starred", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("dataset", sa.Column("version", sa.Integer(), nullable=True))
    op.create_table(
        "prediction_dataset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prediction_id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["dataset.id"], name=op.f("fk_prediction_dataset_dataset_id_dataset"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["prediction_id"], ["prediction.id"],
                                name=op.f("fk_prediction_dataset_prediction_id_prediction"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prediction_dataset")),
        sa.UniqueConstraint("prediction_id", "position", name=op.f("uq_prediction_dataset_prediction_id")),
    )
    with op.batch_alter_table("prediction_dataset") as batch:
        batch.create_index(batch.f("ix_prediction_dataset_dataset_id"), ["dataset_id"], unique=False)
        batch.create_index(batch.f("ix_prediction_dataset_prediction_id"), ["prediction_id"], unique=False)
    bind = op.get_bind()
    dataset = sa.table("dataset", sa.column("id", sa.Integer), sa.column("name", sa.String),
                       sa.column("version", sa.Integer))
    counts: dict[str, int] = {}
    for dataset_id, name in bind.execute(sa.select(dataset.c.id, dataset.c.name)
                                         .where(dataset.c.name.is_not(None)).order_by(dataset.c.id)).all():
        counts[name] = counts.get(name, 0) + 1
        bind.execute(sa.update(dataset).where(dataset.c.id == dataset_id).values(version=counts[name]))
    bind.execute(sa.text("INSERT INTO prediction_dataset (prediction_id, dataset_id, position) "
                         "SELECT id, dataset_id, 0 FROM prediction WHERE dataset_id IS NOT NULL"))


def downgrade() -> None:
    with op.batch_alter_table("prediction_dataset") as batch:
        batch.drop_index(batch.f("ix_prediction_dataset_prediction_id"))
        batch.drop_index(batch.f("ix_prediction_dataset_dataset_id"))
    op.drop_table("prediction_dataset")
    with op.batch_alter_table("dataset") as batch:
        batch.drop_column("version")
    with op.batch_alter_table("predictor") as batch:
        batch.drop_column("is_starred")
