"""quickfix SessionSettings built in code from the LP configuration.

Trade sessions keep their sequence numbers and sent messages in a FileStore across restarts
(an order's fate is asked for, never guessed). Quote sessions reset on logon and persist
nothing: a replayed quote is stale by definition.

quickfix reconnects every ReconnectInterval seconds, one interval for a whole initiator: the
bridge sets it to one second and decides itself when each session may try (``reconnect.py``).
TLS is not quickfix's here (``tls.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import quickfix as fix

from execution.fix.config import Role, SessionConfig

BEGIN_STRING = "FIX.4.4"
RECONNECT_TICK_SECONDS = 1  # how often quickfix may try a session the bridge lets connect


def data_dictionary() -> Path:
    """The FIX44.xml the quickfix install ships; repeating groups (MDEntries) need it."""
    return Path(sys.prefix) / "share" / "quickfix" / "FIX44.xml"


def session_id(config: SessionConfig) -> fix.SessionID:
    return fix.SessionID(BEGIN_STRING, config.sender_comp_id, config.target_comp_id)


def _defaults(store: Path, connection_type: str) -> fix.Dictionary:
    d = fix.Dictionary()
    d.setString("FileLogPath", str(store / "log"))  # used only with a FileLogFactory
    d.setString("ConnectionType", connection_type)
    d.setString("NonStopSession", "Y")  # LPs run 24/5 and reconnect is ours to drive
    d.setString("StartTime", "00:00:00")
    d.setString("EndTime", "00:00:00")
    d.setString("FileStorePath", str(store))
    d.setString("UseDataDictionary", "Y")
    d.setString("DataDictionary", str(data_dictionary()))
    d.setString("CheckLatency", "N")  # SendingTime skew between hosts is no reason to reject
    d.setString("ValidateUserDefinedFields", "N")
    d.setString("AllowUnknownMsgFields", "Y")  # an LP's extra fields are logged, not fatal
    d.setString("SocketNodelay", "Y")
    return d


def _session(role: Role) -> fix.Dictionary:
    d = fix.Dictionary()
    if role is Role.QUOTE:
        d.setString("ResetOnLogon", "Y")
        d.setString("PersistMessages", "N")
    else:
        d.setString("ResetOnLogon", "N")
        d.setString("ResetOnLogout", "N")
        d.setString("ResetOnDisconnect", "N")
        d.setString("PersistMessages", "Y")
    return d


def initiator_settings(
    sessions: Iterable[tuple[SessionConfig, Role]], store: Path
) -> fix.SessionSettings:
    """Settings for our side of LP sessions."""
    settings = fix.SessionSettings()
    defaults = _defaults(store, "initiator")
    defaults.setInt("ReconnectInterval", RECONNECT_TICK_SECONDS)
    settings.set(defaults)
    for config, role in sessions:
        d = _session(role)
        d.setString("SocketConnectHost", config.host)
        d.setInt("SocketConnectPort", config.port)
        d.setInt("HeartBtInt", config.heartbeat_seconds)
        settings.set(session_id(config), d)
    return settings


def acceptor_settings(
    sessions: Iterable[tuple[fix.SessionID, int, Role]], store: Path
) -> fix.SessionSettings:
    """Settings for an LP's side (the simulator): one accepting port per session."""
    settings = fix.SessionSettings()
    settings.set(_defaults(store, "acceptor"))
    for sid, port, role in sessions:
        d = _session(role)
        d.setInt("SocketAcceptPort", port)
        settings.set(sid, d)
    return settings
