"""Message contracts of the execution service: commands, replies, events and reject codes.

This is the only module `api/` imports from `execution/`, so it imports nothing else from the
package. Every message carries `v` (the contract version) and is a `msgspec.Struct` in a tagged
union (tag field ``t``), encoded as MessagePack. Human-facing figures (prices, volumes in lots,
money) are `Decimal` so nothing is lost at the edge; times are integer nanoseconds since the
Unix epoch, UTC.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

import msgspec
from msgspec import UNSET, UnsetType

VERSION = 1


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"


class TimeInForce(StrEnum):
    GTC = "gtc"
    DAY = "day"
    IOC = "ioc"
    FOK = "fok"


class OrderState(StrEnum):
    PLACED = "placed"  # resting pending order
    ROUTED = "routed"  # sent to an LP, waiting for its fill
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"


class DealEntry(StrEnum):
    IN = "in"
    OUT = "out"
    INOUT = "inout"
    OUT_BY = "out_by"


class DealReason(StrEnum):
    CLIENT = "client"
    SL = "sl"
    TP = "tp"
    STOP_OUT = "stop_out"
    PENDING = "pending"
    DEALER = "dealer"  # closed by the broker's dealer (`DealerClose`)


class BalanceKind(StrEnum):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    CREDIT = "credit"
    CORRECTION = "correction"
    PNL = "pnl"
    COMMISSION = "commission"
    SWAP = "swap"
    WRITE_OFF = "write_off"


class RejectCode(StrEnum):
    MALFORMED = "malformed"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_ACCOUNT = "unknown_account"
    UNKNOWN_SYMBOL = "unknown_symbol"
    UNKNOWN_ORDER = "unknown_order"
    UNKNOWN_POSITION = "unknown_position"
    UNKNOWN_WALLET = "unknown_wallet"
    ACCOUNT_DISABLED = "account_disabled"
    KYC_NOT_APPROVED = "kyc_not_approved"
    TRADE_DISABLED = "trade_disabled"
    MARKET_CLOSED = "market_closed"
    INVALID_VOLUME = "invalid_volume"
    INVALID_PRICE = "invalid_price"
    INVALID_STOPS = "invalid_stops"
    INVALID_EXPIRATION = "invalid_expiration"
    INVALID_AMOUNT = "invalid_amount"
    OFF_QUOTES = "off_quotes"
    NO_MONEY = "no_money"
    MARGIN_CALL = "margin_call"
    TOO_MANY_REQUESTS = "too_many_requests"
    LIMIT_POSITIONS = "limit_positions"
    LIMIT_EXPOSURE = "limit_exposure"
    HEDGING_ONLY = "hedging_only"
    # UpdateAccount: a leverage outside 1..the group's, or a group the account cannot move to
    # (unknown, another brand, kind or currency, or another position mode while it trades)
    INVALID_LEVERAGE = "invalid_leverage"
    INVALID_GROUP = "invalid_group"
    FOK_UNFILLED = "fok_unfilled"
    ROUTING_REJECTED = "routing_rejected"
    LP_REJECTED = "lp_rejected"
    REQUOTE = "requote"  # the price moved: the reject carries the new bid and ask
    # The command's deadline passed before the service reached it: nothing was done, and the
    # request id stays free, so a retry (with a new deadline) executes once.
    COMMAND_EXPIRED = "command_expired"
    # The request id was used before for a different command: the first answer stands.
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    # The service failed on this command (a bug, logged); the same request id keeps this answer.
    INTERNAL_ERROR = "internal_error"


class _Message(msgspec.Struct, frozen=True, tag_field="t", kw_only=True):
    v: int = VERSION


# --- commands -------------------------------------------------------------------------------


class _Command(_Message, frozen=True, kw_only=True):
    # ns UTC after which the command must not be executed (the sender stopped waiting):
    # refused with COMMAND_EXPIRED; None waits as long as it takes. Not part of the command's
    # identity: a retry with a later deadline is the same command.
    deadline: int | None = None
    # The id of the HTTP request that sent the command (the api's X-Request-ID): the
    # service's log line for the command carries it. Not part of the identity either.
    trace: str = ""


class PlaceOrder(_Command, tag="place", frozen=True):
    request_id: str
    account_id: int
    symbol: str
    side: Side
    volume: Decimal  # lots
    type: OrderType = OrderType.MARKET
    price: Decimal | None = None  # limit / stop trigger price
    sl: Decimal | None = None
    tp: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    expires_at: int | None = None  # ns; GTC with an expiry is "good till date"
    position_id: int | None = None  # hedging: the position this order closes
    comment: str = ""


class ModifyOrder(_Command, tag="modify", frozen=True):
    """Only the fields sent change; an explicit None removes a stop loss, take profit or
    expiry (a pending order always keeps a price)."""

    request_id: str
    account_id: int
    order_id: int
    price: Decimal | UnsetType = UNSET
    sl: Decimal | UnsetType | None = UNSET
    tp: Decimal | UnsetType | None = UNSET
    expires_at: int | UnsetType | None = UNSET


class CancelOrder(_Command, tag="cancel", frozen=True):
    request_id: str
    account_id: int
    order_id: int


class ModifyPosition(_Command, tag="modify_position", frozen=True):
    """Only the levels sent change; an explicit None removes one."""

    request_id: str
    account_id: int
    position_id: int
    sl: Decimal | UnsetType | None = UNSET
    tp: Decimal | UnsetType | None = UNSET


class ClosePosition(_Command, tag="close", frozen=True):
    request_id: str
    account_id: int
    position_id: int
    volume: Decimal | None = None  # lots; None closes all of it


class CloseBy(_Command, tag="close_by", frozen=True):
    request_id: str
    account_id: int
    position_id: int
    opposite_position_id: int


class BalanceOperation(_Command, tag="balance", frozen=True):
    request_id: str
    account_id: int
    kind: BalanceKind  # DEPOSIT, WITHDRAWAL, CREDIT or CORRECTION
    amount: Decimal  # deposit currency; sign given for CREDIT and CORRECTION
    wallet_id: str | None = None  # the client wallet a deposit/withdrawal moves money with
    comment: str = ""


class UpdateAccount(_Command, tag="update_account", frozen=True):
    """The back office changes an account's settings; only the fields sent change.

    ``enabled`` is the account's own switch and ``leverage`` its own leverage (None: its
    group's), both journaled on the account's row; ``group`` moves it to another group of its
    brand, kind and currency (journaled too). ``kyc_level`` and ``client_active`` bring the
    client's KYC level and status (the back office's facts, kept on the client's row) to the
    service at once instead of at its next look at the warehouse. A leverage or group that
    would leave the account at or under its stop-out level is refused with NO_MONEY: the
    dealer closes positions first.
    """

    request_id: str
    account_id: int
    enabled: bool | UnsetType = UNSET
    leverage: int | UnsetType | None = UNSET
    group: str | UnsetType = UNSET
    kyc_level: int | UnsetType = UNSET
    client_active: bool | UnsetType = UNSET
    comment: str = ""


class DealerClose(_Command, tag="dealer_close", frozen=True):
    """The dealer closes a position, or every position of the account when no position id is
    given, at the account's current client price, whatever its flags; the deals' reason is
    DEALER. All or nothing: refused when any of them cannot be closed now."""

    request_id: str
    account_id: int
    position_id: int | None = None
    volume: Decimal | None = None  # lots of the one position; None closes all of it
    dealer: str = ""  # who asked (the staff member): kept with the command in the journal


Command = (
    PlaceOrder
    | ModifyOrder
    | CancelOrder
    | ModifyPosition
    | ClosePosition
    | CloseBy
    | BalanceOperation
    | UpdateAccount
    | DealerClose
)

# --- replies --------------------------------------------------------------------------------


class AccountSettings(msgspec.Struct, frozen=True, kw_only=True):
    """An account's settings as the service applies them (the answer to UpdateAccount)."""

    account_id: int
    group: str
    leverage: int | None  # the account's own; None: its group's
    enabled: bool
    client_active: bool
    kyc_level: int


