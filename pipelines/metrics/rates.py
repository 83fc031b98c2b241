"""USD conversion at a cut, from the mid rates the execution core journalled in ``cut_rates``.

Metrics convert at the rates of the cut that closes their day, the ones every valuation of that
day used, so a dashboard's USD figure agrees with the cut's statements. A currency without a
rate stops the run: a report that silently dropped it would understate the day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

USD = "USD"


class MissingRates(LookupError):
    """Some currency the day needs has no rate at its cut."""

    def __init__(self, cut: datetime, currencies: Iterable[str]) -> None:
        self.cut = cut
        self.currencies = sorted(currencies)
        super().__init__(
            f"no USD rate at the cut {cut.isoformat()} for {', '.join(self.currencies)}"
        )


def resolve(
    journalled: Mapping[str, Decimal], needed: Iterable[str], cut: datetime
) -> dict[str, Decimal]:
    """The rates for ``needed``: journalled ones, and 1 for USD when the core wrote no row for it
    (it only journals what it converted)."""
    rates = {currency: journalled[currency] for currency in needed if currency in journalled}
    if USD in needed and USD not in rates:
        rates[USD] = Decimal(1)
    missing = set(needed) - rates.keys()
    if missing:
        raise MissingRates(cut, missing)
    return rates


def at_cut(
    conn: psycopg.Connection[Any], cut: datetime, needed: Iterable[str]
) -> dict[str, Decimal]:
    """The USD rate of each needed currency at ``cut``; raises :class:`MissingRates`."""
    wanted = set(needed)
    rows = conn.execute(
        "SELECT currency, usd_rate FROM cut_rates WHERE cut = %s AND currency = ANY(%s)",
        (cut, list(wanted)),
    ).fetchall()
    return resolve({str(currency): Decimal(rate) for currency, rate in rows}, wanted, cut)


def as_params(rates: Mapping[str, Decimal]) -> dict[str, list[Any]]:
    """Rates as two parallel arrays for ``unnest(%(currencies)s::text[], %(rates)s::numeric[])``."""
    return {"currencies": list(rates), "rates": list(rates.values())}


# A CTE of the resolved rates, for queries that take :func:`as_params`.
RATES_CTE = """rates(currency, usd_rate) AS (
    SELECT * FROM unnest(%(currencies)s::text[], %(rates)s::numeric[]))"""
