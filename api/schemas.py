"""Request and response bodies of the REST api (the OpenAPI schema is generated from these).

Money, prices and volumes are decimal strings in JSON, never binary floats: requests in the
grammar of :mod:`api.decimals`, answers in the formats of :mod:`api.formats`. Times are UTC
ISO 8601.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from api.decimals import PRICE, DecimalGrammar, Lots, Price
from api.formats import Fixed
from api.idempotency import KEY_PATTERN
from execution.contracts import DealEntry, OrderState, OrderType, Side, TimeInForce

# Ids are bigints. OpenAPI states a maximum as a JSON number, which FastAPI writes as a float:
# 2**63 - 1 would read as 2**63, so the bound is the largest float below it (2**63 - 1024).
ID_MAX = 2**63 - 1024
# money a client moves (a deposit, a conversion, a transfer), as decimal text: the currency
# judges the decimals (JPY none, USD two), so the grammar allows up to eight
AMOUNT = DecimalGrammar(integer_digits=15, fraction_digits=8, example="100.00")
Amount = Annotated[
    Decimal,
    PlainValidator(AMOUNT.parse, json_schema_input_type=str),
    WithJsonSchema(AMOUNT.json_schema()),
]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"])]

Id = Annotated[int, Field(ge=1, le=ID_MAX)]
Symbol = Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9._-]{0,31}$", examples=["EURUSD"])]
ClientOrderId = Annotated[
    str,
    Field(
        pattern=KEY_PATTERN,
        description="Your idempotency key: a retried place with the same id returns the "
        "first order instead of placing a second one (per account); the same id on a "
        "different order is 409 idempotency_conflict. Idempotency-Key may carry it instead.",
        examples=["algo-7-000123"],
    ),
]


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("timestamp needs a time zone (use Z for UTC)")
    # Execution times are int64 nanoseconds since 1970.
    if not 1970 <= moment.year <= 2200:
        raise ValueError("timestamp must be between 1970 and 2200")
    return moment


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: object) -> object:
    """Only RFC 3339 text: pydantic would also read ``"0"`` or ``1.5e9`` as a Unix time."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("timestamp must be RFC 3339 text, like 2026-01-02T15:04:05Z")
    return value


# RFC 3339 with the year range _aware checks, so the schema admits only what is accepted.
_YEARS_1970_TO_2200 = r"^(?:19[7-9][0-9]|2[01][0-9]{2}|2200)-"
AwareDatetime = Annotated[
    datetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_aware),
    Field(json_schema_extra={"pattern": _YEARS_1970_TO_2200}),
]


def _wall_clock(value: object) -> object:
    return value.isoformat() if isinstance(value, time) else value


LocalTime = Annotated[
    str,
    BeforeValidator(_wall_clock),
    Field(pattern=r"^\d{2}:\d{2}:\d{2}(\.\d{1,6})?$", examples=["17:00:00"]),
]


class Scope(StrEnum):
    READ = "read"
    TRADE = "trade"


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- auth -----------------------------------------------------------------------------------


class TokenPair(_Out):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (OAuth2 token type)
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str
    refresh_expires_in: int
    scope: str = Field(description="Space-separated scopes of the access token.")


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


class ApiKeyCreate(BaseModel):
    name: str = Field(default="", max_length=100, pattern=r"^[^\x00]*$")
    scopes: list[Scope] = Field(min_length=1, max_length=2, examples=[["read", "trade"]])


class ApiKey(_Out):
    key_id: str
    name: str
    scopes: list[Scope]
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKey):
    api_key: str = Field(description="The secret key; shown once, send it as X-API-Key.")


# --- market ---------------------------------------------------------------------------------


class TradingSession(_Out):
    kind: Literal["quote", "trade"]
    weekday: int = Field(description="ISO weekday, 1 = Monday.")
    # Wall-clock times in time_zone (not RFC 3339 "time", which needs an offset).
    opens: LocalTime
    closes: LocalTime
    time_zone: str


class Instrument(_Out):
    symbol: str
    description: str
    asset_class: str
    digits: int
    contract_size: Fixed
    base_currency: str
    profit_currency: str
    margin_currency: str
    margin_calc_mode: str
    min_volume: Fixed
    max_volume: Fixed
    volume_step: Fixed
    tick_size: Fixed
    sessions: list[TradingSession]


class Quote(_Out):
    symbol: str
    bid: Fixed
    ask: Fixed
    time: datetime
    live: bool = Field(
        description="False when the symbol is off quotes: the execution service has no fresh "
        "price for it, or this one is older than the api's limit. Not a price to trade at."
    )
    off_quotes_reason: str | None = Field(description="Why it is off quotes; null when live.")


class Candle(_Out):
    bucket: datetime
    source: str
    bid_open: Fixed
    bid_high: Fixed
    bid_low: Fixed
    bid_close: Fixed
    ask_open: Fixed
    ask_high: Fixed
    ask_low: Fixed
    ask_close: Fixed
    tick_count: int


class CandlePage(_Out):
    items: list[Candle]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at end.")


# --- accounts -------------------------------------------------------------------------------


class Account(_Out):
    id: int
    login: int
    kind: str
    currency: str
    group: str
    leverage: int
    enabled: bool


