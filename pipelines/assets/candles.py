"""candles assets (being written)."""
