"""MiFIR transaction reports (RTS 22, Annex I table 2): one per live deal on a CFD whose
underlying trades on a venue, as a CSV of the 65 fields; what we do not know stays empty.

The broker deals on own account (capacity DEAL) against its client: the client is the buyer
when they buy, the broker's LEI the seller, and the other way round. A natural person is
identified by their national identifier when we hold it, else by the CONCAT code. A changed
transaction is corrected as RTS 22 wants it: a cancellation of the reference, then the
transaction anew.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg

from pipelines.partitions import TradingDay
from pipelines.regulatory import tabular
from pipelines.regulatory.concat import ConcatError, concat
from pipelines.regulatory.records import Brand, Event, Outgoing, is_isin

COLUMNS = (
    "Report status", "Transaction Reference Number",
    "Trading venue transaction identification code", "Executing entity identification code",
    "Investment Firm covered by Directive 2014/65/EU", "Submitting entity identification code",
    "Buyer identification code", "Country of the branch for the buyer", "Buyer - first name(s)",
    "Buyer - surname(s)", "Buyer - date of birth", "Buyer decision maker code",
    "Buy decision maker - First name(s)", "Buy decision maker - Surname(s)",
    "Buy decision maker - Date of birth", "Seller identification code",
    "Country of the branch for the seller", "Seller - first name(s)", "Seller - surname(s)",
    "Seller - date of birth", "Seller decision maker code",
    "Sell decision maker - First name(s)", "Sell decision maker - Surname(s)",
    "Sell decision maker - Date of birth", "Transmission of order indicator",
    "Transmitting firm identification code for the buyer",
    "Transmitting firm identification code for the seller", "Trading date time",
    "Trading capacity", "Quantity", "Quantity currency",
    "Derivative notional increase/decrease", "Price", "Price Currency", "Net amount", "Venue",
    "Country of the branch membership", "Up-front payment", "Up-front payment currency",
    "Complex trade component id", "Instrument identification code", "Instrument full name",
    "Instrument classification", "Notional currency 1", "Notional currency 2",
    "Price multiplier", "Underlying instrument code", "Underlying index name",
    "Term of the underlying index", "Option type", "Strike price", "Strike price currency",
    "Option exercise style", "Maturity date", "Expiry date", "Delivery type",
    "Investment decision within firm",
    "Country of the branch responsible for the person making the investment decision",
    "Execution within firm",
    "Country of the branch supervising the person responsible for the execution",
    "Waiver indicator", "Short selling indicator", "OTC post-trade indicator",
    "Commodity derivative indicator", "Securities financing transaction indicator",
)  # fmt: skip
assert len(COLUMNS) == 65

_LEI = r"[A-Z0-9]{18}[0-9]{2}"
_PARTY = rf"{_LEI}|[A-Z]{{2}}[A-Z0-9#]{{1,33}}"  # an LEI, a national id or a CONCAT
_NUMBER = r"\d+(\.\d+)?"
CSV = tabular.Layout(
    COLUMNS,
    required=frozenset(
        {"Report status", "Transaction Reference Number", "Executing entity identification code"}
    ),
    formats={
        "Report status": "NEWT|CANC",
        "Transaction Reference Number": "[A-Z0-9]{1,52}",
        "Executing entity identification code": _LEI,
        "Submitting entity identification code": _LEI,
        "Buyer identification code": _PARTY,
        "Seller identification code": _PARTY,
        "Buyer - date of birth": r"\d{4}-\d{2}-\d{2}",
        "Seller - date of birth": r"\d{4}-\d{2}-\d{2}",
        "Trading date time": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z",
        "Trading capacity": "DEAL|MTCH|AOTC",
        "Quantity": _NUMBER,
        "Price": _NUMBER,
        "Price multiplier": _NUMBER,
        "Venue": "[A-Z0-9]{4}",
        "Instrument classification": "[A-Z]{6}",
        "Underlying instrument code": r"[A-Z]{2}[A-Z0-9]{9}[0-9]",
        "Delivery type": "CASH|PHYS|OPTL",
    },
)
# What a NEWT must carry (a CANC carries only the reference and the firm).
_NEW_REQUIRED = (
    "Buyer identification code", "Seller identification code", "Trading date time",
    "Trading capacity", "Quantity", "Price", "Price Currency", "Venue",
    "Instrument classification", "Underlying instrument code", "Delivery type",
)  # fmt: skip


def transaction_reference(deal_id: int) -> str:
    """The firm's reference of a transaction: one per deal."""
    return f"BSD{deal_id:015d}"


def person_code(
    nationality: str | None, national_id: str | None, born: date | None, first: str, last: str
) -> str:
    """A natural person's identifier: the national id (behind their nationality's country
    code) when we hold one, else the CONCAT code."""
    if national_id and national_id.strip():
        if not nationality:
            raise ConcatError("a national identifier needs the client's nationality")
        return nationality.upper() + re.sub(r"[^A-Z0-9]", "", national_id.upper())
    return concat(nationality, born, first, last)


