"""State as rows, both ways: the shell rebuilds the core from warehouse rows on restart, and
the core can export the same rows (a checkpoint, or a test that the round trip is lossless).

Rows use the edge types (Decimal prices, lots and money); a position's average open price is
rounded to the instrument's digits, so its exact open value (price x lots) travels with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from execution.context import Context
from execution.contracts import OrderState, OrderType, Reply, Side, TimeInForce
from execution.instruments import ConfigError
from execution.state import Account, Order, Position
from execution.units import (
    VOLUME_DIGITS,
    decimal_to_int,
    lots_to_units,
    optional_decimal,
    to_decimal,
    units_to_lots,
)


@dataclass(frozen=True, slots=True)
class AccountRow:
    account_id: int
    group: str
    balance: Decimal
    credit: Decimal = Decimal(0)
    enabled: bool = True
    kyc_level: int = 0
    toxicity: int = 0
    month_volume: Decimal = Decimal(0)  # lots traded this calendar month (commission tiers)
    month_end: int = 0  # ns: when that month ends (0: no deal yet)
    leverage: int | None = None  # the account's own; None: its group's
    min_kyc_level: int = 0  # the account's own KYC minimum, on top of its group's


@dataclass(frozen=True, slots=True)
class PositionRow:
    position_id: int
    account_id: int
    symbol: str
    side: Side
    volume: Decimal
    open_price: Decimal
    opened_at: int
    sl: Decimal | None = None
    tp: Decimal | None = None
    swap: Decimal = Decimal(0)
    book: str = "b"
    open_value: Decimal | None = None  # exact price x lots; None: open_price x volume


@dataclass(frozen=True, slots=True)
class OrderRow:
    """A resting pending order."""

    order_id: int
    account_id: int
    symbol: str
    side: Side
    type: OrderType
    tif: TimeInForce
    volume: Decimal
    price: Decimal
    created_at: int
    sl: Decimal | None = None
    tp: Decimal | None = None
    expires_at: int | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    accounts: Sequence[AccountRow]
    positions: Sequence[PositionRow] = ()
    orders: Sequence[OrderRow] = ()
    last_ids: Mapping[str, int] = field(
        default_factory=dict
    )  # order, deal, position, entry, lp_order
    last_rollover: int | None = None
    # request id -> (first answer, the command's identity: `contracts.identity`)
    replies: Mapping[str, tuple[Reply, bytes]] = field(default_factory=dict)
    hedged: Mapping[str, Decimal] = field(default_factory=dict)  # broker's LP position, lots


def _points(ctx: Context, symbol: str, price: Decimal | None, what: str) -> int | None:
    if price is None:
        return None
    points = ctx.instruments[symbol].to_points(price)
    if points is None:
        raise ConfigError(f"{what}: {price} is not a {symbol} price")
    return points


def load(ctx: Context, snapshot: Snapshot) -> None:
    """Install accounts, positions and pending orders into an empty context."""
    for row in snapshot.accounts:
        group = ctx.groups.get(row.group)
        if group is None:
            raise ConfigError(f"account {row.account_id}: unknown group {row.group}")
        balance, credit = group.to_money(row.balance), group.to_money(row.credit)
        if balance is None or credit is None:
            raise ConfigError(
                f"account {row.account_id}: balance {row.balance} / credit {row.credit} not "
                f"exact in {group.currency} minor units"
            )
        account = Account(row.account_id, group, balance, credit, row.enabled, row.kyc_level)
        account.toxicity = row.toxicity
        account.month_units = lots_to_units(row.month_volume) or 0
        account.month_end = row.month_end
        account.leverage = row.leverage
        account.min_kyc_level = row.min_kyc_level
        ctx.accounts[row.account_id] = account
    for p in snapshot.positions:
        account = ctx.accounts[p.account_id]
        instrument = ctx.instruments.get(p.symbol)
        units = lots_to_units(p.volume)
        if instrument is None or units is None or units <= 0:
            raise ConfigError(f"position {p.position_id}: bad symbol or volume")
        price = _points(ctx, p.symbol, p.open_price, f"position {p.position_id}") or 0
        notional = price * units
        if p.open_value is not None:
            exact = decimal_to_int(p.open_value, instrument.digits + VOLUME_DIGITS)
            if exact is None or exact <= 0:
                raise ConfigError(f"position {p.position_id}: open value {p.open_value} not exact")
            notional = exact
        position = Position(
            p.position_id, account.id, instrument, p.side, units, notional, p.opened_at, p.book
        )
        position.sl = _points(ctx, p.symbol, p.sl, f"position {p.position_id}")
        position.tp = _points(ctx, p.symbol, p.tp, f"position {p.position_id}")
        swap = account.group.to_money(p.swap)
        if swap is None:
            raise ConfigError(f"position {p.position_id}: swap {p.swap} not in minor units")
        position.swap = swap
        account.add_position(position)
        ctx.reindex(account)
        ctx.protect(position)
        signed = units if p.side is Side.BUY else -units
        ctx.client_net[p.symbol] = ctx.client_net.get(p.symbol, 0) + signed
        key = (account.group.name, p.symbol)
        ctx.group_net[key] = ctx.group_net.get(key, 0) + signed
    for o in snapshot.orders:
        account = ctx.accounts[o.account_id]
        instrument = ctx.instruments[o.symbol]
        units = lots_to_units(o.volume)
        if units is None or units <= 0:
            raise ConfigError(f"order {o.order_id}: bad volume")
        order = Order(
            o.order_id,
            account.id,
            instrument,
            o.side,
            o.type,
            o.tif,
            units,
            o.created_at,
            o.request_id,
        )
        order.price = _points(ctx, o.symbol, o.price, f"order {o.order_id}")
        order.sl = _points(ctx, o.symbol, o.sl, f"order {o.order_id}")
        order.tp = _points(ctx, o.symbol, o.tp, f"order {o.order_id}")
        order.expires_at = o.expires_at
        account.orders[order.id] = order
        ctx.pending.setdefault(o.symbol, {})[order.id] = order
    for symbol, lots in snapshot.hedged.items():
        ctx.hedged[symbol] = lots_to_units(lots) or 0
    ids = ctx.ids
    ids.order = max([snapshot.last_ids.get("order", 0), *(o.order_id for o in snapshot.orders)])
    ids.position = max(
        [snapshot.last_ids.get("position", 0), *(p.position_id for p in snapshot.positions)]
    )
    ids.deal = snapshot.last_ids.get("deal", 0)
    ids.entry = snapshot.last_ids.get("entry", 0)
    ids.lp_order = snapshot.last_ids.get("lp_order", 0)


def export(
    ctx: Context, last_rollover: int | None, replies: Mapping[str, tuple[Reply, bytes]]
) -> Snapshot:
    accounts, positions, orders = [], [], []
    for account in ctx.accounts.values():
        group = account.group
        digits = group.currency_digits
        accounts.append(
            AccountRow(
                account.id, group.name, to_decimal(account.balance, digits),
                to_decimal(account.credit, digits), account.enabled, account.kyc_level,
                account.toxicity, units_to_lots(account.month_units), account.month_end,
                account.leverage, account.min_kyc_level,
            )
        )  # fmt: skip
        for p in account.positions.values():
            d = p.instrument.digits
            positions.append(
                PositionRow(
                    p.id, account.id, p.instrument.symbol, p.side, units_to_lots(p.units),
                    to_decimal(p.open_price, d), p.opened_at, optional_decimal(p.sl, d),
                    optional_decimal(p.tp, d), to_decimal(p.swap, digits), p.book,
                    to_decimal(p.notional, d + VOLUME_DIGITS),
                )
            )  # fmt: skip
        for o in account.orders.values():
            if o.state is not OrderState.PLACED or o.price is None:
                continue  # orders in flight at an LP are recovered from the LP, not reloaded
            d = o.instrument.digits
            orders.append(
                OrderRow(
                    o.id, account.id, o.instrument.symbol, o.side, o.type, o.tif,
                    units_to_lots(o.units), to_decimal(o.price, d), o.created_at,
                    optional_decimal(o.sl, d), optional_decimal(o.tp, d), o.expires_at,
                    o.request_id,
                )
            )  # fmt: skip
    ids = ctx.ids
    last_ids = {
        "order": ids.order, "deal": ids.deal, "position": ids.position, "entry": ids.entry,
        "lp_order": ids.lp_order,
    }  # fmt: skip
    hedged = {symbol: units_to_lots(units) for symbol, units in ctx.hedged.items() if units}
    return Snapshot(accounts, positions, orders, last_ids, last_rollover, dict(replies), hedged)
