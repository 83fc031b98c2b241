"""An account's exact image: what the core holds about it, in its own integer units, as one
MessagePack value. Taken at each daily cut for the accounts that changed (journaled), so a
trading day can be replayed through the core from the image that starts it and checked
against the image that ends it.

Unlike the snapshot rows (`execution.snapshot`), nothing is rounded: a position keeps its
exact notional, money its minor units.
"""

from __future__ import annotations

import msgspec

from execution.context import Context
from execution.contracts import OrderState, OrderType, Side, TimeInForce
from execution.state import Account, Order, Position


class PositionImage(msgspec.Struct, frozen=True, array_like=True):
    position_id: int
    symbol: str
    side: Side
    units: int
    notional: int  # open price points x units, summed
    opened_at: int
    sl: int | None
    tp: int | None
    swap: int
    book: str


class OrderImage(msgspec.Struct, frozen=True, array_like=True):
    order_id: int
    symbol: str
    side: Side
    type: OrderType
    tif: TimeInForce
    units: int
    filled: int
    price: int | None
    sl: int | None
    tp: int | None
    expires_at: int | None
    position_id: int | None
    created_at: int
    request_id: str | None
    state: OrderState
    book: str


class AccountImage(msgspec.Struct, frozen=True):
    account_id: int
    group: str
    balance: int
    credit: int
    enabled: bool
    kyc_level: int
    toxicity: int
    month_units: int
    month_end: int
    in_margin_call: bool
    tokens: int  # the order rate bucket (see risk.take_token)
    token_time: int
    positions: tuple[PositionImage, ...]
    orders: tuple[OrderImage, ...]
    taken_at: int  # the cut it was taken at
    applied_at: int  # when the core applied that cut (its timer's now)
    leverage: int | None = None  # the account's own; None: its group's
    min_kyc_level: int = 0


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(AccountImage)


def encode(image: AccountImage) -> bytes:
    return _encoder.encode(image)


def decode(data: bytes) -> AccountImage:
    return _decoder.decode(data)


def take(account: Account, taken_at: int, applied_at: int) -> AccountImage:
    positions = tuple(
        PositionImage(
            p.id,
            p.instrument.symbol,
            p.side,
            p.units,
            p.notional,
            p.opened_at,
            p.sl,
            p.tp,
            p.swap,
            p.book,
        )
        for p in sorted(account.positions.values(), key=lambda p: p.id)
    )
    orders = tuple(
        OrderImage(
            o.id,
            o.instrument.symbol,
            o.side,
            o.type,
            o.tif,
            o.units,
            o.filled,
            o.price,
            o.sl,
            o.tp,
            o.expires_at,
            o.position_id,
            o.created_at,
            o.request_id,
            o.state,
            o.book,
        )
        for o in sorted(account.orders.values(), key=lambda o: o.id)
    )
    return AccountImage(
        account.id, account.group.name, account.balance, account.credit,
        account.enabled and account.client_active, account.kyc_level, account.toxicity,
        account.month_units, account.month_end,
        account.in_margin_call, account.tokens, account.token_time, positions, orders,
        taken_at, applied_at, account.leverage, account.min_kyc_level,
    )  # fmt: skip


def install(ctx: Context, image: AccountImage) -> Account:
    """Put an imaged account into a core's context (as loading a snapshot would)."""
    group = ctx.groups[image.group]
    account = Account(
        image.account_id, group, image.balance, image.credit, image.enabled, image.kyc_level
    )
    account.toxicity = image.toxicity
    account.month_units, account.month_end = image.month_units, image.month_end
    account.in_margin_call = image.in_margin_call
    account.tokens, account.token_time = image.tokens, image.token_time
    account.leverage, account.min_kyc_level = image.leverage, image.min_kyc_level
    ctx.accounts[account.id] = account
    for p in image.positions:
        position = Position(
            p.position_id, account.id, ctx.instruments[p.symbol], p.side, p.units, p.notional,
            p.opened_at, p.book,
        )  # fmt: skip
        position.sl, position.tp, position.swap = p.sl, p.tp, p.swap
        account.add_position(position)
        ctx.protect(position)
    ctx.reindex(account)
    for o in image.orders:
        order = Order(
            o.order_id, account.id, ctx.instruments[o.symbol], o.side, o.type, o.tif, o.units,
            o.created_at, o.request_id,
        )  # fmt: skip
        order.filled, order.price, order.sl, order.tp = o.filled, o.price, o.sl, o.tp
        order.expires_at, order.position_id, order.state, order.book = (
            o.expires_at, o.position_id, o.state, o.book,
        )  # fmt: skip
        account.orders[order.id] = order
        if o.state is OrderState.PLACED:
            ctx.pending.setdefault(o.symbol, {})[order.id] = order
    return account
