"""Sinks for the event writer: trading events and CRM events, one row per stream entry.

Events arrive at human rather than market rates, so rows go in with one pipelined
``executemany`` per batch. An entry that cannot be decoded is rejected into
``ingest_rejects``; one the database refuses (a CRM event naming an unknown client, say) is
rejected by the writer's entry-by-entry retry, without holding up the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import psycopg

from brokerstack.streams import EVENT_FIELD
from brokerstack.times import to_datetime
from execution.contracts import MarginCall, StopOut, decode_event
from ingest.consumer import Entry
from ingest.contracts import decode_crm_event
from ingest.entries import reject
from ingest.writer import Loaded

# Anything a malformed entry can raise on the way to a row; it is rejected, never retried.
_BAD_ENTRY = (
    KeyError,
    msgspec.DecodeError,
    msgspec.ValidationError,
    msgspec.EncodeError,
    TypeError,
)


def _json(value: object) -> str:
    """JSON text for a jsonb column (Decimals become strings, keeping every digit)."""
    return msgspec.json.encode(value).decode()


class TradingEventSink:
    """Margin calls and stop-outs from the execution service's ``events`` stream."""

    stream = "events"

    def prepare(self, entries: Sequence[Entry]) -> None:
        del entries  # decoding is cheap at event rates

    def load(
        self,
        conn: psycopg.Connection[Any],
        entries: Sequence[Entry],
        *,
        careful: bool,
        prepared: object = None,
    ) -> Loaded:
        del careful, prepared  # every row is checked by the database; the writer retries
        rows: list[tuple[Any, ...]] = []
        rejected = 0
        for entry in entries:
            try:
                event = decode_event(entry.fields[EVENT_FIELD])
                if isinstance(event, MarginCall | StopOut):
                    rows.append(_trading_row(event))
            except _BAD_ENTRY as exc:
                reject(conn, self.stream, entry.id, f"undecodable event: {exc!r}", _raw(entry))
                rejected += 1
        if rows:
            with conn.cursor() as cursor:
                cursor.executemany(
                    """
                    INSERT INTO trading_events (occurred_at, account_id, event_type,
                        position_id, margin_level, equity, margin, payload)
                    VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb)
                    """,
                    rows,
                )
        return Loaded(len(rows), rejected)


def _trading_row(event: MarginCall | StopOut) -> tuple[Any, ...]:
    kind = "stop_out" if isinstance(event, StopOut) else "margin_call"
    position = event.position_id if isinstance(event, StopOut) else None
    return (
        to_datetime(event.time),
        event.account_id,
        kind,
        position,
        event.margin_level,
        event.equity,
        event.margin,
        _json(event),
    )


class CrmEventSink:
    """Client and lead events from the back office's ``crm-events`` stream."""

    stream = "crm-events"

    def prepare(self, entries: Sequence[Entry]) -> None:
        del entries

    def load(
        self,
        conn: psycopg.Connection[Any],
        entries: Sequence[Entry],
        *,
        careful: bool,
        prepared: object = None,
    ) -> Loaded:
        del careful, prepared
        rows: list[tuple[Any, ...]] = []
        rejected = 0
        for entry in entries:
            try:
                event = decode_crm_event(entry.fields[EVENT_FIELD])
                rows.append(
                    (
                        to_datetime(event.time_ns),
                        event.client_id,
                        event.lead_id,
                        event.staff_user_id,
                        event.event_type,
                        event.channel,
                        _json(event.payload),
                    )
                )
            except _BAD_ENTRY as exc:
                reject(conn, self.stream, entry.id, f"undecodable CRM event: {exc!r}", _raw(entry))
                rejected += 1
        if rows:
            with conn.cursor() as cursor:
                cursor.executemany(
                    """
                    INSERT INTO crm_events (occurred_at, client_id, lead_id, staff_user_id,
                                            event_type, channel, payload)
                    VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb)
                    """,
                    rows,
                )
        return Loaded(len(rows), rejected)


def _raw(entry: Entry) -> bytes:
    return b"".join(entry.fields.values())
