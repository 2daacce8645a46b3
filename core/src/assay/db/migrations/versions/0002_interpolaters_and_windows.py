"""splitset: interpolation steps and forecasting windows

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 20:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('splitset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('interpolaters', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('window', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('splitset', schema=None) as batch_op:
        batch_op.drop_column('window')
        batch_op.drop_column('interpolaters')
