"""Alembic environment: the URL comes from the caller (``cloudact migrate``), never from an ini file."""

from __future__ import annotations

from alembic import context

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the control-plane migrations through `cloudact migrate` (cloudact.control_plane.migrate)")
context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
