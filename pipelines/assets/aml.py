"""aml assets (being written)."""
