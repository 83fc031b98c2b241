"""What the warehouse knows about Redis stream entries: committed, rejected, or neither.

The warehouse, not Redis, is the source of truth for "was this entry loaded": a writer records
every entry id it loads in ``stream_entries`` inside the transaction that loads its rows. The
primary key (stream, id) turns a second load of the same entry — a restarted writer re-reading
its pending entries, or a claim racing a slow writer — into a unique violation that rolls the
whole batch back instead of duplicating it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import psycopg


def split_id(entry_id: bytes) -> tuple[int, int]:
    """``b'1700000000000-3'`` -> ``(1700000000000, 3)``."""
    ms, _, seq = entry_id.partition(b"-")
    return int(ms), int(seq)


def join_id(ms: int, seq: int) -> bytes:
    return b"%d-%d" % (ms, seq)


def record_entries(
    conn: psycopg.Connection[Any], stream: str, consumer: str, entry_ids: Sequence[bytes]
) -> None:
    """Claim ``entry_ids`` as loaded in the current transaction.

    Raises ``psycopg.errors.UniqueViolation`` when another transaction already loaded one.
    """
    parts = [split_id(entry_id) for entry_id in entry_ids]
    conn.execute(
        """
        INSERT INTO stream_entries (stream, entry_ms, entry_seq, consumer)
        SELECT %s, ms, seq, %s FROM unnest(%s::bigint[], %s::bigint[]) AS e (ms, seq)
        """,
        (stream, consumer, [ms for ms, _ in parts], [seq for _, seq in parts]),
    )


def advance_offset(
    conn: psycopg.Connection[Any], stream: str, consumer: str, entry_ids: Sequence[bytes]
) -> None:
    """Move the consumer's high-water mark up to the highest of ``entry_ids`` (never down).

    The row is locked until the transaction ends, so a writer does this last: its next
    batch, loading on another connection, waits here only for the tail of this commit.
    """
    last_ms, last_seq = max(split_id(entry_id) for entry_id in entry_ids)
    conn.execute(
        """
        INSERT INTO stream_offsets (stream, consumer, last_id) VALUES (%s, %s, %s)
        ON CONFLICT (stream, consumer) DO UPDATE
            SET last_id = CASE
                    WHEN split_part(stream_offsets.last_id, '-', 1)::bigint
                             > split_part(EXCLUDED.last_id, '-', 1)::bigint
                      OR (split_part(stream_offsets.last_id, '-', 1)::bigint
                              = split_part(EXCLUDED.last_id, '-', 1)::bigint
                          AND split_part(stream_offsets.last_id, '-', 2)::bigint
                              > split_part(EXCLUDED.last_id, '-', 2)::bigint)
                    THEN stream_offsets.last_id ELSE EXCLUDED.last_id END,
                updated_at = now()
        """,
        (stream, consumer, f"{last_ms}-{last_seq}"),
    )


def committed_among(
    conn: psycopg.Connection[Any], stream: str, entry_ids: Iterable[bytes]
) -> set[bytes]:
    """Which of ``entry_ids`` are already loaded (only asked for redelivered entries)."""
    parts = [split_id(entry_id) for entry_id in entry_ids]
    if not parts:
        return set()
    rows = conn.execute(
        """
        SELECT s.entry_ms, s.entry_seq
        FROM unnest(%s::bigint[], %s::bigint[]) AS e (ms, seq)
        JOIN stream_entries s
          ON s.stream = %s AND s.entry_ms = e.ms AND s.entry_seq = e.seq
        """,
        ([ms for ms, _ in parts], [seq for _, seq in parts], stream),
    ).fetchall()
    return {join_id(ms, seq) for ms, seq in rows}


def forget_entries_below(
    conn: psycopg.Connection[Any], stream: str, entry_id: bytes, older_than: timedelta
) -> int:
    """Drop records of entries below ``entry_id`` committed more than ``older_than`` ago.

    Below ``entry_id`` Redis will never deliver an entry again, but a writer may still hold one
    in memory that it read before another writer claimed, loaded and acknowledged it; such a
    writer must meet the record at the primary key. Writers never load a batch held longer
    than half of ``older_than`` (``StreamWriter``), so the record outlives every such copy.
    """
    ms, seq = split_id(entry_id)
    cursor = conn.execute(
        """
        DELETE FROM stream_entries
        WHERE stream = %s AND (entry_ms, entry_seq) < (%s, %s) AND committed_at < now() - %s
        """,
        (stream, ms, seq, older_than),
    )
    return cursor.rowcount


def reject(
    conn: psycopg.Connection[Any], stream: str, entry_id: bytes, reason: str, raw: bytes
) -> None:
    """Keep what could not be loaded, with why, so nothing disappears silently."""
    conn.execute(
        "INSERT INTO ingest_rejects (stream, entry_id, reason, raw) VALUES (%s, %s, %s, %s)",
        (stream, entry_id.decode(), reason[:1000], raw),
    )