class AccountSummary(_Out):
    """The account as the execution service last valued it (the one valuation)."""

    account_id: int
    currency: str
    balance: Fixed
    credit: Fixed
    floating_profit: Fixed
    equity: Fixed
    margin: Fixed
    free_margin: Fixed
    margin_level: Fixed | None = Field(description="Percent; null with no margin in use.")
    valued: bool = Field(
        description="False while a price or conversion rate the account needs is missing: "
        "equity, margin and level are then the last figures it had."
    )
    unpriced_symbols: list[str] = Field(
        description="The symbols held whose price or conversion rate is missing."
    )
    in_margin_call: bool
    as_of: datetime = Field(description="When the execution service valued the account.")


class Position(_Out):
    id: int
    symbol: str
    side: Side
    volume: Fixed
    open_price: Fixed
    sl: Fixed | None
    tp: Fixed | None
    swap: Fixed
    commission: Fixed
    opened_at: datetime
    current_price: Fixed | None = Field(description="The price it would close at now.")
    profit: Fixed | None = Field(
        description="Floating P/L in the deposit currency, swap included; null while a price "
        "it needs is missing (or the position is newer than the account's valuation)."
    )
    valued_at: datetime | None = Field(description="When current_price and profit were taken.")


class Order(_Out):
    id: int
    client_order_id: str | None
    symbol: str
    type: OrderType
    side: Side
    tif: TimeInForce
    state: OrderState
    volume: Fixed
    filled_volume: Fixed
    price: Fixed | None
    sl: Fixed | None
    tp: Fixed | None
    expires_at: datetime | None
    position_id: int | None
    reject_code: str | None
    created_at: datetime
    updated_at: datetime


class Deal(_Out):
    id: int
    order_id: int | None
    position_id: int | None
    symbol: str
    side: Side
    entry: DealEntry
    volume: Fixed
    price: Fixed
    profit: Fixed
    commission: Fixed
    swap: Fixed
    fee: Fixed
    reason: str
    executed_at: datetime


class DealPage(_Out):
    items: list[Deal]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at end.")


class Statement(_Out):
    account_id: int
    currency: str
    start: datetime
    end: datetime
    deal_count: int
    volume: Fixed
    profit: Fixed
    commission: Fixed
    swap: Fixed
    fee: Fixed
    net: Fixed = Field(description="profit + commission + swap + fee over the period.")
    balance: Fixed = Field(description="Balance now.")
    credit: Fixed
    deals: DealPage


# --- trading --------------------------------------------------------------------------------


class PlaceOrderRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        # What _price_for_pending_only checks, said in the schema: a price with limit and stop
        # orders only (an absent type is a market order).
        json_schema_extra={
            "if": {"properties": {"type": {"const": OrderType.MARKET.value}}},
            "then": {"properties": {"price": {"type": "null"}}},
            "else": {"required": ["price"], "properties": {"price": {"type": "string"}}},
        },
    )

    client_order_id: ClientOrderId | None = None
    symbol: Symbol
    side: Side
    type: OrderType = OrderType.MARKET
    volume: Lots
    price: Price | None = Field(default=None, description="Required for limit and stop.")
    sl: Price | None = None
    tp: Price | None = None
    tif: TimeInForce = TimeInForce.GTC
    expires_at: AwareDatetime | None = None
    position_id: Id | None = Field(default=None, description="Hedging: the position to close.")
    comment: str = Field(default="", max_length=64, pattern=r"^[^\x00]*$")

    @model_validator(mode="after")
    def _price_for_pending_only(self) -> PlaceOrderRequest:
        if self.type is not OrderType.MARKET and self.price is None:
            raise ValueError("price is required for limit and stop orders")
        if self.type is OrderType.MARKET and self.price is not None:
            # A market order fills at the market: a price sent with it would be ignored.
            raise ValueError("price is only for limit and stop orders; a market order has none")
        return self


class _Changes(BaseModel):
    """A PATCH body: only the fields sent change, and an explicit null removes a level."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    @model_validator(mode="after")
    def _something_to_change(self) -> _Changes:
        if not self.model_fields_set:
            names = ", ".join(type(self).model_fields)
            raise ValueError(f"nothing to change: send at least one of {names}")
        return self


_KEEP_OR_REMOVE = "Omit to keep it; null removes it."


def _no_default(schema: dict[str, Any]) -> None:
    # An omitted field is "keep", not null: a documented default of null would say otherwise.
    schema.pop("default", None)


class ModifyOrderRequest(_Changes):
    # Optional but never null (a pending order always has a price): the schema says so too.
    price: Annotated[Price | None, WithJsonSchema(PRICE.json_schema())] = Field(
        default=None,
        description="The new trigger price; omit to keep it.",
        json_schema_extra=_no_default,
    )
    sl: Price | None = Field(
        default=None, description=_KEEP_OR_REMOVE, json_schema_extra=_no_default
    )
    tp: Price | None = Field(
        default=None, description=_KEEP_OR_REMOVE, json_schema_extra=_no_default
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description=_KEEP_OR_REMOVE, json_schema_extra=_no_default
    )

    @field_validator("price", mode="before")
    @classmethod
    def _price_is_kept(cls, value: object) -> object:
        if value is None:
            raise ValueError("a pending order keeps a price: send a new one or leave price out")
        return value


class ModifyPositionRequest(_Changes):
    sl: Price | None = Field(
        default=None, description=_KEEP_OR_REMOVE, json_schema_extra=_no_default
    )
    tp: Price | None = Field(
        default=None, description=_KEEP_OR_REMOVE, json_schema_extra=_no_default
    )


class ClosePositionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    volume: Lots | None = Field(default=None, description="Lots to close; omit to close all.")


class TradeResult(_Out):
    request_id: str
    client_order_id: str | None
    order_id: int | None
    position_id: int | None
    deal_ids: list[int]
    state: OrderState | None
