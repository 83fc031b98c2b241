"""ExecutionReports become LpReports by the growth of CumQty: nothing is filled twice."""

from __future__ import annotations

from decimal import Decimal

from execution.contracts import Side
from execution.fix.orders import ExecReport, OrderBook, Working
from execution.lp import LpOrder, Purpose, ReportStatus

D = Decimal


def _book(lots: str = "1", lp: str = "lp-a") -> OrderBook:
    book = OrderBook()
    order = LpOrder("bs-1", lp, "EURUSD", Side.BUY, int(D(lots) * 10_000), Purpose.HEDGE,
                    None, None, False, 0)  # fmt: skip
    book.register(Working(order, "EURUSD", D(lots), 0, quoted_px=D("1.1000")))
    return book


def _report(
    kind: str,
    status: str,
    cum: str | None,
    last: str | None = None,
    px: str | None = None,
    avg: str | None = None,
    exec_id: str = "e",
) -> ExecReport:
    def dec(v: str | None) -> Decimal | None:
        return None if v is None else D(v)

    return ExecReport("bs-1", exec_id, kind, status, dec(px), dec(last), dec(cum), dec(avg),
                      None, "", "o1")  # fmt: skip


def test_partial_fills_then_cancel_of_the_rest() -> None:
    book = _book()
    first = book.apply("lp-a", _report("F", "1", "0.4", "0.4", "1.1001", "1.1001"), 1)
    assert [(r.status, r.last_qty, r.last_px, r.leaves_qty) for r in first.reports] == [
        (ReportStatus.FILL, D("0.4"), D("1.1001"), D("0.6"))
    ]
    rest = book.apply("lp-a", _report("4", "4", "0.4", avg="1.1001"), 2)
    assert [r.status for r in rest.reports] == [ReportStatus.CANCELED]
    assert rest.final is not None
    assert "bs-1" not in book.working


def test_out_of_order_fill_is_applied_once_at_the_average_price() -> None:
    book = _book()
    later = book.apply("lp-a", _report("F", "2", "1", "0.5", "1.2", "1.15", exec_id="e2"), 1)
    assert [(r.last_qty, r.last_px) for r in later.reports] == [(D(1), D("1.15"))]
    earlier = book.apply("lp-a", _report("F", "1", "0.5", "0.5", "1.1", "1.1", exec_id="e1"), 2)
    assert earlier.reports == []
    assert "out of order" in earlier.reason


def test_status_answer_fills_only_what_was_missed() -> None:
    book = _book()
    book.apply("lp-a", _report("F", "1", "0.5", "0.5", "1.1", "1.1"), 1)
    status = book.apply("lp-a", _report("I", "2", "1", avg="1.12"), 2)
    # 1 lot at 1.12 on average, 0.5 of it already applied at 1.1: the rest cost 1.14
    assert [(r.last_qty, r.last_px) for r in status.reports] == [(D("0.5"), D("1.14"))]
    assert status.final is not None


def test_status_answer_unknown_order_rejects_it() -> None:
    book = _book()
    applied = book.apply("lp-a", _report("I", "8", "0"), 1)
    assert [r.status for r in applied.reports] == [ReportStatus.REJECTED]


def test_impossible_quantities_and_foreign_reports_are_refused_with_a_reason() -> None:
    book = _book()
    over = book.apply("lp-a", _report("F", "2", "2", "2", "1.1", "1.1"), 1)
    assert over.reports == []
    assert "impossible" in over.reason
    fine = book.apply("lp-a", _report("F", "2", "0.00001", "0.00001", "1.1", "1.1"), 1)
    assert fine.reports == []
    assert "impossible" in fine.reason
    other_lp = book.apply("lp-b", _report("F", "2", "1", "1", "1.1", "1.1"), 1)
    assert other_lp.reports == []
    assert "belongs to lp-a" in other_lp.reason
    no_price = book.apply("lp-a", _report("F", "2", "1", "0.3"), 1)
    assert no_price.reports == []
    assert "usable" in no_price.reason
    assert "bs-1" in book.working


def test_a_report_is_the_same_report_only_when_it_says_the_same() -> None:
    book = OrderBook()
    ack = _report("0", "0", "0", exec_id="e1")
    assert not book.seen("lp-a", ack)
    assert book.seen("lp-a", ack)  # resent as it was
    assert book.seen("lp-a", _report("0", "0", "0.0", exec_id="e1"))  # 0.0 is 0
    assert not book.seen("lp-b", ack)  # another LP's ExecIDs are its own
    # the LP reused e1 for the status answer: a new report, not a duplicate
    assert not book.seen("lp-a", _report("I", "2", "1", avg="1.1", exec_id="e1"))


def test_an_ack_names_the_lps_order_id_and_fills_nothing() -> None:
    book = _book()
    applied = book.apply("lp-a", _report("0", "0", "0"), 1)
    assert [(r.status, r.lp_order_ref, r.last_qty) for r in applied.reports] == [
        (ReportStatus.ACCEPTED, "o1", D(0))
    ]
    fill = book.apply("lp-a", _report("F", "2", "1", "1", "1.1", "1.1"), 2)
    assert [(r.status, r.lp_order_ref) for r in fill.reports] == [(ReportStatus.FILL, "o1")]


def test_impossible_reports_are_unusable_and_stale_ones_are_not() -> None:
    book = _book()
    assert book.apply("lp-a", _report("F", "2", "2", "2", "1.1", "1.1"), 1).unusable
    assert book.apply("lp-a", _report("F", "1", "-0.5", "0.5", "1.1", "1.1"), 1).unusable
    assert book.apply("lp-a", _report("F", "1", "0.5", "0.5"), 1).unusable  # no price
    assert not book.apply("lp-a", _report("F", "1", "0.5", "0.5", "1.1", "1.1"), 1).unusable
    stale = book.apply("lp-a", _report("F", "1", "0.2", "0.2", "1.1", "1.1"), 2)
    assert stale.reports == []
    assert not stale.unusable
