"""regulatory assets (being written)."""
