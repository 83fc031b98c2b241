"""A brand's rules as the other areas ask them, and retention arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from backoffice.audit.retention import period_years, retained_until
from backoffice.brands.rules import BrandRules


def _rules(**changes: object) -> BrandRules:
    base: dict[str, object] = {
        "brand_id": 1,
        "code": "demo",
        "allowed_countries": frozenset(),
        "blocked_countries": frozenset({"US", "IR"}),
        "maker_checker_threshold": Decimal("1000.00"),
        "maker_checker_currency": "USD",
        "mail_from_name": "Demo",
        "mail_from_address": "no-reply@demo.test",
        "kyc_level_for_deposit": 1,
        "kyc_level_for_live_account": 1,
        "kyc_level_for_trading": 2,
        "default_groups": {"demo": 3, "live": 1},
        "leverage_caps": {("DE", "fx-major"): 30, ("DE", "*"): 10, ("*", "crypto"): 2},
    }
    return BrandRules(**{**base, **changes})  # type: ignore[arg-type]


def test_blocked_countries_are_refused_and_an_allow_list_limits_the_rest() -> None:
    open_brand = _rules()
    assert open_brand.country_allowed("de")
    assert not open_brand.country_allowed("US")
    listed = _rules(allowed_countries=frozenset({"DE", "AT"}))
    assert listed.country_allowed("AT")
    assert not listed.country_allowed("FR")


def test_the_most_specific_leverage_cap_wins() -> None:
    rules = _rules()
    assert rules.leverage_cap("DE", "fx-major") == 30
    assert rules.leverage_cap("de", "index-major") == 10  # the country's own rule
    assert rules.leverage_cap("FR", "crypto") == 2  # the symbol group anywhere
    assert rules.leverage_cap("FR", "fx-major") is None  # nothing caps it


def test_default_groups_and_the_maker_checker_threshold() -> None:
    rules = _rules()
    assert rules.default_group("demo") == 3
    assert rules.default_group("prop") is None
    assert not rules.needs_second_approver(Decimal("1000.00"))
    assert rules.needs_second_approver(Decimal("1000.01"))
    assert rules.needs_second_approver(Decimal("-5000"))


def test_retention_runs_whole_years_and_never_a_day_short() -> None:
    ended = datetime(2020, 6, 30, 8, 0, tzinfo=UTC)
    assert retained_until(ended, 5) == datetime(2025, 6, 30, 8, 0, tzinfo=UTC)
    leap = datetime(2024, 2, 29, tzinfo=UTC)
    assert retained_until(leap, 5) == datetime(2029, 3, 1, tzinfo=UTC)


def test_a_countrys_own_period_comes_before_the_brands_default() -> None:
    periods = {("*", "kyc_documents"): 5, ("CY", "kyc_documents"): 7}
    assert period_years(periods, "CY", "kyc_documents") == 7
    assert period_years(periods, "DE", "kyc_documents") == 5
    assert period_years(periods, "DE", "communications") is None
