"""Which PSP takes a deposit: the brand's methods that fit the payment's method, currency,
country and amount, in their priority order, leaving out the providers that are failing now.
Pure: the methods come from ``psp_methods``, the health from recent calls (:func:`unhealthy`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg

# a provider whose calls failed this many times in the window is passed over
FAILURES_TO_SKIP = 3
HEALTH_WINDOW = "5 minutes"


@dataclass(frozen=True, slots=True)
class Method:
    provider: str
    method: str
    currencies: frozenset[str]  # empty: any
    countries: frozenset[str]  # empty: any
    priority: int
    fee_percent: Decimal
    fee_fixed: Decimal
    min_amount: Decimal
    max_amount: Decimal | None

    def fits(self, method: str, currency: str, country: str, amount: Decimal) -> bool:
        return (
            self.method == method
            and (not self.currencies or currency in self.currencies)
            and (not self.countries or country in self.countries)
            and amount >= self.min_amount
            and (self.max_amount is None or amount <= self.max_amount)
        )

    def fee(self, amount: Decimal) -> Decimal:
        """The provider's fee on ``amount``, to the cent, half up."""
        return (amount * self.fee_percent + self.fee_fixed).quantize(Decimal("0.01"), ROUND_HALF_UP)


def choose(
    methods: Sequence[Method],
    method: str,
    currency: str,
    country: str,
    amount: Decimal,
    unhealthy: Collection[str] = (),
) -> list[Method]:
    """The methods to try, in order: those that fit, healthy ones first by priority, then the
    failing ones (a deposit is still tried where nothing else fits)."""
    return sorted((m for m in methods if m.fits(method, currency, country, amount)),
                  key=lambda m: (m.provider in unhealthy, m.priority, m.provider))  # fmt: skip


def brand_methods(conn: psycopg.Connection[Any], brand_id: int) -> list[Method]:
    rows = conn.execute(
        """SELECT provider, method, currencies, countries, priority, fee_percent, fee_fixed,
                  min_amount, max_amount
           FROM psp_methods WHERE brand_id = %s AND enabled ORDER BY priority, provider""",
        (brand_id,),
    ).fetchall()
    return [Method(r[0], r[1], frozenset(r[2]), frozenset(r[3]), *r[4:]) for r in rows]


def unhealthy(conn: psycopg.Connection[Any]) -> set[str]:
    """Providers whose deposit calls failed repeatedly in the last few minutes."""
    rows = conn.execute(
        f"""SELECT detail->>'provider' FROM payment_events
            WHERE status = 'provider_unavailable'
              AND occurred_at > now() - interval '{HEALTH_WINDOW}'
            GROUP BY 1 HAVING count(*) >= %s""",
        (FAILURES_TO_SKIP,),
    ).fetchall()
    return {str(r[0]) for r in rows}
