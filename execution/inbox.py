"""The one queue every input of the execution service loop arrives on.

LP connectivity (quickfix callbacks on C++ threads), the Redis command reader and timers all
put items here; the single-threaded loop drains it in batches. Producers must hand over copies
of what they received (never a quickfix message object), and ``put`` never blocks them.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass, field
from decimal import Decimal

from execution.lp import LpReport


@dataclass(frozen=True, slots=True)
class LpQuote:
    """Top of book from one LP (prices exactly as the LP sent them)."""

    lp: str
    symbol: str
    bid: Decimal
    ask: Decimal
    time_ns: int


@dataclass(frozen=True, slots=True)
class LpExecution:
    """An execution report (or order status answer) for one of our ClOrdIDs."""

    lp: str
    report: LpReport
    time_ns: int


@dataclass(frozen=True, slots=True)
class LpSessionState:
    """An LP session logged on or off; on logoff its quotes are withdrawn at once."""

    lp: str
    connected: bool
    time_ns: int


@dataclass(frozen=True, slots=True)
class Commands:
    """A batch of raw command stream entries: (stream entry id, encoded command), and for
    each entry the requester whose reply stream gets the answer (b"" when none was named)."""

    entries: list[tuple[bytes, bytes]]
    requesters: list[bytes] = field(default_factory=list)


InboxItem = LpQuote | LpExecution | LpSessionState | Commands


class Inbox:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[InboxItem] = queue.SimpleQueue()

    def put(self, item: InboxItem) -> None:
        self._queue.put(item)

    def take(self, timeout: float, limit: int) -> list[InboxItem]:
        """Wait up to ``timeout`` seconds for one item, then take what else is there (to limit)."""
        try:
            items = [self._queue.get(timeout=timeout)]
        except queue.Empty:
            return []
        while len(items) < limit:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return items
