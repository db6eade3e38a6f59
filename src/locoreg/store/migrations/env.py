"""Alembic environment: runs on the connection that :class:`AuditStore` hands over.

The store passes its open connection in ``config.attributes["connection"]``, so
no URL (and no password) ever goes through alembic's configuration or logs.
"""

from __future__ import annotations

from alembic import context

from locoreg.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
