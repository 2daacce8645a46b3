"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 05:06:17.916178
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('algorithm',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('library', sa.String(length=64), nullable=False),
    sa.Column('analysis_type', sa.String(length=64), nullable=False),
    sa.Column('functions', sa.LargeBinary(), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_algorithm'))
    )
    op.create_table('dataset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('file_format', sa.String(length=32), nullable=False),
    sa.Column('blob', sa.LargeBinary(), nullable=False),
    sa.Column('row_count', sa.BigInteger(), nullable=False),
    sa.Column('column_count', sa.Integer(), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('dtypes', sa.JSON(), nullable=False),
    sa.Column('statistics', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset')),
    sa.UniqueConstraint('sha256', name=op.f('uq_dataset_sha256'))
    )
    op.create_table('hyperparamset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grid', sa.JSON(), nullable=False),
    sa.Column('search_count', sa.Integer(), nullable=True),
    sa.Column('search_percent', sa.Float(), nullable=True),
    sa.Column('combination_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hyperparamset'))
    )
    op.create_table('feature',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('columns_excluded', sa.JSON(), nullable=False),
    sa.Column('dtypes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['dataset.id'], name=op.f('fk_feature_dataset_id_dataset'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feature'))
    )
    with op.batch_alter_table('feature', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feature_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('hyperparamcombo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hyperparamset_id', sa.Integer(), nullable=False),
    sa.Column('combo_index', sa.Integer(), nullable=False),
    sa.Column('hyperparameters', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['hyperparamset_id'], ['hyperparamset.id'], name=op.f('fk_hyperparamcombo_hyperparamset_id_hyperparamset'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hyperparamcombo')),
    sa.UniqueConstraint('hyperparamset_id', 'combo_index', name=op.f('uq_hyperparamcombo_hyperparamset_id'))
    )
    with op.batch_alter_table('hyperparamcombo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hyperparamcombo_hyperparamset_id'), ['hyperparamset_id'], unique=False)

    op.create_table('label',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('column', sa.String(length=255), nullable=False),
    sa.Column('dtype', sa.String(length=64), nullable=False),
    sa.Column('is_categorical', sa.Boolean(), nullable=False),
    sa.Column('classes', sa.JSON(), nullable=True),
    sa.Column('class_counts', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['dataset_id'], ['dataset.id'], name=op.f('fk_label_dataset_id_dataset'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label'))
    )
    with op.batch_alter_table('label', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_label_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('splitset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('label_id', sa.Integer(), nullable=True),
    sa.Column('feature_id', sa.Integer(), nullable=False),
    sa.Column('size_test', sa.Float(), nullable=True),
    sa.Column('size_validation', sa.Float(), nullable=True),
    sa.Column('fold_count', sa.Integer(), nullable=True),
    sa.Column('bin_count', sa.Integer(), nullable=True),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('samples', sa.JSON(), nullable=False),
    sa.Column('split_sizes', sa.JSON(), nullable=False),
    sa.Column('features_shape', sa.JSON(), nullable=False),
    sa.Column('label_shape', sa.JSON(), nullable=True),
    sa.Column('feature_names', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['dataset.id'], name=op.f('fk_splitset_dataset_id_dataset'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['feature_id'], ['feature.id'], name=op.f('fk_splitset_feature_id_feature'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['label_id'], ['label.id'], name=op.f('fk_splitset_label_id_label'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_splitset'))
    )
    with op.batch_alter_table('splitset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_splitset_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_splitset_feature_id'), ['feature_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_splitset_label_id'), ['label_id'], unique=False)

    op.create_table('encoderspec',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('splitset_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('family', sa.String(length=64), nullable=False),
    sa.Column('class_name', sa.String(length=255), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('dtypes', sa.JSON(), nullable=True),
    sa.Column('columns_selected', sa.JSON(), nullable=True),
    sa.Column('columns_matched', sa.JSON(), nullable=False),
    sa.Column('is_categorical', sa.Boolean(), nullable=False),
    sa.Column('blob', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['splitset_id'], ['splitset.id'], name=op.f('fk_encoderspec_splitset_id_splitset'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_encoderspec'))
    )
    with op.batch_alter_table('encoderspec', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_encoderspec_splitset_id'), ['splitset_id'], unique=False)

    op.create_table('fold',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('splitset_id', sa.Integer(), nullable=False),
    sa.Column('fold_index', sa.Integer(), nullable=False),
    sa.Column('samples', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['splitset_id'], ['splitset.id'], name=op.f('fk_fold_splitset_id_splitset'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fold')),
    sa.UniqueConstraint('splitset_id', 'fold_index', name=op.f('uq_fold_splitset_id'))
    )
    with op.batch_alter_table('fold', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fold_splitset_id'), ['splitset_id'], unique=False)

    op.create_table('queue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('algorithm_id', sa.Integer(), nullable=False),
    sa.Column('splitset_id', sa.Integer(), nullable=False),
    sa.Column('hyperparamset_id', sa.Integer(), nullable=False),
    sa.Column('repeat_count', sa.Integer(), nullable=False),
    sa.Column('hide_test', sa.Boolean(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('job_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['algorithm_id'], ['algorithm.id'], name=op.f('fk_queue_algorithm_id_algorithm'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hyperparamset_id'], ['hyperparamset.id'], name=op.f('fk_queue_hyperparamset_id_hyperparamset'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['splitset_id'], ['splitset.id'], name=op.f('fk_queue_splitset_id_splitset'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue'))
    )
    with op.batch_alter_table('queue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_queue_algorithm_id'), ['algorithm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_queue_hyperparamset_id'), ['hyperparamset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_queue_splitset_id'), ['splitset_id'], unique=False)

    op.create_table('fittedencoder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('encoderspec_id', sa.Integer(), nullable=False),
    sa.Column('fold_id', sa.Integer(), nullable=True),
    sa.Column('output_names', sa.JSON(), nullable=False),
    sa.Column('blob', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['encoderspec_id'], ['encoderspec.id'], name=op.f('fk_fittedencoder_encoderspec_id_encoderspec'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['fold_id'], ['fold.id'], name=op.f('fk_fittedencoder_fold_id_fold'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fittedencoder')),
    sa.UniqueConstraint('encoderspec_id', 'fold_id', name=op.f('uq_fittedencoder_encoderspec_id'))
    )
    with op.batch_alter_table('fittedencoder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fittedencoder_encoderspec_id'), ['encoderspec_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fittedencoder_fold_id'), ['fold_id'], unique=False)

    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('queue_id', sa.Integer(), nullable=False),
    sa.Column('run_index', sa.Integer(), nullable=False),
    sa.Column('hyperparamcombo_id', sa.Integer(), nullable=False),
    sa.Column('fold_id', sa.Integer(), nullable=True),
    sa.Column('fold_index', sa.Integer(), nullable=True),
    sa.Column('repeat_index', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=255), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('traceback', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['fold_id'], ['fold.id'], name=op.f('fk_job_fold_id_fold'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hyperparamcombo_id'], ['hyperparamcombo.id'], name=op.f('fk_job_hyperparamcombo_id_hyperparamcombo'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['queue_id'], ['queue.id'], name=op.f('fk_job_queue_id_queue'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job')),
    sa.UniqueConstraint('queue_id', 'run_index', name=op.f('uq_job_queue_id'))
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_fold_id'), ['fold_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_hyperparamcombo_id'), ['hyperparamcombo_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_queue_id'), ['queue_id'], unique=False)
        batch_op.create_index('ix_job_queue_id_status', ['queue_id', 'status'], unique=False)

    op.create_table('predictor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('model_format', sa.String(length=64), nullable=False),
    sa.Column('model_blob', sa.LargeBinary(), nullable=False),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.Column('features_shape', sa.JSON(), nullable=False),
    sa.Column('label_shape', sa.JSON(), nullable=True),
    sa.Column('versions', sa.JSON(), nullable=False),
    sa.Column('seconds_train', sa.Float(), nullable=False),
    sa.Column('seconds_total', sa.Float(), nullable=False),
    sa.Column('feature_importance', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_predictor_job_id_job'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_predictor')),
    sa.UniqueConstraint('job_id', name=op.f('uq_predictor_job_id'))
    )
    op.create_table('prediction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('predictor_id', sa.Integer(), nullable=False),
    sa.Column('split', sa.String(length=32), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=True),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('arrays', sa.LargeBinary(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('plot_data', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['dataset.id'], name=op.f('fk_prediction_dataset_id_dataset'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['predictor_id'], ['predictor.id'], name=op.f('fk_prediction_predictor_id_predictor'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prediction'))
    )
    with op.batch_alter_table('prediction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prediction_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prediction_predictor_id'), ['predictor_id'], unique=False)
        batch_op.create_index('ix_prediction_predictor_id_split', ['predictor_id', 'split'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('prediction', schema=None) as batch_op:
        batch_op.drop_index('ix_prediction_predictor_id_split')
        batch_op.drop_index(batch_op.f('ix_prediction_predictor_id'))
        batch_op.drop_index(batch_op.f('ix_prediction_dataset_id'))

    op.drop_table('prediction')
    op.drop_table('predictor')
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index('ix_job_queue_id_status')
        batch_op.drop_index(batch_op.f('ix_job_queue_id'))
        batch_op.drop_index(batch_op.f('ix_job_hyperparamcombo_id'))
        batch_op.drop_index(batch_op.f('ix_job_fold_id'))

    op.drop_table('job')
    with op.batch_alter_table('fittedencoder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fittedencoder_fold_id'))
        batch_op.drop_index(batch_op.f('ix_fittedencoder_encoderspec_id'))

    op.drop_table('fittedencoder')
    with op.batch_alter_table('queue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_queue_splitset_id'))
        batch_op.drop_index(batch_op.f('ix_queue_hyperparamset_id'))
        batch_op.drop_index(batch_op.f('ix_queue_algorithm_id'))

    op.drop_table('queue')
    with op.batch_alter_table('fold', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fold_splitset_id'))

    op.drop_table('fold')
    with op.batch_alter_table('encoderspec', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_encoderspec_splitset_id'))

    op.drop_table('encoderspec')
    with op.batch_alter_table('splitset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_splitset_label_id'))
        batch_op.drop_index(batch_op.f('ix_splitset_feature_id'))
        batch_op.drop_index(batch_op.f('ix_splitset_dataset_id'))

    op.drop_table('splitset')
    with op.batch_alter_table('label', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_label_dataset_id'))

    op.drop_table('label')
    with op.batch_alter_table('hyperparamcombo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hyperparamcombo_hyperparamset_id'))

    op.drop_table('hyperparamcombo')
    with op.batch_alter_table('feature', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feature_dataset_id'))

    op.drop_table('feature')
    op.drop_table('hyperparamset')
    op.drop_table('dataset')
    op.drop_table('algorithm')
