"""Money between a client's wallet and one of their trading accounts: one recoverable saga.

The execution service is the only writer of a trading account's balance, so the back office
never posts to one. A transfer is three steps, each a committed fact, so a crash between any
two leaves something the recovery (:func:`recover`, the worker's job) finishes:

1. **start** — a ``wallet_transfers`` row; to a trading account also a pending transfer holding
   the amount in the wallet for the brand's transit account (a wallet never pays what it does
   not have, and two transfers cannot spend the same money);
2. **command** — the execution service's ``BalanceOperation`` (DEPOSIT into the trading account
   or WITHDRAWAL out of it, checked against its free margin), keyed by the saga's command id:
   the service journals the trading account's side against the transit account, and a resent
   command is answered, never applied twice;
3. **settle** — on the reply: to a trading account, the pending transfer is posted (wallet ->
   transit) or voided (the wallet's money released); from a trading account, transit -> wallet
   is posted, or nothing moved. The row ends ``completed`` or ``failed`` in the same commit.

Whatever the crash, the money is in exactly one place: in the wallet (held or not) until the
execution service has moved it, in the trading account after, and the transit account of each
brand and currency returns to zero once every saga has settled. Before resending a command the
recovery reads the execution service's command journal, so a saga older than what the service
remembers is still never applied twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import psycopg

from backoffice.audit import Actor, record
from backoffice.commands import ExecutionCommands, ExecutionUnavailable
from backoffice.crm.events import write_event
from backoffice.errors import Refused, invalid, not_found
from backoffice.wallets.accounts import broker_account, open_wallet, usable
from backoffice.worker import Job, JobContext
from execution import contracts as c
from warehouse import ledger

log = logging.getLogger(__name__)

Direction = Literal["to_trading", "from_trading"]
# A held transfer outlives any recovery: it is settled by the saga, never by expiry (an expired
# hold released while the execution service credits the account would pay twice).
HOLD_FOR = timedelta(days=30)
# A saga untouched this long is the recovery's (the caller that started it has gone).
RECOVER_AFTER = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class WalletTransfer:
    id: int
    client_id: int
    wallet_id: int
    trading_account_id: int
    direction: str
    amount: Decimal
    currency: str
    status: str  # started, completed, failed
    failure: str | None
    command_id: str
    created_at: datetime
    updated_at: datetime


_COLUMNS = """id, client_id, wallet_id, trading_account_id, direction, amount, currency, status,
              failure, command_id, created_at, updated_at, pending_id, idempotency_key"""


def _transfer(row: Any) -> WalletTransfer:
    return WalletTransfer(*row[:12])


def _refused(code: str, message: str, **details: Any) -> Refused:
    return Refused("conflict", code, message, {"source": "backoffice", **details})


def start(
    conn: psycopg.Connection[Any],
    client_id: int,
    trading_account_id: int,
    direction: Direction,
    amount: Decimal,
    key: str,
) -> WalletTransfer:
    """Step 1, committed: the saga's row (and, to a trading account, the wallet's hold). The
    same key answers the first transfer; refused (nothing written) when the account is not the
    client's live account, the amount is not positive, or the wallet has not that much."""
    if direction not in ("to_trading", "from_trading"):
        raise invalid("direction", "to_trading or from_trading")
    if not key or len(key) > 100:
        raise invalid("idempotency_key", "1 to 100 characters")
    existing = conn.execute(
        f"SELECT {_COLUMNS} FROM wallet_transfers WHERE client_id = %s AND idempotency_key = %s",
        (client_id, key),
    ).fetchone()
    if existing is not None:
        return _same_request(existing, trading_account_id, direction, amount)
    account = conn.execute(
        """SELECT t.currency, t.kind, c.brand_id FROM trading_accounts t
           JOIN clients c ON c.id = t.client_id WHERE t.id = %s AND t.client_id = %s""",
        (trading_account_id, client_id),
    ).fetchone()
    if account is None:
        raise not_found("trading account", trading_account_id)
    currency, kind, brand_id = account
    if kind != "live":
        raise _refused("not_a_live_account", f"money moves only to and from live accounts, "
                       f"not {kind} ones", trading_account_id=trading_account_id)  # fmt: skip
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise invalid("amount", "a positive amount")
    if amount != amount.quantize(Decimal("0.01")):
        raise invalid("amount", "at most two decimals")
    wallet = usable(open_wallet(conn, client_id, currency))
    transit = broker_account(conn, brand_id, "transit", currency)
    with conn.transaction():
        pending_id = None
        if direction == "to_trading":
            pending_id = _hold(conn, client_id, key, wallet.ledger_account_id,
                               trading_account_id, amount, currency, transit)  # fmt: skip
        row = conn.execute(
            f"""INSERT INTO wallet_transfers (client_id, idempotency_key, wallet_id,
                    trading_account_id, direction, amount, currency, command_id, pending_id)
                VALUES (%s, %s, %s, %s, %s, %s, %s, 'wallet-transfer-' || gen_random_uuid(),
                        %s)
                ON CONFLICT (client_id, idempotency_key) DO NOTHING
                RETURNING {_COLUMNS}""",
            (client_id, key, wallet.id, trading_account_id, direction, amount, currency,
             pending_id),
        ).fetchone()  # fmt: skip
        if row is None:  # a concurrent request with the same key won (and holds the same)
            raced = conn.execute(
                f"""SELECT {_COLUMNS} FROM wallet_transfers
                    WHERE client_id = %s AND idempotency_key = %s""",
                (client_id, key),
            ).fetchone()
            assert raced is not None
            return _same_request(raced, trading_account_id, direction, amount)
        transfer = _transfer(row)
        _record(conn, transfer, "wallet.transfer_started")
    conn.commit()
    return transfer


