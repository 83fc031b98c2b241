"""Whether a symbol's price is one to trade at: the execution service's word, or the age of
its last price; and the WebSocket hub's view of it as prices and states arrive."""

from __future__ import annotations

from api.quotes import LIVE, Freshness, Liveness, judge
from execution import contracts

S = 1_000_000_000
MAX_AGE = 5 * S


def _state(live: bool, reason: str = "", time: int = 0) -> contracts.QuoteState:
    return contracts.QuoteState(symbol="EURUSD", live=live, reason=reason, time=time)


def test_a_fresh_price_is_live_an_old_one_is_not() -> None:
    assert judge(100 * S, None, 104 * S, MAX_AGE) == LIVE
    assert judge(100 * S, _state(True), 106 * S, MAX_AGE) == Liveness(False, "no price for 6 s")
    assert judge(None, None, 1, MAX_AGE) == Liveness(False, "never priced")


def test_the_services_off_quotes_wins_over_a_fresh_price() -> None:
    off = _state(False, "no fresh price from any LP")
    assert judge(100 * S, off, 100 * S, MAX_AGE) == Liveness(False, "no fresh price from any LP")


def test_the_hub_reports_each_change_once() -> None:
    view = Freshness(MAX_AGE)
    assert view.watch("EURUSD", 100 * S, None, 101 * S) == LIVE
    assert view.on_tick("EURUSD", 102 * S) is None  # still live: nothing to say
    assert view.expire(106 * S) == []  # 4 s after the last price
    assert view.expire(108 * S) == [("EURUSD", Liveness(False, "no price for 6 s"))]
    assert view.expire(109 * S) == []  # said once
    assert view.on_tick("EURUSD", 110 * S) == LIVE
    went = view.on_state(_state(False, "no fresh price from any LP", 111 * S))
    assert went == Liveness(False, "no fresh price from any LP")
    assert view.on_state(_state(True, "", 112 * S)) == LIVE


def test_symbols_not_watched_are_ignored() -> None:
    view = Freshness(MAX_AGE)
    assert view.on_tick("GBPUSD", S) is None
    view.watch("EURUSD", S, None, S)
    view.forget("EURUSD")
    assert view.expire(100 * S) == []
