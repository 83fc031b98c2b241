"""The keys a brand's website sends with the leads it captures (header ``X-Brand-Key``).

A key is random and long, so it is kept as a SHA-256 digest and found by it; it is shown once,
when created. A key sits in the brand's public pages, so it names the brand rather than
proving much: submissions are rate-limited too.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import psycopg

from backoffice import audit
from backoffice.audit import Actor
from backoffice.crm.errors import NotFound

PREFIX = "bsk_"
KEY_PATTERN = r"^[A-Za-z0-9_-]{16,128}$"


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def create_site_key(conn: psycopg.Connection[Any], actor: Actor, brand_code: str, name: str) -> str:
    """A new key for the brand's website (the only time it is shown)."""
    row = conn.execute("SELECT id FROM brands WHERE code = %s", (brand_code,)).fetchone()
    if row is None:
        raise NotFound("brand", brand_code)
    key = PREFIX + secrets.token_urlsafe(32)
    created = conn.execute(
        "INSERT INTO brand_site_keys (brand_id, name, key_sha256) VALUES (%s, %s, %s) RETURNING id",
        (row[0], name, _digest(key)),
    ).fetchone()
    assert created is not None
    audit.record(
        conn,
        actor,
        "brand.site_key.create",
        "brand_site_key",
        created[0],
        None,
        {"brand_id": row[0], "name": name},
    )
    return key


def brand_for_site_key(conn: psycopg.Connection[Any], key: str) -> int | None:
    """The brand whose live key this is, or None."""
    row = conn.execute(
        "SELECT brand_id FROM brand_site_keys WHERE key_sha256 = %s AND revoked_at IS NULL",
        (_digest(key),),
    ).fetchone()
    return None if row is None else int(row[0])