class Accepted(_Message, tag="accepted", frozen=True):
    request_id: str
    order_id: int | None = None
    position_id: int | None = None
    deal_ids: tuple[int, ...] = ()
    state: OrderState | None = None
    balance: Decimal | None = None
    account: AccountSettings | None = None


class Rejected(_Message, tag="rejected", frozen=True):
    request_id: str
    code: RejectCode
    message: str = ""
    bid: Decimal | None = None  # REQUOTE: the price the order would get now
    ask: Decimal | None = None


Reply = Accepted | Rejected

# --- events ---------------------------------------------------------------------------------


class OrderUpdate(_Message, tag="order", frozen=True):
    """The full state of an order after a change (also the order row of the journal)."""

    order_id: int
    account_id: int
    symbol: str
    side: Side
    type: OrderType
    tif: TimeInForce
    state: OrderState
    volume: Decimal
    filled: Decimal
    price: Decimal | None
    sl: Decimal | None
    tp: Decimal | None
    expires_at: int | None
    position_id: int | None
    request_id: str | None
    reason: RejectCode | None
    time: int


class Deal(_Message, tag="deal", frozen=True):
    deal_id: int
    order_id: int | None
    account_id: int
    position_id: int
    symbol: str
    side: Side
    entry: DealEntry
    reason: DealReason
    volume: Decimal
    price: Decimal
    profit: Decimal  # deposit currency
    commission: Decimal
    swap: Decimal
    book: str  # "a" or "b"
    time: int


