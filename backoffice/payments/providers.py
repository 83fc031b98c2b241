"""The PSP interface, and the card provider (Stripe's shape: a checkout session whose hosted
page takes the card and any 3-D Secure step, then signed webhooks about the payment intent).

A provider creates a deposit (our outgoing call, retried with backoff and an idempotency key,
so a retry never makes two payments), verifies a webhook on its raw bytes, and reads an
event into a :class:`PspEvent`. Which provider serves a payment is :mod:`routing`'s choice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

import httpx
import tenacity

from backoffice.errors import Refused
from backoffice.payments import signatures
from brokerstack.retries import backoff
from brokerstack.settings import Settings

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


@dataclass(frozen=True, slots=True)
class PayoutRequest:
    payment_id: int  # the payout's payments row
    key: str
    amount: Decimal
    currency: str
    client_id: int
    source: str | None  # the PSP's id of a deposit being paid back to (return to source)


@dataclass(frozen=True, slots=True)
class Checkout:
    psp_payment_id: str
    redirect_url: str | None  # the hosted page the client is sent to


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


class ProviderUnavailable(Exception):
    """Our call did not get through after its retries (the provider is down or refusing)."""


class Provider(Protocol):
    name: str

    def create_deposit(self, request: DepositRequest) -> Checkout: ...

    def create_payout(self, request: PayoutRequest) -> str: ...

    def verify(self, body: bytes, headers: Mapping[str, str], now: float | None = None) -> None: ...

    def parse(self, body: bytes) -> PspEvent: ...

    def close(self) -> None: ...


# Stripe's event types -> the payment's status
_CARD_EVENTS = {
    "payment_intent.processing": "pending",
    "payment_intent.requires_action": "requires_action",
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "failed",
    "payment_intent.canceled": "canceled",
    "charge.refunded": "refunded",
    "charge.dispute.created": "chargeback",
    "payout.paid": "succeeded",
    "payout.failed": "failed",
}


class CardProvider:
    """A Stripe-shaped card PSP over HTTP (``close()`` it)."""

    name = "card-sim"

    def __init__(
        self, base_url: str, secret_key: str, webhook_secret: str, timeout: float = 10.0,
        attempts: int = 4,
    ) -> None:  # fmt: skip
        self._webhook_secrets = [webhook_secret]
        self._attempts = attempts
        self._http = httpx.Client(
            base_url=base_url, timeout=timeout,
            headers={"Authorization": f"Bearer {secret_key}", "Accept": "application/json"},
        )  # fmt: skip

    @classmethod
    def from_settings(cls, settings: Settings) -> CardProvider:
        config = settings.backoffice
        url = config.card_psp_url or f"http://{settings.host}:{config.card_psp_simulator_port}"
        return cls(url, config.card_psp_secret_key.get_secret_value(),
                   config.card_psp_webhook_secret.get_secret_value())  # fmt: skip

    def close(self) -> None:
        self._http.close()

    def create_deposit(self, request: DepositRequest) -> Checkout:
        form = {
            "mode": "payment",
            "amount": str(minor_units(request.amount, request.currency)),
            "currency": request.currency.lower(),
            "client_reference_id": str(request.payment_id),
            "customer_email": request.email,
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "metadata[payment_id]": str(request.payment_id),
        }
        body = self._call("/v1/checkout/sessions", form, request.key)
        return Checkout(str(body["payment_intent"]), str(body["url"]))

    def create_payout(self, request: PayoutRequest) -> str:
        """Pay ``amount`` back to the card a deposit came from; the PSP's payout id."""
        form = {
            "amount": str(minor_units(request.amount, request.currency)),
            "currency": request.currency.lower(),
            "metadata[payment_id]": str(request.payment_id),
        }
        if request.source:
            form["destination"] = request.source
        return str(self._call("/v1/payouts", form, request.key)["id"])

    def _call(self, path: str, form: dict[str, str], key: str) -> dict[str, Any]:
        """POST with the idempotency key, retried on a dropped connection or a 5xx / 429."""

        def send() -> dict[str, Any]:
            response = self._http.post(path, data=form, headers={"Idempotency-Key": key})
            if response.status_code >= 500 or response.status_code == 429:
                raise ProviderUnavailable(f"{self.name} answered {response.status_code}")
            if response.status_code >= 400:
                raise Refused("conflict", "psp_refused", f"{self.name} refused the payment",
                              {"status": response.status_code})  # fmt: skip
            return dict(response.json())

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((ProviderUnavailable, httpx.TransportError)),
            wait=backoff(0.2, 2.0), stop=tenacity.stop_after_attempt(self._attempts),
            reraise=True,
        )  # fmt: skip
        try:
            return retrying(send)
        except httpx.TransportError as exc:
            raise ProviderUnavailable(f"{self.name} unreachable: {exc}") from exc

    def verify(self, body: bytes, headers: Mapping[str, str], now: float | None = None) -> None:
        signatures.verify(self._webhook_secrets, body, headers.get(signatures.SIGNATURE_HEADER),
                          time.time() if now is None else now)  # fmt: skip

    def parse(self, body: bytes) -> PspEvent:
        event = json.loads(body)
        kind = str(event["type"])
        obj = event["data"]["object"]
        status = _CARD_EVENTS.get(kind)
        if status is None:
            raise ValueError(f"not a payment event: {kind}")
        intent = str(obj.get("payment_intent") or obj["id"])
        currency = str(obj["currency"]).upper() if obj.get("currency") else None
        received = obj.get("amount_received", obj.get("amount"))
        ours = (obj.get("metadata") or {}).get("payment_id")
        error = obj.get("last_payment_error") or {}
        return PspEvent(
            event_id=str(event["id"]), type=kind, psp_payment_id=intent,
            payment_id=int(ours) if str(ours or "").isdigit() else None, status=status,
            amount=from_minor(int(received), currency) if received is not None and currency
            else None,
            currency=currency, failure=error.get("code") or error.get("message"),
            at=datetime.fromtimestamp(int(event.get("created", time.time())), UTC),
        )  # fmt: skip


def providers(settings: Settings) -> dict[str, Provider]:
    """Every provider the stack knows, by name."""
    return {CardProvider.name: CardProvider.from_settings(settings)}
