"""The reconnect backoff: delays grow exponentially with jitter up to the ceiling, a session
is kept from trying between windows, and a logon starts the backoff over."""

from __future__ import annotations

import pytest

from execution.fix.reconnect import WINDOW, Backoff, Reconnects


class Session:
    """The four calls the backoff makes on a quickfix session, recorded."""

    def __init__(self) -> None:
        self.enabled = True
        self.logged_on = False
        self.logon_sent = False

    def isEnabled(self) -> bool:  # what the bridge's timer changed since
        return self.enabled

    def logon(self) -> None:
        self.enabled = True

    def logout(self, reason: str = "") -> None:
        self.enabled = False

    def isLoggedOn(self) -> bool:
        return self.logged_on

    def sentLogon(self) -> bool:
        return self.logon_sent


def test_delays_double_from_the_base_up_to_the_ceiling_between_half_and_all_of_each_step() -> None:
    backoff = Backoff(1.0, 8.0)
    assert [backoff.step(n) for n in range(7)] == [1, 1, 2, 4, 8, 8, 8]
    for failures in range(7):
        step = backoff.step(failures)
        delays = [backoff.delay(failures) for _ in range(200)]
        assert all(step / 2 <= d <= step for d in delays)
        assert max(delays) - min(delays) > step / 4  # jittered, not one fixed value


def test_a_backoff_needs_a_positive_base_below_its_ceiling() -> None:
    with pytest.raises(ValueError, match="0 < base <= cap"):
        Backoff(0, 5)
    with pytest.raises(ValueError, match="0 < base <= cap"):
        Backoff(10, 5)


def _reconnects(session: Session) -> Reconnects:
    reconnects = Reconnects()
    reconnects.add("s", "lp-a trade session", Backoff(1.0, 4.0), lambda: session)
    reconnects.start(0.0)
    return reconnects


def test_a_refused_logon_keeps_the_session_disabled_for_a_growing_delay() -> None:
    session = Session()
    reconnects = _reconnects(session)
    now, opened = 0.0, []
    for _ in range(5):  # five refused logons in a row
        reconnects.logged_off("s", now)
        assert not session.isEnabled()
        while not session.isEnabled():  # the timer's passes until the next window opens
            now += 0.1
            reconnects.tick(now)
        opened.append(now)
    gaps = [later - earlier for earlier, later in zip([0.0, *opened], opened, strict=False)]
    steps = [1, 2, 4, 4, 4]  # after the 1st, 2nd, ... failure
    for gap, step in zip(gaps, steps, strict=True):
        assert step / 2 <= gap <= step + 0.1, gaps
    assert reconnects.failures("s") == 5


def test_a_window_without_a_connection_counts_as_a_failure_and_a_logon_resets() -> None:
    session = Session()
    reconnects = _reconnects(session)
    reconnects.tick(WINDOW)  # nothing came of the first window: no logon was even sent
    assert not session.isEnabled()
    assert reconnects.failures("s") == 1

    now = WINDOW
    while not session.isEnabled():
        now += 0.1
        reconnects.tick(now)
    session.logon_sent = True  # connected, the logon on its way: the window stays open
    reconnects.tick(now + 10 * WINDOW)
    assert session.isEnabled()
    session.logged_on = True
    reconnects.logged_on("s")
    assert reconnects.failures("s") == 0

    session.logged_on = session.logon_sent = False
    reconnects.logged_off("s", 100.0)  # a drop: the first try comes after the base step
    while not session.isEnabled():
        now = 100.0 if now < 100.0 else now + 0.1
        reconnects.tick(now)
    assert 100.5 <= now <= 101.1


def test_an_operator_reset_reconnects_at_once_after_the_logout() -> None:
    session = Session()
    reconnects = _reconnects(session)
    session.logged_on = True
    reconnects.logged_on("s")
    reconnects.retry_now("s", 5.0)
    session.logged_on = False
    reconnects.logged_off("s", 5.0)
    reconnects.tick(5.0)
    assert session.isEnabled()
