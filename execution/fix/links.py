"""One LP as the bridge sees it: its two sessions, whether each is logged on, its last quote
per symbol and the symbol names it uses."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal

import quickfix as fix

from execution.contracts import Side
from execution.fix.config import LpConfig, Role, SessionConfig
from execution.fix.sessions import session_id


@dataclass(slots=True)
class Link:
    config: LpConfig
    quote_sid: fix.SessionID
    trade_sid: fix.SessionID
    quote_up: bool = False
    trade_up: bool = False
    announced: bool = False  # the last LpSessionState we put in the inbox said connected
    # our symbol -> [bid, ask] as the LP last quoted them (None: side withdrawn)
    quotes: dict[str, list[Decimal | None]] = field(default_factory=dict)
    symbol_of: dict[str, str] = field(default_factory=dict)  # LP symbol -> ours
    md_requests: dict[str, str] = field(default_factory=dict)  # MDReqID -> our symbol
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, config: LpConfig) -> Link:
        link = cls(config, session_id(config.quote), session_id(config.trade))
        link.symbol_of = {lp_symbol: ours for ours, lp_symbol in config.symbols.items()}
        return link

    @property
    def lp(self) -> str:
        return self.config.code

    @property
    def order_timeout_ns(self) -> int:
        return self.config.trade.order_timeout_ms * 1_000_000

    def session(self, role: Role) -> SessionConfig:
        return self.config.quote if role is Role.QUOTE else self.config.trade

    def sid(self, role: Role) -> fix.SessionID:
        return self.quote_sid if role is Role.QUOTE else self.trade_sid

    def quoted_price(self, symbol: str, side: Side) -> Decimal | None:
        """The LP's own price we would trade at: its ask to buy, its bid to sell."""
        quote = self.quotes.get(symbol)
        if quote is None:
            return None
        return quote[1] if side is Side.BUY else quote[0]

    def state_change(self) -> bool | None:
        """The connected state to announce, if it changed: an LP is up only when both its
        sessions are (quotes without a way to trade them must not attract orders)."""
        with self.lock:
            up = self.quote_up and self.trade_up
            if up == self.announced:
                return None
            self.announced = up
            return up
