"""Aggregator (best of LPs, staleness, crossed quotes, quiet LPs) and group markups."""

from __future__ import annotations

from decimal import Decimal

from execution import contracts as c
from execution.groups import AccountGroup, Markup
from execution.pricing import Aggregator, PricingEngine, apply_markup
from execution.testkit import Desk, of_type, sample_core

S = 1_000_000_000


def test_best_bid_and_best_ask_come_from_different_lps() -> None:
    agg = Aggregator(staleness_ns=5 * S)
    agg.update("a", "EURUSD", 110_000, 110_004, 0)
    best = agg.update("b", "EURUSD", 109_999, 110_002, 0)
    assert best is not None
    assert (best.bid, best.bid_lp, best.ask, best.ask_lp) == (110_000, "a", 110_002, "b")


def test_stale_quote_is_ignored() -> None:
    agg = Aggregator(staleness_ns=5 * S, quiet_ns=60 * S)
    agg.update("a", "EURUSD", 110_000, 110_004, 0)
    agg.update("b", "EURUSD", 109_990, 110_010, 4 * S)
    best = agg.best("EURUSD", 6 * S)  # a's quote is 6 s old
    assert best is not None
    assert (best.bid, best.ask) == (109_990, 110_010)
    assert agg.best("EURUSD", 10 * S) is None  # both stale


def test_crossed_quote_withdraws_that_lps_price() -> None:
    agg = Aggregator(staleness_ns=5 * S)
    agg.update("a", "EURUSD", 110_000, 110_004, 0)
    agg.update("b", "EURUSD", 109_998, 110_006, 0)
    best = agg.update("a", "EURUSD", 110_010, 110_000, 1)  # crossed
    assert best is not None
    assert (best.bid_lp, best.ask_lp) == ("b", "b")


def test_quiet_lp_is_dropped_until_it_quotes_again() -> None:
    agg = Aggregator(staleness_ns=60 * S, quiet_ns=5 * S)
    agg.update("a", "EURUSD", 110_001, 110_003, 0)
    agg.update("b", "GBPUSD", 127_000, 127_002, 0)
    agg.update("b", "EURUSD", 110_000, 110_004, 6 * S)
    best = agg.best("EURUSD", 6 * S)  # a said nothing anywhere for 6 s
    assert best is not None
    assert best.bid_lp == "b"
    agg.update("a", "GBPUSD", 127_000, 127_002, 7 * S)  # a is back (any symbol)
    recovered = agg.best("EURUSD", 7 * S)
    assert recovered is not None
    assert recovered.bid_lp == "a"


def test_markup_points_per_side_and_minimum_spread() -> None:
    assert apply_markup(110_000, 110_002, Markup(bid=1, ask=2)) == (109_999, 110_004)
    # spread 2 points widened to 5: 1 more below, 2 more above
    assert apply_markup(110_000, 110_002, Markup(min_spread=5)) == (109_999, 110_004)
    assert apply_markup(110_000, 110_010, Markup(min_spread=5)) == (110_000, 110_010)


def test_each_group_sees_its_own_marked_up_price() -> None:
    wide = AccountGroup("wide", markups={"EURUSD": Markup(bid=5, ask=5)})
    raw = AccountGroup("raw")
    engine = PricingEngine([wide, raw])
    agg = Aggregator(5 * S)
    produced = engine.publish("EURUSD", agg.update("lp", "EURUSD", 110_000, 110_002, 0))
    prices = {g.name: (q.bid, q.ask) for g, q in produced}
    assert prices == {"wide": (109_995, 110_007), "raw": (110_000, 110_002)}


def test_every_client_price_is_published_as_a_tick_and_stale_books_go_off_quotes() -> None:
    desk = Desk(sample_core())
    desk.core.add_account(1, "retail-usd", balance=Decimal(1000))
    ticks = of_type(desk.quote("EURUSD", "1.10000", "1.10002"), c.Tick)
    assert {(t.group, t.bid, t.ask) for t in ticks} == {
        ("retail-usd", Decimal("1.09999"), Decimal("1.10003")),
        ("pro-usd", Decimal("1.09999"), Decimal("1.10003")),
    }
    desk.advance(30)
    desk.timer()
    refused = desk.place(1, "EURUSD", "buy", "0.01")
    assert refused.replies[0] == c.Rejected(request_id="r1", code=c.RejectCode.OFF_QUOTES)
