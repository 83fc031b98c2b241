"""Bank statements of the client-money accounts (CAMT.053 or CSV): imported once by SHA-256,
refused whole at a bad line; their credits pay the bank-wire deposits they name.

A credit line quoting a deposit's creditor reference (ISO 11649, checked) credits that deposit
with what arrived, once: a line seen in an earlier statement (the same account, day, amount,
currency, remittance text and end-to-end id: overlapping statements repeat lines) is not
applied again. What cannot be applied goes to the exception queue instead of being credited
silently: a credit naming no deposit of ours (``missing_here``), in another currency
(``currency_differs``), for a deposit already paid (``status_differs``); a credit of another
amount than asked is credited as received and flagged (``amount_differs``) for finance.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from backoffice.audit import Actor, record
from backoffice.errors import Refused
from backoffice.payments.bank_wire import BankWireProvider, references_in
from backoffice.payments.processing import apply_event
from backoffice.payments.psp import PspEvent, plain
from backoffice.reconciliation.formats import StatementLine, parse_statement
from backoffice.reconciliation.settlements import MAX_BYTES
from backoffice.scope import BrandScope
from warehouse.client_money import record_bank_balances

PROVIDER = BankWireProvider.name


@dataclass(frozen=True, slots=True)
class StatementImport:
    file_id: int
    format: str
    sha256: str
    lines: int
    credited: int  # deposits this import paid
    exceptions: int
    already: bool


def line_keys(lines: list[StatementLine]) -> list[str]:
    """Each line's identity across overlapping statements: what it says, and how many lines of
    this file said the same before it (two equal wires on one day are two lines, and a later
    statement repeating both repeats two)."""
    seen: Counter[str] = Counter()
    keys = []
    for line in lines:
        said = json.dumps([line.iban, line.booked_on.isoformat(), plain(line.amount),
                           line.currency, line.reference, line.end_to_end_id or ""])  # fmt: skip
        keys.append(hashlib.sha256(f"{said}#{seen[said]}".encode()).hexdigest())
        seen[said] += 1
    return keys


def import_statement(
    conn: psycopg.Connection[Any], actor: Actor, scope: BrandScope, brand: str, filename: str,
    data: bytes,
) -> StatementImport:  # fmt: skip
    """Parse, store and apply one statement file of ``brand``'s client-money account
    (committed). Its closing balances are also the bank's side of the pipelines' client-money
    reconciliation (``client_money_bank_balances``), as a balances file in the settlement
    folder would be."""
    found_brand = conn.execute("SELECT id FROM brands WHERE code = %s", (brand,)).fetchone()
    if found_brand is None or not scope.allows(int(found_brand[0])):
        raise Refused("not_found", "brand_not_found", f"no brand {brand!r} of yours",
                      {"source": "backoffice"})  # fmt: skip
    brand_id = int(found_brand[0])
    if len(data) > MAX_BYTES:
        raise Refused("invalid", "file_too_large", f"a statement is at most {MAX_BYTES} bytes",
                      {"source": "backoffice"})  # fmt: skip
    digest = hashlib.sha256(data).hexdigest()
    known = conn.execute("SELECT id, source, row_count FROM recon_files WHERE sha256 = %s",
                         (digest,)).fetchone()  # fmt: skip
    if known is not None:
        return StatementImport(int(known[0]), str(known[1]), digest, int(known[2]), 0, 0,
                               already=True)  # fmt: skip
    statement = parse_statement(data)
    days = [line.booked_on for line in statement.lines] + [d for d, _ in statement.closing.values()]
    staff = int(actor.id) if actor.type == "staff" else None
    credited = found = 0
    with conn.transaction():
        row = conn.execute(
            """INSERT INTO recon_files (kind, source, filename, sha256, covers_from, covers_to,
                                        row_count, imported_by)
               VALUES ('statement', %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (sha256) DO NOTHING RETURNING id""",
            (statement.format, filename, digest, min(days, default=None),
             max(days, default=None), len(statement.lines), staff),
        ).fetchone()  # fmt: skip
        if row is None:
            raise Refused("conflict", "import_in_progress", "this file is being imported now",
                          {"source": "backoffice", "sha256": digest})  # fmt: skip
        file_id = int(row[0])
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO statement_balances (file_id, iban, currency, as_of, closing)
                   VALUES (%s, %s, %s, %s, %s)""",
                [(file_id, iban, ccy, as_of, closing)
                 for (iban, ccy), (as_of, closing) in statement.closing.items()],
            )  # fmt: skip
        _client_money_balances(conn, brand_id, filename, digest, statement.closing)
        for line, key in zip(statement.lines, line_keys(statement.lines), strict=True):
            seen = conn.execute("SELECT 1 FROM statement_lines WHERE line_key = %s LIMIT 1",
                                (key,)).fetchone()  # fmt: skip
            conn.execute(
                """INSERT INTO statement_lines (file_id, line, iban, booked_on, amount, currency,
                                                reference, end_to_end_id, line_key)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                (file_id, line.line, line.iban, line.booked_on, line.amount, line.currency,
                 line.reference, line.end_to_end_id, key),
            )  # fmt: skip
            if seen is None and line.amount > 0:
                paid, flagged = _apply_credit(conn, file_id, brand_id, line, key)
                credited += paid
                found += flagged
        record(conn, actor, "reconciliation.statement_imported", "recon_file", file_id, None,
               {"format": statement.format, "filename": filename, "sha256": digest, "brand": brand,
                "lines": len(statement.lines), "credited": credited,
                "exceptions": found})  # fmt: skip
    conn.commit()
    return StatementImport(file_id, statement.format, digest, len(statement.lines), credited,
                           found, already=False)  # fmt: skip


def _client_money_balances(
    conn: psycopg.Connection[Any], brand_id: int, filename: str, digest: str,
    closing: dict[tuple[str, str], tuple[date, Decimal]],
) -> None:  # fmt: skip
    if not closing:
        return
    # the same file delivered to the settlement folder too is recorded once
    record_bank_balances(conn, filename, digest, [
        (brand_id, iban, ccy, as_of, balance) for (iban, ccy), (as_of, balance) in closing.items()
    ])  # fmt: skip


def _apply_credit(
    conn: psycopg.Connection[Any], file_id: int, brand_id: int, line: StatementLine, key: str
) -> tuple[int, int]:
    """(deposits credited, exceptions opened) by one new credit line."""
    told = {"amount": plain(line.amount), "currency": line.currency, "iban": line.iban,
            "reference": line.reference, "booked_on": line.booked_on.isoformat()}  # fmt: skip
    payment, reference = None, ""
    for reference in references_in(line.reference):
        payment = conn.execute(
            """SELECT id, brand_id, status, amount, currency FROM payments
               WHERE psp = %s AND psp_payment_id = %s AND direction = 'deposit' FOR UPDATE""",
            (PROVIDER, reference),
        ).fetchone()
        if payment is not None:
            break
    if payment is None:
        # no payment of ours: the brand is the account's, whose statement this is
        return 0, _exception(conn, "missing_here", file_id, (None, brand_id), key, {}, told)
    payment_id, _, status, asked, currency = payment
    mine = {"amount": plain(Decimal(asked)), "currency": str(currency), "status": str(status)}
    if line.currency != currency:
        return 0, _exception(conn, "currency_differs", file_id, payment, key, mine, told)
    if status not in ("pending", "canceled"):  # an expired wire is still the client's money
        return 0, _exception(conn, "status_differs", file_id, payment, key, mine, told)
    # credited now (the timeline's order); the bank's booking day stays on the statement line
    event = PspEvent(
        event_id=f"statement:{key}", type="bank.credit", psp_payment_id=reference,
        payment_id=int(payment_id), status="succeeded", amount=line.amount,
        currency=line.currency, failure=None, at=datetime.now(UTC),
    )  # fmt: skip
    apply_event(conn, None, PROVIDER, event)
    flagged = 0
    if line.amount != Decimal(asked):
        flagged = _exception(conn, "amount_differs", file_id, payment, key, mine, told)
    return 1, flagged


def _exception(
    conn: psycopg.Connection[Any], kind: str, file_id: int, payment: Any, key: str,
    mine: dict[str, Any], told: dict[str, Any],
) -> int:  # fmt: skip
    row = conn.execute(
        """INSERT INTO recon_exceptions (fingerprint, kind, provider, file_id, brand_id,
                                         payment_id, source_id, ours, theirs)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (fingerprint) DO NOTHING RETURNING id""",
        (f"statement:{kind}:{key}", kind, PROVIDER, file_id,
         payment[1], payment[0],
         told["reference"][:200] or None, Jsonb(mine), Jsonb(told)),
    ).fetchone()  # fmt: skip
    return int(row is not None)
