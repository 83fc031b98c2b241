"""Aggregator (best of LPs, staleness, crossed quotes, quiet LPs, LPs crossing each other)
and group markups."""

from __future__ import annotations

from decimal import Decimal

from execution import contracts as c
from execution.groups import AccountGroup, Markup
from execution.pricing import Aggregator, PricingEngine, apply_markup
from execution.testkit import Desk, of_type, sample_core

D = Decimal

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


def test_two_lps_crossing_leave_out_the_one_that_left_the_last_price() -> None:
    agg = Aggregator(staleness_ns=5 * S)
    agg.update("a", "EURUSD", 110_000, 110_006, 0)
    agg.update("b", "EURUSD", 110_001, 110_005, 0)  # aggregate 110_001 / 110_005, mid 110_003
    # b jumps 20 points up: its bid 110_021 is above a's ask 110_006
    best = agg.update("b", "EURUSD", 110_021, 110_025, 1)
    assert best is not None
    # b's mid 110_023 is 20 from the last mid, a's 110_003 is 0: b is left out
    assert (best.bid, best.bid_lp, best.ask, best.ask_lp) == (110_000, "a", 110_006, "a")
    assert best.left_out == ("b",)
    # a moves up a little: b is still the one away from the last mid (a's), still out
    best = agg.update("a", "EURUSD", 110_002, 110_008, 2)
    assert best is not None
    assert (best.bid, best.ask, best.left_out) == (110_002, 110_008, ("b",))
    # b comes back in line: both in again, nothing left out
    best = agg.update("b", "EURUSD", 110_003, 110_007, 3)
    assert best is not None
    assert (best.bid, best.bid_lp, best.ask, best.ask_lp) == (110_003, "b", 110_007, "b")
    assert best.left_out == ()


def test_three_lps_crossing_leave_out_the_one_off_the_median() -> None:
    agg = Aggregator(staleness_ns=5 * S)
    agg.update("a", "EURUSD", 110_000, 110_006, 0)  # mid 110_003
    agg.update("b", "EURUSD", 110_001, 110_005, 0)  # mid 110_003
    best = agg.update("c", "EURUSD", 109_980, 109_984, 0)  # mid 109_982, ask below a's bid
    assert best is not None
    assert (best.bid, best.bid_lp, best.ask, best.ask_lp) == (110_001, "b", 110_005, "b")
    assert best.left_out == ("c",)


def test_four_lps_median_of_the_middle_two() -> None:
    agg = Aggregator(staleness_ns=5 * S)
    agg.update("a", "EURUSD", 110_000, 110_004, 0)  # mid 110_002
    agg.update("b", "EURUSD", 110_002, 110_006, 0)  # mid 110_004
    agg.update("c", "EURUSD", 110_001, 110_007, 0)  # mid 110_004
    best = agg.update("d", "EURUSD", 110_030, 110_034, 0)  # mid 110_032, bid above all asks
    # median of 110_002, 110_004, 110_004, 110_032 is 110_004: d is 28 away, a only 2
    assert best is not None
    assert (best.bid, best.bid_lp, best.ask, best.ask_lp) == (110_002, "b", 110_004, "a")
    assert best.left_out == ("d",)


def test_lps_equally_far_off_the_consensus_are_left_out_together() -> None:
    agg = Aggregator(staleness_ns=5 * S)
    agg.update("a", "EURUSD", 110_000, 110_004, 0)  # mid 110_002
    agg.update("b", "EURUSD", 110_010, 110_014, 0)  # mid 110_012: crosses nobody yet
    best = agg.update("c", "EURUSD", 109_990, 109_994, 0)  # mid 109_992, crosses b
    # median 110_002 (a's); b and c are both 10 away: both out, a alone is the price
    assert best is not None
    assert (best.bid, best.ask, best.left_out) == (110_000, 110_004, ("b", "c"))


def test_two_lps_equally_far_off_the_last_price_publish_nothing() -> None:
    agg = Aggregator(staleness_ns=5 * S)
    agg.update("a", "EURUSD", 110_000, 110_004, 0)
    agg.update("b", "EURUSD", 110_000, 110_004, 0)  # last mid 110_002
    assert agg.update("a", "EURUSD", 109_990, 109_994, 1) is not None  # a 10 below: a is out
    assert agg.update("b", "EURUSD", 110_010, 110_014, 1) is None  # b now 10 above
    assert agg.reason("EURUSD", 1) == "crossed"
    best = agg.update("a", "EURUSD", 110_011, 110_013, 2)  # a back in line with b
    assert best is not None
    assert (best.bid, best.ask, best.left_out) == (110_011, 110_013, ())


def test_reason_says_why_a_symbol_has_no_aggregate() -> None:
    agg = Aggregator(staleness_ns=5 * S, quiet_ns=60 * S)
    assert agg.reason("EURUSD", 0) == "no LP quotes"
    agg.update("a", "EURUSD", 110_000, 110_004, 0)
    assert agg.reason("EURUSD", 1) == ""  # priced
    assert agg.reason("EURUSD", 6 * S) == "stale"
    agg.update("a", "EURUSD", 0, 0, 7 * S)  # the LP withdrew its quote
    assert agg.reason("EURUSD", 7 * S) == "no LP quotes"


def test_a_crossed_lp_does_not_stop_client_prices() -> None:
    desk = Desk(sample_core(), lps=("lp1", "lp2"))
    desk.core.add_account(1, "retail-usd", balance=Decimal(1000))
    desk.quote("EURUSD", "1.10000", "1.10004", lp="lp1")
    desk.quote("EURUSD", "1.10001", "1.10003", lp="lp2")
    # lp2 runs 30 points away, crossing lp1: clients keep lp1's price (marked up 1 point)
    ticks = of_type(desk.quote("EURUSD", "1.10031", "1.10033", lp="lp2"), c.Tick)
    assert {(t.group, t.bid, t.ask) for t in ticks} == {
        ("retail-usd", Decimal("1.09999"), Decimal("1.10005")),
        ("pro-usd", Decimal("1.09999"), Decimal("1.10005")),
    }
    # and an order fills at that price, routed by the LP that still quotes in line
    placed = desk.place(1, "EURUSD", "buy", "0.01")
    assert isinstance(placed.replies[0], c.Accepted)
    deals = of_type(placed, c.Deal)
    assert [d.price for d in deals] == [Decimal("1.10005")]


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


def test_an_lp_gone_stale_leaves_the_price_at_the_next_timer_pass() -> None:
    desk = Desk(sample_core(), lps=("lp1", "lp2"))
    desk.core.add_account(1, "pro-usd", balance=D(100_000))
    desk.quote("EURUSD", "1.10000", "1.10002", lp="lp1")  # the best on both sides
    desk.quote("EURUSD", "1.09998", "1.10004", lp="lp2")
    desk.advance(3)
    assert of_type(desk.quote("EURUSD", "1.09998", "1.10004", lp="lp2"), c.Tick) == []
    desk.advance(3)  # lp1's quote is 6 s old, past the 5 s limit; lp2's is 3 s old
    ticks = of_type(desk.timer(), c.Tick)
    pro = [t for t in ticks if t.group == "pro-usd"]
    # lp2's price alone, with the group's point of markup a side
    assert [(t.bid, t.ask) for t in pro] == [(D("1.09997"), D("1.10005"))]
    filled = of_type(desk.place(1, "EURUSD", "buy", "1"), c.Deal)
    assert filled[0].price == D("1.10005")
