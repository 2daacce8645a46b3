"""multi-input splitsets: the ordered feature inputs of a splitset

A multi-input splitset (``assay.Pipeline.make(inputs=[...])``) records its inputs in order, each as
``{"name": ..., "splitset_id": ...}``: every input is stored as an unsupervised splitset of its own (dataset,
feature, encoders fitted on the shared train rows) with the same samples and folds, so the encoders of each input
are the ones of its splitset. Single-input splitsets keep ``inputs`` NULL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 23:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("splitset") as batch:
        batch.add_column(sa.Column("inputs", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("splitset") as batch:
        batch.drop_column("inputs")
