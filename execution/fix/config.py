"""The LPs to connect to, as configured in the warehouse (``lps``, ``lp_sessions``,
``lp_symbols``): nothing about a FIX session lives in a hand-edited file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import psycopg


class Role(StrEnum):
    """Each LP has one session of each: quotes, and orders with their reports."""

    QUOTE = "quote"
    TRADE = "trade"


class LpConfigError(ValueError):
    """An LP session is configured in a way the bridge cannot connect with."""


class CredentialsError(LpConfigError):
    """A session's ``credentials_ref`` names a secret that cannot be read."""


@dataclass(frozen=True, slots=True)
class Tls:
    """TLS to the LP: its certificate must chain to ``ca_file``; ``cert_file`` / ``key_file``
    are our client certificate when the LP asks for one (mutual TLS)."""

    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """One FIX 4.4 session to an LP: we are SenderCompID, the LP is TargetCompID."""

    host: str
    port: int
    sender_comp_id: str
    target_comp_id: str
    heartbeat_seconds: int = 30
    reconnect_seconds: int = 5  # the first step of the reconnect backoff
    credentials_ref: str | None = None
    username: str | None = None  # Logon Username (553); None: our SenderCompID
    tls: Tls | None = None
    reconnect_max_seconds: int = 60  # the backoff's ceiling
    order_timeout_ms: int = 5000  # trade sessions: wait this long for a final report

    @property
    def logon_username(self) -> str:
        return self.username or self.sender_comp_id


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
           s.target_comp_id, s.credentials_ref, s.heartbeat_seconds, s.reconnect_seconds,
           s.username, s.tls, s.tls_ca_file, s.tls_cert_file, s.tls_key_file,
           s.reconnect_max_seconds, s.order_timeout_ms
    FROM lps l JOIN lp_sessions s ON s.lp_id = l.id
    WHERE l.enabled AND s.enabled
    ORDER BY l.code, s.role
"""

_SYMBOLS = """
    SELECT ls.lp_id, i.symbol, ls.lp_symbol
    FROM lp_symbols ls JOIN instruments i ON i.id = ls.instrument_id
    WHERE i.enabled
"""


def _tls(code: str, role: str, enabled: bool, files: tuple[str | None, ...]) -> Tls | None:
    """The session's TLS files, each checked to be readable now: quickfix would only say
    "file could not be opened" when the initiator starts, without naming the session."""
    if not enabled:
        return None
    paths = [None if f is None else Path(f) for f in files]
    for path in paths:
        if path is not None and not os.access(path, os.R_OK):
            raise LpConfigError(f"{code} {role} session: TLS file {path} cannot be read")
    ca_file, cert_file, key_file = paths
    if ca_file is None:
        raise LpConfigError(f"{code} {role} session: TLS needs tls_ca_file")
    return Tls(ca_file, cert_file, key_file)


def load_lps(conn: psycopg.Connection[Any], codes: set[str] | None = None) -> list[LpConfig]:
    """Every enabled LP with both an enabled quote and an enabled trade session."""
    symbols: dict[int, dict[str, str]] = {}
    for lp_id, symbol, lp_symbol in conn.execute(_SYMBOLS):
        symbols.setdefault(lp_id, {})[symbol] = lp_symbol
    found: dict[str, dict[str, Any]] = {}
    for row in conn.execute(_SESSIONS):
        lp_id, code, staleness, role, host, port, sender, target, ref, heartbeat = row[:10]
        reconnect, username, tls, ca, cert, key, reconnect_max, order_timeout = row[10:]
        if codes is not None and code not in codes:
            continue
        entry = found.setdefault(code, {"lp_id": lp_id, "staleness": staleness})
        entry[role] = SessionConfig(
            host, port, sender, target, heartbeat, reconnect, ref, username,
            _tls(code, role, tls, (ca, cert, key)), reconnect_max, order_timeout,
        )  # fmt: skip
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
