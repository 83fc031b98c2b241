"""snapshot assets (being written)."""
