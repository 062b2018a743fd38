"""Alembic's environment: Cruddur passes the connection, already in a transaction that holds
the migration lock (see cruddur/store/__init__.py), so that workers starting together migrate once."""
from alembic import context

from cruddur.store.schema import metadata

connection = context.config.attributes["connection"]
# SQLite cannot alter most of a table in place: batch mode copies it instead.
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
