"""sequence and image datasets: chunked array storage, array feature inputs

Only in-place changes (add column, create table): a batch "move and copy" of a table that others reference
would drop it, and on SQLite with foreign keys on that DROP cascades into the referencing rows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 20:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('dataset', sa.Column('shape', sa.JSON(), nullable=True))

    op.create_table('datasetchunk',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('chunk_index', sa.Integer(), nullable=False),
    sa.Column('row_start', sa.BigInteger(), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('codec', sa.String(length=16), nullable=False),
    sa.Column('raw_size', sa.BigInteger(), nullable=False),
    sa.Column('blob', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['dataset.id'], name=op.f('fk_datasetchunk_dataset_id_dataset'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datasetchunk')),
    sa.UniqueConstraint('dataset_id', 'chunk_index', name=op.f('uq_datasetchunk_dataset_id'))
    )
    with op.batch_alter_table('datasetchunk', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_datasetchunk_dataset_id'), ['dataset_id'], unique=False)

    op.add_column('feature', sa.Column('kind', sa.String(length=32), server_default='tabular', nullable=False))
    op.add_column('feature', sa.Column('sample_shape', sa.JSON(), nullable=True))
    op.add_column('feature', sa.Column('reshape_indices', sa.JSON(), nullable=True))
    op.add_column('feature', sa.Column('layout', sa.String(length=32), nullable=True))

    op.add_column('encoderspec', sa.Column('axis', sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column('encoderspec', 'axis')

    with op.batch_alter_table('feature', schema=None) as batch_op:
        batch_op.drop_column('layout')
        batch_op.drop_column('reshape_indices')
        batch_op.drop_column('sample_shape')
        batch_op.drop_column('kind')

    with op.batch_alter_table('datasetchunk', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_datasetchunk_dataset_id'))
    op.drop_table('datasetchunk')

    with op.batch_alter_table('dataset', schema=None) as batch_op:
        batch_op.drop_column('shape')
