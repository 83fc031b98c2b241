"""Converting between a client's own wallets on real PostgreSQL and Redis: a quote at the
execution service's live prices (put into its hashes as it encodes them) less the brand's
markup, then its confirmation as one all-or-none ledger batch.

The demo brand's markup is the default 0.005 and its default live group is
``retail-eu-hedging``, whose prices the quotes take. Every expected figure is worked out by
hand in the comment beside it; balances are plain sums over ``ledger_entries``."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal as D
from typing import Any

import psycopg
import pytest
import redis

from backoffice.errors import Refused
from backoffice.wallets import conversions
from backoffice.wallets.accounts import open_wallet
from brokerstack.streams import LAST_QUOTES_HASH, QUOTE_STATES_HASH
from execution import contracts as c
from warehouse import ledger

GROUP = "retail-eu-hedging"
_serial = itertools.count(1)


def put_price(r: redis.Redis, symbol: str, bid: str, ask: str, age_s: float = 0) -> None:
    """The group's last client price, as the execution service's publisher stores it."""
    tick = c.Tick(group=GROUP, symbol=symbol, bid=D(bid), ask=D(ask),
                  time=time.time_ns() - int(age_s * 1e9))  # fmt: skip
    r.hset(LAST_QUOTES_HASH, f"{GROUP}:{symbol}", c.encode(tick))


def put_state(r: redis.Redis, symbol: str, live: bool) -> None:
    state = c.QuoteState(symbol=symbol, live=live, reason="" if live else "stale",
                         time=time.time_ns())  # fmt: skip
    r.hset(QUOTE_STATES_HASH, symbol, c.encode(state))


def add_client(conn: psycopg.Connection[Any]) -> int:
    serial = next(_serial) + os.getpid() * 1_000
    row = conn.execute(
        """INSERT INTO clients (brand_id, email, first_name, last_name, country, kyc_level)
           SELECT id, %s, 'Petra', 'Novak', 'DE', 2 FROM brands WHERE code = 'demo'
           RETURNING id""",
        (f"fx{serial}@example.com",),
    ).fetchone()
    assert row is not None
    conn.commit()
    return int(row[0])


def fund(conn: psycopg.Connection[Any], client_id: int, currency: str, amount: str) -> int:
    """A card deposit's ledger side: PSP clearing -> the client's wallet; the wallet's id."""
    wallet = open_wallet(conn, client_id, currency)
    psp = conn.execute("SELECT id FROM ledger_accounts WHERE code = %s",
                       (f"demo:psp_clearing:stub-psp:{currency}",)).fetchone()  # fmt: skip
    assert psp is not None
    ledger.post(conn, [ledger.move(f"fund-{client_id}-{currency}-{amount}", currency, "deposit",
                                   psp[0], wallet.ledger_account_id, D(amount))])  # fmt: skip
    conn.commit()
    return wallet.id


def owed(conn: psycopg.Connection[Any], client_id: int) -> dict[str, D]:
    """What each of the client's wallets holds, from the entries."""
    rows = conn.execute(
        """SELECT w.currency, -coalesce(sum(e.amount), 0) FROM wallets w
           LEFT JOIN ledger_entries e ON e.ledger_account_id = w.ledger_account_id
           WHERE w.client_id = %s GROUP BY w.currency""",
        (client_id,),
    ).fetchall()
    return {str(ccy): D(total) for ccy, total in rows}


def broker(conn: psycopg.Connection[Any], code: str) -> D:
    row = conn.execute(
        """SELECT coalesce(sum(e.amount), 0) FROM ledger_accounts a
           LEFT JOIN ledger_entries e ON e.ledger_account_id = a.id WHERE a.code = %s""",
        (code,),
    ).fetchone()
    assert row is not None
    return D(row[0])


