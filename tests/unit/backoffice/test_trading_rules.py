"""The trading admin rules: caps, the four-eyes threshold, amounts, ids, commands as JSON."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backoffice.brands.rules import BrandRules
from backoffice.trading import errors
from backoffice.trading.rules import (
    account_leverage_cap,
    check_amount,
    check_leverage,
    command_from_json,
    command_json,
    command_request_id,
    flags_request_id,
    needs_approval,
)
from execution import contracts as c
from warehouse.reference_data import ROLE_PERMISSIONS, ROLES_REQUIRING_2FA


@pytest.mark.parametrize(("leverage", "cap"), [(None, 30), (1, 30), (30, 30), (500, None)])
def test_a_leverage_within_the_jurisdictions_cap_passes(
    leverage: int | None, cap: int | None
) -> None:
    check_leverage(leverage, cap)


@pytest.mark.parametrize(("leverage", "cap"), [(31, 30), (0, 30), (-2, None)])
def test_a_leverage_over_the_cap_or_below_one_is_refused(leverage: int, cap: int | None) -> None:
    with pytest.raises(errors.LeverageAboveCap) as refused:
        check_leverage(leverage, cap)
    assert refused.value.code == "leverage_above_cap"
    assert refused.value.details["leverage"] == leverage


@pytest.mark.parametrize(
    ("amount", "threshold", "waits"),
    [
        ("1000.00", "1000", False),  # at the threshold: at once
        ("1000.01", "1000", True),
        ("-1000.01", "1000", True),  # a debit counts by its size
        ("999999", None, False),  # no threshold: never waits
    ],
)
def test_above_the_threshold_a_second_staff_member_decides(
    amount: str, threshold: str | None, waits: bool
) -> None:
    limit = None if threshold is None else Decimal(threshold)
    assert needs_approval(Decimal(amount), limit) is waits


@pytest.mark.parametrize(
    ("amount", "positive"), [("0", False), ("NaN", False), ("Infinity", False), ("-5", True)]
)
def test_amounts_that_are_none(amount: str, positive: bool) -> None:
    with pytest.raises(errors.InvalidAmount):
        check_amount(Decimal(amount), positive)


def test_a_command_kept_as_json_comes_back_the_same() -> None:
    command = c.BalanceOperation(
        request_id=command_request_id("r1"), account_id=7, kind=c.BalanceKind.CORRECTION,
        amount=Decimal("-12.34"), comment="fee", deadline=123, trace="t",
    )  # fmt: skip
    stored = command_json(command)
    assert stored["amount"] == "-12.34"
    assert "deadline" not in stored or stored["deadline"] is None
    back = command_from_json(stored)
    assert back == c.BalanceOperation(
        request_id="admin:r1", account_id=7, kind=c.BalanceKind.CORRECTION,
        amount=Decimal("-12.34"), comment="fee",
    )  # fmt: skip
    reset = command_from_json(
        command_json(c.UpdateAccount(request_id="u", account_id=1, leverage=None))
    )
    assert isinstance(reset, c.UpdateAccount)
    assert reset.leverage is None  # "back to the group's", not "unchanged"


def test_a_push_id_names_the_change_it_pushes() -> None:
    first = flags_request_id(5, 2, 1, True, 9)
    assert first == flags_request_id(5, 2, 1, True, 9)
    others = [
        flags_request_id(5, 2, 2, True, 9),  # another level
        flags_request_id(5, 2, 1, False, 9),  # another status
        flags_request_id(5, 3, 1, True, 9),  # the next push
        flags_request_id(5, 2, 1, True, 10),  # another account
    ]
    assert len({first, *others}) == 5


def _brand(caps: dict[tuple[str, str], int]) -> BrandRules:
    return BrandRules(
        brand_id=1, code="demo", allowed_countries=frozenset(), blocked_countries=frozenset(),
        maker_checker_threshold=Decimal(1000), maker_checker_currency="USD",
        mail_from_name="Demo", mail_from_address="no-reply@demo.test", kyc_level_for_deposit=1,
        kyc_level_for_live_account=1, kyc_level_for_trading=2, leverage_caps=caps,
    )  # fmt: skip


def test_an_accounts_cap_is_the_highest_its_country_has_on_any_symbol_group() -> None:
    esma = {("DE", "fx-major"): 30, ("DE", "crypto"): 2, ("FR", "fx-major"): 30}
    assert account_leverage_cap(_brand(esma), "DE") == 30
    assert account_leverage_cap(_brand(esma), "de") == 30
    assert account_leverage_cap(_brand(esma), "US") is None  # the brand caps nothing there
    # a rule for any symbol group of the country, or for any country, counts too
    assert account_leverage_cap(_brand({**esma, ("DE", "*"): 50}), "DE") == 50
    assert account_leverage_cap(_brand({("*", "crypto"): 2, ("*", "*"): 20}), "US") == 20


def test_the_roles_that_act_on_trading_accounts_need_a_second_factor() -> None:
    acting = {"trading.manage", "money.adjust"}
    holders = {role for role, held in ROLE_PERMISSIONS.items() if acting & set(held)}
    assert holders == {"admin", "manager", "dealer", "finance"}
    assert holders <= ROLES_REQUIRING_2FA
