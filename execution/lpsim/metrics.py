"""An LP simulator's Prometheus metrics (the process's default registry, on its operations
port): what it quoted and how it answered orders."""

from __future__ import annotations

from prometheus_client import Counter

QUOTES = Counter(
    "brokerstack_lpsim_quotes",
    "Market data messages sent (a snapshot or an incremental update of one symbol).",
    ["lp"],
)
ORDERS = Counter(
    "brokerstack_lpsim_orders",
    "Orders answered, by outcome: filled, partially_filled (the rest canceled), canceled "
    "(unfilled IOC, or on request), rejected (no liquidity, unfilled FOK), last_look, or "
    "invalid (duplicate ClOrdID, unknown symbol, bad side or quantity).",
    ["lp", "outcome"],
)
