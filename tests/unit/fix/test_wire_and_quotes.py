"""Reading FIX text: fields, market data entries, and quotes per LP symbol."""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution.fix import wire
from execution.fix.config import CredentialsError, LpConfig, SessionConfig, resolve_password
from execution.fix.links import Link
from execution.fix.quotes import on_market_data, on_request_reject

D = Decimal
SOH = "\x01"


def _raw(*pairs: tuple[int, str]) -> str:
    return "".join(f"{tag}={value}{SOH}" for tag, value in pairs)


def _link() -> Link:
    session = SessionConfig("127.0.0.1", 1, "US", "LP")
    return Link.of(LpConfig("lp-a", 1, session, session, {"EURUSD": "EUR/USD"}))


def test_decimal_refuses_garbage_and_infinities() -> None:
    assert wire.decimal("1.08500") == D("1.08500")
    assert wire.decimal("abc") is None
    assert wire.decimal("Infinity") is None
    assert wire.decimal(None) is None


def test_snapshot_then_incremental_updates_one_side() -> None:
    link = _link()
    snapshot = _raw((35, "W"), (55, "EUR/USD"), (268, "2"), (269, "0"), (270, "1.1"),
                    (269, "1"), (270, "1.2"))  # fmt: skip
    update = on_market_data(link, "W", snapshot, 1)
    assert [(q.symbol, q.bid, q.ask) for q in update.quotes] == [("EURUSD", D("1.1"), D("1.2"))]
    incremental = _raw((35, "X"), (268, "1"), (279, "1"), (269, "1"), (55, "EUR/USD"),
                       (270, "1.15"))  # fmt: skip
    update = on_market_data(link, "X", incremental, 2)
    assert [(q.bid, q.ask) for q in update.quotes] == [(D("1.1"), D("1.15"))]
    deleted = _raw((35, "X"), (268, "1"), (279, "2"), (269, "0"), (55, "EUR/USD"))
    update = on_market_data(link, "X", deleted, 3)
    assert [(q.bid, q.ask) for q in update.quotes] == [(D(0), D("1.15"))]  # bid withdrawn


def test_unknown_symbol_and_bad_price_are_reported() -> None:
    link = _link()
    raw = _raw((35, "X"), (268, "2"), (279, "0"), (269, "0"), (55, "GBP/USD"), (270, "1.3"),
               (279, "0"), (269, "1"), (55, "EUR/USD"), (270, "-1"))  # fmt: skip
    update = on_market_data(link, "X", raw, 1)
    assert any("unknown symbol 'GBP/USD'" in p for p in update.problems)
    assert any("usable price" in p for p in update.problems)
    assert [(q.bid, q.ask) for q in update.quotes] == [(D(0), D(0))]


def test_request_reject_withdraws_the_symbol() -> None:
    link = _link()
    link.md_requests["r1"] = "EURUSD"
    link.quotes["EURUSD"] = [D("1.1"), D("1.2")]
    update = on_request_reject(link, {262: "r1", 281: "0", 58: "unknown symbol"}, 1)
    assert [(q.bid, q.ask) for q in update.quotes] == [(D(0), D(0))]
    assert "rejected" in update.problems[0]


def test_credentials_come_from_the_environment_only() -> None:
    assert resolve_password("env:LP_SECRET", {"LP_SECRET": "s3"}) == "s3"
    assert resolve_password(None) == ""
    with pytest.raises(CredentialsError):
        resolve_password("file:/etc/secret")