def _hold(
    conn: psycopg.Connection[Any],
    client_id: int,
    key: str,
    wallet_account: int,
    trading_account_id: int,
    amount: Decimal,
    currency: str,
    transit: int,
) -> int:
    """The wallet's money held for the transit account, keyed by the client's request."""
    try:
        pending = ledger.reserve(conn, ledger.Hold(
            f"wallet-transfer:{client_id}:{key}", currency, "trading_deposit", wallet_account,
            transit, amount, datetime.now(UTC) + HOLD_FOR, created_by=f"client:{client_id}",
            description=f"to trading account {trading_account_id}",
        ))  # fmt: skip
    except ledger.InsufficientFunds as exc:
        left = exc.details["available"].quantize(Decimal("0.01"))
        raise _refused("insufficient_funds", f"your {currency} wallet has {left:f} {currency} "
                       "available", available=f"{left:f}", currency=currency) from exc  # fmt: skip
    except ledger.IdempotencyConflict as exc:
        raise _refused("idempotency_conflict", "this key was used for another transfer") from exc
    return pending.id


def _same_request(row: Any, account: int, direction: str, amount: Decimal) -> WalletTransfer:
    transfer = _transfer(row)
    if (transfer.trading_account_id, transfer.direction, transfer.amount) != (
        account, direction, amount,
    ):  # fmt: skip
        raise _refused("idempotency_conflict", "this key was used for another transfer",
                       transfer_id=transfer.id)  # fmt: skip
    return transfer


def _command(transfer: WalletTransfer) -> c.BalanceOperation:
    kind = c.BalanceKind.DEPOSIT if transfer.direction == "to_trading" else c.BalanceKind.WITHDRAWAL
    return c.BalanceOperation(
        request_id=transfer.command_id, account_id=transfer.trading_account_id, kind=kind,
        amount=transfer.amount, wallet_id=str(transfer.wallet_id),
        comment=f"wallet transfer {transfer.id}",
    )  # fmt: skip


def journaled_reply(conn: psycopg.Connection[Any], command_id: str) -> c.Reply | None:
    """The execution service's answer to this command, if it journaled one."""
    row = conn.execute(
        "SELECT reply FROM command_journal WHERE request_id = %s AND reply IS NOT NULL LIMIT 1",
        (command_id,),
    ).fetchone()
    return None if row is None else c.decode_reply(bytes(row[0]))


def advance(
    conn: psycopg.Connection[Any], commands: ExecutionCommands, transfer_id: int
) -> WalletTransfer:
    """Steps 2 and 3 for one saga: the command (or its journaled answer), then the ledger's
    side and the row's end, committed together. A saga that has ended answers as it is; with
    the execution service unreachable it stays ``started`` for the recovery."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM wallet_transfers WHERE id = %s",
                       (transfer_id,)).fetchone()  # fmt: skip
    if row is None:
        raise not_found("wallet transfer", transfer_id)
    transfer = _transfer(row)
    conn.commit()
    if transfer.status != "started":
        return transfer
    reply = journaled_reply(conn, transfer.command_id)
    conn.commit()
    if reply is None:
        try:
            reply = commands.execute(_command(transfer))
        except ExecutionUnavailable:
            log.warning("wallet transfer %s: no answer from the execution service yet",
                        transfer.id)  # fmt: skip
            return transfer
    return settle(conn, transfer.id, reply)


def settle(conn: psycopg.Connection[Any], transfer_id: int, reply: c.Reply) -> WalletTransfer:
    """Step 3: the ledger's side of the execution service's answer, and the saga's end."""
    with conn.transaction():
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM wallet_transfers WHERE id = %s FOR UPDATE", (transfer_id,)
        ).fetchone()
        assert row is not None
        transfer, pending_id = _transfer(row), row[12]
        if transfer.status != "started":
            return transfer
        transfer_ledger_id: int | None = None
        failure: str | None = None
        if isinstance(reply, c.Accepted):
            if transfer.direction == "to_trading":
                done = ledger.post_pending(conn, pending_id, by="wallet-transfers")
                transfer_ledger_id = done.transfer_id
            else:
                transfer_ledger_id = _credit_wallet(conn, transfer)
        else:
            failure = reply.code.value if isinstance(reply, c.Rejected) else "unexpected reply"
            if transfer.direction == "to_trading":
                ledger.void_pending(conn, pending_id, f"refused: {failure}", by="wallet-transfers")
        status = "completed" if failure is None else "failed"
        ended = conn.execute(
            f"""UPDATE wallet_transfers SET status = %s, failure = %s, transfer_id = %s,
                                            updated_at = now()
                WHERE id = %s RETURNING {_COLUMNS}""",
            (status, failure, transfer_ledger_id, transfer.id),
        ).fetchone()
        assert ended is not None
        result = _transfer(ended)
        _record(conn, result, f"wallet.transfer_{status}")
    conn.commit()
    return result


