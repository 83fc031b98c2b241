"""Routing policy: rules in order, the first that matches decides A-book, B-book, partial or
reject (domain.md, Routing). Rules are data, loaded from the warehouse by the shell."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from execution.units import decimal_to_int


class RouteAction(StrEnum):
    A_BOOK = "a_book"
    B_BOOK = "b_book"
    PARTIAL = "partial"  # fill internally and hedge `hedge_ratio` of the volume at an LP
    REJECT = "reject"
    REQUOTE = "requote"  # refuse at this price, telling the client the current one


@dataclass(frozen=True, slots=True)
class RoutingRule:
    """Empty sets and None bounds match anything; bounds are inclusive."""

    action: RouteAction
    groups: frozenset[str] = frozenset()
    accounts: frozenset[int] = frozenset()
    symbols: frozenset[str] = frozenset()
    symbol_groups: frozenset[str] = frozenset()
    min_volume: Decimal | None = None  # lots
    max_volume: Decimal | None = None
    min_toxicity: int | None = None
    max_toxicity: int | None = None
    min_margin_level: Decimal | None = None  # percent; an account without margin has none
    max_margin_level: Decimal | None = None
    hedge_ratio: Decimal = Decimal(0)
    lp: str | None = None  # None: the LP quoting the best price for the side
    name: str = ""
    _min_units: int | None = field(init=False)
    _max_units: int | None = field(init=False)

    def __post_init__(self) -> None:
        for attr, value in (("_min_units", self.min_volume), ("_max_units", self.max_volume)):
            object.__setattr__(self, attr, None if value is None else decimal_to_int(value, 4))

    def matches(self, order: RouteRequest) -> bool:
        if self.groups and order.group not in self.groups:
            return False
        if self.accounts and order.account_id not in self.accounts:
            return False
        if self.symbols and order.symbol not in self.symbols:
            return False
        if self.symbol_groups and order.symbol_group not in self.symbol_groups:
            return False
        if self._min_units is not None and order.units < self._min_units:
            return False
        if self._max_units is not None and order.units > self._max_units:
            return False
        if self.min_toxicity is not None and order.toxicity < self.min_toxicity:
            return False
        if self.max_toxicity is not None and order.toxicity > self.max_toxicity:
            return False
        level = order.margin_level
        if self.min_margin_level is not None and (level is None or level < self.min_margin_level):
            return False
        return not (
            self.max_margin_level is not None
            and level is not None
            and level > self.max_margin_level
        )


@dataclass(frozen=True, slots=True)
class RouteRequest:
    group: str
    account_id: int
    symbol: str
    symbol_group: str
    units: int
    toxicity: int
    margin_level: Decimal | None  # percent


DEFAULT_RULE = RoutingRule(RouteAction.B_BOOK, name="default")


def route(rules: Sequence[RoutingRule], order: RouteRequest) -> RoutingRule:
    """The first matching rule; B-book when none matches."""
    for rule in rules:
        if rule.matches(order):
            return rule
    return DEFAULT_RULE
