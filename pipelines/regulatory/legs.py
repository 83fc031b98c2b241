"""A position's deals replayed into EMIR's life cycle of its legs.

Each leg is one derivative with its own UTI, named after the deal that opened it. In netting
mode a deal adding to the position or closing part of it modifies the leg (its notional
changes), one closing all of it terminates the leg, and a reversal (entry INOUT) terminates
the leg and opens a new one, named after the reversing deal, with the volume beyond the
close. Hedging positions only ever see IN, then OUT or OUT_BY deals: the same rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

Action = Literal["NEWT", "MODI", "TERM"]


@dataclass(frozen=True, slots=True)
class Deal:
    id: int
    executed_at: datetime
    side: str  # the client's: BUY or SELL
    entry: str  # IN, OUT, INOUT, OUT_BY
    volume: Decimal
    price: Decimal


@dataclass(frozen=True, slots=True)
class Leg:
    opening_deal_id: int
    side: str  # the client's
    volume: Decimal
    open_value: Decimal  # sum of price x volume of what is open: the exact average price
    opened_at: datetime

    def price(self, digits: int) -> Decimal:
        """The average open price, rounded to the instrument's digits as the core does."""
        return (self.open_value / self.volume).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class LegEvent:
    action: Action
    deal: Deal  # the deal that caused it
    leg: Leg  # after the deal; for a termination, the leg as it was closed
    prior_deal_id: int | None = None  # a reversal's new leg: the opening deal of the old one


class LegError(ValueError):
    """Deals that no position could have produced (the message says which)."""


def replay(deals: Sequence[Deal]) -> tuple[list[LegEvent], Leg | None]:
    """The life-cycle events of a position's deals in time order, and the leg left open."""
    events: list[LegEvent] = []
    leg: Leg | None = None
    for deal in deals:
        if deal.entry == "IN":
            if leg is None:
                leg = Leg(
                    deal.id, deal.side, deal.volume, deal.price * deal.volume, deal.executed_at
                )
                events.append(LegEvent("NEWT", deal, leg))
                continue
            if deal.side != leg.side:
                raise LegError(f"deal {deal.id} enters against its open position's side")
            leg = replace(
                leg,
                volume=leg.volume + deal.volume,
                open_value=leg.open_value + deal.price * deal.volume,
            )
            events.append(LegEvent("MODI", deal, leg))
            continue
        if leg is None:
            raise LegError(f"deal {deal.id} ({deal.entry}) closes a position that is not open")
        if deal.side == leg.side:
            raise LegError(f"deal {deal.id} ({deal.entry}) closes on the position's own side")
        if deal.entry in ("OUT", "OUT_BY"):
            if deal.volume > leg.volume:
                raise LegError(f"deal {deal.id} closes more than its position holds")
            if deal.volume == leg.volume:
                events.append(LegEvent("TERM", deal, leg))
                leg = None
                continue
            rest = leg.volume - deal.volume
            leg = replace(leg, volume=rest, open_value=leg.open_value * rest / leg.volume)
            events.append(LegEvent("MODI", deal, leg))
        elif deal.entry == "INOUT":
            beyond = deal.volume - leg.volume
            if beyond <= 0:
                raise LegError(f"reversal {deal.id} does not exceed its position's volume")
            events.append(LegEvent("TERM", deal, leg))
            old = leg.opening_deal_id
            leg = Leg(deal.id, deal.side, beyond, deal.price * beyond, deal.executed_at)
            events.append(LegEvent("NEWT", deal, leg, prior_deal_id=old))
        else:
            raise LegError(f"deal {deal.id} has an unknown entry {deal.entry!r}")
    return events, leg
