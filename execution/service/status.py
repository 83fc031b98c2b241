"""The execution service's heartbeat: what ``brokerstack status`` shows of it.

A background thread refreshes one Redis hash per shard (``brokerstack.streams``) every second:
when it was refreshed, the process id, and each LP session (quote and trade) with whether it
is logged on (also the ``brokerstack_lp_session_up`` gauges). The hash expires a few seconds
after the last refresh, so a service that died or hangs is seen as not answering rather than
as its last good state.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import psycopg
import quickfix as fix
import redis

from brokerstack.streams import (
    EXECUTION_STATUS_HASH,
    HEARTBEAT_UPDATED_FIELD,
    LpSessionStatus,
    encode_sessions,
)
from execution.fix.config import Role, load_lps
from execution.fix.sessions import session_id
from execution.service.metrics import LP_SESSION_UP
from execution.service.shard import Shard

log = logging.getLogger(__name__)

SessionProbe = Callable[[], list[LpSessionStatus]]
_EXPIRE_SECONDS = 5


def lp_sessions(
    conn: psycopg.Connection[Any], over_fix: bool, lp_codes: Iterable[str]
) -> SessionProbe:
    """What to report: the FIX sessions configured in the warehouse, as quickfix sees them,
    or the in-process demo LPs (always there)."""
    if not over_fix:
        demo = [LpSessionStatus(code, "in-process", "", 0, True) for code in sorted(lp_codes)]
        return lambda: demo
    sessions = [
        (lp.code, role, config, session_id(config))
        for lp in load_lps(conn)
        for role, config in ((Role.QUOTE, lp.quote), (Role.TRADE, lp.trade))
    ]

    def probe() -> list[LpSessionStatus]:
        states = []
        for code, role, config, sid in sessions:
            session = fix.Session.lookupSession(sid)
            logged_on = session is not None and bool(session.isLoggedOn())
            states.append(LpSessionStatus(code, role.value, config.host, config.port, logged_on))
        return states

    return probe


class Heartbeat:
    def __init__(
        self, client: redis.Redis, shard: Shard, sessions: SessionProbe, interval: float = 1.0
    ) -> None:
        self.client = client
        self.key = EXECUTION_STATUS_HASH.format(shard=shard.name)
        self.sessions = sessions
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop beating and take the hash away: a stopped service is not running."""
        self._stop.set()
        self._thread.join()
        try:
            self.client.delete(self.key)
        except redis.RedisError as error:
            log.warning("could not remove the heartbeat (%s)", error)

    def beat(self) -> None:
        sessions = self.sessions()
        for session in sessions:
            LP_SESSION_UP.labels(session.lp, session.role).set(int(session.logged_on))
        fields = {
            HEARTBEAT_UPDATED_FIELD: f"{time.time():.3f}",
            "pid": str(os.getpid()),
            "sessions": encode_sessions(sessions),
        }
        with self.client.pipeline() as pipe:
            pipe.hset(self.key, mapping=fields)  # type: ignore[arg-type]
            pipe.expire(self.key, _EXPIRE_SECONDS)
            pipe.execute()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.beat()
            except redis.RedisError as error:  # Redis restarting: the next beat tells again
                log.warning("heartbeat not published (%s)", error)
            except Exception:
                log.exception("heartbeat failed")
            self._stop.wait(self.interval)
