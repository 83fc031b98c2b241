"""quickfix's callbacks, forwarded to the bridge.

They run on quickfix's C++ threads: an exception escaping one ends the process, so each is
guarded (logged, the message dropped). ``toAdmin`` and ``toApp`` run while quickfix is in the
middle of sending (the sequence number already given), so nothing may be sent from them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import quickfix as fix

from execution.fix.config import Role

if TYPE_CHECKING:
    from execution.fix.bridge import FixBridge

log = logging.getLogger(__name__)


def _guarded(what: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def wrap(fn: Callable[..., None]) -> Callable[..., None]:
        def guarded(*args: Any) -> None:
            try:
                fn(*args)
            except fix.DoNotSend:
                raise
            except Exception:
                log.exception("fix %s callback failed; message dropped", what)

        return guarded

    return wrap


class BridgeApplication(fix.Application):  # type: ignore[misc]
    def __init__(self, bridge: FixBridge, role: Role) -> None:
        super().__init__()
        self.bridge = bridge
        self.role = role

    @_guarded("onCreate")
    def onCreate(self, sid: fix.SessionID) -> None:
        pass

    @_guarded("onLogon")
    def onLogon(self, sid: fix.SessionID) -> None:
        self.bridge.logged(sid, self.role, True)

    @_guarded("onLogout")
    def onLogout(self, sid: fix.SessionID) -> None:
        self.bridge.logged(sid, self.role, False)

    @_guarded("toAdmin")
    def toAdmin(self, msg: fix.Message, sid: fix.SessionID) -> None:
        self.bridge.to_admin(msg, sid)

    @_guarded("fromAdmin")
    def fromAdmin(self, msg: fix.Message, sid: fix.SessionID) -> None:
        self.bridge.from_admin(msg, sid)

    @_guarded("toApp")
    def toApp(self, msg: fix.Message, sid: fix.SessionID) -> None:
        self.bridge.to_app(msg, sid, self.role)

    @_guarded("fromApp")
    def fromApp(self, msg: fix.Message, sid: fix.SessionID) -> None:
        if self.role is Role.QUOTE:
            self.bridge.quote_message(msg, sid)
        else:
            self.bridge.trade_message(msg, sid)
