"""adaptive search: the strategy, objective and pruner of a hyperparamset; the sampler state of a combination

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 20:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hyperparamset") as batch:
        batch.add_column(sa.Column("search", sa.String(length=32), nullable=False, server_default="grid"))
        batch.add_column(sa.Column("objective", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("pruner", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("hyperparamcombo") as batch:
        batch.add_column(sa.Column("sampler_attrs", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hyperparamcombo") as batch:
        batch.drop_column("created_at")
        batch.drop_column("sampler_attrs")
    with op.batch_alter_table("hyperparamset") as batch:
        batch.drop_column("pruner")
        batch.drop_column("objective")
        batch.drop_column("search")
