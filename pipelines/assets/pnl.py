"""pnl assets (being written)."""
