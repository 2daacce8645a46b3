"""conformal calibration of a predictor

``predictor.calibrate(alpha=..., split=..., method=...)`` (and ``Experiment.make(conformal_alpha=...)``) stores a
split-conformal calibration with the predictor in ``predictor.calibration``: the alpha, the method, the split it
was calibrated on, its size and the thresholds inference applies. NULL for predictors never calibrated (every
predictor of earlier revisions).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 23:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("predictor") as batch:
        batch.add_column(sa.Column("calibration", sa.JSON(), nullable=True))
    with op.batch_alter_table("queue") as batch:
        batch.add_column(sa.Column("conformal", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("rope", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("queue") as batch:
        batch.drop_column("rope")
        batch.drop_column("conformal")
    with op.batch_alter_table("predictor") as batch:
        batch.drop_column("calibration")
