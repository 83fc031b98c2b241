"""Mutable in-memory trading state: accounts, positions, orders (owned by the core alone).

Each account keeps per-symbol aggregates (`Leg`) so equity and margin are computed per symbol
held, not per position: floating P/L of all buys at bid b is ``b * units - notional``.
"""

from __future__ import annotations

from execution.contracts import OrderState, OrderType, Side, TimeInForce
from execution.groups import AccountGroup
from execution.instruments import Instrument
from execution.units import div_round


class Position:
    __slots__ = (
        "account_id",
        "book",
        "id",
        "instrument",
        "notional",
        "opened_at",
        "side",
        "sl",
        "swap",
        "tp",
        "units",
    )

    def __init__(
        self,
        position_id: int,
        account_id: int,
        instrument: Instrument,
        side: Side,
        units: int,
        notional: int,
        opened_at: int,
        book: str = "b",
    ) -> None:
        self.id = position_id
        self.account_id = account_id
        self.instrument = instrument
        self.side = side
        self.units = units
        self.notional = notional  # sum of open price points x units: the exact average price
        self.opened_at = opened_at
        self.sl: int | None = None
        self.tp: int | None = None
        self.swap = 0  # accrued, minor units, realised into the balance when closed
        self.book = book

    @property
    def open_price(self) -> int:
        return div_round(self.notional, self.units)


class Order:
    __slots__ = (
        "account_id",
        "book",
        "created_at",
        "deal_ids",
        "expires_at",
        "filled",
        "id",
        "instrument",
        "position_id",
        "price",
        "request_id",
        "side",
        "sl",
        "state",
        "tif",
        "tp",
        "type",
        "units",
    )

    def __init__(
        self,
        order_id: int,
        account_id: int,
        instrument: Instrument,
        side: Side,
        order_type: OrderType,
        tif: TimeInForce,
        units: int,
        created_at: int,
        request_id: str | None,
    ) -> None:
        self.id = order_id
        self.account_id = account_id
        self.instrument = instrument
        self.side = side
        self.type = order_type
        self.tif = tif
        self.units = units
        self.filled = 0
        self.created_at = created_at
        self.request_id = request_id
        self.price: int | None = None
        self.sl: int | None = None
        self.tp: int | None = None
        self.expires_at: int | None = None
        self.position_id: int | None = None
        self.state = OrderState.PLACED
        self.book = "b"
        self.deal_ids: tuple[int, ...] = ()  # the deals that filled it (internal fills)


class Leg:
    """An account's aggregate in one symbol: both sides, exact notionals, accrued swap."""

    __slots__ = (
        "buy_notional",
        "buy_units",
        "instrument",
        "margin",
        "margin_version",
        "positions",
        "profit",
        "profit_version",
        "sell_notional",
        "sell_units",
        "swap",
    )

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        # valuation cache: profit and margin as of a group book version (-1: stale)
        self.profit_version = -1
        self.margin_version = -1
        self.profit = 0
        self.margin = 0
        self.buy_units = 0
        self.buy_notional = 0
        self.sell_units = 0
        self.sell_notional = 0
        self.swap = 0
        # floating P/L is rounded per position, as the deal that closes each will be
        self.positions: dict[int, Position] = {}


class Account:
    __slots__ = (
        "balance",
        "client_active",
        "credit",
        "enabled",
        "group",
        "id",
        "in_margin_call",
        "kyc_level",
        "last_valuation",
        "legs",
        "leverage",
        "min_kyc_level",
        "month_end",
        "month_units",
        "net",
        "orders",
        "positions",
        "token_time",
        "tokens",
        "toxicity",
        "unvalued",
    )

    def __init__(
        self,
        account_id: int,
        group: AccountGroup,
        balance: int = 0,
        credit: int = 0,
        enabled: bool = True,
        kyc_level: int = 0,
    ) -> None:
        self.id = account_id
        self.group = group
        self.balance = balance  # minor units of group.currency
        self.credit = credit
        self.enabled = enabled  # the account's own switch
        # its client is active (a suspended or closed client trades on no account)
        self.client_active = True
        self.kyc_level = kyc_level  # the client's
        self.min_kyc_level = 0  # the account's own minimum, on top of its group's
        self.leverage: int | None = None  # its own (within the group's caps); None: the group's
        self.positions: dict[int, Position] = {}
        self.net: dict[str, Position] = {}  # netting: the one position per symbol
        self.orders: dict[int, Order] = {}  # live orders: pending or routed to an LP
        self.legs: dict[str, Leg] = {}
        self.in_margin_call = False
        # a price or rate its valuation needs is missing: alerted, blocked from new exposure
        self.unvalued = False
        self.last_valuation: tuple[int, int] | None = None  # (equity, margin) last valued
        self.toxicity = 0
        # volume traded this calendar month (UTC), for commission tiers; month_end is when
        # the month ends (ns), 0 before the first deal
        self.month_units = 0
        self.month_end = 0
        self.tokens = -1  # rate limit bucket, in 1e-9 orders; -1 until first use
        self.token_time = 0

    @property
    def hedging(self) -> bool:
        return self.group.accounting == "hedging"

    def add_position(self, position: Position) -> bool:
        """Returns whether the symbol is new to the account (its valuation inputs changed)."""
        self.positions[position.id] = position
        if not self.hedging:
            self.net[position.instrument.symbol] = position
        leg = self.legs.get(position.instrument.symbol)
        created = leg is None
        if leg is None:
            leg = self.legs[position.instrument.symbol] = Leg(position.instrument)
        leg.positions[position.id] = position
        self._shift(leg, position, 1)
        return created

    def remove_position(self, position: Position) -> None:
        del self.positions[position.id]
        symbol = position.instrument.symbol
        if self.net.get(symbol) is position:
            del self.net[symbol]
        leg = self.legs[symbol]
        self._shift(leg, position, -1)
        del leg.positions[position.id]
        if not leg.positions:
            del self.legs[symbol]

    def change_position(
        self, position: Position, units: int, notional: int, swap: int | None = None
    ) -> None:
        """Set a position's volume/notional (and swap), keeping the leg aggregate in step."""
        leg = self.legs[position.instrument.symbol]
        self._shift(leg, position, -1)
        position.units = units
        position.notional = notional
        if swap is not None:
            position.swap = swap
        self._shift(leg, position, 1)

    def accrue_swap(self, position: Position, amount: int) -> None:
        position.swap += amount
        self.legs[position.instrument.symbol].swap += amount

    @staticmethod
    def _shift(leg: Leg, position: Position, sign: int) -> None:
        leg.profit_version = leg.margin_version = -1
        if position.side is Side.BUY:
            leg.buy_units += sign * position.units
            leg.buy_notional += sign * position.notional
        else:
            leg.sell_units += sign * position.units
            leg.sell_notional += sign * position.notional
        leg.swap += sign * position.swap
