"""partners assets (being written)."""
