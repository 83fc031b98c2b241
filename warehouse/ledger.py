"""The ledger's posting function: the one way money moves outside the execution core.

Every movement is a balanced, immutable transfer between ledger accounts of one currency,
keyed by an idempotency key (domain.md, Ledger). Entries are signed, debits positive: a
client's wallet (money the broker owes) holds a negative sum, and a deposit credits it.

* :func:`post` posts a batch of transfers all or none. A key already posted with the same
  content (currency, kind, entries) answers its first transfer; with other content it is an
  :class:`IdempotencyConflict`, and nothing of the batch is posted.
* :func:`reserve` holds an amount from one account for another (a pending transfer, phase
  one); :func:`post_pending` moves all or part of it (the rest is released), :func:`void_pending`
  releases it, :func:`expire_pending` releases those past their time. A hold is not an entry:
  it moves no money, it makes the money unavailable.
* Guarded accounts (``ledger_balances``: wallets, reserves, IB commission payable, prop
  payouts) keep a stored balance, updated here under a row lock taken in account order (two
  batches touching the same accounts wait for each other, never deadlock); what the owner may
  still take, ``-(balance) - held``, never goes below zero. Money coming in is always taken.
* :func:`check` recomputes every stored balance and hold from entries and open pending
  transfers, and reports what differs (``brokerstack ledger check``).

The execution service journals its trading postings through :func:`journal_parts`: the same
rows, as parts of the one statement its batch commits (its keys are its own entry ids, never
reused, and its trading accounts are not guarded: their balance is the execution core's).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

# what a transfer's amounts may carry (the schema's money_amount: numeric(28, 8))
SCALE = Decimal("0.00000001")
_MAX = Decimal("1e20")


class LedgerError(Exception):
    """A transfer the ledger refuses; nothing of the call was posted. ``code`` is stable."""

    code = "ledger_refused"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


class InvalidTransfer(LedgerError):
    code = "ledger_invalid_transfer"


class IdempotencyConflict(LedgerError):
    code = "ledger_idempotency_conflict"


class InsufficientFunds(LedgerError):
    code = "ledger_insufficient_funds"


class UnknownAccount(LedgerError):
    code = "ledger_unknown_account"


class PendingClosed(LedgerError):
    """The pending transfer was already posted, voided or expired otherwise, or has expired."""

    code = "ledger_pending_closed"


class UnknownPending(LedgerError):
    code = "ledger_unknown_pending"


@dataclass(frozen=True, slots=True)
class Entry:
    account_id: int
    amount: Decimal  # debit positive, credit negative


@dataclass(frozen=True, slots=True)
class Transfer:
    key: str
    currency: str
    kind: str
    entries: tuple[Entry, ...]
    description: str = ""
    created_by: str = "system"
    at: datetime | None = None  # the movement's time; the server's now() when None
    corrects: int | None = None  # the transfer this one corrects


def move(
    key: str,
    currency: str,
    kind: str,
    debit: int,
    credit: int,
    amount: Decimal,
    **fields: Any,
) -> Transfer:
    """A two-entry transfer: ``amount`` out of ``debit`` (its liability shrinks) into
    ``credit``."""
    return Transfer(key, currency, kind, (Entry(debit, amount), Entry(credit, -amount)), **fields)


@dataclass(frozen=True, slots=True)
class Posted:
    transfer_id: int
    key: str
    replayed: bool  # the key had been posted with this content before: nothing moved now


@dataclass(frozen=True, slots=True)
class Hold:
    """Phase one of a two-phase transfer: ``amount`` reserved in ``debit`` for ``credit``."""

    key: str
    currency: str
    kind: str
    debit: int
    credit: int
    amount: Decimal
    expires_at: datetime
    description: str = ""
    created_by: str = "system"


@dataclass(frozen=True, slots=True)
class Pending:
    id: int
    key: str
    currency: str
    kind: str
    debit: int
    credit: int
    amount: Decimal
    expires_at: datetime
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Resolution:
    pending_id: int
    outcome: str  # posted, voided, expired
    posted_amount: Decimal | None
    transfer_id: int | None
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Difference:
    account_id: int
    what: str  # balance, pending_debits, pending_credits, floor
    stored: Decimal
    derived: Decimal


@dataclass(frozen=True, slots=True)
class CheckReport:
    accounts: int
    transfers: int
    differences: list[Difference] = field(default_factory=list)
    unbalanced: list[int] = field(default_factory=list)  # transfer ids
    currency_totals: dict[str, Decimal] = field(default_factory=dict)  # non-zero only

    @property
    def ok(self) -> bool:
        return not (self.differences or self.unbalanced or self.currency_totals)


# ---------------------------------------------------------------------------------------------
# content and validation


def _money(value: Decimal, what: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidTransfer(f"{what}: not an exact amount: {value!r}")
    if value.quantize(SCALE) != value or abs(value) >= _MAX:
        raise InvalidTransfer(f"{what}: {value} has more than 8 decimals or is too large")
    return value


def _digest(parts: Iterable[Any]) -> str:
    text = json.dumps(list(parts), separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def transfer_digest(transfer: Transfer) -> str:
    """The SHA-256 of what a transfer moves: the same key must always mean this."""
    entries = sorted((e.account_id, str(e.amount.normalize())) for e in transfer.entries)
    return _digest([transfer.currency, transfer.kind, transfer.corrects, entries])


def _hold_digest(hold: Hold) -> str:
    return _digest(
        ["hold", hold.currency, hold.kind, hold.debit, hold.credit, str(hold.amount.normalize())]
    )


def _validate(transfer: Transfer) -> None:
    if not transfer.key or len(transfer.key) > 200:
        raise InvalidTransfer("a transfer needs an idempotency key of 1 to 200 characters")
    if len(transfer.entries) < 2:
        raise InvalidTransfer(f"{transfer.key}: a transfer needs at least two entries")
    total = Decimal(0)
    for entry in transfer.entries:
        if _money(entry.amount, transfer.key) == 0:
            raise InvalidTransfer(f"{transfer.key}: an entry of zero")
        total += entry.amount
    if total != 0:
        raise InvalidTransfer(f"{transfer.key}: entries sum to {total}, not zero", total=total)


# ---------------------------------------------------------------------------------------------
# stored balances


@dataclass(slots=True)
class _Balance:
    balance: Decimal
    pending_debits: Decimal
    pending_credits: Decimal
    guarded: bool

    @property
    def available(self) -> Decimal:
        return -self.balance - self.pending_debits


def _accounts(conn: psycopg.Connection[Any], ids: set[int]) -> dict[int, str]:
    rows = conn.execute(
        "SELECT id, currency FROM ledger_accounts WHERE id = ANY(%s)", (sorted(ids),)
    ).fetchall()
    found = {int(r[0]): str(r[1]) for r in rows}
    missing = sorted(ids - found.keys())
    if missing:
        raise UnknownAccount(f"no ledger account {missing[0]}", accounts=missing)
    return found


def lock_balances(conn: psycopg.Connection[Any], ids: Iterable[int]) -> dict[int, _Balance]:
    """The guarded accounts among ``ids``, locked in account order for this transaction."""
    rows = conn.execute(
        """SELECT ledger_account_id, balance, pending_debits, pending_credits, floor
           FROM ledger_balances WHERE ledger_account_id = ANY(%s)
           ORDER BY ledger_account_id FOR UPDATE""",
        (sorted(set(ids)),),
    ).fetchall()
    return {int(r[0]): _Balance(r[1], r[2], r[3], r[4] == "credit") for r in rows}


def _store_balances(
    conn: psycopg.Connection[Any], before: dict[int, _Balance], after: dict[int, _Balance]
) -> None:
    changed = [
        (i, b) for i, b in after.items()
        if (b.balance, b.pending_debits, b.pending_credits)
        != (before[i].balance, before[i].pending_debits, before[i].pending_credits)
    ]  # fmt: skip
    if not changed:
        return
    conn.execute(
        """UPDATE ledger_balances b
           SET balance = u.balance, pending_debits = u.pd, pending_credits = u.pc
           FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[])
                AS u(id, balance, pd, pc)
           WHERE b.ledger_account_id = u.id""",
        (
            [i for i, _ in changed],
            [b.balance for _, b in changed],
            [b.pending_debits for _, b in changed],
            [b.pending_credits for _, b in changed],
        ),
    )


def _copy(balances: dict[int, _Balance]) -> dict[int, _Balance]:
    return {
        i: _Balance(b.balance, b.pending_debits, b.pending_credits, b.guarded)
        for i, b in balances.items()
    }


def _apply(balances: dict[int, _Balance], key: str, entries: Iterable[Entry]) -> None:
    """Move the entries' amounts in the stored balances; refuse one that takes from a guarded
    account more than it has available (a credit into it is always taken)."""
    for entry in entries:
        held = balances.get(entry.account_id)
        if held is None:
            continue
        held.balance += entry.amount
        if held.guarded and entry.amount > 0 and held.available < 0:
            raise InsufficientFunds(
                f"{key}: ledger account {entry.account_id} has "
                f"{held.available + entry.amount} available, {entry.amount} asked",
                account_id=entry.account_id,
                available=held.available + entry.amount,
                asked=entry.amount,
            )


# ---------------------------------------------------------------------------------------------
# posting


def post(conn: psycopg.Connection[Any], transfers: Sequence[Transfer]) -> list[Posted]:
    """Post the transfers, all or none, in the caller's transaction (a savepoint inside it):
    one :class:`Posted` per transfer, in order. Raises a :class:`LedgerError` and posts nothing
    when any of them is invalid, conflicts with its key's first content, or would take from a
    guarded account more than it has."""
    if not transfers:
        return []
    with conn.transaction():
        return _post(conn, transfers, {})


def _post(
    conn: psycopg.Connection[Any],
    transfers: Sequence[Transfer],
    releases: dict[int, tuple[Decimal, Decimal]],
) -> list[Posted]:
    """``releases``: per account, pending debits and credits released by the same call."""
    digests: dict[str, str] = {}
    unique: list[Transfer] = []
    for transfer in transfers:
        _validate(transfer)
        digest = transfer_digest(transfer)
        seen = digests.get(transfer.key)
        if seen is None:
            digests[transfer.key] = digest
            unique.append(transfer)
        elif seen != digest:
            raise IdempotencyConflict(
                f"{transfer.key}: the key is used twice in the batch with other content",
                key=transfer.key,
            )
    ids = {e.account_id for t in unique for e in t.entries} | releases.keys()
    currencies = _accounts(conn, ids)
    for transfer in unique:
        for entry in transfer.entries:
            if currencies[entry.account_id] != transfer.currency:
                raise InvalidTransfer(
                    f"{transfer.key}: ledger account {entry.account_id} is in "
                    f"{currencies[entry.account_id]}, the transfer in {transfer.currency}"
                )
    before = lock_balances(conn, ids)
    keys = [t.key for t in unique]
    rows = conn.execute(
        """INSERT INTO ledger_transfers (idempotency_key, content_sha256, currency, kind,
                                         description, corrects_transfer_id, created_by,
                                         created_at)
           SELECT k, h, c, kind, d, corr, who, coalesce(at, now())
           FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                       %s::bigint[], %s::text[], %s::timestamptz[])
                AS t(k, h, c, kind, d, corr, who, at)
           ON CONFLICT (idempotency_key) DO NOTHING
           RETURNING idempotency_key, id""",
        (
            keys,
            [digests[k] for k in keys],
            [t.currency for t in unique],
            [t.kind for t in unique],
            [t.description for t in unique],
            [t.corrects for t in unique],
            [t.created_by for t in unique],
            [t.at for t in unique],
        ),
    ).fetchall()
    new = {str(r[0]): int(r[1]) for r in rows}
    old: dict[str, int] = {}
    if len(new) < len(unique):
        for key, transfer_id, digest in conn.execute(
            """SELECT idempotency_key, id, content_sha256 FROM ledger_transfers
               WHERE idempotency_key = ANY(%s)""",
            ([k for k in keys if k not in new],),
        ):
            if digest != digests[key]:
                raise IdempotencyConflict(
                    f"{key}: the key was posted before with other content", key=key,
                    transfer_id=int(transfer_id),
                )  # fmt: skip
            old[key] = int(transfer_id)
    after = _copy(before)
    for account_id, (debits, credits) in releases.items():
        if account_id in after:
            after[account_id].pending_debits -= debits
            after[account_id].pending_credits -= credits
    fresh = [t for t in unique if t.key in new]
    for transfer in fresh:
        _apply(after, transfer.key, transfer.entries)
    if fresh:
        conn.execute(
            """INSERT INTO ledger_entries (transfer_id, ledger_account_id, currency, amount)
               SELECT t, a, c, x
               FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::numeric[])
                    AS e(t, a, c, x)""",
            (
                [new[t.key] for t in fresh for _ in t.entries],
                [e.account_id for t in fresh for e in t.entries],
                [t.currency for t in fresh for _ in t.entries],
                [e.amount for t in fresh for e in t.entries],
            ),
        )
    _store_balances(conn, before, after)
    return [
        Posted(new[t.key], t.key, False) if t.key in new else Posted(old[t.key], t.key, True)
        for t in transfers
    ]


def journal_parts(
    keys: list[str],
    currencies: list[str],
    kinds: list[str],
    descriptions: list[str],
    times: list[datetime],
    entry_keys: list[str],
    entry_accounts: list[int],
    entry_amounts: list[Decimal],
) -> list[tuple[str, str, tuple[Any, ...]]]:
    """Transfers and their entries as two named parts (``transfers_new``, ``entries_new``) of a
    caller's one statement: a key already posted posts nothing. For a writer that checks its
    own balances (the execution core) and never touches a guarded account."""
    return [
        (
            "transfers_new",
            """INSERT INTO ledger_transfers (idempotency_key, currency, kind, description,
                                             created_by, created_at)
               SELECT k, cur, kind, d, 'execution', at
               FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::timestamptz[])
                    AS t(k, cur, kind, d, at)
               ON CONFLICT (idempotency_key) DO NOTHING
               RETURNING id, idempotency_key, currency""",
            (keys, currencies, kinds, descriptions, times),
        ),
        (
            "entries_new",
            """INSERT INTO ledger_entries (transfer_id, ledger_account_id, currency, amount)
               SELECT t.id, e.acc, t.currency, e.amount
               FROM unnest(%b::text[], %b::bigint[], %s::numeric[]) AS e(k, acc, amount)
               JOIN transfers_new t ON t.idempotency_key = e.k""",
            (entry_keys, entry_accounts, "{" + ",".join(map(str, entry_amounts)) + "}"),
        ),
    ]


# ---------------------------------------------------------------------------------------------
# two-phase transfers


_PENDING_COLUMNS = (
    "id, idempotency_key, currency, kind, debit_account_id, credit_account_id, amount, "
    "expires_at, content_sha256"
)


def _pending(row: Any, replayed: bool = False) -> Pending:
    return Pending(
        int(row[0]), row[1], row[2], row[3], int(row[4]), int(row[5]), row[6], row[7], replayed
    )


def reserve(conn: psycopg.Connection[Any], hold: Hold) -> Pending:
    """Hold ``amount`` of ``debit`` for ``credit`` until posted, voided or expired. The same key
    and content answers the first reservation; a guarded account without that much available
    is refused (:class:`InsufficientFunds`) and nothing is held."""
    if not hold.key or len(hold.key) > 200:
        raise InvalidTransfer("a pending transfer needs an idempotency key of 1 to 200 characters")
    if _money(hold.amount, hold.key) <= 0:
        raise InvalidTransfer(f"{hold.key}: a pending amount must be positive")
    if hold.debit == hold.credit:
        raise InvalidTransfer(f"{hold.key}: debit and credit are the same account")
    digest = _hold_digest(hold)
    with conn.transaction():
        currencies = _accounts(conn, {hold.debit, hold.credit})
        for account_id in (hold.debit, hold.credit):
            if currencies[account_id] != hold.currency:
                raise InvalidTransfer(
                    f"{hold.key}: ledger account {account_id} is in {currencies[account_id]}, "
                    f"the pending transfer in {hold.currency}"
                )
        before = lock_balances(conn, (hold.debit, hold.credit))
        row = conn.execute(
            f"""INSERT INTO ledger_pending (idempotency_key, content_sha256, currency, kind,
                       debit_account_id, credit_account_id, amount, description, created_by,
                       expires_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (idempotency_key) DO NOTHING
                RETURNING {_PENDING_COLUMNS}""",
            (hold.key, digest, hold.currency, hold.kind, hold.debit, hold.credit, hold.amount,
             hold.description, hold.created_by, hold.expires_at),
        ).fetchone()  # fmt: skip
        if row is None:
            first = conn.execute(
                f"SELECT {_PENDING_COLUMNS} FROM ledger_pending WHERE idempotency_key = %s",
                (hold.key,),
            ).fetchone()
            assert first is not None
            if first[8] != digest:
                raise IdempotencyConflict(
                    f"{hold.key}: the key was reserved before with other content", key=hold.key
                )
            return _pending(first, replayed=True)
        after = _copy(before)
        if hold.debit in after:
            held = after[hold.debit]
            held.pending_debits += hold.amount
            if held.guarded and held.available < 0:
                raise InsufficientFunds(
                    f"{hold.key}: ledger account {hold.debit} has "
                    f"{held.available + hold.amount} available, {hold.amount} asked",
                    account_id=hold.debit, available=held.available + hold.amount,
                    asked=hold.amount,
                )  # fmt: skip
        if hold.credit in after:
            after[hold.credit].pending_credits += hold.amount
        _store_balances(conn, before, after)
        return _pending(row)


def _open_pending(conn: psycopg.Connection[Any], pending_id: int) -> tuple[Pending, Any]:
    row = conn.execute(
        f"SELECT {_PENDING_COLUMNS} FROM ledger_pending WHERE id = %s FOR UPDATE", (pending_id,)
    ).fetchone()
    if row is None:
        raise UnknownPending(f"no pending transfer {pending_id}", pending_id=pending_id)
    resolution = conn.execute(
        """SELECT pending_id, outcome, posted_amount, transfer_id
           FROM ledger_pending_resolutions WHERE pending_id = %s""",
        (pending_id,),
    ).fetchone()
    return _pending(row), resolution


def _resolved(
    pending: Pending, resolution: Any, outcome: str, amount: Decimal | None
) -> Resolution:
    if resolution[1] == outcome and (amount is None or resolution[2] == amount):
        return Resolution(pending.id, outcome, resolution[2], resolution[3], replayed=True)
    raise PendingClosed(
        f"pending transfer {pending.id} was {resolution[1]}"
        + (f" ({resolution[2]})" if resolution[2] is not None else ""),
        pending_id=pending.id, outcome=resolution[1],
    )  # fmt: skip


def _release(pending: Pending) -> dict[int, tuple[Decimal, Decimal]]:
    return {
        pending.debit: (pending.amount, Decimal(0)),
        pending.credit: (Decimal(0), pending.amount),
    }


def _close(
    conn: psycopg.Connection[Any],
    pending: Pending,
    outcome: str,
    reason: str,
    by: str,
    at: datetime | None,
) -> Resolution:
    before = lock_balances(conn, (pending.debit, pending.credit))
    after = _copy(before)
    for account_id, (debits, credits) in _release(pending).items():
        if account_id in after:
            after[account_id].pending_debits -= debits
            after[account_id].pending_credits -= credits
    conn.execute(
        """INSERT INTO ledger_pending_resolutions (pending_id, outcome, reason, resolved_by,
                                                   resolved_at)
           VALUES (%s, %s, %s, %s, coalesce(%s, now()))""",
        (pending.id, outcome, reason, by, at),
    )
    _store_balances(conn, before, after)
    return Resolution(pending.id, outcome, None, None)


def post_pending(
    conn: psycopg.Connection[Any],
    pending_id: int,
    amount: Decimal | None = None,
    *,
    description: str = "",
    by: str = "system",
    at: datetime | None = None,
    now: datetime | None = None,
) -> Resolution:
    """Phase two: move ``amount`` (all of it when None) of the reservation as a transfer keyed
    ``<pending key>:post``; the rest is released. Posting again with the same amount answers
    the first posting; a voided, expired or otherwise posted reservation is
    :class:`PendingClosed`, and so is one past its expiry (which it then records)."""
    with conn.transaction():
        pending, resolution = _open_pending(conn, pending_id)
        wanted = pending.amount if amount is None else _money(amount, pending.key)
        if resolution is not None:
            return _resolved(pending, resolution, "posted", wanted)
        if wanted <= 0 or wanted > pending.amount:
            raise InvalidTransfer(
                f"pending transfer {pending.id}: {wanted} is not within its {pending.amount}"
            )
        clock = now or conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
        if pending.expires_at <= clock:
            _close(conn, pending, "expired", "expired before it was posted", by, at)
            closed = True
        else:
            closed = False
    if closed:
        raise PendingClosed(f"pending transfer {pending.id} has expired", pending_id=pending.id,
                            outcome="expired")  # fmt: skip
    with conn.transaction():
        pending, resolution = _open_pending(conn, pending_id)
        if resolution is not None:
            return _resolved(pending, resolution, "posted", wanted)
        transfer = move(
            f"{pending.key}:post", pending.currency, pending.kind, pending.debit, pending.credit,
            wanted, description=description, created_by=by, at=at,
        )  # fmt: skip
        [posted] = _post(conn, [transfer], _release(pending))
        conn.execute(
            """INSERT INTO ledger_pending_resolutions (pending_id, outcome, posted_amount,
                                                       transfer_id, resolved_by, resolved_at)
               VALUES (%s, 'posted', %s, %s, %s, coalesce(%s, now()))""",
            (pending.id, wanted, posted.transfer_id, by, at),
        )
        return Resolution(pending.id, "posted", wanted, posted.transfer_id)


def void_pending(
    conn: psycopg.Connection[Any],
    pending_id: int,
    reason: str = "",
    *,
    by: str = "system",
    at: datetime | None = None,
) -> Resolution:
    """Release the reservation whole. Voiding again answers the first void; a posted or
    expired reservation is :class:`PendingClosed`."""
    with conn.transaction():
        pending, resolution = _open_pending(conn, pending_id)
        if resolution is not None:
            return _resolved(pending, resolution, "voided", None)
        return _close(conn, pending, "voided", reason, by, at)


def expire_pending(conn: psycopg.Connection[Any], now: datetime | None = None) -> list[int]:
    """Release every open reservation past its expiry; the ids released."""
    with conn.transaction():
        due = conn.execute(
            f"""SELECT {_PENDING_COLUMNS} FROM ledger_pending p
                WHERE expires_at <= coalesce(%s, now())
                  AND NOT EXISTS (SELECT 1 FROM ledger_pending_resolutions r
                                  WHERE r.pending_id = p.id)
                ORDER BY id FOR UPDATE SKIP LOCKED""",
            (now,),
        ).fetchall()
        released = []
        for row in due:
            pending = _pending(row)
            _close(conn, pending, "expired", "expired", "system", now)
            released.append(pending.id)
        return released


def find_pending(conn: psycopg.Connection[Any], key: str) -> Pending | None:
    row = conn.execute(
        f"SELECT {_PENDING_COLUMNS} FROM ledger_pending WHERE idempotency_key = %s", (key,)
    ).fetchone()
    return None if row is None else _pending(row)


# ---------------------------------------------------------------------------------------------
# reading and checking


def balance(conn: psycopg.Connection[Any], account_id: int) -> Decimal:
    """An account's balance from its entries (debit positive)."""
    row = conn.execute(
        "SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE ledger_account_id = %s",
        (account_id,),
    ).fetchone()
    assert row is not None
    return Decimal(row[0])


def available(conn: psycopg.Connection[Any], account_id: int) -> Decimal | None:
    """What the owner of a guarded account may still take (None: not a guarded account)."""
    row = conn.execute(
        """SELECT -balance - pending_debits FROM ledger_balances
           WHERE ledger_account_id = %s""",
        (account_id,),
    ).fetchone()
    return None if row is None else Decimal(row[0])


_DERIVED = """
    SELECT b.ledger_account_id, b.balance, b.pending_debits, b.pending_credits, b.floor,
           coalesce(e.total, 0), coalesce(pd.total, 0), coalesce(pc.total, 0)
    FROM ledger_balances b
    LEFT JOIN (SELECT ledger_account_id AS id, sum(amount) AS total FROM ledger_entries
               GROUP BY ledger_account_id) e ON e.id = b.ledger_account_id
    LEFT JOIN (SELECT debit_account_id AS id, sum(amount) AS total FROM ledger_pending p
               WHERE NOT EXISTS (SELECT 1 FROM ledger_pending_resolutions r
                                 WHERE r.pending_id = p.id)
               GROUP BY debit_account_id) pd ON pd.id = b.ledger_account_id
    LEFT JOIN (SELECT credit_account_id AS id, sum(amount) AS total FROM ledger_pending p
               WHERE NOT EXISTS (SELECT 1 FROM ledger_pending_resolutions r
                                 WHERE r.pending_id = p.id)
               GROUP BY credit_account_id) pc ON pc.id = b.ledger_account_id
    ORDER BY b.ledger_account_id
"""


def check(conn: psycopg.Connection[Any]) -> CheckReport:
    """Recompute every stored balance and hold from the entries and the open pending transfers,
    and every transfer's and currency's sum: what differs is in the report."""
    differences: list[Difference] = []
    rows = conn.execute(_DERIVED).fetchall()
    for account_id, bal, pd, pc, floor, d_bal, d_pd, d_pc in rows:
        for what, stored, derived in (
            ("balance", bal, d_bal), ("pending_debits", pd, d_pd), ("pending_credits", pc, d_pc)
        ):  # fmt: skip
            if stored != derived:
                differences.append(Difference(int(account_id), what, stored, derived))
        if floor == "credit" and -d_bal - d_pd < 0:
            differences.append(Difference(int(account_id), "floor", Decimal(0), -d_bal - d_pd))
    unbalanced = [
        int(r[0])
        for r in conn.execute(
            """SELECT t.id FROM ledger_transfers t
               LEFT JOIN ledger_entries e ON e.transfer_id = t.id
               GROUP BY t.id HAVING count(e.id) < 2 OR coalesce(sum(e.amount), 0) <> 0
               ORDER BY t.id"""
        )
    ]
    totals = {
        str(r[0]): Decimal(r[1])
        for r in conn.execute(
            """SELECT currency, sum(amount) FROM ledger_entries GROUP BY currency
               HAVING sum(amount) <> 0 ORDER BY currency"""
        )
    }
    count = conn.execute("SELECT count(*) FROM ledger_transfers").fetchone()
    assert count is not None
    return CheckReport(len(rows), int(count[0]), differences, unbalanced, totals)


def balances_by_account(conn: psycopg.Connection[Any], ids: Iterable[int]) -> dict[int, Decimal]:
    """Balances of many accounts from their entries, in one query."""
    out: dict[int, Decimal] = defaultdict(Decimal)
    for account_id, total in conn.execute(
        """SELECT ledger_account_id, sum(amount) FROM ledger_entries
           WHERE ledger_account_id = ANY(%s) GROUP BY ledger_account_id""",
        (sorted(set(ids)),),
    ):
        out[int(account_id)] = Decimal(total)
    return dict(out)
