"""Versioned schema of the warehouse (Alembic revisions with hand-written DDL)."""
