"""accounts assets (being written)."""
