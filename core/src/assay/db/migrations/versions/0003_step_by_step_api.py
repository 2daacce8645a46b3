"""step-by-step (AIQC low-level) API: foldsets, encodersets, coders (encoder specifications owned by a label or
an encoderset), ``include=False`` selectors, permutation count per queue, hyperparamsets made for an algorithm

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "foldset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("splitset_id", sa.Integer(), nullable=False),
        sa.Column("fold_count", sa.Integer(), nullable=False),
        sa.Column("bin_count", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["splitset_id"], ["splitset.id"], name=op.f("fk_foldset_splitset_id_splitset"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_foldset")),
        sa.UniqueConstraint("splitset_id", name=op.f("uq_foldset_splitset_id")),
    )
    # every splitset made with folds before this revision gets its foldset
    op.execute("INSERT INTO foldset (splitset_id, fold_count, bin_count) "
               "SELECT id, fold_count, bin_count FROM splitset WHERE fold_count IS NOT NULL")
    op.create_table(
        "encoderset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feature_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["feature_id"], ["feature.id"], name=op.f("fk_encoderset_feature_id_feature"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_encoderset")),
    )
    op.create_index(op.f("ix_encoderset_feature_id"), "encoderset", ["feature_id"], unique=False)
    op.create_table(
        "coder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=True),
        sa.Column("encoderset_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(length=64), nullable=False),
        sa.Column("class_name", sa.String(length=255), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("dtypes", sa.JSON(), nullable=True),
        sa.Column("columns_selected", sa.JSON(), nullable=True),
        sa.Column("include", sa.Boolean(), nullable=False),
        sa.Column("is_categorical", sa.Boolean(), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["label_id"], ["label.id"], name=op.f("fk_coder_label_id_label"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["encoderset_id"], ["encoderset.id"], name=op.f("fk_coder_encoderset_id_encoderset"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coder")),
    )
    op.create_index(op.f("ix_coder_label_id"), "coder", ["label_id"], unique=False)
    op.create_index(op.f("ix_coder_encoderset_id"), "coder", ["encoderset_id"], unique=False)
    # plain added columns: SQLite adds them in place, without rebuilding tables that others reference (a
    # rebuild would drop the old table, and with it every row that cascades from it)
    op.add_column("splitset", sa.Column("is_encoded", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column("encoderspec", sa.Column("include", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column("hyperparamset", sa.Column("algorithm_id", sa.Integer(), nullable=True))
    op.add_column("queue", sa.Column("permute_count", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("queue") as batch:
        batch.drop_column("permute_count")
    with op.batch_alter_table("hyperparamset") as batch:
        batch.drop_column("algorithm_id")
    with op.batch_alter_table("encoderspec") as batch:
        batch.drop_column("include")
    with op.batch_alter_table("splitset") as batch:
        batch.drop_column("is_encoded")
    op.drop_index(op.f("ix_coder_encoderset_id"), table_name="coder")
    op.drop_index(op.f("ix_coder_label_id"), table_name="coder")
    op.drop_table("coder")
    op.drop_index(op.f("ix_encoderset_feature_id"), table_name="encoderset")
    op.drop_table("encoderset")
    op.drop_table("foldset")
