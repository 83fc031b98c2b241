"""When each LP session may try to connect: exponential backoff with jitter.

quickfix retries every disconnected, enabled session at one fixed interval per initiator. The
bridge sets that interval to one second and keeps a session *disabled* (``Session.logout()``,
which only logs out a session that is logged on) except in a short window when its backoff
says it may try: the first try ``reconnect_seconds`` after a drop (and again after the first
failure), then twice as long after each further failure up to ``reconnect_max_seconds``, each
delay drawn between half and all of its step, so that sessions dropped by one LP outage do
not all come back at the same moment.

A window ends in a logon (the backoff starts over), in a refused logon (the LP logs us out:
counted at once), or after ``WINDOW`` seconds without a connection (a refused or timed out
TCP connect, which quickfix does not report: counted then). While a logon is on its way
the window stays open.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

import tenacity

from brokerstack import retries

log = logging.getLogger(__name__)

WINDOW = 1.5  # seconds: quickfix tries an enabled session at least once in this time


class Backoff:
    """Delays before the next try after ``failures`` failed tries in a row: the shared retry
    policy's (uniformly between half the step and the step). The step is ``base`` after a drop
    and after the first failure, then doubles with each failure up to ``cap``."""

    def __init__(self, base: float, cap: float) -> None:
        if base <= 0 or cap < base:
            raise ValueError(f"backoff needs 0 < base <= cap, got {base} and {cap}")
        self._steps = tenacity.wait_exponential(multiplier=base, max=cap)
        self._delays = retries.backoff(base, cap)

    def step(self, failures: int) -> float:
        return retries.delay(self._steps, failures)

    def delay(self, failures: int) -> float:
        return retries.delay(self._delays, failures)


class _Phase(Enum):
    UP = "up"  # logged on
    WAITING = "waiting"  # disabled until ``next_try``
    TRYING = "trying"  # enabled since ``opened``


class Session(Protocol):
    """What a window needs of a quickfix session (``fix.Session`` has all of it)."""

    def logon(self) -> None: ...
    def logout(self, reason: str = "") -> None: ...
    def isLoggedOn(self) -> bool: ...
    def sentLogon(self) -> bool: ...


@dataclass(slots=True)
class _State:
    name: str
    backoff: Backoff
    session: Callable[[], Session | None]
    phase: _Phase = _Phase.TRYING  # quickfix tries every session when it starts
    failures: int = 0
    opened: float = 0.0
    next_try: float = 0.0
    immediate: bool = False  # the next wait is none (an operator reset the session)


class Reconnects:
    """The backoff state of every session, moved on by quickfix callbacks (``logged_on``,
    ``logged_off``) and by the bridge's timer (``tick``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, _State] = {}
        self.stopping = False

    def add(
        self, key: str, name: str, backoff: Backoff, session: Callable[[], Session | None]
    ) -> None:
        self._states[key] = _State(name, backoff, session)

    def start(self, now: float) -> None:
        with self._lock:
            for state in self._states.values():
                state.phase, state.opened = _Phase.TRYING, now

    def failures(self, key: str) -> int:
        return self._states[key].failures

    def logged_on(self, key: str) -> None:
        with self._lock:
            state = self._states[key]
            state.phase, state.failures = _Phase.UP, 0

    def logged_off(self, key: str, now: float) -> None:
        """A session that was logged on dropped, or a logon we sent was refused (quickfix's
        onLogout; called on its thread, so the session is disabled before its next try)."""
        with self._lock:
            state = self._states[key]
            if self.stopping:
                return
            if state.phase is not _Phase.UP:
                state.failures += 1
            self._wait(state, now)

    def retry_now(self, key: str, now: float) -> None:
        """Let the session try again at once, now or after the logout under way (an operator
        reset it on purpose)."""
        with self._lock:
            state = self._states[key]
            state.failures = 0
            if state.phase is _Phase.WAITING:
                state.next_try = now
            else:
                state.immediate = True

    def tick(self, now: float) -> None:
        with self._lock:
            for state in self._states.values():
                self._advance(state, now)

    def _advance(self, state: _State, now: float) -> None:
        session = state.session()
        if session is None or self.stopping:
            return
        if state.phase is _Phase.WAITING and now >= state.next_try:
            state.phase, state.opened = _Phase.TRYING, now
            session.logon()
        elif state.phase is _Phase.TRYING and now - state.opened >= WINDOW:
            if session.isLoggedOn():
                state.phase, state.failures = _Phase.UP, 0
            elif not session.sentLogon():  # no connection came of this window
                state.failures += 1
                self._wait(state, now)

    def _wait(self, state: _State, now: float) -> None:
        session = state.session()
        if session is not None and not session.isLoggedOn():
            session.logout()  # disabled: quickfix leaves it alone until the next window
        delay = 0.0 if state.immediate else state.backoff.delay(state.failures)
        state.immediate = False
        state.phase, state.next_try = _Phase.WAITING, now + delay
        log.info(
            "%s: next connection attempt in %.1f s (%d failed in a row)",
            state.name, delay, state.failures,
        )  # fmt: skip
