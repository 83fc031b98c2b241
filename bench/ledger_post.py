"""Ledger transfers per second through the posting function, single and batched, against a
plain INSERT of the same rows into the same tables in the same run.

Run: uv run python -m bench.ledger_post [--single 2000] [--batches 40] [--batch-size 1000]
[--wallets 1000] [--runs 3]

Starts an embedded PostgreSQL (as the tests do), migrates and seeds a fresh database, and
makes ``--wallets`` client wallets (guarded ledger accounts). Each transfer is a deposit of
10.00 from the PSP's clearing account into one wallet (wallets in turn), with its idempotency
key. Per run:

* single: ``--single`` transfers, one ``ledger.post`` and one commit each; baseline: the same
  rows (the transfer and its two entries) by plain INSERTs, one commit each;
* batched: ``--batches`` calls of ``ledger.post`` with ``--batch-size`` transfers, one commit
  each; baseline: the same rows by two unnest INSERTs per batch (transfers, then entries).

The posting function does more than the baseline: it validates, hashes the content, looks up
the accounts, locks and updates the wallets' stored balances, and checks their floors. Both
pay the schema's own work (the balanced-transfer constraint trigger, foreign keys, indexes).
Prints transfers per second and the ratio ledger / plain for each (aim: >= 0.5, and >= 5,000
transfers/s batched).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from decimal import Decimal
from typing import Any

import psycopg

from bench.warehouse_server import seeded_warehouse
from warehouse import ledger

AMOUNT = Decimal("10.00")
_keys = itertools.count(1)


def make_wallets(conn: psycopg.Connection[Any], count: int) -> tuple[int, list[int]]:
    conn.execute(
        """INSERT INTO clients (brand_id, email, first_name, last_name, country)
           SELECT b.id, 'bench' || n || '@example.test', 'Bench', 'Client', 'DE'
           FROM brands b, generate_series(1, %s) n WHERE b.code = 'demo'""",
        (count,),
    )
    wallets = [
        int(r[0])
        for r in conn.execute(
            """INSERT INTO ledger_accounts (code, kind, currency, client_id)
               SELECT 'client:' || id || ':wallet:EUR', 'client_wallet', 'EUR', id FROM clients
               RETURNING id"""
        )
    ]
    conn.commit()
    return account(conn, "demo:psp_clearing:stub-psp:EUR"), wallets


def account(conn: psycopg.Connection[Any], code: str) -> int:
    row = conn.execute("SELECT id FROM ledger_accounts WHERE code = %s", (code,)).fetchone()
    assert row is not None
    return int(row[0])


def transfers(psp: int, wallets: list[int], count: int, tag: str) -> list[ledger.Transfer]:
    out = []
    for _ in range(count):
        n = next(_keys)
        out.append(ledger.move(f"{tag}-{n}", "EUR", "deposit", psp, wallets[n % len(wallets)],
                               AMOUNT))  # fmt: skip
    return out


def plain_insert(conn: psycopg.Connection[Any], batch: list[ledger.Transfer], bank: int) -> None:
    """The same rows as the posting function writes, by two plain INSERTs; the wallet's side
    goes to the bank's account instead (a plain INSERT into a guarded wallet would leave its
    stored balance behind, and the run's closing check would rightly say so)."""
    ids = [
        int(r[0])
        for r in conn.execute(
            """INSERT INTO ledger_transfers (idempotency_key, currency, kind, created_by)
               SELECT k, 'EUR', 'deposit', 'bench' FROM unnest(%s::text[]) AS t(k)
               RETURNING id""",
            ([t.key for t in batch],),
        )
    ]
    conn.execute(
        """INSERT INTO ledger_entries (transfer_id, ledger_account_id, currency, amount)
           SELECT t, a, 'EUR', x FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[])
                AS e(t, a, x)""",
        (
            [i for i in ids for _ in range(2)],
            [e.account_id if e.amount > 0 else bank for t in batch for e in t.entries],
            [e.amount for t in batch for e in t.entries],
        ),
    )


def timed(
    conn: psycopg.Connection[Any], batches: list[list[ledger.Transfer]], bank: int | None
) -> float:
    """Transfers per second; ``bank``: the plain INSERT baseline, into that account."""
    started = time.perf_counter()
    for batch in batches:
        if bank is not None:
            plain_insert(conn, batch, bank)
        else:
            ledger.post(conn, batch)
        conn.commit()
    return sum(len(b) for b in batches) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--wallets", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[float]] = {k: [] for k in ("single", "single_plain", "batched",
                                                       "batched_plain")}  # fmt: skip
    with seeded_warehouse() as url, psycopg.connect(url) as conn:
        psp, wallets = make_wallets(conn, args.wallets)
        bank = account(conn, "demo:client_money_bank:EUR")
        for run in range(args.runs):
            # alternate which goes first, so neither always meets the warmer cache
            order = (False, True) if run % 2 == 0 else (True, False)
            for plain in order:
                name = "single_plain" if plain else "single"
                singles = [[t] for t in transfers(psp, wallets, args.single, f"s{run}{plain}")]
                results[name].append(timed(conn, singles, bank if plain else None))
            for plain in order:
                name = "batched_plain" if plain else "batched"
                batches = [transfers(psp, wallets, args.batch_size, f"b{run}{plain}")
                           for _ in range(args.batches)]  # fmt: skip
                results[name].append(timed(conn, batches, bank if plain else None))
            print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in results.items()))
        report = ledger.check(conn)
        if not report.ok:
            raise SystemExit(f"the ledger check failed: {len(report.differences)} differences")
    med = {k: statistics.median(v) for k, v in results.items()}
    for mode in ("single", "batched"):
        ratio = med[mode] / med[f"{mode}_plain"]
        print(f"{mode}: ledger.post {med[mode]:,.0f} transfers/s, plain INSERT "
              f"{med[f'{mode}_plain']:,.0f}/s, ratio {ratio:.2f}")  # fmt: skip
    print(f"batched aim 5,000 transfers/s: {'met' if med['batched'] >= 5000 else 'MISSED'}")


if __name__ == "__main__":
    main()
