"""step-by-step label interpolation: a label's interpolater

``Pipeline.Tabular.make(label_interpolater=dict(interpolate_kwargs=...))`` has a step-by-step spelling,
``label.make_labelinterpolater(interpolate_kwargs=...)`` (AIQC's ``LabelInterpolater.from_label``). The label
records it before any splitset is made (the splits are stratified on the interpolated label) in
``label.interpolater``, the ``label_interpolater`` spec; NULL for the labels earlier revisions stored.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 02:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("label") as batch:
        batch.add_column(sa.Column("interpolater", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("label") as batch:
        batch.drop_column("interpolater")