def _credit_wallet(conn: psycopg.Connection[Any], transfer: WalletTransfer) -> int:
    """From a trading account: the execution service paid the transit account; it pays the
    wallet."""
    brand = conn.execute("SELECT brand_id FROM clients WHERE id = %s",
                         (transfer.client_id,)).fetchone()  # fmt: skip
    assert brand is not None
    transit = broker_account(conn, brand[0], "transit", transfer.currency)
    wallet = conn.execute("SELECT ledger_account_id FROM wallets WHERE id = %s",
                          (transfer.wallet_id,)).fetchone()  # fmt: skip
    assert wallet is not None
    [posted] = ledger.post(conn, [ledger.move(
        f"wallet-transfer:{transfer.command_id}", transfer.currency, "trading_withdrawal",
        transit, wallet[0], transfer.amount, created_by="wallet-transfers",
        description=f"from trading account {transfer.trading_account_id}",
    )])  # fmt: skip
    return posted.transfer_id


def _record(conn: psycopg.Connection[Any], transfer: WalletTransfer, action: str) -> None:
    facts = {"transfer_id": transfer.id, "direction": transfer.direction,
             "amount": str(transfer.amount), "currency": transfer.currency,
             "trading_account_id": transfer.trading_account_id, "status": transfer.status,
             "failure": transfer.failure}  # fmt: skip
    actor = Actor.client(transfer.client_id) if action.endswith("started") else \
        Actor.system("wallet-transfers")  # fmt: skip
    record(conn, actor, action, "wallet", transfer.wallet_id, None, facts)
    write_event(conn, action, client_id=transfer.client_id, payload=facts)


def transfer(
    conn: psycopg.Connection[Any],
    commands: ExecutionCommands,
    client_id: int,
    trading_account_id: int,
    direction: Direction,
    amount: Decimal,
    key: str,
) -> WalletTransfer:
    """What the portal calls: start the saga and take it as far as it goes now."""
    started = start(conn, client_id, trading_account_id, direction, amount, key)
    return advance(conn, commands, started.id)


def client_transfers(
    conn: psycopg.Connection[Any], client_id: int, limit: int = 100
) -> list[WalletTransfer]:
    """The client's transfers, the newest first."""
    rows = conn.execute(
        f"""SELECT {_COLUMNS} FROM wallet_transfers WHERE client_id = %s
            ORDER BY created_at DESC, id DESC LIMIT %s""",
        (client_id, limit),
    ).fetchall()
    return [_transfer(r) for r in rows]


def recover(
    conn: psycopg.Connection[Any],
    commands: ExecutionCommands,
    older_than: timedelta = RECOVER_AFTER,
) -> list[WalletTransfer]:
    """Take every saga left ``started`` for longer than ``older_than`` to its end (the
    worker's job); what it ended."""
    ids = [
        int(r[0])
        for r in conn.execute(
            """SELECT id FROM wallet_transfers
               WHERE status = 'started' AND updated_at < now() - %s ORDER BY id""",
            (older_than,),
        )
    ]
    conn.commit()
    ended = []
    for transfer_id in ids:
        result = advance(conn, commands, transfer_id)
        if result.status != "started":
            ended.append(result)
    return ended


def _recover_job(context: JobContext) -> int:
    with context.connection() as conn:
        return len(recover(conn, context.commands))


# a transfer whose caller went away ends within about a minute of its start
RECOVERY_JOB = Job("wallets.transfer_recovery", 10.0, _recover_job)
