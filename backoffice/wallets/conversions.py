"""Converting money between a client's own wallets: a quote at the live rate less the brand's
markup, good for :data:`QUOTE_FOR`, then its confirmation, one all-or-none ledger batch.

The rate is the mid of the execution service's client prices of currency pairs (forex
instruments: a wallet never holds gold or coins) for the brand's default live group (what the
client would trade at), read from the hashes it publishes into: a pair's own symbol, its
inverse, or a cross through the dollar (:mod:`backoffice.wallets.fx`). A symbol off quotes or
priced longer ago than ``max_age`` gives no rate, and no quote is made on it.

Confirming posts, under the keys ``fx-quote:<id>:sell`` and ``fx-quote:<id>:buy``:

* in the sell currency, the sell amount from the client's wallet to the brand's
  ``fx_conversion`` account;
* in the buy currency, from the brand's ``fx_conversion`` account the buy amount to the
  client's wallet and the markup to the brand's ``revenue_fx`` account.

The brand's ``fx_conversion`` accounts carry its currency position (what it sold and bought);
a quote is never re-priced, and a confirmed one answers its first result.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import msgspec
import psycopg

from backoffice.audit import Actor, record
from backoffice.crm.events import write_event
from backoffice.errors import Refused, invalid, not_found
from backoffice.wallets import fx
from backoffice.wallets.accounts import broker_account, client_wallet, open_wallet, usable
from brokerstack.streams import LAST_QUOTES_HASH, QUOTE_STATES_HASH
from execution import contracts as c
from warehouse import ledger
from warehouse.reference_data import currency_digits

QUOTE_FOR = timedelta(seconds=30)
# as old as a client price may be and still be one to trade at (the api's default)
PRICE_MAX_AGE = timedelta(seconds=5)
_CURRENCY = re.compile(r"[A-Z]{3}")


class PriceHashes(Protocol):
    """Where the execution service keeps its last prices: a Redis client (``redis.Redis``),
    or the api's adapter of its asynchronous one."""

    def hmget(self, name: str, keys: list[str]) -> list[bytes | str | None]: ...


@dataclass(frozen=True, slots=True)
class FxQuote:
    id: int
    client_id: int
    from_wallet_id: int
    to_wallet_id: int
    from_currency: str
    to_currency: str
    sell_amount: Decimal
    buy_amount: Decimal
    mid_rate: Decimal
    rate: Decimal
    markup: Decimal
    revenue: Decimal
    created_at: datetime
    expires_at: datetime
    transfer_id: int | None  # the sell side's ledger transfer, once confirmed
    confirmed_at: datetime | None


_QUOTE = """SELECT q.id, q.client_id, q.from_wallet_id, q.to_wallet_id, f.currency, t.currency,
                   q.sell_amount, q.buy_amount, q.mid_rate, q.rate, q.markup, q.revenue,
                   q.created_at, q.expires_at, q.transfer_id, q.confirmed_at
            FROM fx_quotes q JOIN wallets f ON f.id = q.from_wallet_id
                             JOIN wallets t ON t.id = q.to_wallet_id"""


def _quote(row: Any) -> FxQuote:
    return FxQuote(*row[:16])


def _conflict(code: str, message: str, **details: Any) -> Refused:
    return Refused("conflict", code, message, {"source": "backoffice", **details})


