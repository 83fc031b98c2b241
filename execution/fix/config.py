"""The LPs to connect to, as configured in the warehouse (``lps``, ``lp_sessions``,
``lp_symbols``): nothing about a FIX session lives in a hand-edited file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg


class CredentialsError(ValueError):
    """A session's ``credentials_ref`` names a secret that cannot be read."""


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """One FIX 4.4 session to an LP: we are SenderCompID, the LP is TargetCompID."""

    host: str
    port: int
    sender_comp_id: str
    target_comp_id: str
    heartbeat_seconds: int = 30
    reconnect_seconds: int = 5
    credentials_ref: str | None = None


@dataclass(frozen=True, slots=True)
class LpConfig:
    code: str
    lp_id: int
    quote: SessionConfig
    trade: SessionConfig
    # our symbol -> the LP's symbol
    symbols: Mapping[str, str] = field(default_factory=dict)
    staleness_ms: int = 1000

    def lp_symbol(self, symbol: str) -> str | None:
        return self.symbols.get(symbol)


def resolve_password(credentials_ref: str | None, env: Mapping[str, str] | None = None) -> str:
    """The secret a ``credentials_ref`` names (``env:VARIABLE``); empty when none is named or
    the variable is unset, so a demo LP without credentials still logs on."""
    if not credentials_ref:
        return ""
    scheme, _, name = credentials_ref.partition(":")
    if scheme != "env" or not name:
        raise CredentialsError(f"unsupported credentials_ref {credentials_ref!r} (use env:NAME)")
    return (env if env is not None else os.environ).get(name, "")


_SESSIONS = """
    SELECT l.id, l.code, l.staleness_limit_ms, s.role, s.host, s.port, s.sender_comp_id,
           s.target_comp_id, s.credentials_ref, s.heartbeat_seconds, s.reconnect_seconds
    FROM lps l JOIN lp_sessions s ON s.lp_id = l.id
    WHERE l.enabled AND s.enabled
    ORDER BY l.code, s.role
"""

_SYMBOLS = """
    SELECT ls.lp_id, i.symbol, ls.lp_symbol
    FROM lp_symbols ls JOIN instruments i ON i.id = ls.instrument_id
    WHERE i.enabled
"""


def load_lps(conn: psycopg.Connection[Any], codes: set[str] | None = None) -> list[LpConfig]:
    """Every enabled LP with both an enabled quote and an enabled trade session."""
    symbols: dict[int, dict[str, str]] = {}
    for lp_id, symbol, lp_symbol in conn.execute(_SYMBOLS):
        symbols.setdefault(lp_id, {})[symbol] = lp_symbol
    found: dict[str, dict[str, Any]] = {}
    for row in conn.execute(_SESSIONS):
        lp_id, code, staleness, role, host, port, sender, target, ref, heartbeat, reconnect = row
        if codes is not None and code not in codes:
            continue
        entry = found.setdefault(code, {"lp_id": lp_id, "staleness": staleness})
        entry[role] = SessionConfig(host, port, sender, target, heartbeat, reconnect, ref)
    return [
        LpConfig(
            code,
            entry["lp_id"],
            entry["quote"],
            entry["trade"],
            symbols.get(entry["lp_id"], {}),
            entry["staleness"],
        )
        for code, entry in found.items()
        if "quote" in entry and "trade" in entry
    ]
