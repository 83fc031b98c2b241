"""The AML rules on hand-made rows: each rule's hit and the near miss beside it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest

from pipelines.aml.rules import (
    Client,
    Day,
    Payment,
    Thresholds,
    Trade,
    deposit_withdrawal_window,
    evaluate,
    fingerprint,
    method_mismatch,
    same_person,
    structuring,
    third_party_payer,
    velocity,
    withdrawal_without_trading,
)

D = Decimal
DAY = Day(datetime(2026, 3, 2, 22, tzinfo=UTC), datetime(2026, 3, 3, 22, tzinfo=UTC))
NOON = datetime(2026, 3, 3, 12, tzinfo=UTC)  # inside DAY
T = Thresholds()
_ids = count(1)


def pay(
    direction: str,
    eur: str,
    at: datetime,
    *,
    client: int = 1,
    method: str = "card",
    currency: str = "EUR",
    payer: str | None = None,
    country: str | None = None,
) -> Payment:
    return Payment(next(_ids), client, direction, method, D(eur), currency, D(eur), at, payer,
                   country)  # fmt: skip


def dep(eur: str, at: datetime, **kw: str) -> Payment:
    return pay("deposit", eur, at, **kw)  # type: ignore[arg-type]


def wd(eur: str, at: datetime, **kw: str) -> Payment:
    return pay("withdrawal", eur, at, **kw)  # type: ignore[arg-type]


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


# -- large deposit, then withdrawal within the window


def test_a_large_deposit_taken_back_within_the_window_is_a_hit() -> None:
    d, w = dep("12000", NOON - hours(30)), wd("8000", NOON)
    [hit] = deposit_withdrawal_window([d, w], DAY, T)
    assert hit.rule == "deposit_withdrawal_window"
    assert hit.payment_ids == tuple(sorted((d.id, w.id)))
    assert hit.details["hours_after_deposit"] == "30.0"


@pytest.mark.parametrize(
    ("deposit", "ago", "withdrawal"),
    [
        ("12000", 73, "8000"),  # outside the 72 hours
        ("9999.99", 30, "9000"),  # the deposit is not large
        ("12000", 30, "5999.99"),  # less than half taken back
    ],
)
def test_no_window_hit_just_outside_the_limits(deposit: str, ago: int, withdrawal: str) -> None:
    rows = [dep(deposit, NOON - hours(ago)), wd(withdrawal, NOON)]
    assert deposit_withdrawal_window(rows, DAY, T) == []


def test_a_withdrawal_of_another_day_is_not_this_days_hit() -> None:
    rows = [dep("12000", NOON - hours(40)), wd("8000", DAY.start - hours(1))]
    assert deposit_withdrawal_window(rows, DAY, T) == []


# -- withdrawal without meaningful trading


def test_withdrawal_after_a_hardly_traded_deposit_is_a_hit() -> None:
    d, w = dep("5000", NOON - timedelta(days=10)), wd("4900", NOON)
    trades = [Trade(1, NOON - timedelta(days=5), D("9999.99"))]  # under 2 x 5000
    [hit] = withdrawal_without_trading([d, w], trades, DAY, T)
    assert hit.payment_ids == tuple(sorted((d.id, w.id)))
    assert D(hit.details["traded_notional_eur"]) == D("9999.99")


def test_withdrawal_after_enough_trading_is_not_a_hit() -> None:
    d, w = dep("5000", NOON - timedelta(days=10)), wd("4900", NOON)
    trades = [Trade(1, NOON - timedelta(days=5), D(6000)), Trade(1, NOON - hours(1), D(4000))]
    assert withdrawal_without_trading([d, w], trades, DAY, T) == []


def test_trading_before_the_deposit_or_by_another_client_does_not_count() -> None:
    d, w = dep("5000", NOON - timedelta(days=10)), wd("4900", NOON)
    trades = [Trade(1, NOON - timedelta(days=11), D(50_000)), Trade(2, NOON, D(50_000))]
    assert len(withdrawal_without_trading([d, w], trades, DAY, T)) == 1


def test_small_or_old_deposits_are_not_weighed() -> None:
    small = [dep("999", NOON - timedelta(days=3)), wd("999", NOON)]
    old = [dep("5000", NOON - timedelta(days=31)), wd("4900", NOON)]
    assert withdrawal_without_trading(small, [], DAY, T) == []
    assert withdrawal_without_trading(old, [], DAY, T) == []


# -- deposit and withdrawal through different channels


def test_withdrawal_by_another_method_country_and_currency_is_a_hit() -> None:
    d = dep("1000", NOON - timedelta(days=20), method="card", country="CZ")
    w = wd("900", NOON, method="crypto", country="AE", currency="USD")
    [hit] = method_mismatch([d, w], DAY, T)
    assert hit.payment_ids == (w.id,)
    assert hit.details["differs"] == "method,country,currency"


def test_withdrawal_the_way_the_money_came_is_not_a_hit() -> None:
    rows = [
        dep("1000", NOON - timedelta(days=20), method="card", country="CZ"),
        dep("1000", NOON - timedelta(days=5), method="bank_transfer", currency="USD"),
        wd("900", NOON, method="bank_transfer", country="CZ", currency="USD"),
    ]
    assert method_mismatch(rows, DAY, T) == []


def test_a_mismatch_against_deposits_older_than_the_look_back_is_not_a_hit() -> None:
    rows = [dep("1000", NOON - timedelta(days=91), method="card"), wd("900", NOON, method="x")]
    assert method_mismatch(rows, DAY, T) == []


# -- third-party payer


CLIENT = {1: Client(1, "Anna", "Nováková")}


@pytest.mark.parametrize(
    "payer", ["Anna Nováková", "NOVAKOVA ANNA", "Mrs. Anna Maria Novakova", "anna  novakova"]
)
def test_the_clients_own_name_however_written_is_not_a_third_party(payer: str) -> None:
    assert same_person(payer, CLIENT[1])
    assert third_party_payer([dep("100", NOON, payer=payer)], CLIENT, DAY) == []


def test_someone_elses_name_is_a_third_party_payer() -> None:
    own, other = dep("100", NOON, payer="Anna Novakova"), dep("200", NOON, payer="Petr Novak")
    unknown = dep("300", NOON)  # the PSP gave no name
    [hit] = third_party_payer([own, other, unknown], CLIENT, DAY)
    assert hit.payment_ids == (other.id,)
    assert hit.details["payers"] == "Petr Novak"


def test_a_surname_alone_is_not_enough_to_be_the_client() -> None:
    assert not same_person("Novakova", CLIENT[1])


# -- structuring


def test_three_deposits_just_under_the_threshold_within_a_week_are_a_hit() -> None:
    rows = [
        dep("9000", NOON - timedelta(days=6)),
        dep("9999.99", NOON - timedelta(days=2)),
        dep("9500", NOON),
    ]
    [hit] = structuring(rows, DAY, T)
    assert hit.payment_ids == tuple(sorted(p.id for p in rows))
    assert D(hit.details["total_eur"]) == D("28499.99")


@pytest.mark.parametrize(
    "amounts",
    [
        ("8999.99", "9999.99", "9500"),  # one under 90%
        ("9000", "10000", "9500"),  # one at the threshold (reported anyway)
    ],
)
def test_amounts_outside_the_band_are_not_structuring(amounts: tuple[str, str, str]) -> None:
    rows = [dep(a, NOON - timedelta(days=i)) for i, a in enumerate(amounts)]
    assert structuring(rows, DAY, T) == []


def test_structuring_needs_the_deposits_within_the_days_and_one_today() -> None:
    spread = [dep("9500", NOON - timedelta(days=d)) for d in (0, 3, 8)]
    earlier = [dep("9500", NOON - timedelta(days=d)) for d in (1, 2, 3)]
    assert structuring(spread, DAY, T) == []
    assert structuring(earlier, DAY, T) == []


# -- velocity


def test_a_day_far_above_the_clients_own_average_is_a_hit() -> None:
    history = [dep("900", NOON - timedelta(days=d)) for d in range(10, 100, 10)]  # 8100 / 90
    today = [dep("3000", NOON), dep("2600", NOON + hours(1))]  # 5600 > 5 x 90
    [hit] = velocity(history + today, DAY, T)
    assert hit.payment_ids == tuple(sorted(p.id for p in today))
    assert hit.details["daily_average_eur"] == "90.00"


def test_velocity_within_the_profile_or_under_the_minimum_is_not_a_hit() -> None:
    history = [dep("9000", NOON - timedelta(days=d)) for d in range(2, 60, 2)]  # 261000 / 90
    assert velocity([*history, dep("14000", NOON)], DAY, T) == []  # 14000 < 5 x 2900
    assert velocity([dep("4999.99", NOON)], DAY, T) == []  # no history, under the minimum


def test_a_new_client_with_a_large_first_day_is_a_velocity_hit() -> None:
    assert len(velocity([dep("5000", NOON)], DAY, T)) == 1


# -- all rules


def test_evaluate_is_deterministic_and_fingerprints_name_rule_and_payments() -> None:
    rows = [dep("12000", NOON - hours(5), payer="Someone Else"), wd("11000", NOON)]
    first = evaluate(CLIENT, rows, [], DAY, T)
    assert first == evaluate(CLIENT, list(reversed(rows)), [], DAY, T)
    assert {h.rule for h in first} == {
        "deposit_withdrawal_window", "withdrawal_without_trading", "third_party_payer",
        "velocity",
    }  # fmt: skip
    window = next(h for h in first if h.rule == "deposit_withdrawal_window")
    assert window.fingerprint == fingerprint(
        "deposit_withdrawal_window", reversed(window.payment_ids)
    )
    assert len({h.fingerprint for h in first}) == len(first)
