"""The files reconciliation reads, each parsed whole or refused whole (the first bad line
named): a settlement CSV per PSP (:data:`SETTLEMENT_FORMATS`, keyed by provider: the card
PSP's Stripe-shaped balance report, the e-wallet's PayPal-shaped settlement report with its
currency conversion, the crypto gateway's transfers with their coin amounts) and bank
statements as ISO 20022 CAMT.053 XML or CSV."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from backoffice.errors import Refused
from backoffice.payments.psp import ZERO_DECIMAL


class BadFile(Refused):
    def __init__(self, message: str, line: int | None = None) -> None:
        details = {"source": "backoffice"} | ({"line": line} if line is not None else {})
        where = f" (line {line})" if line is not None else ""
        super().__init__("invalid", "bad_file", f"{message}{where}: nothing was imported", details)


@dataclass(frozen=True, slots=True)
class SettlementRow:
    """One of the PSP's balance transactions. ``gross`` is what the client paid (or was paid),
    in ``currency``: the payment's own, which matching compares with ours. ``fee`` and ``net``
    are in ``settled_currency`` (None: ``currency``), where a PSP that converts books
    ``gross`` x ``rate`` - ``fee``. A crypto transfer also says what moved on chain."""

    line: int
    external_id: str
    category: str  # charge, refund, dispute, payout
    source_id: str
    gross: Decimal
    fee: Decimal
    net: Decimal
    currency: str
    created_at: datetime
    settled_currency: str | None = None
    rate: Decimal = Decimal(1)  # settled_currency per unit of currency
    asset: str | None = None  # the coin a crypto transfer moved (USDT)
    asset_amount: Decimal | None = None

    @property
    def settles_in(self) -> str:
        return self.settled_currency or self.currency


@dataclass(frozen=True, slots=True)
class StatementLine:
    line: int
    iban: str
    booked_on: date
    amount: Decimal  # credit positive
    currency: str
    reference: str
    end_to_end_id: str | None


@dataclass(frozen=True, slots=True)
class Statement:
    format: str  # camt.053, csv
    lines: list[StatementLine]
    closing: dict[tuple[str, str], tuple[date, Decimal]]  # (iban, currency) -> (as of, balance)


def _decimal(text: str, what: str, line: int) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise BadFile(f"{what} {text!r} is not a number", line) from None
    if not value.is_finite():
        raise BadFile(f"{what} {text!r} is not a number", line)
    return value


def _currency(text: str, line: int) -> str:
    code = text.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise BadFile(f"currency {text!r} is not an ISO 4217 code", line)
    return code


def _rows(data: bytes, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadFile("the file is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise BadFile(f"the header lacks {', '.join(missing)}", 1)
    rows = []
    for row in reader:
        if None in row or any(row.get(c) is None for c in columns):
            raise BadFile("the row has another number of fields than the header",
                          reader.line_num)  # fmt: skip
        rows.append((reader.line_num, {k: v or "" for k, v in row.items()}))
    return rows


CARD_COLUMNS = ("balance_transaction_id", "created_utc", "reporting_category", "source_id",
                "gross", "fee", "net", "currency")  # fmt: skip


def stripe_balance_report(data: bytes) -> list[SettlementRow]:
    """The card PSP's itemised balance change report (Stripe's columns)."""
    parsed = []
    for line, row in _rows(data, CARD_COLUMNS):
        category = row["reporting_category"].strip()
        if category not in ("charge", "refund", "dispute", "payout"):
            raise BadFile(f"reporting_category {category!r} is not one we know", line)
        created = _utc(row, "created_utc", line)
        gross, fee, net = _amounts(row, line, "gross", "fee", "net")
        if gross - fee != net:
            raise BadFile(f"gross {gross} less fee {fee} is not net {net}", line)
        external_id, source_id = _ids(row, line, "balance_transaction_id", "source_id")
        parsed.append(SettlementRow(line, external_id, category, source_id, gross, fee, net,
                                    _currency(row["currency"], line), created))  # fmt: skip
    return parsed


def _utc(row: dict[str, str], column: str, line: int) -> datetime:
    """A report's time: ``YYYY-MM-DD HH:MM:SS``, UTC."""
    try:
        return datetime.strptime(row[column].strip() + "+0000", "%Y-%m-%d %H:%M:%S%z")
    except ValueError:
        raise BadFile(f"{column} {row[column]!r} is not a time", line) from None


def _amounts(row: dict[str, str], line: int, *columns: str) -> list[Decimal]:
    return [_decimal(row[c], c, line) for c in columns]