def quote(
    conn: psycopg.Connection[Any],
    prices: PriceHashes,
    client_id: int,
    from_wallet_id: int,
    to_currency: str,
    sell_amount: Decimal,
    *,
    max_age: timedelta = PRICE_MAX_AGE,
) -> FxQuote:
    """A committed quote for selling ``sell_amount`` of the wallet for ``to_currency`` (whose
    wallet is opened if the client has none). Refused, with nothing written, for the same
    currency, an amount not positive or finer than the currency's minor unit, more than the
    wallet has available, a pair no instrument prices (invalid), or no live price now
    (unavailable: try again)."""
    wallet = usable(client_wallet(conn, client_id, from_wallet_id))
    if not _CURRENCY.fullmatch(to_currency):
        raise invalid("to_currency", "a three-letter currency code")
    if to_currency == wallet.currency:
        raise invalid("to_currency", f"a currency other than the wallet's ({wallet.currency})")
    digits = currency_digits(wallet.currency)
    if not isinstance(sell_amount, Decimal) or not sell_amount.is_finite() or sell_amount <= 0:
        raise invalid("amount", "a positive amount")
    if sell_amount != sell_amount.quantize(Decimal(1).scaleb(-digits)):
        raise invalid("amount", f"at most {digits} decimals in {wallet.currency}")
    available = ledger.available(conn, wallet.ledger_account_id)
    if available is None or sell_amount > available:
        raise _conflict("insufficient_funds", "the wallet has not that much available",
                        available=str(available or 0))  # fmt: skip
    brand = conn.execute(
        """SELECT b.fx_markup, g.code FROM clients c JOIN brands b ON b.id = c.brand_id
           LEFT JOIN brand_default_groups d ON d.brand_id = b.id AND d.account_kind = 'live'
           LEFT JOIN account_groups g ON g.id = d.account_group_id
           WHERE c.id = %s""",
        (client_id,),
    ).fetchone()
    assert brand is not None  # the wallet is the client's
    markup, group = Decimal(brand[0]), brand[1]
    mid = _mid_rate(conn, prices, group, wallet.currency, to_currency, max_age)
    conversion = fx.convert(sell_amount, mid, markup, currency_digits(to_currency))
    if conversion.buy <= 0:
        raise invalid("amount", f"too small to buy any {to_currency}")
    with conn.transaction():
        target = usable(open_wallet(conn, client_id, to_currency))
        row = conn.execute(
            """INSERT INTO fx_quotes (client_id, from_wallet_id, to_wallet_id, sell_amount,
                   buy_amount, mid_rate, rate, markup, revenue, expires_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now() + %s) RETURNING id""",
            (client_id, wallet.id, target.id, conversion.sell, conversion.buy,
             conversion.mid_rate, conversion.rate, markup, conversion.revenue, QUOTE_FOR),
        ).fetchone()  # fmt: skip
        assert row is not None
        made = conn.execute(f"{_QUOTE} WHERE q.id = %s", (row[0],)).fetchone()
    conn.commit()
    return _quote(made)


def quote_from_currency(
    conn: psycopg.Connection[Any],
    prices: PriceHashes,
    client_id: int,
    from_currency: str,
    to_currency: str,
    sell_amount: Decimal,
    *,
    max_age: timedelta = PRICE_MAX_AGE,
) -> FxQuote:
    """:func:`quote` from the client's wallet in ``from_currency`` (not found: they have none)."""
    row = conn.execute(
        """SELECT id FROM wallets WHERE client_id = %s AND currency = %s
           AND ledger_account_id IS NOT NULL""",
        (client_id, from_currency),
    ).fetchone()
    if row is None:
        raise not_found("wallet", from_currency)
    return quote(conn, prices, client_id, int(row[0]), to_currency, sell_amount,
                 max_age=max_age)  # fmt: skip


def _mid_rate(
    conn: psycopg.Connection[Any],
    prices: PriceHashes,
    group: str | None,
    sell: str,
    buy: str,
    max_age: timedelta,
) -> Decimal:
    symbols = fx.symbols_for(sell, buy)
    listed = [
        str(r[0])
        for r in conn.execute(
            """SELECT symbol FROM instruments
               WHERE symbol = ANY(%s) AND asset_class = 'forex'""",
            (symbols,),
        )
    ]
    # the same search over every listed symbol at any price: could a rate ever be found?
    if fx.mid_rate({s: (Decimal(1), Decimal(1)) for s in listed}, sell, buy) is None:
        raise invalid("to_currency", f"no instrument prices {sell} in {buy}")
    live = {} if group is None else live_prices(prices, group, listed, max_age)
    found = fx.mid_rate(live, sell, buy)
    if found is None:
        raise Refused("unavailable", "fx_rate_unavailable",
                      f"no live rate from {sell} to {buy} now: try again shortly",
                      {"from_currency": sell, "to_currency": buy, "retry": True})  # fmt: skip
    return found


def live_prices(
    prices: PriceHashes, group: str, symbols: list[str], max_age: timedelta
) -> dict[str, tuple[Decimal, Decimal]]:
    """The group's last bid and ask of each symbol that is live now: priced within
    ``max_age`` and not said off quotes by the execution service."""
    if not symbols:
        return {}
    ticks = prices.hmget(LAST_QUOTES_HASH, [f"{group}:{s}" for s in symbols])
    states = prices.hmget(QUOTE_STATES_HASH, symbols)
    oldest = time.time_ns() - max_age // timedelta(microseconds=1) * 1_000
    live = {}
    for symbol, tick_data, state_data in zip(symbols, ticks, states, strict=True):
        tick, state = _event(tick_data), _event(state_data)
        if not isinstance(tick, c.Tick) or tick.time < oldest:
            continue
        if isinstance(state, c.QuoteState) and not state.live:
            continue
        live[symbol] = (tick.bid, tick.ask)
    return live


