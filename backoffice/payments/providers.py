"""The PSP registry, and the card provider (Stripe's shape: a checkout session whose hosted
page takes the card and any 3-D Secure step, then signed webhooks about the payment intent).

A provider creates a deposit (our outgoing call, retried with backoff and an idempotency key,
so a retry never makes two payments), verifies a webhook on its raw bytes, and reads an
event into a :class:`PspEvent`. Which provider serves a payment is :mod:`routing`'s choice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from backoffice.payments import signatures
from backoffice.payments.bank_wire import BankWireProvider
from backoffice.payments.crypto import CryptoProvider
from backoffice.payments.ewallet import EwalletProvider
from backoffice.payments.psp import (
    PSP_STATUSES,
    ZERO_DECIMAL,
    Checkout,
    DepositRequest,
    PayoutRequest,
    Provider,
    ProviderUnavailable,
    PspEvent,
    from_minor,
    minor_units,
    post,
)
from brokerstack.settings import Settings

__all__ = [
    "PSP_STATUSES", "ZERO_DECIMAL", "CardProvider", "Checkout", "CryptoProvider",
    "DepositRequest", "EwalletProvider", "PayoutRequest", "Provider", "ProviderUnavailable",
    "PspEvent", "from_minor", "minor_units", "providers",
]  # fmt: skip

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
    signature_header = signatures.SIGNATURE_HEADER

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
        return post(self._http, self.name, path, key, self._attempts, form=form)

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
            payment_id=int(str(ours)) if str(ours or "").isdigit() else None, status=status,
            amount=from_minor(int(received), currency) if received is not None and currency
            else None,
            currency=currency, failure=error.get("code") or error.get("message"),
            at=datetime.fromtimestamp(int(event.get("created", time.time())), UTC),
        )  # fmt: skip


def providers(settings: Settings) -> dict[str, Provider]:
    """Every provider the stack knows, by name."""
    return {
        CardProvider.name: CardProvider.from_settings(settings),
        EwalletProvider.name: EwalletProvider.from_settings(settings),
        CryptoProvider.name: CryptoProvider.from_settings(settings),
        BankWireProvider.name: BankWireProvider.from_settings(settings),
    }
