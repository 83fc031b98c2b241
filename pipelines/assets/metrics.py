"""metrics assets (being written)."""
