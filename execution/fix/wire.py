"""FIX 4.4 on the wire: reading a received message from its raw text and building the
messages the bridge and the LP simulator send.

Reading goes through ``Message.toString()`` once and plain string splitting: a field read
through the quickfix binding costs microseconds each (20 with field objects), the raw text is
needed for the journal anyway, and repeating groups come out in wire order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import quickfix as fix

from execution.contracts import Side

SOH = "\x01"

# tags
ACCOUNT = 1
AVG_PX = 6
CL_ORD_ID = 11
CUM_QTY = 14
EXEC_ID = 17
MSG_SEQ_NUM = 34
MSG_TYPE = 35
ORDER_ID = 37
ORDER_QTY = 38
ORD_STATUS = 39
ORD_TYPE = 40
ORIG_CL_ORD_ID = 41
LAST_PX = 31
LAST_QTY = 32
PRICE = 44
REF_SEQ_NUM = 45
SIDE = 54
SYMBOL = 55
TEXT = 58
TIME_IN_FORCE = 59
TRANSACT_TIME = 60
ORD_REJ_REASON = 103
CXL_REJ_REASON = 102
REF_TAG_ID = 371
REF_MSG_TYPE = 372
SESSION_REJECT_REASON = 373
BUSINESS_REJECT_REASON = 380
EXEC_TYPE = 150
LEAVES_QTY = 151
MD_REQ_ID = 262
SUBSCRIPTION_REQUEST_TYPE = 263
MARKET_DEPTH = 264
MD_UPDATE_TYPE = 265
NO_MD_ENTRY_TYPES = 267
NO_MD_ENTRIES = 268
MD_ENTRY_TYPE = 269
MD_ENTRY_PX = 270
MD_UPDATE_ACTION = 279
MD_REQ_REJ_REASON = 281
NO_RELATED_SYM = 146
USERNAME = 553
PASSWORD = 554

FIX_SIDE = {Side.BUY: "1", Side.SELL: "2"}
SIDE_OF = {"1": Side.BUY, "2": Side.SELL}


def fields(raw: str) -> dict[int, str]:
    """Every field of a message without repeating groups, by tag (the last one wins)."""
    out: dict[int, str] = {}
    for part in raw.split(SOH):
        tag, sep, value = part.partition("=")
        if sep and tag.isdigit():
            out[int(tag)] = value
    return out


def pairs(raw: str) -> Iterator[tuple[int, str]]:
    """The fields of a message in wire order (repeating groups included)."""
    for part in raw.split(SOH):
        tag, sep, value = part.partition("=")
        if sep and tag.isdigit():
            yield int(tag), value


def decimal(text: str | None) -> Decimal | None:
    """A FIX price or quantity as an exact Decimal; None when absent, malformed or not finite."""
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


@dataclass(frozen=True, slots=True)
class MdEntry:
    """One market data entry: ``kind`` 0 bid / 1 offer, ``action`` 0 new / 1 change / 2 delete
    (snapshots carry no action: every entry is new)."""

    symbol: str | None
    kind: str
    action: str
    price: Decimal | None


def md_entries(raw: str) -> tuple[str | None, list[MdEntry]]:
    """The message's own Symbol (snapshots) and its MDEntries in wire order.

    An entry starts at MDUpdateAction (incremental) or MDEntryType (snapshot) and runs until
    the next entry starts; an incremental entry names its symbol, a snapshot's is the
    message's.
    """
    top_symbol: str | None = None
    entries: list[MdEntry] = []
    current: dict[int, str] | None = None
    in_group = False
    for tag, value in pairs(raw):
        if tag == NO_MD_ENTRIES:
            in_group = True
            continue
        if not in_group:
            if tag == SYMBOL:
                top_symbol = value
            continue
        starts = tag == MD_UPDATE_ACTION or (
            tag == MD_ENTRY_TYPE and (current is None or MD_ENTRY_TYPE in current)
        )
        if starts:
            if current is not None:
                entries.append(_entry(current))
            current = {}
        if current is not None:
            current[tag] = value
    if current is not None:
        entries.append(_entry(current))
    return top_symbol, entries


def _entry(values: dict[int, str]) -> MdEntry:
    return MdEntry(
        values.get(SYMBOL),
        values.get(MD_ENTRY_TYPE, ""),
        values.get(MD_UPDATE_ACTION, "0"),
        decimal(values.get(MD_ENTRY_PX)),
    )


def utc_timestamp(now: datetime | None = None) -> str:
    """A FIX UTCTimestamp with milliseconds."""
    moment = now or datetime.now(UTC)
    return moment.strftime("%Y%m%d-%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def message(msg_type: str, values: list[tuple[int, str]]) -> fix.Message:
    msg = fix.Message()
    msg.getHeader().setField(MSG_TYPE, msg_type)
    for tag, value in values:
        msg.setField(tag, value)
    return msg


def new_order_single(
    cl_ord_id: str,
    symbol: str,
    side: Side,
    qty: Decimal,
    fok: bool,
    limit_price: Decimal | None = None,
) -> fix.Message:
    """A NewOrderSingle D: market or limit, IOC or FOK (A-book and hedge orders never rest)."""
    values = [
        (CL_ORD_ID, cl_ord_id),
        (SYMBOL, symbol),
        (SIDE, FIX_SIDE[side]),
        (TRANSACT_TIME, utc_timestamp()),
        (ORDER_QTY, format(qty, "f")),
        (ORD_TYPE, "1" if limit_price is None else "2"),
        (TIME_IN_FORCE, "4" if fok else "3"),
    ]
    if limit_price is not None:
        values.append((PRICE, format(limit_price, "f")))
    return message("D", values)


def order_status_request(cl_ord_id: str, symbol: str, side: Side) -> fix.Message:
    return message("H", [(CL_ORD_ID, cl_ord_id), (SYMBOL, symbol), (SIDE, FIX_SIDE[side])])


def order_cancel_request(
    cl_ord_id: str, orig_cl_ord_id: str, symbol: str, side: Side, qty: Decimal
) -> fix.Message:
    return message(
        "F",
        [
            (ORIG_CL_ORD_ID, orig_cl_ord_id),
            (CL_ORD_ID, cl_ord_id),
            (SYMBOL, symbol),
            (SIDE, FIX_SIDE[side]),
            (TRANSACT_TIME, utc_timestamp()),
            (ORDER_QTY, format(qty, "f")),
        ],
    )


def market_data_request(md_req_id: str, symbol: str) -> fix.Message:
    """Snapshot plus incremental updates (263=1), top of book (264=1), bid and offer."""
    msg = message(
        "V",
        [
            (MD_REQ_ID, md_req_id),
            (SUBSCRIPTION_REQUEST_TYPE, "1"),
            (MARKET_DEPTH, "1"),
            (MD_UPDATE_TYPE, "1"),
        ],
    )
    for kind in ("0", "1"):
        group = fix.Group(NO_MD_ENTRY_TYPES, MD_ENTRY_TYPE)
        group.setField(MD_ENTRY_TYPE, kind)
        msg.addGroup(group)
    group = fix.Group(NO_RELATED_SYM, SYMBOL)
    group.setField(SYMBOL, symbol)
    msg.addGroup(group)
    return msg
