"""Deposits: checked against the client's KYC level and its limit, routed to a PSP, and sent to
its hosted page. Nothing is credited here: the money arrives with the PSP's signed event
(:mod:`backoffice.payments.processing`), never with the client's return to our site.

A deposit is a ``payments`` row before any call leaves (so a crash after the PSP's answer still
has our id in the event's metadata) and each state it reaches is a ``payment_events`` row. The
call carries the payment's key as its idempotency key: a retry finds the first session.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

import psycopg

from backoffice.audit import Actor, record
from backoffice.crm.events import write_event
from backoffice.errors import Refused, invalid, not_found
from backoffice.kyc import levels
from backoffice.kyc.errors import KycError
from backoffice.payments import routing
from backoffice.payments.events import payment_event
from backoffice.payments.providers import DepositRequest, Provider, ProviderUnavailable
from backoffice.wallets import fx
from backoffice.wallets.accounts import open_wallet

log = logging.getLogger(__name__)

# what counts towards a KYC level's deposit limit: every deposit not failed or given back
_COUNTED = ("created", "pending", "requires_action", "succeeded")


@dataclass(frozen=True, slots=True)
class Deposit:
    payment_id: int
    status: str
    psp: str
    method: str
    amount: Decimal
    currency: str
    fee: Decimal
    redirect_url: str | None
    is_ftd: bool
    failure: str | None
    deposit_address: str | None  # crypto: where the client sends the coins
    received: Decimal | None  # what the PSP says arrived (credited), once it has
    psp_payment_id: str | None  # the PSP's id; a bank wire's reference to quote


_COLUMNS = ("id, status, psp, method, amount, currency, fee, checkout_url, is_ftd, failure, "
            "deposit_address, received_amount, psp_payment_id")  # fmt: skip


def _deposit(row: Any) -> Deposit:
    return Deposit(int(row[0]), *row[1:13])


def _refuse(kind: Any, code: str, message: str, **details: Any) -> Refused:
    return Refused(kind, code, message, {"source": "backoffice", **details})


def find(conn: psycopg.Connection[Any], client_id: int, payment_id: int) -> Deposit:
    row = conn.execute(
        f"""SELECT {_COLUMNS} FROM payments
            WHERE id = %s AND client_id = %s AND direction = 'deposit'""",
        (payment_id, client_id),
    ).fetchone()
    if row is None:
        raise not_found("deposit", payment_id)
    return _deposit(row)


def history(conn: psycopg.Connection[Any], client_id: int, limit: int = 50) -> list[Deposit]:
    rows = conn.execute(
        f"""SELECT {_COLUMNS} FROM payments WHERE client_id = %s AND direction = 'deposit'
            ORDER BY created_at DESC, id DESC LIMIT %s""",
        (client_id, limit),
    ).fetchall()
    return [_deposit(r) for r in rows]


def check_limit(conn: psycopg.Connection[Any], client_id: int, amount: Decimal,
                currency: str) -> None:  # fmt: skip
    """Refuse a deposit the client's KYC level does not allow, or that would take their
    deposits past the level's limit (counted in the limit's currency at the last cut's rates)."""
    try:
        standing = levels.client_standing(conn, client_id)
    except KycError as exc:
        raise _refuse("forbidden", "kyc_not_approved", exc.message) from exc
    level = standing.level
    if not level.deposits:
        raise _refuse("forbidden", "kyc_not_approved",
                      f"deposits need a higher KYC level than {level.name!r}: complete your "
                      "verification", kyc_level=level.level,
                      missing=[m.requirement for m in standing.missing])  # fmt: skip
    if level.deposit_limit is None:
        return
    limit_ccy = level.deposit_limit_currency
    rows = conn.execute(
        """SELECT currency, sum(amount) FROM payments
           WHERE client_id = %s AND direction = 'deposit' AND status = ANY(%s)
           GROUP BY currency""",
        (client_id, list(_COUNTED)),
    ).fetchall()
    totals: dict[str, Decimal] = {str(r[0]): Decimal(r[1]) for r in rows}
    totals[currency] = totals.get(currency, Decimal(0)) + amount
    used = sum((convert(conn, total, ccy, limit_ccy) for ccy, total in totals.items()),
               Decimal(0))  # fmt: skip
    if used > level.deposit_limit:
        spent = used - convert(conn, amount, currency, limit_ccy)
        remaining = max(level.deposit_limit - spent, Decimal(0))
        raise _refuse("forbidden", "deposit_limit",
                      f"your KYC level allows deposits up to {_cents(level.deposit_limit)} "
                      f"{limit_ccy} in all; verify your address to deposit more",
                      limit=_cents(level.deposit_limit), currency=limit_ccy,
                      remaining=_cents(remaining))  # fmt: skip


