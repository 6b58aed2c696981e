"""Alembic environment: runs on the connection handed over by `store.sql.open_store`."""

from alembic import context

from aigateway.store.tables import metadata

conn = context.config.attributes["connection"]
context.configure(connection=conn, target_metadata=metadata, render_as_batch=conn.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
