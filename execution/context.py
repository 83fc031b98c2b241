"""The core's state in one place: reference data, accounts, prices, id sequences and indexes.

The indexes exist so that a price touches only what it concerns: accounts exposed to a symbol
(directly or through a conversion rate), pending orders in it, positions with SL/TP in it.
"""

from __future__ import annotations

from collections.abc import Iterable

from execution.groups import AccountGroup
from execution.instruments import Instrument
from execution.lp import LpOrder
from execution.pricing import Aggregator, PricingEngine
from execution.rates import Converter, Quote
from execution.routing import RoutingRule
from execution.state import Account, Order, Position


class Sequences:
    __slots__ = ("deal", "entry", "lp_order", "order", "position")

    def __init__(self) -> None:
        self.order = 0
        self.deal = 0
        self.position = 0
        self.entry = 0
        self.lp_order = 0


class Context:
    def __init__(
        self,
        instruments: Iterable[Instrument],
        groups: Iterable[AccountGroup],
        aggregator: Aggregator,
        rules: Iterable[RoutingRule] = (),
        hedge_thresholds: dict[str, int] | None = None,
        lp_prefix: str = "bs",
    ) -> None:
        self.instruments = {i.symbol: i for i in instruments}
        self.groups = {g.name: g for g in groups}
        self.aggregator = aggregator
        self.pricing = PricingEngine(self.groups.values())
        self.converter = Converter(self.instruments.values(), self.pricing.live)
        self.rules = list(rules)
        self.accounts: dict[int, Account] = {}
        self.ids = Sequences()
        self.lp_prefix = lp_prefix
        # indexes
        self.exposed: dict[str, set[int]] = {}  # symbol -> accounts whose valuation uses it
        self._registered: dict[int, frozenset[str]] = {}
        self.pending: dict[str, dict[int, Order]] = {}  # symbol -> resting orders
        self.protected: dict[str, dict[int, Position]] = {}  # symbol -> positions with SL/TP
        self.lp_orders: dict[str, LpOrder] = {}  # in flight, by ClOrdID
        self.lp_filled: dict[str, int] = {}  # units filled so far per ClOrdID
        # B-book risk and limits
        self.client_net: dict[str, int] = {}  # clients' net units per symbol (buy +)
        self.hedged: dict[str, int] = {}  # broker's LP position per symbol
        self.hedging_in_flight: dict[str, int] = {}
        self.hedge_thresholds = hedge_thresholds or {}
        self.group_net: dict[tuple[str, str], int] = {}
        # accounts whose state changed since it was last published (account_state.py)
        self.changed: set[int] = set()
        # accounts changed since their last image (taken at the daily cut: execution.image)
        self.unimaged: set[int] = set()
        # (account, symbol, buy, sell, book version, margin) from the last margin check
        self.expected_margin: tuple[int, str, int, int, int, int] | None = None

    def book(self, group: AccountGroup) -> dict[str, Quote]:
        return self.pricing.books[group.name]

    def next_order_id(self) -> int:
        self.ids.order += 1
        return self.ids.order

    def next_deal_id(self) -> int:
        self.ids.deal += 1
        return self.ids.deal

    def next_position_id(self) -> int:
        self.ids.position += 1
        return self.ids.position

    def next_entry_id(self) -> int:
        self.ids.entry += 1
        return self.ids.entry

    def next_cl_ord_id(self) -> str:
        self.ids.lp_order += 1
        return f"{self.lp_prefix}-{self.ids.lp_order}"

    def reindex(self, account: Account) -> None:
        """Register the account under every symbol its valuation reads (after a leg appears
        or disappears)."""
        wanted: set[str] = set()
        currency = account.group.currency
        for symbol, leg in account.legs.items():
            wanted.add(symbol)
            instrument = leg.instrument
            wanted.update(self.converter.symbols(instrument.profit_currency, currency))
            wanted.update(self.converter.symbols(instrument.margin_currency, currency))
        now = frozenset(wanted)
        before = self._registered.get(account.id, frozenset())
        if now == before:
            return
        for symbol in before - now:
            self.exposed[symbol].discard(account.id)
        for symbol in now - before:
            self.exposed.setdefault(symbol, set()).add(account.id)
        self._registered[account.id] = now

    def protect(self, position: Position) -> None:
        """Keep the SL/TP index in step with a position's stops and volume."""
        symbol = position.instrument.symbol
        if position.units and (position.sl is not None or position.tp is not None):
            self.protected.setdefault(symbol, {})[position.id] = position
        elif symbol in self.protected:
            self.protected[symbol].pop(position.id, None)
