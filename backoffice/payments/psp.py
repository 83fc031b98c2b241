"""What every PSP adapter shares: the requests we send, the events we read, amounts in minor
units, and our outgoing call (an idempotency key, retried with backoff on a dropped connection
or a 5xx / 429, so a retry never makes two payments)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import httpx
import tenacity

from backoffice.errors import Refused
from brokerstack.retries import backoff

# currencies without minor units (ISO 4217 exponent 0) the providers may see
ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "HUF"})
PSP_STATUSES = ("pending", "requires_action", "succeeded", "failed", "canceled", "refunded",
                "chargeback")  # fmt: skip


def minor_units(amount: Decimal, currency: str) -> int:
    exponent = 0 if currency.upper() in ZERO_DECIMAL else 2
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise Refused("invalid", "invalid_amount", f"{amount} {currency} has too many decimals")
    return int(scaled)


def from_minor(units: int, currency: str) -> Decimal:
    return Decimal(units).scaleb(0 if currency.upper() in ZERO_DECIMAL else -2)


def amount_text(amount: Decimal, currency: str) -> str:
    """``amount`` as a JSON API wants it: a string to the currency's minor unit ("80.00")."""
    return f"{from_minor(minor_units(amount, currency), currency):f}"


def plain(amount: Decimal) -> str:
    """At least the cents, no trailing zeros beyond them (120.00000000 -> 120.00)."""
    exponent = amount.normalize().as_tuple().exponent
    return f"{amount:.2f}" if isinstance(exponent, int) and exponent >= -2 else \
        f"{amount.normalize():f}"  # fmt: skip


@dataclass(frozen=True, slots=True)
class DepositRequest:
    payment_id: int
    key: str  # idempotency key of our call
    amount: Decimal
    currency: str
    client_id: int
    email: str
    success_url: str
    cancel_url: str
    deposit_address: str | None = None  # crypto: the client's address we already hold


@dataclass(frozen=True, slots=True)
class PayoutRequest:
    payment_id: int  # the payout's payments row
    key: str
    amount: Decimal
    currency: str
    client_id: int
    source: str | None  # the PSP's id of a deposit being paid back to (return to source)
    destination: str | None = None  # crypto: the address the client gave


@dataclass(frozen=True, slots=True)
class Checkout:
    psp_payment_id: str | None  # None: known only when the money arrives (crypto)
    redirect_url: str | None  # the hosted page the client is sent to
    deposit_address: str | None = None  # crypto: where the client sends the coins


@dataclass(frozen=True, slots=True)
class PspEvent:
    event_id: str
    type: str
    psp_payment_id: str
    payment_id: int | None  # ours, where the provider echoes it back
    status: str  # one of PSP_STATUSES
    amount: Decimal | None  # what was received (may differ from what was asked)
    currency: str | None
    failure: str | None
    at: datetime
    address: str | None = None  # crypto: the deposit address the transfer reached


class ProviderUnavailable(Exception):
    """Our call did not get through after its retries (the provider is down or refusing)."""


class Provider(Protocol):
    name: str
    signature_header: str  # the header kept with a delivery, verified or not

    def create_deposit(self, request: DepositRequest) -> Checkout: ...

    def create_payout(self, request: PayoutRequest) -> str: ...

    def verify(self, body: bytes, headers: Mapping[str, str], now: float | None = None) -> None: ...

    def parse(self, body: bytes) -> PspEvent: ...

    def close(self) -> None: ...


def post(
    http: httpx.Client,
    name: str,
    path: str,
    key: str,
    attempts: int,
    *,
    form: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """POST (a form or a JSON body) with the idempotency key, retried on a dropped connection
    or a 5xx / 429; a 4xx is the provider's refusal."""

    def send() -> dict[str, Any]:
        response = http.post(path, data=form, json=body, headers={"Idempotency-Key": key})
        if response.status_code >= 500 or response.status_code == 429:
            raise ProviderUnavailable(f"{name} answered {response.status_code}")
        if response.status_code >= 400:
            raise Refused("conflict", "psp_refused", f"{name} refused the payment",
                          {"status": response.status_code})  # fmt: skip
        return dict(response.json())

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type((ProviderUnavailable, httpx.TransportError)),
        wait=backoff(0.2, 2.0), stop=tenacity.stop_after_attempt(attempts), reraise=True,
    )  # fmt: skip
    try:
        return retrying(send)
    except httpx.TransportError as exc:
        raise ProviderUnavailable(f"{name} unreachable: {exc}") from exc