def count(conn: psycopg.Connection[Any], query: str, *params: Any) -> int:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def conn(seeded_db_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(seeded_db_url) as connection:
        yield connection


@pytest.fixture
def prices(redis_client: redis.Redis) -> redis.Redis:
    put_price(redis_client, "EURUSD", "1.2499", "1.2501")  # mid 1.25
    put_price(redis_client, "USDJPY", "159.99", "160.01")  # mid 160
    return redis_client


def test_a_confirmed_quote_moves_both_sides_once(
    conn: psycopg.Connection[Any], prices: redis.Redis
) -> None:
    cid = add_client(conn)
    usd = fund(conn, cid, "USD", "1000.00")
    # USD -> EUR: 1 / 1.25 = 0.8 at the mid; the client's rate 0.8 * 0.995 = 0.796;
    # 500.37 * 0.796 = 398.29452 -> 398.29 EUR; at the mid 400.296 -> 400.29; revenue 2.00
    offered = conversions.quote(conn, prices, cid, usd, "EUR", D("500.37"))
    assert (offered.mid_rate, offered.rate, offered.markup) == (D("0.8"), D("0.796"), D("0.005"))
    assert (offered.buy_amount, offered.revenue) == (D("398.29"), D("2.00"))
    assert (offered.from_currency, offered.to_currency) == ("USD", "EUR")
    assert offered.expires_at - offered.created_at == conversions.QUOTE_FOR
    assert offered.confirmed_at is None
    # a quote moves nothing; the EUR wallet it buys into is opened, empty
    assert owed(conn, cid) == {"USD": D("1000.00"), "EUR": D(0)}

    done = conversions.confirm(conn, cid, offered.id)
    assert done.confirmed_at is not None
    assert done.transfer_id is not None
    assert owed(conn, cid) == {"USD": D("499.63"), "EUR": D("398.29")}  # 1000.00 - 500.37
    # the brand sold 400.29 EUR (client 398.29 + its markup 2.00) and bought 500.37 USD
    assert broker(conn, "demo:fx_conversion:USD") == D("-500.37")
    assert broker(conn, "demo:fx_conversion:EUR") == D("400.29")
    assert broker(conn, "demo:revenue_fx:EUR") == D("-2.00")
    keys = [r[0] for r in conn.execute(
        "SELECT idempotency_key FROM ledger_transfers WHERE idempotency_key LIKE %s ORDER BY id",
        (f"fx-quote:{offered.id}:%",))]  # fmt: skip
    assert keys == [f"fx-quote:{offered.id}:sell", f"fx-quote:{offered.id}:buy"]

    # confirming again answers the first confirmation and moves nothing more
    again = conversions.confirm(conn, cid, offered.id)
    assert again == done
    assert owed(conn, cid) == {"USD": D("499.63"), "EUR": D("398.29")}
    assert count(conn, "SELECT count(*) FROM ledger_transfers WHERE idempotency_key LIKE %s",
                 f"fx-quote:{offered.id}:%") == 2  # fmt: skip
    audit = conn.execute(
        "SELECT actor_type, actor_id, entity_type, entity_id, after->>'buy_amount' "
        "FROM audit_log WHERE action = 'wallet.conversion_confirmed'"
    ).fetchall()
    assert audit == [("client", str(cid), "wallet", str(usd), "398.29")]
    assert count(conn, "SELECT count(*) FROM crm_events WHERE client_id = %s AND "
                 "event_type = 'wallet.conversion_confirmed'", cid) == 1  # fmt: skip
    assert ledger.check(conn).ok


def test_yen_converts_in_whole_units_and_crosses_through_the_dollar(
    conn: psycopg.Connection[Any], prices: redis.Redis
) -> None:
    cid = add_client(conn)
    usd = fund(conn, cid, "USD", "100.37")
    # USD -> JPY: rate 160 * 0.995 = 159.2; 100.37 * 159.2 = 15978.904 -> 15978 yen;
    # at the mid 16059.2 -> 16059; revenue 81 yen
    to_yen = conversions.quote(conn, prices, cid, usd, "JPY", D("100.37"))
    assert (to_yen.buy_amount, to_yen.revenue) == (D("15978"), D("81"))
    conversions.confirm(conn, cid, to_yen.id)
    assert owed(conn, cid) == {"USD": D(0), "JPY": D("15978")}
    yen = to_yen.to_wallet_id
    with pytest.raises(Refused) as fraction:
        conversions.quote(conn, prices, cid, yen, "EUR", D("0.5"))
    assert (fraction.value.kind, fraction.value.code) == ("invalid", "validation_error")
    # JPY -> EUR, no JPY pair of its own: 1 / 160 / 1.25 = 0.005 at the mid; the client's
    # rate 0.004975; 15978 * 0.004975 = 79.49055 -> 79.49 EUR; at the mid 79.89; revenue 0.40
    to_euro = conversions.quote(conn, prices, cid, yen, "EUR", D("15978"))
    assert (to_euro.mid_rate, to_euro.rate) == (D("0.005"), D("0.004975"))
    assert (to_euro.buy_amount, to_euro.revenue) == (D("79.49"), D("0.40"))
    conversions.confirm(conn, cid, to_euro.id)
    assert owed(conn, cid) == {"USD": D(0), "JPY": D(0), "EUR": D("79.49")}
    assert broker(conn, "demo:revenue_fx:JPY") == D("-81")
    assert broker(conn, "demo:revenue_fx:EUR") == D("-0.40")
    assert ledger.check(conn).ok


def _refused(call: Any) -> tuple[str, str]:
    with pytest.raises(Refused) as refused:
        call()
    return refused.value.kind, refused.value.code


def test_refused_quotes_write_nothing(conn: psycopg.Connection[Any], prices: redis.Redis) -> None:
    cid = add_client(conn)
    usd = fund(conn, cid, "USD", "100.00")
    other = add_client(conn)
    theirs = fund(conn, other, "USD", "100.00")

    def ask(wallet: int = usd, to: str = "EUR", amount: str = "10.00") -> tuple[str, str]:
        return _refused(lambda: conversions.quote(conn, prices, cid, wallet, to, D(amount)))

    assert ask(to="USD") == ("invalid", "validation_error")
    assert ask(to="eur") == ("invalid", "validation_error")
    for amount in ("0", "-1.00", "10.001", "NaN"):
        assert ask(amount=amount) == ("invalid", "validation_error"), amount
    assert ask(amount="100.01") == ("conflict", "insufficient_funds")
    assert ask(to="CHF") == ("invalid", "validation_error")  # no instrument prices CHF
    put_price(prices, "XAUUSD", "2400.00", "2400.50")
    assert ask(to="XAU") == ("invalid", "validation_error")  # gold is no wallet's currency
    assert ask(wallet=theirs) == ("not_found", "not_found")
    assert ask(amount="0.01") == ("invalid", "validation_error")  # 0.00796 EUR: nothing
    # a price the service says is off quotes, one too old, or none at all: try again
    put_state(prices, "EURUSD", live=False)
    assert ask() == ("unavailable", "fx_rate_unavailable")
    put_state(prices, "EURUSD", live=True)
    put_price(prices, "EURUSD", "1.2499", "1.2501", age_s=6)
    assert ask() == ("unavailable", "fx_rate_unavailable")
    prices.hdel(LAST_QUOTES_HASH, f"{GROUP}:EURUSD")
    assert ask() == ("unavailable", "fx_rate_unavailable")
    # another group's price is not the brand's
    prices.hset(
        LAST_QUOTES_HASH,
        "other-group:EURUSD",
        c.encode(
            c.Tick(
                group="other-group",
                symbol="EURUSD",
                bid=D("1.2"),
                ask=D("1.3"),
                time=time.time_ns(),
            )
        ),
    )
    assert ask() == ("unavailable", "fx_rate_unavailable")

    assert count(conn, "SELECT count(*) FROM fx_quotes") == 0
    assert set(owed(conn, cid)) == {"USD"}  # no EUR wallet was opened
    # back live, the same request is quoted
    put_price(prices, "EURUSD", "1.2499", "1.2501")
    assert conversions.quote(conn, prices, cid, usd, "EUR", D("10.00")).buy_amount == D("7.96")


def test_expired_spent_and_others_quotes_are_refused_and_move_nothing(
    conn: psycopg.Connection[Any], prices: redis.Redis
) -> None:
    cid = add_client(conn)
    usd = fund(conn, cid, "USD", "100.00")
    first = conversions.quote(conn, prices, cid, usd, "EUR", D("100.00"))
    second = conversions.quote(conn, prices, cid, usd, "EUR", D("60.00"))
    late = conversions.quote(conn, prices, cid, usd, "EUR", D("1.00"))
    conn.execute("UPDATE fx_quotes SET expires_at = now() - interval '1 second' WHERE id = %s",
                 (late.id,))  # fmt: skip
    conn.commit()
    other = add_client(conn)
    assert _refused(lambda: conversions.confirm(conn, other, first.id)) == (
        "not_found", "not_found")  # fmt: skip
    assert _refused(lambda: conversions.confirm(conn, cid, late.id)) == (
        "conflict", "quote_expired")  # fmt: skip
    # 100.00 * 0.796 = 79.60 EUR
    assert conversions.confirm(conn, cid, first.id).buy_amount == D("79.60")
    # the wallet was emptied by the first: the second is refused whole, in both currencies
    assert _refused(lambda: conversions.confirm(conn, cid, second.id)) == (
        "conflict", "insufficient_funds")  # fmt: skip
    assert owed(conn, cid) == {"USD": D(0), "EUR": D("79.60")}
    unconfirmed = count(conn, "SELECT count(*) FROM fx_quotes WHERE confirmed_at IS NULL")
    assert unconfirmed == 2
    assert count(conn, "SELECT count(*) FROM ledger_transfers WHERE idempotency_key LIKE %s",
                 f"fx-quote:{second.id}:%") == 0  # fmt: skip
    assert ledger.check(conn).ok


def test_two_confirmations_at_once_post_once(
    conn: psycopg.Connection[Any], prices: redis.Redis, seeded_db_url: str
) -> None:
    cid = add_client(conn)
    usd = fund(conn, cid, "USD", "50.00")
    offered = conversions.quote(conn, prices, cid, usd, "JPY", D("50.00"))

    def confirm(_: int) -> conversions.FxQuote:
        with psycopg.connect(seeded_db_url) as own:
            return conversions.confirm(own, cid, offered.id)

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(confirm, range(4)))
    assert len({(a.transfer_id, a.confirmed_at) for a in answers}) == 1
    # 50.00 * 159.2 = 7960 yen, once
    assert owed(conn, cid) == {"USD": D(0), "JPY": D("7960")}
    assert ledger.check(conn).ok