def _ids(row: dict[str, str], line: int, *columns: str) -> list[str]:
    ids = [row[c].strip() for c in columns]
    if not all(ids):
        raise BadFile("a row without its ids", line)
    return ids


def _within_a_minor_unit(stated: Decimal, exact: Decimal, currency: str) -> bool:
    """``stated`` is ``exact`` to ``currency``'s minor unit, however the PSP rounded: a whole
    number of minor units less than one apart from it."""
    unit = Decimal(1) if currency in ZERO_DECIMAL else Decimal("0.01")
    return stated % unit == 0 and abs(stated - exact) < unit


def _signed(category: str, gross: Decimal, line: int) -> None:
    """Money in (a charge) is positive, money out (refund, dispute, payout) negative."""
    if (gross > 0) != (category == "charge") or not gross:
        raise BadFile(f"a {category} of {gross}: a charge is positive, money going out "
                      "negative", line)  # fmt: skip


def _rate(row: dict[str, str], column: str, line: int) -> Decimal:
    rate = _decimal(row[column], column, line)
    if rate <= 0:
        raise BadFile(f"{column} {rate} is not a positive rate", line)
    return rate


# PayPal's transaction event codes (T-codes) the e-wallet's report uses
EWALLET_EVENTS = {
    "T0006": "charge",  # checkout payment received
    "T1107": "refund",  # payment refund, initiated by the merchant
    "T1106": "dispute",  # payment reversal, initiated by the wallet
    "T1201": "dispute",  # chargeback
    "T0001": "payout",  # mass pay / payout payment sent
}
EWALLET_COLUMNS = ("transaction_id", "reference_id", "invoice_id", "initiated_utc",
                   "event_code", "gross_amount", "gross_currency", "fee_amount",
                   "exchange_rate", "settled_amount", "settled_currency")  # fmt: skip


def ewallet_settlement_report(data: bytes) -> list[SettlementRow]:
    """The e-wallet's settlement report (PayPal's settlement report, Skrill's history export):
    a row per transaction event (``EWALLET_EVENTS``); a refund or reversal names the payment
    it takes back in ``reference_id``. ``gross_amount`` is in ``gross_currency``, what the
    client paid; the wallet converts it at ``exchange_rate`` into ``settled_currency`` and
    takes its fee there: ``settled_amount`` = gross x rate - fee, to the settled currency's
    minor unit (a row that does not add up is a bad file)."""
    parsed = []
    for line, row in _rows(data, EWALLET_COLUMNS):
        code = row["event_code"].strip()
        category = EWALLET_EVENTS.get(code)
        if category is None:
            raise BadFile(f"event_code {code!r} is not one we know", line)
        taken_back = category in ("refund", "dispute")
        (external_id,) = _ids(row, line, "transaction_id")
        (source_id,) = _ids(row, line, "reference_id") if taken_back else (external_id,)
        gross, fee, settled = _amounts(row, line, "gross_amount", "fee_amount", "settled_amount")
        _signed(category, gross, line)
        currency = _currency(row["gross_currency"], line)
        settles_in = _currency(row["settled_currency"], line)
        rate = _rate(row, "exchange_rate", line)
        if settles_in == currency and rate != 1:
            raise BadFile(f"exchange_rate {rate} between {currency} and itself", line)
        if not _within_a_minor_unit(settled, gross * rate - fee, settles_in):
            raise BadFile(f"settled_amount {settled} {settles_in} is not gross {gross} "
                          f"{currency} x {rate} less fee {fee}", line)  # fmt: skip
        parsed.append(SettlementRow(line, external_id, category, source_id, gross, fee,
                                    settled, currency, _utc(row, "initiated_utc", line),
                                    settles_in, rate))  # fmt: skip
    return parsed


CRYPTO_TYPES = {"deposit": "charge", "withdrawal": "payout"}
CRYPTO_COLUMNS = ("id", "created_utc", "type", "txid", "address", "asset", "asset_amount",
                  "rate", "currency", "amount", "fee", "net_amount")  # fmt: skip


