"""The files reconciliation reads, each parsed whole or refused whole (the first bad line
named): a settlement CSV per PSP (:data:`SETTLEMENT_FORMATS`, keyed by provider) and bank
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


class BadFile(Refused):
    def __init__(self, message: str, line: int | None = None) -> None:
        details = {"source": "backoffice"} | ({"line": line} if line is not None else {})
        where = f" (line {line})" if line is not None else ""
        super().__init__("invalid", "bad_file", f"{message}{where}: nothing was imported", details)


@dataclass(frozen=True, slots=True)
class SettlementRow:
    line: int
    external_id: str
    category: str  # charge, refund, dispute, payout
    source_id: str
    gross: Decimal
    fee: Decimal
    net: Decimal
    currency: str
    created_at: datetime


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
        try:
            created = datetime.strptime(row["created_utc"].strip() + "+0000", "%Y-%m-%d %H:%M:%S%z")
        except ValueError:
            raise BadFile(f"created_utc {row['created_utc']!r} is not a time", line) from None
        gross, fee, net = (_decimal(row[k], k, line) for k in ("gross", "fee", "net"))
        if gross - fee != net:
            raise BadFile(f"gross {gross} less fee {fee} is not net {net}", line)
        if not row["balance_transaction_id"].strip() or not row["source_id"].strip():
            raise BadFile("a row without its ids", line)
        parsed.append(SettlementRow(line, row["balance_transaction_id"].strip(), category,
                                    row["source_id"].strip(), gross, fee, net,
                                    _currency(row["currency"], line),
                                    created))  # fmt: skip
    return parsed


# provider -> its settlement file's parser (a PSP added to the stack adds its format here)
SETTLEMENT_FORMATS: dict[str, Callable[[bytes], list[SettlementRow]]] = {
    "card-sim": stripe_balance_report,
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
                parts = [(_detail_amount(d, ns, number), d) for d in details]
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
