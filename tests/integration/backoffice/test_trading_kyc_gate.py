"""A KYC decision reaches the running execution service through its commands: a client under
the brand's trading level is refused KYC_NOT_APPROVED, and the order after the level is raised
(and the push job's round) is accepted, with no restart and no refresh of account flags."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from backoffice.commands import ExecutionUnavailable, RedisCommands
from backoffice.jobs import JOBS
from backoffice.trading.flags import CLIENT_FLAGS_JOB, sync_client_flags
from backoffice.worker import JobContext
from brokerstack.settings import Settings
from execution import contracts as c
from tests.integration.backoffice.support_trading import trading
from tests.integration.execution.support import place


def _round(db_url: str, commands: RedisCommands) -> int:
    return CLIENT_FLAGS_JOB.run(JobContext(Settings(), db_url, commands))


def _pushed(db_url: str, client_id: int) -> list[tuple[object, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT kyc_level, status, version FROM client_flag_pushes WHERE client_id = %s",
            (client_id,),
        ).fetchall()


def _trading_level(db_url: str) -> int:
    """The lowest level of the demo brand's KYC ladder that trades (a plain query)."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            """SELECT min(k.level) FROM kyc_levels k JOIN brands b ON b.id = k.brand_id
               WHERE b.code = 'demo' AND k.trading"""
        ).fetchone()
    assert row is not None
    assert row[0] is not None
    return int(row[0])


def test_a_raised_kyc_level_lets_the_next_order_through_at_once(
    seeded_db_url: str, redis_url: str
) -> None:
    assert CLIENT_FLAGS_JOB in JOBS
    # the demo brand's ladder trades from one level; the client is a level below it
    needed = _trading_level(seeded_db_url)
    with trading(seeded_db_url, redis_url, kind="live", kyc_level=needed - 1) as t:
        aid, cid = t.account.account_id, t.account.client_id
        refused = t.desk.client.request(place("before", aid, "buy", "0.01"))
        assert isinstance(refused, c.Rejected)
        assert refused.code is c.RejectCode.KYC_NOT_APPROVED
        assert _round(seeded_db_url, t.commands) == 1  # first look: what it holds, pushed
        assert _pushed(seeded_db_url, cid) == [(needed - 1, "active", 1)]

        with psycopg.connect(seeded_db_url) as conn:  # what the KYC review does
            conn.execute("UPDATE clients SET kyc_level = %s WHERE id = %s", (needed, cid))
        assert _round(seeded_db_url, t.commands) == 1

        accepted = t.desk.client.request(place("after", aid, "buy", "0.01"))
        assert isinstance(accepted, c.Accepted), accepted
        assert _pushed(seeded_db_url, cid) == [(needed, "active", 2)]
        assert _round(seeded_db_url, t.commands) == 0  # nothing changed since

        with psycopg.connect(seeded_db_url) as conn:  # suspended: no account trades
            conn.execute("UPDATE clients SET status = 'suspended' WHERE id = %s", (cid,))
        assert _round(seeded_db_url, t.commands) == 1
        suspended = t.desk.client.request(place("suspended", aid, "buy", "0.01"))
        assert isinstance(suspended, c.Rejected)
        assert suspended.code is c.RejectCode.ACCOUNT_DISABLED


def test_a_change_made_while_the_service_is_down_is_pushed_once_it_is_back(
    seeded_db_url: str, redis_url: str, tmp_path: Path
) -> None:
    with trading(seeded_db_url, redis_url, kind="live", kyc_level=1) as t:
        cid = t.account.client_id
        assert _round(seeded_db_url, t.commands) == 1
        t.desk.running.stop()
        with psycopg.connect(seeded_db_url) as conn:
            conn.execute("UPDATE clients SET kyc_level = 2 WHERE id = %s", (cid,))
        impatient = RedisCommands(redis_url, timeout=0.5)
        with pytest.raises(ExecutionUnavailable):
            _round(seeded_db_url, impatient)
        assert _pushed(seeded_db_url, cid) == [(1, "active", 1)]  # not recorded: retried
    with trading(seeded_db_url, redis_url, kind="live", kyc_level=2) as back:
        assert _round(seeded_db_url, back.commands) >= 1
        assert _pushed(seeded_db_url, cid) == [(2, "active", 2)]
        with psycopg.connect(seeded_db_url) as conn:
            # a second push of the same state by a direct call changes nothing
            assert sync_client_flags(conn, back.commands, cid) == 1
        assert _pushed(seeded_db_url, cid) == [(2, "active", 3)]
