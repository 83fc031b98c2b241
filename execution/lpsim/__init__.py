"""A simulated LP speaking FIX 4.4 (quote and trade sessions), its own process."""