def _cents(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'), ROUND_DOWN):f}"


def convert(conn: psycopg.Connection[Any], amount: Decimal, ccy: str, to: str) -> Decimal:
    """``amount`` of ``ccy`` in ``to`` at the last cut's rates; a currency the cuts do not
    price yet (a new stack before its first 17:00 New York) at the mid of its latest tick."""
    if ccy == to:
        return amount
    rates = dict(conn.execute(
        """SELECT currency, usd_rate FROM cut_rates
           WHERE cut = (SELECT max(cut) FROM cut_rates) AND currency = ANY(%s)""",
        ([ccy, to],),
    ).fetchall())  # fmt: skip
    rates["USD"] = Decimal(1)
    for missing in {ccy, to} - rates.keys():
        found = _tick_rate(conn, missing)
        if found is not None:
            rates[missing] = found
    if ccy not in rates or to not in rates:
        raise _refuse(
            "unavailable",
            "fx_rate_unavailable",
            f"no rate to count {ccy} against the deposit limit yet; try later",
        )
    return Decimal(amount * rates[ccy] / rates[to])


def _tick_rate(conn: psycopg.Connection[Any], ccy: str) -> Decimal | None:
    """USD per unit of ``ccy`` at the mid of its dollar pair's last tick of the past 15 minutes
    (the ticks are indexed by time alone: a wider window costs seconds)."""
    symbols = fx.symbols_for(ccy, "USD")
    quoted = {
        str(symbol): (Decimal(str(bid)), Decimal(str(ask)))
        for symbol, bid, ask in conn.execute(
            """SELECT DISTINCT ON (symbol) symbol, bid, ask FROM ticks
               WHERE symbol = ANY(%s) AND time > now() - interval '15 minutes'
               ORDER BY symbol, time DESC""",
            (symbols,),
        )
    }
    return fx.mid_rate(quoted, ccy, "USD")


def start_deposit(
    conn: psycopg.Connection[Any],
    providers: Mapping[str, Provider],
    client_id: int,
    amount: Decimal,
    currency: str,
    method: str,
    key: str,
    return_url: str,
) -> Deposit:
    """Check, route and open a deposit at a PSP; the client goes to ``redirect_url``. The same
    key answers the first deposit. Refused (nothing written) below the KYC level, past its
    limit, with no method that fits; ``unavailable`` when every fitting PSP is down."""
    currency = currency.upper()
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise invalid("amount", "a positive amount")
    if amount != amount.quantize(Decimal("0.01")):
        raise invalid("amount", "at most two decimals")
    if not key or len(key) > 100:
        raise invalid("idempotency_key", "1 to 100 characters")
    row = conn.execute(
        """SELECT brand_id, email, country, status, email_verified_at IS NOT NULL
           FROM clients WHERE id = %s""",
        (client_id,),
    ).fetchone()
    if row is None:
        raise not_found("client", client_id)
    brand_id, email, country, status, verified = row
    own_key = f"deposit:{client_id}:{key}"
    existing = conn.execute(
        f"SELECT {_COLUMNS}, amount, currency FROM payments WHERE idempotency_key = %s",
        (own_key,),
    ).fetchone()
    if existing is not None:
        if (existing[-2], existing[-1]) != (amount, currency):
            raise _refuse("conflict", "idempotency_conflict", "this key was used for another "
                          "deposit", payment_id=int(existing[0]))  # fmt: skip
        return _deposit(existing[:13])
    if status != "active":
        raise _refuse("forbidden", "client_not_active", f"the account is {status}")
    if not verified:
        raise _refuse("forbidden", "email_not_verified", "confirm your e-mail address first")
    check_limit(conn, client_id, amount, currency)
    routes = routing.choose(routing.brand_methods(conn, brand_id), method, currency, country,
                            amount, routing.unhealthy(conn))  # fmt: skip
    routes = [r for r in routes if r.provider in providers]
    if not routes:
        raise _refuse("invalid", "no_payment_method",
                      f"no {method} deposits in {currency} of {amount:f} from {country}",
                      method=method, currency=currency)  # fmt: skip
    wallet = open_wallet(conn, client_id, currency)
    first = routes[0]
    with conn.transaction():
        payment = conn.execute(
            """INSERT INTO payments (client_id, brand_id, wallet_id, psp, idempotency_key,
                                     direction, method, amount, currency, fee, payer_country)
               VALUES (%s, %s, %s, %s, %s, 'deposit', %s, %s, %s, %s, %s)
               ON CONFLICT (idempotency_key) DO NOTHING RETURNING id""",
            (client_id, brand_id, wallet.id, first.provider, own_key, method, amount, currency,
             first.fee(amount), country),
        ).fetchone()  # fmt: skip
        if payment is None:  # a concurrent request with the same key
            raced = conn.execute(f"SELECT {_COLUMNS} FROM payments WHERE idempotency_key = %s",
                                 (own_key,)).fetchone()  # fmt: skip
            assert raced is not None
            return _deposit(raced)
        payment_id = int(payment[0])
        payment_event(conn, payment_id, "created", {"provider": first.provider})
        record(conn, Actor.client(client_id), "payment.deposit_created", "payment", payment_id,
               None, {"amount": str(amount), "currency": currency, "method": method})  # fmt: skip
    conn.commit()
    for route in routes:
        provider = providers[route.provider]
        request = DepositRequest(payment_id, f"{own_key}:{route.provider}", amount, currency,
                                 client_id, email, _with(return_url, payment_id, "success"),
                                 _with(return_url, payment_id, "cancel"),
                                 held_address(conn, client_id, route.provider,
                                              currency))  # fmt: skip
        try:
            checkout = provider.create_deposit(request)
        except ProviderUnavailable as exc:
            log.warning("deposit %s: %s", payment_id, exc)
            payment_event(conn, payment_id, "provider_unavailable", {"provider": route.provider})
            conn.commit()
            continue
        if checkout.deposit_address is not None:
            keep_address(conn, client_id, route.provider, currency, checkout.deposit_address)
        done = conn.execute(
            f"""UPDATE payments SET psp = %s, psp_payment_id = %s, checkout_url = %s, fee = %s,
                       deposit_address = %s, status = 'pending', updated_at = now()
                WHERE id = %s AND status = 'created' RETURNING {_COLUMNS}""",
            (route.provider, checkout.psp_payment_id, checkout.redirect_url,
             route.fee(amount), checkout.deposit_address, payment_id),
        ).fetchone()  # fmt: skip
        payment_event(conn, payment_id, "pending", {"provider": route.provider})
        write_event(conn, "payment.deposit_started", client_id=client_id,
                    payload={"payment_id": payment_id, "amount": str(amount),
                             "currency": currency, "method": method})  # fmt: skip
        conn.commit()
        return find(conn, client_id, payment_id) if done is None else _deposit(done)
    conn.execute(
        """UPDATE payments SET status = 'failed', failure = 'provider_unavailable',
                               updated_at = now() WHERE id = %s AND status = 'created'""",
        (payment_id,),
    )
    payment_event(conn, payment_id, "failed", {"failure": "provider_unavailable"})
    conn.commit()
    raise _refuse("unavailable", "psp_unavailable",
                  f"{method} payments are unavailable for a moment; try again shortly",
                  payment_id=payment_id)  # fmt: skip


def held_address(conn: psycopg.Connection[Any], client_id: int, provider: str,
                 currency: str) -> str | None:  # fmt: skip
    """The deposit address ``provider`` gave this client for ``currency``, if it gave one."""
    row = conn.execute(
        """SELECT address FROM psp_deposit_addresses
           WHERE client_id = %s AND provider = %s AND currency = %s""",
        (client_id, provider, currency),
    ).fetchone()
    return None if row is None else str(row[0])


def keep_address(conn: psycopg.Connection[Any], client_id: int, provider: str, currency: str,
                 address: str) -> None:  # fmt: skip
    """Keep the client's address (the first one stays: the gateway answers the same again)."""
    conn.execute(
        """INSERT INTO psp_deposit_addresses (client_id, provider, currency, address)
           VALUES (%s, %s, %s, %s) ON CONFLICT (client_id, provider, currency) DO NOTHING""",
        (client_id, provider, currency, address),
    )


def _with(url: str, payment_id: int, outcome: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}payment_id={payment_id}&outcome={outcome}"
