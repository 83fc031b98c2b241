"""Alembic environment: always online, configured by :mod:`warehouse.migrate`, never an ini file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

config = context.config

if context.is_offline_mode():
    raise RuntimeError("warehouse migrations run online only; they inspect the server first")

# NullPool: one connection for the run, closed at the end (pglite serves one at a time).
engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=NullPool)
with engine.connect() as connection:
    # One transaction per revision, so a failure leaves the last good revision in place.
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
