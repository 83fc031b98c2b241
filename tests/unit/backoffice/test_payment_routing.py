"""Deposit routing: the methods that fit, by priority, failing providers last; fees by hand."""

from __future__ import annotations

from decimal import Decimal as D

from backoffice.payments.routing import Method, choose


def method(provider: str, priority: int, **kw: object) -> Method:
    base: dict[str, object] = {"method": "card", "currencies": frozenset({"USD", "EUR"}),
                               "countries": frozenset(), "fee_percent": D("0.029"),
                               "fee_fixed": D("0.30"), "min_amount": D(10),
                               "max_amount": D(5000)}  # fmt: skip
    return Method(provider=provider, priority=priority, **{**base, **kw})  # type: ignore[arg-type]


def test_the_fitting_methods_by_priority_with_failing_ones_last() -> None:
    a, b = method("alpha", 20), method("beta", 10)
    gb_only = method("gamma", 1, countries=frozenset({"GB"}))
    wire = method("delta", 0, method="bank_wire")
    methods = [a, b, gb_only, wire]
    assert choose(methods, "card", "USD", "DE", D(100)) == [b, a]
    assert choose(methods, "card", "USD", "GB", D(100)) == [gb_only, b, a]
    assert choose(methods, "card", "USD", "DE", D(100), unhealthy={"beta"}) == [a, b]
    assert choose(methods, "card", "JPY", "DE", D(100)) == []
    assert choose(methods, "card", "USD", "DE", D("9.99")) == []
    assert choose(methods, "card", "USD", "DE", D("5000.01")) == []
    assert choose(methods, "bank_wire", "EUR", "DE", D(100)) == [wire]


def test_the_fee_is_a_percentage_plus_a_fixed_part_to_the_cent() -> None:
    card = method("alpha", 1)
    assert card.fee(D(100)) == D("3.20")  # 2.90 + 0.30
    assert card.fee(D("33.33")) == D("1.27")  # 0.96657 + 0.30 = 1.26657 -> 1.27
    assert card.fee(D("10.00")) == D("0.59")
