"""step-by-step sequences, images and forecasts: a feature's interpolaters and window, an image coder's axis

The step-by-step API makes every kind ``Pipeline.*.make`` makes. Two choices of ``Pipeline.Tabular.make`` belong
to the feature before any splitset exists, so the feature records them: ``feature.interpolaters`` (the
``feature_interpolaters`` specs, AIQC's Interpolaterset) and ``feature.window`` (the ``feature_window`` spec,
AIQC's Window). An image featurecoder records the 2-D view its encoder sees in ``coder.axis`` (``channel`` or
``pixel``, as ``encoderspec.axis``). All three are NULL for what earlier revisions stored.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 02:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feature") as batch:
        batch.add_column(sa.Column("interpolaters", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("window", sa.JSON(), nullable=True))
    with op.batch_alter_table("coder") as batch:
        batch.add_column(sa.Column("axis", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("coder") as batch:
        batch.drop_column("axis")
    with op.batch_alter_table("feature") as batch:
        batch.drop_column("window")
        batch.drop_column("interpolaters")
