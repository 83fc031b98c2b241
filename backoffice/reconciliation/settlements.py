"""A PSP's settlement file: imported once by SHA-256 (the same file again answers the first
import), refused whole when a line is bad, then matched against our payments.

Matching, per PSP payment the file lists (its charges, refunds and disputes summed; payouts
by their id) against ours with that PSP id, and per payment of ours the PSP settled within the
file's days (``succeeded_at``, UTC) that the file does not list:

- ``missing_here``: the PSP settled a payment we have no record of;
- ``missing_at_psp``: we credited (or paid out) a payment the PSP's file does not list;
- ``currency_differs`` / ``amount_differs``: the PSP's currency or gross is not ours (the
  amount we credited, or paid out): the gross the client paid, in the payment's currency,
  whatever currency the PSP converted it to for us;
- ``status_differs``: the PSP refunded or disputed one we hold as succeeded, or settled one we
  hold as failed (and the other way round).

Each finding is one exception by fingerprint (the PSP, the kind, its payment, both sides'
figures): importing an overlapping file or matching again adds none.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from backoffice.audit import Actor, record
from backoffice.errors import Refused
from backoffice.payments.psp import plain
from backoffice.reconciliation.formats import SettlementRow, parse_settlement

MAX_BYTES = 20 * 1024 * 1024
# our payment statuses -> what the PSP's file shows for them
_SETTLED_AS = {"succeeded": "succeeded", "refunded": "refunded", "chargeback": "chargeback"}


@dataclass(frozen=True, slots=True)
class Imported:
    file_id: int
    provider: str
    filename: str
    sha256: str
    rows: int
    exceptions: int  # found by this import (0 when the file was imported before)
    already: bool


def import_settlement(
    conn: psycopg.Connection[Any], actor: Actor, provider: str, filename: str, data: bytes
) -> Imported:
    """Parse, store and match one settlement file (committed)."""
    if len(data) > MAX_BYTES:
        raise Refused("invalid", "file_too_large", f"a settlement file is at most {MAX_BYTES} "
                      "bytes", {"source": "backoffice"})  # fmt: skip
    digest = hashlib.sha256(data).hexdigest()
    known = conn.execute(
        "SELECT id, source, filename, row_count FROM recon_files WHERE sha256 = %s", (digest,)
    ).fetchone()
    if known is not None:
        return Imported(int(known[0]), str(known[1]), str(known[2]), digest, int(known[3]), 0,
                        already=True)  # fmt: skip
    rows = parse_settlement(provider, data)
    days = [r.created_at.date() for r in rows]
    staff = int(actor.id) if actor.type == "staff" else None
    with conn.transaction():
        file_row = conn.execute(
            """INSERT INTO recon_files (kind, source, filename, sha256, covers_from, covers_to,
                                        row_count, imported_by)
               VALUES ('settlement', %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (sha256) DO NOTHING RETURNING id""",
            (provider, filename, digest, min(days, default=None), max(days, default=None),
             len(rows), staff),
        ).fetchone()  # fmt: skip
        if file_row is None:  # imported by a concurrent call meanwhile
            raise Refused("conflict", "import_in_progress", "this file is being imported now",
                          {"source": "backoffice", "sha256": digest})  # fmt: skip
        file_id = int(file_row[0])
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO settlement_rows (file_id, line, provider, external_id, category,
                                                source_id, gross, fee, net, currency,
                                                settled_currency, rate, asset, asset_amount,
                                                created_at)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                [(file_id, r.line, provider, r.external_id, r.category, r.source_id, r.gross,
                  r.fee, r.net, r.currency, r.settles_in, r.rate, r.asset, r.asset_amount,
                  r.created_at) for r in rows],
            )  # fmt: skip
        found = match(conn, file_id, provider, rows)
        record(conn, actor, "reconciliation.settlement_imported", "recon_file", file_id, None,
               {"provider": provider, "filename": filename, "sha256": digest,
                "rows": len(rows), "exceptions": found})  # fmt: skip
    conn.commit()
    return Imported(file_id, provider, filename, digest, len(rows), found, already=False)


@dataclass
class _Theirs:
    gross: Decimal = Decimal(0)
    currencies: set[str] | None = None
    status: str = "succeeded"
    payout: bool = False


def _theirs(rows: list[SettlementRow]) -> dict[str, _Theirs]:
    seen: dict[str, _Theirs] = defaultdict(_Theirs)
    for row in rows:
        item = seen[row.source_id]
        item.currencies = (item.currencies or set()) | {row.currency}
        if row.category in ("charge", "payout"):
            item.gross += abs(row.gross)
            item.payout = row.category == "payout"
        elif row.category == "refund" and item.status != "chargeback":
            item.status = "refunded"
        elif row.category == "dispute":
            item.status = "chargeback"
    return seen


def match(
    conn: psycopg.Connection[Any], file_id: int, provider: str, rows: list[SettlementRow]
) -> int:
    """Record what the file and our payments disagree on; how many new exceptions."""
    theirs = _theirs(rows)
    ours = {
        str(r[1]): r
        for r in conn.execute(
            """SELECT id, psp_payment_id, brand_id, status, currency,
                      coalesce(received_amount, amount), direction
               FROM payments WHERE psp = %s AND psp_payment_id = ANY(%s)""",
            (provider, list(theirs)),
        ).fetchall()
    }
    findings: list[tuple[str, Any, str, dict[str, Any], dict[str, Any]]] = []
    for source_id, psp in theirs.items():
        currency = ",".join(sorted(psp.currencies or ()))
        told = {"gross": plain(psp.gross), "currency": currency, "status": psp.status}
        row = ours.get(source_id)
        if row is None:
            findings.append(("missing_here", None, source_id, {}, told))
            continue
        mine = {"amount": plain(Decimal(row[5])), "currency": str(row[4]), "status": str(row[3])}
        if currency != row[4]:
            findings.append(("currency_differs", row, source_id, mine, told))
        elif psp.gross and psp.gross != Decimal(row[5]):
            findings.append(("amount_differs", row, source_id, mine, told))
        if _SETTLED_AS.get(str(row[3])) != psp.status:
            findings.append(("status_differs", row, source_id, mine, told))
    days = sorted({r.created_at.date() for r in rows})
    if days:
        start = days[0]
        for row in conn.execute(
            """SELECT id, psp_payment_id, brand_id, status, currency,
                      coalesce(received_amount, amount), direction
               FROM payments
               WHERE psp = %s AND status = ANY(%s) AND succeeded_at >= %s::date::timestamptz
                 AND succeeded_at < %s::date::timestamptz
                 AND NOT (coalesce(psp_payment_id, '') = ANY(%s))""",
            (provider, list(_SETTLED_AS), start, days[-1] + timedelta(days=1), list(theirs)),
        ).fetchall():  # fmt: skip
            if row[1] is None or row[5] is None:
                continue
            mine = {"amount": plain(Decimal(row[5])), "currency": str(row[4]),
                    "status": str(row[3])}  # fmt: skip
            findings.append(("missing_at_psp", row, str(row[1]), mine, {}))
    added = 0
    for kind, row, source_id, mine, told in findings:
        fingerprint = hashlib.sha256(json.dumps([provider, kind, source_id, mine, told],
                                                sort_keys=True).encode()).hexdigest()  # fmt: skip
        inserted = conn.execute(
            """INSERT INTO recon_exceptions (fingerprint, kind, provider, file_id, brand_id,
                                             payment_id, source_id, ours, theirs)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (fingerprint) DO NOTHING RETURNING id""",
            (fingerprint, kind, provider, file_id, None if row is None else row[2],
             None if row is None else row[0], source_id, Jsonb(mine), Jsonb(told)),
        ).fetchone()  # fmt: skip
        added += inserted is not None
    return added
