"""A brand's rules as the other areas ask them: may this country register, what leverage may
this client have on this symbol group, which group does a new account go to, above which
amount does a balance or credit operation need a second approver. Pure: built from rows by
:func:`backoffice.brands.store.brand_rules`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

ANY = "*"
ACCOUNT_KINDS = ("demo", "live", "prop")


@dataclass(frozen=True, slots=True)
class BrandRules:
    brand_id: int
    code: str
    allowed_countries: frozenset[str]  # empty: every country not blocked
    blocked_countries: frozenset[str]
    maker_checker_threshold: Decimal
    maker_checker_currency: str
    mail_from_name: str
    mail_from_address: str
    kyc_level_for_deposit: int
    kyc_level_for_live_account: int
    kyc_level_for_trading: int
    # account kind -> account group id
    default_groups: Mapping[str, int] = field(default_factory=dict)
    # (country or '*', symbol group or '*') -> the retail maximum leverage
    leverage_caps: Mapping[tuple[str, str], int] = field(default_factory=dict)

    def country_allowed(self, country: str) -> bool:
        country = country.upper()
        if country in self.blocked_countries:
            return False
        return not self.allowed_countries or country in self.allowed_countries

    def leverage_cap(self, country: str, symbol_group: str) -> int | None:
        """The retail cap for a client of ``country`` on ``symbol_group``; the most specific
        rule wins; None: the brand caps nothing there (professional clients are not capped
        by these rules: that is the caller's choice)."""
        country = country.upper()
        for key in ((country, symbol_group), (country, ANY), (ANY, symbol_group), (ANY, ANY)):
            cap = self.leverage_caps.get(key)
            if cap is not None:
                return cap
        return None

    def default_group(self, kind: str) -> int | None:
        """The account group a new account of ``kind`` (demo, live, prop) goes to."""
        return self.default_groups.get(kind)

    def needs_second_approver(self, amount: Decimal) -> bool:
        """Maker-checker: an operation strictly above the threshold waits for a checker."""
        return abs(amount) > self.maker_checker_threshold