def derive(conn: psycopg.Connection[Any], day: TradingDay) -> list[Event]:
    """Every reportable transaction of the day, all brands, in time order."""
    rows = conn.execute(_DEALS, {"start": day.start, "end": day.end}).fetchall()
    return [_event(*row) for row in rows]


def rows(outgoing: Sequence[Outgoing]) -> list[dict[str, str]]:
    """The file's lines: a correction cancels the reference first, then reports it anew."""
    lines: list[dict[str, str]] = []
    for item in outgoing:
        fields = dict(item.event.fields)
        if item.is_correction:
            lines.append(
                {name: "" for name in COLUMNS}
                | {
                    "Report status": "CANC",
                    "Transaction Reference Number": fields["Transaction Reference Number"],
                    "Executing entity identification code": item.event.brand.lei,
                    "Submitting entity identification code": item.event.brand.lei,
                }
            )
        lines.append(fields)
    return lines


def validate(content: bytes) -> list[str]:
    problems = tabular.validate(CSV, content)
    if problems:
        return problems
    for line, row in enumerate(csv.DictReader(io.StringIO(content.decode())), start=2):
        if row["Report status"] == "NEWT":
            problems += [f"line {line}: {name} is empty" for name in _NEW_REQUIRED if not row[name]]
    return problems


def _event(
    deal_id: int, executed_at: datetime, side: str, entry: str, volume: Decimal, price: Decimal,
    first: str, last: str, born: date | None, nationality: str | None, national_id: str | None,
    brand_id: int, brand_code: str, lei: str | None, description: str, cfi: str | None,
    underlying_id: str | None, currency: str, contract_size: Decimal,
) -> Event:  # fmt: skip
    if not lei:
        raise ValueError(f"brand {brand_code} has no LEI: set brands.lei before reporting")
    brand = Brand(brand_id, brand_code, lei)
    try:
        client = person_code(nationality, national_id, born, first, last)
    except ConcatError as error:
        raise ConcatError(f"deal {deal_id}: {error}") from error
    trn = transaction_reference(deal_id)
    person = {
        "code": client,
        "first": first,
        "last": last,
        "born": born.isoformat() if born else "",
    }
    broker = {"code": lei, "first": "", "last": "", "born": ""}
    buyer, seller = (person, broker) if side == "BUY" else (broker, person)
    isin = underlying_id if underlying_id is not None and is_isin(underlying_id) else ""
    fields = {name: "" for name in COLUMNS} | {
        "Report status": "NEWT",
        "Transaction Reference Number": trn,
        "Executing entity identification code": lei,
        "Investment Firm covered by Directive 2014/65/EU": "true",
        "Submitting entity identification code": lei,
        "Buyer identification code": buyer["code"],
        "Buyer - first name(s)": buyer["first"],
        "Buyer - surname(s)": buyer["last"],
        "Buyer - date of birth": buyer["born"],
        "Seller identification code": seller["code"],
        "Seller - first name(s)": seller["first"],
        "Seller - surname(s)": seller["last"],
        "Seller - date of birth": seller["born"],
        "Transmission of order indicator": "false",
        "Trading date time": executed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "Trading capacity": "DEAL",
        "Quantity": _decimal(volume),  # CFDs, each of `Price multiplier` units
        "Derivative notional increase/decrease": {
            "IN": "INCR",
            "OUT": "DECR",
            "OUT_BY": "DECR",
        }.get(entry, ""),
        "Price": _decimal(price),
        "Price Currency": currency,
        "Venue": "XXXX",
        "Instrument full name": description,
        "Instrument classification": cfi or "",
        "Notional currency 1": currency,
        "Price multiplier": _decimal(contract_size),
        "Underlying instrument code": isin,
        "Underlying index name": "" if isin else (underlying_id or ""),
        "Delivery type": "CASH",
        "Commodity derivative indicator": "false",
        "Securities financing transaction indicator": "false",
    }
    return Event(f"NEWT:{trn}", trn, "NEWT", brand, fields)


def _decimal(value: Decimal) -> str:
    return format(value.normalize(), "f")


_DEALS = """
SELECT d.id, d.executed_at, d.side, d.entry, d.volume, d.price,
       c.first_name, c.last_name, c.birth_date, c.nationality, c.national_id,
       b.id, b.code, b.lei, i.description, i.cfi_code, i.underlying_id, i.profit_currency,
       i.contract_size
FROM deals d
JOIN trading_accounts a ON a.id = d.trading_account_id
JOIN clients c ON c.id = a.client_id
JOIN brands b ON b.id = c.brand_id
JOIN instruments i ON i.id = d.instrument_id
WHERE d.executed_at >= %(start)s AND d.executed_at < %(end)s
  AND a.kind = 'live' AND i.underlying_venue_traded
ORDER BY d.executed_at, d.id
"""
