"""Bank statements of the client-money accounts, as the banks' exports arrive in the
settlement folder, loaded once per file.

The format is one CSV file per delivery (UTF-8, a BOM tolerated, comma separated), with this
header and one row per bank account, currency and day::

    brand,bank_account,currency,as_of,closing_balance
    demo,CY17002001280000001200527600,EUR,2026-03-03,125000.00

- ``brand``: the brand's code (``brands.code``) whose client money the account holds;
- ``bank_account``: the account's IBAN or the bank's own account number, as the bank prints it;
- ``currency``: ISO 4217, upper case;
- ``as_of``: the trade date (ISO ``YYYY-MM-DD``, a weekday) the closing balance belongs to;
- ``closing_balance``: the ledger closing balance, a plain decimal (``-`` allowed, at most 8
  places, no thousands separators or exponents).

A file may carry several accounts and days. Senders deliver it by an atomic rename (write
``name.csv.part``, then rename it to ``name.csv``): only ``*.csv`` files are read, so a file
being written is never half-read. A file is loaded once, by its SHA-256; a corrected statement
is a new file whose rows supersede the earlier ones for the same account and day. A file with
any bad row is rejected whole and reported; nothing of it is loaded.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import psycopg

from warehouse.client_money import record_bank_balances

COLUMNS = ("brand", "bank_account", "currency", "as_of", "closing_balance")
_AMOUNT = re.compile(r"^-?\d{1,20}(\.\d{1,8})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_MAX_ERRORS = 20  # enough to fix a file; a wholly wrong file would otherwise flood the log


class SettlementFileError(ValueError):
    """A statement file that cannot be loaded; the message lists what is wrong with it."""


@dataclass(frozen=True, slots=True)
class BankBalance:
    brand: str
    bank_account: str
    currency: str
    as_of: date
    balance: Decimal


@dataclass(frozen=True, slots=True)
class FileLoad:
    """What became of one file in the folder."""

    name: str
    sha256: str
    status: Literal["loaded", "already_loaded", "rejected"]
    rows: int
    error: str = ""


def statement_paths(folder: Path) -> list[Path]:
    """The delivered statement files, in name order."""
    return sorted(p for p in folder.glob("*.csv") if p.is_file() and not p.name.startswith("."))


def parse_statement(data: bytes) -> list[BankBalance]:
    """Every row of a statement file, or :class:`SettlementFileError` naming each bad line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SettlementFileError(f"not UTF-8: {error}") from error
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != COLUMNS:
        raise SettlementFileError(f"header must be {','.join(COLUMNS)}, got {header}")
    rows: list[BankBalance] = []
    errors: list[str] = []
    seen: dict[tuple[str, str, str, date], int] = {}
    for line, fields in enumerate(reader, start=2):
        if not fields or all(not f.strip() for f in fields):
            continue
        try:
            row = _row(fields)
        except ValueError as error:
            errors.append(f"line {line}: {error}")
            continue
        key = (row.brand, row.bank_account, row.currency, row.as_of)
        if key in seen:
            errors.append(f"line {line}: repeats the account and day of line {seen[key]}")
        seen[key] = line
        rows.append(row)
    if not rows and not errors:
        errors.append("no balances")
    if errors:
        more = f" (and {len(errors) - _MAX_ERRORS} more)" if len(errors) > _MAX_ERRORS else ""
        raise SettlementFileError("; ".join(errors[:_MAX_ERRORS]) + more)
    return rows


def _row(fields: list[str]) -> BankBalance:
    if len(fields) != len(COLUMNS):
        raise ValueError(f"{len(fields)} fields, expected {len(COLUMNS)}")
    brand, bank_account, currency, as_of, amount = (f.strip() for f in fields)
    if not brand:
        raise ValueError("brand is empty")
    if not bank_account:
        raise ValueError("bank_account is empty")
    if not _CURRENCY.match(currency):
        raise ValueError(f"currency {currency!r} is not an ISO 4217 code")
    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        raise ValueError(f"as_of {as_of!r} is not a YYYY-MM-DD date") from None
    if day.weekday() >= 5:
        raise ValueError(f"as_of {day} is a weekend, not a trade date")
    if not _AMOUNT.match(amount):
        raise ValueError(f"closing_balance {amount!r} is not a plain decimal")
    return BankBalance(brand, bank_account, currency, day, Decimal(amount))


def load_settlement_files(conn: psycopg.Connection[Any], folder: Path) -> list[FileLoad]:
    """Load each statement file of the folder not loaded before, each in its own transaction
    (a bad file stops only itself)."""
    results: list[FileLoad] = []
    for path in statement_paths(folder):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if conn.execute("SELECT 1 FROM settlement_files WHERE sha256 = %s", (digest,)).fetchone():
            results.append(FileLoad(path.name, digest, "already_loaded", 0))
            continue
        try:
            rows = parse_statement(data)
            with conn.transaction():
                loaded = _insert(conn, path.name, digest, rows)
        except SettlementFileError as error:
            results.append(FileLoad(path.name, digest, "rejected", 0, str(error)))
            continue
        results.append(
            FileLoad(path.name, digest, "loaded" if loaded else "already_loaded", len(rows))
        )
    return results


def _insert(conn: psycopg.Connection[Any], name: str, digest: str, rows: list[BankBalance]) -> bool:
    """Insert one file's balances; False when another run loaded the same file meanwhile."""
    codes = sorted({r.brand for r in rows})
    brands = dict(
        conn.execute("SELECT code, id FROM brands WHERE code = ANY(%s)", (codes,)).fetchall()
    )
    unknown = [c for c in codes if c not in brands]
    if unknown:
        raise SettlementFileError(f"unknown brand(s): {', '.join(unknown)}")
    balances = [(brands[r.brand], r.bank_account, r.currency, r.as_of, r.balance) for r in rows]
    return record_bank_balances(conn, name, digest, balances)