def _event(data: bytes | str | None) -> c.Event | None:
    if not isinstance(data, bytes):
        return None
    try:
        return c.decode_event(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def confirm(conn: psycopg.Connection[Any], client_id: int, quote_id: int) -> FxQuote:
    """Convert at the quote, committed: both sides posted together or nothing. A confirmed
    quote answers its first confirmation; refused (nothing moved) when it has expired, when
    a wallet is not active or the sell wallet has no longer that much available."""
    with conn.transaction():
        row = conn.execute(
            f"""{_QUOTE} WHERE q.id = %s AND q.client_id = %s FOR UPDATE OF q""",
            (quote_id, client_id),
        ).fetchone()
        if row is None:
            raise not_found("quote", quote_id)
        found = _quote(row)
        if found.confirmed_at is not None:
            return found
        expired = conn.execute("SELECT now() >= %s", (found.expires_at,)).fetchone()
        if expired is not None and expired[0]:
            raise _conflict("quote_expired", "the quote has expired: ask for a new one",
                            quote_id=quote_id)  # fmt: skip
        posted = _post(conn, found)
        done = conn.execute(
            """UPDATE fx_quotes SET transfer_id = %s, confirmed_at = now() WHERE id = %s
               RETURNING confirmed_at""",
            (posted, found.id),
        ).fetchone()
        assert done is not None
        confirmed = replace(found, transfer_id=posted, confirmed_at=done[0])
        _record(conn, confirmed)
    conn.commit()
    return confirmed


def _post(conn: psycopg.Connection[Any], q: FxQuote) -> int:
    """Both sides of the conversion in one ledger batch; the sell side's transfer id."""
    source = usable(client_wallet(conn, q.client_id, q.from_wallet_id))
    target = usable(client_wallet(conn, q.client_id, q.to_wallet_id))
    brand = conn.execute("SELECT brand_id FROM clients WHERE id = %s", (q.client_id,)).fetchone()
    assert brand is not None
    sold_to = broker_account(conn, brand[0], "fx_conversion", q.from_currency)
    bought_from = broker_account(conn, brand[0], "fx_conversion", q.to_currency)
    entries = [ledger.Entry(bought_from, q.buy_amount + q.revenue),
               ledger.Entry(target.ledger_account_id, -q.buy_amount)]  # fmt: skip
    if q.revenue > 0:
        revenue = broker_account(conn, brand[0], "revenue_fx", q.to_currency)
        entries.append(ledger.Entry(revenue, -q.revenue))
    who, what = f"client:{q.client_id}", f"conversion {q.from_currency} -> {q.to_currency}"
    try:
        sell, _ = ledger.post(conn, [
            ledger.move(f"fx-quote:{q.id}:sell", q.from_currency, "fx_conversion",
                        source.ledger_account_id, sold_to, q.sell_amount, created_by=who,
                        description=what),
            ledger.Transfer(f"fx-quote:{q.id}:buy", q.to_currency, "fx_conversion",
                            tuple(entries), description=what, created_by=who),
        ])  # fmt: skip
    except ledger.InsufficientFunds as exc:
        raise _conflict("insufficient_funds", "the wallet has no longer that much available",
                        available=str(exc.details["available"])) from exc  # fmt: skip
    return sell.transfer_id


def _record(conn: psycopg.Connection[Any], q: FxQuote) -> None:
    def sold(amount: Decimal, currency: str) -> str:
        return str(amount.quantize(Decimal(1).scaleb(-currency_digits(currency))))

    facts = {"quote_id": q.id, "from_currency": q.from_currency, "to_currency": q.to_currency,
             "sell_amount": sold(q.sell_amount, q.from_currency),
             "buy_amount": sold(q.buy_amount, q.to_currency),
             "revenue": sold(q.revenue, q.to_currency), "rate": format(q.rate.normalize(), "f"),
             "to_wallet_id": q.to_wallet_id, "transfer_id": q.transfer_id}  # fmt: skip
    record(conn, Actor.client(q.client_id), "wallet.conversion_confirmed", "wallet",
           q.from_wallet_id, None, facts)  # fmt: skip
    write_event(conn, "wallet.conversion_confirmed", client_id=q.client_id, payload=facts)
