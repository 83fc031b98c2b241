"""client_money assets (being written)."""
