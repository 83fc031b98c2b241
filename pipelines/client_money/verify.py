"""What the asset checks verify about a trade date's reconciliations; each function returns
the problems found, one sentence each (empty: all is well)."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from backoffice.reconciliation.client_money import ZERO, status_of

_LATEST = """
SELECT DISTINCT ON (brand_id, currency) id, currency, version, difference
FROM client_money_reconciliations WHERE trade_date = %s
ORDER BY brand_id, currency, version DESC
"""


def unexplained_differences(conn: psycopg.Connection[Any], trade_date: date) -> list[str]:
    """Latest versions with a difference that no staff member has explained yet."""
    problems = []
    for rec_id, currency, version, difference in conn.execute(_LATEST, (trade_date,)):
        if difference == 0:
            continue
        explained = conn.execute(
            """SELECT 1 FROM client_money_signoffs
               WHERE reconciliation_id = %s AND role = 'explanation'""",
            (rec_id,),
        ).fetchone()
        if explained is None:
            problems.append(
                f"reconciliation {rec_id} ({currency} v{version}): difference {difference} "
                "not explained"
            )
    return problems


def totals_mismatches(conn: psycopg.Connection[Any], trade_date: date) -> list[str]:
    """Reconciliations whose lines, totals, difference or status disagree, or that lack the
    preparer's sign-off."""
    problems = []
    recs = conn.execute(
        """SELECT id, entitlement, held, difference, status FROM client_money_reconciliations
           WHERE trade_date = %s ORDER BY id""",
        (trade_date,),
    ).fetchall()
    for rec_id, entitlement, held, difference, status in recs:
        lines = conn.execute(
            """SELECT client_id, wallets, trading_equity, entitlement FROM client_money_lines
               WHERE reconciliation_id = %s""",
            (rec_id,),
        ).fetchall()
        for client_id, wallets, trading, owed in lines:
            if owed != max(wallets + trading, ZERO):
                problems.append(f"reconciliation {rec_id}: client {client_id}'s line is {owed}")
        total = sum((line[3] for line in lines), ZERO)
        if total != entitlement:
            problems.append(f"reconciliation {rec_id}: lines sum to {total}, total {entitlement}")
        if held - entitlement != difference or status_of(difference) != status:
            problems.append(
                f"reconciliation {rec_id}: held {held} - entitlement {entitlement} "
                f"is not the difference {difference} ({status})"
            )
        preparer = conn.execute(
            """SELECT 1 FROM client_money_signoffs
               WHERE reconciliation_id = %s AND role = 'preparer'""",
            (rec_id,),
        ).fetchone()
        if preparer is None:
            problems.append(f"reconciliation {rec_id}: no preparer sign-off")
    return problems


def archive_mismatches(conn: psycopg.Connection[Any], root: Path, trade_date: date) -> list[str]:
    """Reconciliations whose archive file is missing or differs from its recorded checksum."""
    problems = []
    for rec_id, path, digest in conn.execute(
        """SELECT id, archive_path, archive_sha256 FROM client_money_reconciliations
           WHERE trade_date = %s ORDER BY id""",
        (trade_date,),
    ):
        file = root / path
        if not file.is_file():
            problems.append(f"reconciliation {rec_id}: archive {path} is missing")
        elif hashlib.sha256(file.read_bytes()).hexdigest() != digest:
            problems.append(f"reconciliation {rec_id}: archive {path} fails its checksum")
    return problems