def crypto_settlement_report(data: bytes) -> list[SettlementRow]:
    """The crypto gateway's settlement report: a row per transfer it credited (``deposit``:
    ``id`` is the transfer's hash, as its callbacks say) or sent (``withdrawal``: ``id`` is
    the withdrawal's), with the coins that moved (``asset_amount`` of ``asset``), the rate (the
    asset per unit of ``currency``), the ``amount`` that is worth in ``currency`` (what the
    client's payment is in), the gateway's fee and ``net_amount`` = amount - fee. A row whose
    amount is not the coins at the rate, to the currency's minor unit, is a bad file."""
    parsed = []
    for line, row in _rows(data, CRYPTO_COLUMNS):
        kind = row["type"].strip()
        category = CRYPTO_TYPES.get(kind)
        if category is None:
            raise BadFile(f"type {kind!r} is neither deposit nor withdrawal", line)
        source_id, txid, _ = _ids(row, line, "id", "txid", "address")
        asset = row["asset"].strip().upper()
        if not asset.isalnum() or len(asset) > 10:
            raise BadFile(f"asset {row['asset']!r} is not a coin's ticker", line)
        coins, amount, fee, net = _amounts(row, line, "asset_amount", "amount", "fee",
                                           "net_amount")  # fmt: skip
        _signed(category, amount, line)
        currency = _currency(row["currency"], line)
        rate = _rate(row, "rate", line)
        if (coins > 0) != (amount > 0) or not _within_a_minor_unit(abs(amount), abs(coins) / rate,
                                                                   currency):  # fmt: skip
            raise BadFile(f"amount {amount} {currency} is not {coins} {asset} at {rate} {asset} "
                          f"per {currency}", line)  # fmt: skip
        if amount - fee != net:
            raise BadFile(f"amount {amount} less fee {fee} is not net_amount {net}", line)
        parsed.append(SettlementRow(line, txid, category, source_id, amount, fee, net, currency,
                                    _utc(row, "created_utc", line), asset=asset,
                                    asset_amount=coins))  # fmt: skip
    return parsed


# provider -> its settlement file's parser (a PSP added to the stack adds its format here)
SETTLEMENT_FORMATS: dict[str, Callable[[bytes], list[SettlementRow]]] = {
    "card-sim": stripe_balance_report,
    "ewallet-sim": ewallet_settlement_report,
    "crypto-sim": crypto_settlement_report,
}


def parse_settlement(provider: str, data: bytes) -> list[SettlementRow]:
    parser = SETTLEMENT_FORMATS.get(provider)
    if parser is None:
        raise Refused("invalid", "unknown_provider", f"no settlement format for {provider!r}",
                      {"source": "backoffice", "known": sorted(SETTLEMENT_FORMATS)})  # fmt: skip
    return parser(data)


# --- bank statements -------------------------------------------------------------------------

STATEMENT_COLUMNS = ("iban", "booking_date", "amount", "currency", "reference", "end_to_end_id",
                     "closing_balance")  # fmt: skip


def parse_statement(data: bytes) -> Statement:
    """A CAMT.053 document (XML; any camt.053.001.xx version; a line's number is the count of
    statements, entries and batched transactions before it; only booked entries count as
    money on the account) or the CSV statement (``STATEMENT_COLUMNS``; a line with a
    ``closing_balance`` is the account's balance at the end of its day)."""
    return _camt053(data) if data.lstrip()[:1] == b"<" else _csv_statement(data)


def _csv_statement(data: bytes) -> Statement:
    lines: list[StatementLine] = []
    closing: dict[tuple[str, str], tuple[date, Decimal]] = {}
    for line, row in _rows(data, STATEMENT_COLUMNS):
        iban = row["iban"].replace(" ", "").upper()
        if not iban:
            raise BadFile("a line without its account", line)
        try:
            booked = date.fromisoformat(row["booking_date"].strip())
        except ValueError:
            raise BadFile(f"booking_date {row['booking_date']!r} is not a date", line) from None
        currency = _currency(row["currency"], line)
        if row["closing_balance"].strip():  # the account's closing balance line
            closing[(iban, currency)] = (booked, _decimal(row["closing_balance"], "closing", line))
            continue
        lines.append(StatementLine(line, iban, booked, _decimal(row["amount"], "amount", line),
                                   currency, row["reference"].strip(),
                                   row["end_to_end_id"].strip() or None))  # fmt: skip
    return Statement("csv", lines, closing)


