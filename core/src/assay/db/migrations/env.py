"""Alembic environment for assay: runs on the connection that assay.db.migrate shares."""

from alembic import context

from assay.db.migrate import VERSION_TABLE
from assay.db.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - assay always shares a connection
    raise RuntimeError("assay migrations run from code: use assay.setup() or `assay db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
