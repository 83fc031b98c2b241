"""Operators' sequence number resets of an LP session, carried out by the running execution
service (which owns the sessions) and audited.

An operator's request is a row of ``lp_session_resets`` with a deadline, announced with
NOTIFY. The service's ``SequenceResets`` thread takes each request for its LPs (row locked),
resets the session through the bridge and, in the same transaction that marks the request
done, writes who asked, why, and the numbers before and after to the tamper-evident
``audit_log``. A request not taken before its deadline expires and is never carried out
later: the operator was told nothing changed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import tenacity
from psycopg.types.json import Jsonb

from brokerstack.retries import retrying
from execution.fix.config import Role

log = logging.getLogger(__name__)

CHANNEL = "lp_session_resets"
_POLL = 1.0  # seconds between looks for requests when no NOTIFY came

# (lp, role, next sender, next target) -> (before, after)
Reset = Callable[[str, Role, int | None, int | None], tuple[dict[str, Any], dict[str, Any]]]


class SequenceResetError(Exception):
    """A reset that was not carried out; the message says why."""


@dataclass(frozen=True, slots=True)
class ResetOutcome:
    request_id: int
    before: dict[str, Any]
    after: dict[str, Any]


def request_sequence_reset(
    conn: psycopg.Connection[Any],
    lp: str,
    role: Role,
    operator: str,
    reason: str,
    next_sender: int | None = None,
    next_target: int | None = None,
    timeout: float = 30.0,
) -> ResetOutcome:
    """Ask the running execution service to reset a session (both numbers back to 1 when
    neither is given) and wait for it; raises ``SequenceResetError`` when it was not done."""
    if not operator.strip() or not reason.strip():
        raise SequenceResetError("a reset needs the operator who asks and the reason")
    if any(n is not None and n < 1 for n in (next_sender, next_target)):
        raise SequenceResetError("sequence numbers start at 1")
    row = conn.execute(
        """SELECT s.id FROM lp_sessions s JOIN lps l ON l.id = s.lp_id
           WHERE l.code = %s AND s.role = %s""",
        (lp, role.value),
    ).fetchone()
    if row is None:
        raise SequenceResetError(f"LP {lp!r} has no {role.value} session")
    created = conn.execute(
        """INSERT INTO lp_session_resets (lp_session_id, requested_by, reason, next_sender,
               next_target, expires_at)
           VALUES (%s, %s, %s, %s, %s, now() + make_interval(secs => %s)) RETURNING id""",
        (row[0], operator.strip(), reason.strip(), next_sender, next_target, timeout),
    ).fetchone()
    assert created is not None
    request_id = int(created[0])
    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(request_id)))
    conn.commit()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outcome = _outcome(conn, request_id)
        if outcome is not None:
            return outcome
        time.sleep(0.2)
    expired = conn.execute(
        """UPDATE lp_session_resets SET state = 'expired', done_at = now(),
               detail = 'no execution service carried it out in time'
           WHERE id = %s AND state = 'requested'""",
        (request_id,),
    ).rowcount
    conn.commit()
    if expired:
        raise SequenceResetError(
            f"no running execution service carried out the reset of {lp} {role.value} within "
            f"{timeout:g} s; nothing was changed"
        )
    outcome = _outcome(conn, request_id)  # carried out just now
    if outcome is None:
        raise SequenceResetError(f"reset request {request_id} is in an unknown state")
    return outcome


def _outcome(conn: psycopg.Connection[Any], request_id: int) -> ResetOutcome | None:
    row = conn.execute(
        "SELECT state, before, after, detail FROM lp_session_resets WHERE id = %s",
        (request_id,),
    ).fetchone()
    conn.commit()
    if row is None or row[0] == "requested":
        return None
    state, before, after, detail = row
    if state != "done":
        raise SequenceResetError(f"reset not carried out ({state}): {detail}")
    return ResetOutcome(request_id, before, after)


_PENDING = """
    SELECT r.id, l.code, s.role, r.requested_by, r.reason, r.next_sender, r.next_target,
           r.expires_at <= now()
    FROM lp_session_resets r JOIN lp_sessions s ON s.id = r.lp_session_id
         JOIN lps l ON l.id = s.lp_id
    WHERE r.state = 'requested' AND l.code = ANY(%s)
    ORDER BY r.id
    FOR UPDATE OF r SKIP LOCKED
"""

_AUDIT = """
    INSERT INTO audit_log (actor_type, actor_id, action, entity_type, entity_id, before, after)
    VALUES ('staff', %s, 'fix.sequence_reset', 'lp_session', %s, %s, %s)
"""

_DONE = """
    UPDATE lp_session_resets SET state = %s, done_at = now(), before = %s, after = %s,
        detail = %s
    WHERE id = %s
"""


class SequenceResets:
    """The service's side: a thread that carries out requests for its LPs."""

    def __init__(self, database_url: str, lps: list[str], reset: Reset) -> None:
        self.database_url = database_url
        self.lps = lps
        self.reset = reset
        # carried out but maybe not yet recorded (the warehouse went away): never twice
        self._carried_out: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fix-resets", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        connections = retrying(
            "sequence resets: reaching the warehouse", psycopg.OperationalError,
            stop=self._stop, logger=log,
        )  # fmt: skip
        with contextlib.suppress(tenacity.RetryError):  # stopped while it was unreachable
            while not self._stop.is_set():
                connections(self._listen)

    def _listen(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as listener:
            listener.execute(f"LISTEN {CHANNEL}")
            with psycopg.connect(self.database_url) as conn:
                self._serve(listener, conn)

    def _serve(self, listener: psycopg.Connection[Any], conn: psycopg.Connection[Any]) -> None:
        while not self._stop.is_set():
            self.carry_out(conn)
            for _ in listener.notifies(timeout=_POLL, stop_after=1):
                pass

    def carry_out(self, conn: psycopg.Connection[Any]) -> None:
        """Every request now waiting for one of our LPs, each in its own transaction."""
        while True:
            with conn.transaction():
                row = conn.execute(_PENDING + " LIMIT 1", (self.lps,)).fetchone()
                if row is None:
                    return
                self._one(conn, row)
            self._carried_out.pop(row[0], None)  # recorded

    def _one(self, conn: psycopg.Connection[Any], row: tuple[Any, ...]) -> None:
        request_id, lp, role, operator, reason, sender, target, expired = row
        if expired and request_id not in self._carried_out:
            conn.execute(_DONE, ("expired", None, None, "past its deadline", request_id))
            return
        done = self._carried_out.get(request_id)
        if done is None:
            try:
                done = self.reset(lp, Role(role), sender, target)
            except Exception as error:  # not carried out, whatever the reason: say so
                log.exception("sequence reset %d of %s %s failed", request_id, lp, role)
                conn.execute(_DONE, ("refused", None, None, str(error), request_id))
                return
            self._carried_out[request_id] = done
        before, after = done
        audited = {**after, "reason": reason, "request": request_id}
        conn.execute(_AUDIT, (operator, f"{lp}/{role}", Jsonb(before), Jsonb(audited)))
        conn.execute(_DONE, ("done", Jsonb(before), Jsonb(after), None, request_id))
        log.warning(
            "%s %s session: sequence numbers reset for %s (%s): %s -> %s",
            lp, role, operator, reason, before, after,
        )  # fmt: skip
