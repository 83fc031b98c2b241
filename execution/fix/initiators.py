"""The quickfix initiators our LP sessions run in.

Plain ``SocketInitiator``s (the threaded ones stalled under bursts here): one for the quote
sessions and one for the trade sessions, so a burst of quotes never queues an execution report
behind it. A TLS session's quickfix connection goes to its ``TlsTunnel`` on loopback, which
carries it to the LP; the tunnels start before the initiators and stop after them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import quickfix as fix

from execution.fix.config import Role, SessionConfig
from execution.fix.sessions import initiator_settings, session_id
from execution.fix.tls import TlsTunnel


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
        self._sessions = list(sessions)
        self._store = store
        self._application = application
        self._message_log = message_log
        self._tunnels: list[TlsTunnel] = []
        self._running: list[tuple[Any, list[Any]]] = []

    def start(self) -> None:
        self._store.mkdir(parents=True, exist_ok=True)
        by_role: dict[Role, list[SessionConfig]] = {role: [] for role in Role}
        for config, role in self._sessions:
            if config.tls is not None:
                tunnel = TlsTunnel(
                    f"fix-tls-{session_id(config).toString()}", config.host, config.port,
                    config.tls,
                )  # fmt: skip
                tunnel.start()
                self._tunnels.append(tunnel)
                config = replace(config, host="127.0.0.1", port=tunnel.port)
            by_role[role].append(config)
        for role, configs in by_role.items():
            if not configs:
                continue
            settings = initiator_settings([(config, role) for config in configs], self._store)
            keep: list[Any] = [self._application(role), fix.FileStoreFactory(settings), settings]
            if self._message_log:
                keep.append(fix.FileLogFactory(settings))
            initiator = fix.SocketInitiator(*keep)
            initiator.start()
            self._running.append((initiator, keep))

    def stop(self) -> None:
        for initiator, _ in self._running:
            initiator.stop()
        self._running.clear()
        for tunnel in self._tunnels:
            tunnel.stop()
        self._tunnels.clear()
