"""The client's KYC level and status pushed to the execution service: every open trading
account of the client gets an `UpdateAccount` with the level and whether the client is active,
so a KYC approval (or a suspension) gates trading at once, not at the service's next look at
the warehouse.

``client_flag_pushes`` records what was last pushed per client; the job pushes every client
whose level or status differs from it. A push that cannot reach the service records nothing and
is retried at the job's next turn; its request ids come from the client, the push's version and
what it pushes, so a retried push executes once.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from backoffice.commands import ExecutionCommands
from backoffice.trading.errors import ExecutionRefused
from backoffice.trading.rules import flags_request_id
from backoffice.worker import Job, JobContext
from execution import contracts as c

log = logging.getLogger(__name__)

# the service never loaded these accounts (or refused their money): nothing to gate there
_NOTHING_TO_GATE = frozenset({c.RejectCode.UNKNOWN_ACCOUNT, c.RejectCode.ACCOUNT_DISABLED})
_ROUND = 200  # clients per round


def sync_client_flags(
    conn: psycopg.Connection[Any], commands: ExecutionCommands, client_id: int
) -> int:
    """Push the client's KYC level and status to each of its open trading accounts and record
    the push; how many accounts took it. Raises `ExecutionUnavailable` (nothing recorded) when
    the service does not answer."""
    row = conn.execute(
        """SELECT c.kyc_level, c.status, coalesce(p.version, 0) + 1
           FROM clients c LEFT JOIN client_flag_pushes p ON p.client_id = c.id
           WHERE c.id = %s""",
        (client_id,),
    ).fetchone()
    if row is None:
        return 0
    level, status, version = row
    active = status == "active"
    pushed = 0
    for (account_id,) in conn.execute(
        """SELECT id FROM trading_accounts WHERE client_id = %s AND closed_at IS NULL
           ORDER BY id""",
        (client_id,),
    ).fetchall():
        reply = commands.execute(
            c.UpdateAccount(
                request_id=flags_request_id(client_id, version, level, active, account_id),
                account_id=account_id,
                kyc_level=level,
                client_active=active,
            )
        )
        if isinstance(reply, c.Accepted):
            pushed += 1
        elif reply.code not in _NOTHING_TO_GATE:
            raise ExecutionRefused(reply.code.value, reply.message, {"account_id": account_id})
    conn.execute(
        """INSERT INTO client_flag_pushes (client_id, kyc_level, status, version)
           VALUES (%s, %s, %s, %s)
           ON CONFLICT (client_id) DO UPDATE SET kyc_level = excluded.kyc_level,
               status = excluded.status, version = excluded.version, pushed_at = now()""",
        (client_id, level, status, version),
    )
    return pushed


def changed_clients(conn: psycopg.Connection[Any], limit: int = _ROUND) -> list[int]:
    """Clients whose level or status is not what was last pushed (never pushed: pushed now
    only if they hold an account, whose flags the service read when it loaded it)."""
    return [
        client_id
        for (client_id,) in conn.execute(
            """SELECT c.id FROM clients c LEFT JOIN client_flag_pushes p ON p.client_id = c.id
               WHERE (p.client_id IS NULL
                      AND EXISTS (SELECT 1 FROM trading_accounts a WHERE a.client_id = c.id))
                  OR (p.kyc_level, p.status) IS DISTINCT FROM (c.kyc_level, c.status)
               ORDER BY c.updated_at, c.id LIMIT %s""",
            (limit,),
        )
    ]


def push_changed_flags(conn: psycopg.Connection[Any], commands: ExecutionCommands) -> int:
    """One round: each changed client pushed in its own transaction (``conn`` in autocommit),
    so a push that fails keeps the ones before it. A push the service refuses is logged and
    tried again next round, without holding up the others; a service that does not answer
    ends the round (`ExecutionUnavailable`)."""
    pushed = 0
    for client_id in changed_clients(conn):
        try:
            with conn.transaction():
                sync_client_flags(conn, commands, client_id)
        except ExecutionRefused as refused:
            log.error("pushing client %d's flags refused: %s %s", client_id, refused.code,
                      refused.details)  # fmt: skip
            continue
        pushed += 1
    return pushed


def _run(context: JobContext) -> int:
    with context.connection() as conn:
        conn.autocommit = True
        return push_changed_flags(conn, context.commands)


# a KYC decision reaches the accounts' trading gate within about a second
CLIENT_FLAGS_JOB = Job("trading.client_flags", 1.0, _run)