def _camt053(data: bytes) -> Statement:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise BadFile("a statement with a DTD or entities is refused")
    try:
        root = ET.fromstring(data)  # noqa: S314 (no DTD, no entities: checked above)
    except ET.ParseError as exc:
        raise BadFile(f"not well-formed XML: {exc}") from None
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    if not ns.startswith("{urn:iso:std:iso:20022:tech:xsd:camt.053"):
        raise BadFile("not a CAMT.053 document (BkToCstmrStmt)")

    def text(node: ET.Element, path: str, what: str, line: int) -> str:
        found = node.find("/".join(ns + part for part in path.split("/")))
        if found is None or not (found.text or "").strip():
            raise BadFile(f"{what} is missing", line)
        return (found.text or "").strip()

    lines: list[StatementLine] = []
    closing: dict[tuple[str, str], tuple[date, Decimal]] = {}
    number = 0
    for stmt in root.iter(f"{ns}Stmt"):
        number += 1
        iban = text(stmt, "Acct/Id/IBAN", "the account's IBAN", number).replace(" ", "").upper()
        for bal in stmt.findall(f"{ns}Bal"):
            code = bal.find(f"{ns}Tp/{ns}CdOrPrtry/{ns}Cd")
            if code is None or code.text != "CLBD":
                continue
            amt = bal.find(f"{ns}Amt")
            if amt is None:
                raise BadFile("a balance without its amount", number)
            value = _decimal(amt.text or "", "balance", number)
            sign = -1 if text(bal, "CdtDbtInd", "the balance's side", number) == "DBIT" else 1
            as_of = date.fromisoformat(text(bal, "Dt/Dt", "the balance's date", number)[:10])
            closing[(iban, _currency(amt.get("Ccy", ""), number))] = (as_of, sign * value)
        for entry in stmt.findall(f"{ns}Ntry"):
            number += 1
            amt = entry.find(f"{ns}Amt")
            if amt is None:
                raise BadFile("an entry without its amount", number)
            value = _decimal(amt.text or "", "amount", number)
            side = text(entry, "CdtDbtInd", "the entry's side", number)
            if side not in ("CRDT", "DBIT"):
                raise BadFile(f"CdtDbtInd {side!r} is neither CRDT nor DBIT", number)
            booked_text = text(entry, "BookgDt/Dt", "the booking date", number)
            try:
                booked = date.fromisoformat(booked_text[:10])
            except ValueError:
                raise BadFile(f"booking date {booked_text!r} is not a date", number) from None
            status = entry.find(f"{ns}Sts/{ns}Cd")  # camt.053.001.08 on; .02 has text
            status = entry.find(f"{ns}Sts") if status is None else status
            if status is not None and (status.text or "").strip() not in ("BOOK", ""):
                continue  # pending or informational: not money on the account yet
            currency = _currency(amt.get("Ccy", ""), number)
            details = entry.findall(f"{ns}NtryDtls/{ns}TxDtls")
            if len(details) > 1:  # a batch booking: each transaction is a line of its own
                parts: list[tuple[Decimal, ET.Element | None]] = [
                    (_detail_amount(d, ns, number), d) for d in details]  # fmt: skip
                if sum(a for a, _ in parts) != value:
                    raise BadFile("the batch's transactions do not sum to its entry", number)
            else:
                parts = [(value, details[0] if details else None)]
            for index, (part, detail) in enumerate(parts):
                number += 1 if index else 0  # a batch's transactions are numbered on
                lines.append(StatementLine(
                    number, iban, booked, part if side == "CRDT" else -part, currency,
                    _remittance(detail, ns), _end_to_end(detail, ns),
                ))  # fmt: skip
    if not number:
        raise BadFile("the document holds no statement")
    return Statement("camt.053", lines, closing)


def _detail_amount(detail: ET.Element, ns: str, line: int) -> Decimal:
    amt = detail.find(f"{ns}AmtDtls/{ns}TxAmt/{ns}Amt")
    amt = detail.find(f"{ns}Amt") if amt is None else amt
    if amt is None:
        raise BadFile("a batch transaction without its amount", line)
    return _decimal(amt.text or "", "amount", line)


def _remittance(detail: ET.Element | None, ns: str) -> str:
    """The structured creditor reference (where SEPA puts an RF reference) and the
    unstructured text, in that order."""
    if detail is None:
        return ""
    paths = (f"{ns}RmtInf/{ns}Strd/{ns}CdtrRefInf/{ns}Ref", f"{ns}RmtInf/{ns}Ustrd")
    found = [(node.text or "").strip() for path in paths for node in detail.findall(path)]
    return " ".join(part for part in found if part)


def _end_to_end(detail: ET.Element | None, ns: str) -> str | None:
    node = None if detail is None else detail.find(f"{ns}Refs/{ns}EndToEndId")
    text = "" if node is None else (node.text or "").strip()
    return None if text in ("", "NOTPROVIDED") else text