class PositionUpdate(_Message, tag="position", frozen=True):
    """The state of a position after a deal; volume zero means closed."""

    position_id: int
    account_id: int
    symbol: str
    side: Side
    volume: Decimal
    open_price: Decimal
    sl: Decimal | None
    tp: Decimal | None
    swap: Decimal
    opened_at: int
    time: int
    # the exact sum of price x lots held (open_price is that over the volume, rounded)
    open_value: Decimal = Decimal(0)


class BalanceChange(_Message, tag="balance_change", frozen=True):
    entry_id: int
    account_id: int
    kind: BalanceKind
    amount: Decimal
    balance: Decimal
    credit: Decimal
    currency: str
    deal_id: int | None
    request_id: str | None
    comment: str
    time: int


class MarginCall(_Message, tag="margin_call", frozen=True):
    account_id: int
    margin_level: Decimal | None
    equity: Decimal
    margin: Decimal
    time: int


class StopOut(_Message, tag="stop_out", frozen=True):
    account_id: int
    position_id: int
    margin_level: Decimal | None
    equity: Decimal
    margin: Decimal
    time: int


class Tick(_Message, tag="tick", frozen=True):
    """A client price of one group (every published client price is a tick)."""

    group: str
    symbol: str
    bid: Decimal
    ask: Decimal
    time: int


class QuoteState(_Message, tag="quote_state", frozen=True):
    """A symbol went off quotes (no fresh aggregate: every LP stale, crossed or gone) or came
    back, or the LPs left out of its price changed. While off quotes the last client price is
    kept, but it is not a price to trade at."""

    symbol: str
    live: bool
    reason: str  # why it is off quotes ("" when live), e.g. "stale", "no LP quotes"
    time: int
    # LPs whose quotes crossed the others' and were left out of the price (while live)
    left_out: tuple[str, ...] = ()


class PositionValue(msgspec.Struct, frozen=True, array_like=True):
    """One open position valued now: the price it would close at and its floating P/L
    (deposit currency, swap included; None while a price it needs is missing)."""

    position_id: int
    price: Decimal | None
    profit: Decimal | None


class AccountState(_Message, tag="account_state", frozen=True):
    """An account as the execution core values it (the one valuation: every reader serves
    this, none recomputes it). Published when it changes; ``valued`` False means a price or
    conversion rate it needs is missing, and equity, margin and level are then the last
    known figures."""

    account_id: int
    currency: str
    balance: Decimal
    credit: Decimal
    floating_profit: Decimal
    equity: Decimal
    margin: Decimal
    free_margin: Decimal
    margin_level: Decimal | None  # percent, half up to 0.01; None with no margin in use
    valued: bool
    unpriced: tuple[str, ...]  # the symbols whose price or rate is missing
    in_margin_call: bool
    positions: tuple[PositionValue, ...]
    time: int


class ValuationAlert(_Message, tag="valuation_alert", frozen=True):
    """An account with exposure could not be valued (``valued`` False: it is blocked from new
    exposure, and margin call and stop-out cannot be judged) or can be again (True)."""

    account_id: int
    valued: bool
    unpriced: tuple[str, ...]
    time: int


Event = (
    OrderUpdate
    | Deal
    | PositionUpdate
    | BalanceChange
    | MarginCall
    | StopOut
    | Tick
    | QuoteState
    | AccountState
    | ValuationAlert
)

_encoder = msgspec.msgpack.Encoder()
_command_decoder: msgspec.msgpack.Decoder[Command] = msgspec.msgpack.Decoder(Command)
_reply_decoder: msgspec.msgpack.Decoder[Reply] = msgspec.msgpack.Decoder(Reply)
_event_decoder: msgspec.msgpack.Decoder[Event] = msgspec.msgpack.Decoder(Event)


def encode(message: Command | Reply | Event) -> bytes:
    return _encoder.encode(message)


def decode_command(data: bytes) -> Command:
    """Decode one command; raises `msgspec.ValidationError` / `msgspec.DecodeError` on bad input."""
    return _command_decoder.decode(data)


def decode_reply(data: bytes) -> Reply:
    return _reply_decoder.decode(data)


def decode_event(data: bytes) -> Event:
    return _event_decoder.decode(data)


def identity(command: Command) -> bytes:
    """What makes two commands with one request id the same command: everything but the
    deadline (a retry carries a later one) and the trace (a retry is another HTTP request).
    Different identities under one request id are an idempotency conflict."""
    return _encoder.encode(msgspec.structs.replace(command, deadline=None, trace=""))
