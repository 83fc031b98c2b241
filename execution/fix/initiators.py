"""The quickfix initiators our LP sessions run in.

Plain ``SocketInitiator``s (the threaded ones stalled under bursts here): one for the quote
sessions and one for the trade sessions, so a burst of quotes never queues an execution report
behind it. quickfix builds one TLS context per initiator from its default settings, so each
TLS session gets an ``SSLSocketInitiator`` of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import quickfix as fix

from execution.fix.config import SessionConfig, Tls
from execution.fix.sessions import Role, initiator_settings


@dataclass
class _Group:
    role: Role
    tls: Tls | None
    sessions: list[SessionConfig] = field(default_factory=list)


def _groups(sessions: Iterable[tuple[SessionConfig, Role]]) -> list[_Group]:
    plain = {role: _Group(role, None) for role in Role}
    groups: list[_Group] = []
    for config, role in sessions:
        if config.tls is None:
            plain[role].sessions.append(config)
        else:
            groups.append(_Group(role, config.tls, [config]))
    return [g for g in plain.values() if g.sessions] + groups


class Initiators:
    """Starts and stops the initiators; quickfix keeps raw pointers to the application, the
    store and log factories and the settings, so they are held as long as each initiator."""

    def __init__(
        self,
        sessions: Iterable[tuple[SessionConfig, Role]],
        store: Path,
        application: Callable[[Role], fix.Application],
        message_log: bool = False,
    ) -> None:
        self._groups = _groups(sessions)
        self._store = store
        self._application = application
        self._message_log = message_log
        self._running: list[tuple[Any, list[Any]]] = []

    def start(self) -> None:
        self._store.mkdir(parents=True, exist_ok=True)
        for group in self._groups:
            settings = initiator_settings(
                [(config, group.role) for config in group.sessions], self._store, group.tls
            )
            keep: list[Any] = [
                self._application(group.role),
                fix.FileStoreFactory(settings),
                settings,
            ]
            if self._message_log:
                keep.append(fix.FileLogFactory(settings))
            kind = fix.SocketInitiator if group.tls is None else fix.SSLSocketInitiator
            initiator = kind(*keep)
            initiator.start()
            self._running.append((initiator, keep))

    def stop(self) -> None:
        for initiator, _ in self._running:
            initiator.stop()
        self._running.clear()
