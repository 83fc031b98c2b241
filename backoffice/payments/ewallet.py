"""The e-wallet provider (Skrill's / PayPal's shape): our call creates a payment (JSON,
``X-Api-Key``, an ``Idempotency-Key``) and answers the wallet's approval page; the client logs
in there and approves or declines; the wallet then sends a signed callback
(:func:`callback_signatures.ewallet_verify`) about the payment: pending, completed, failed,
refunded. Payouts go back to the wallet a deposit came from."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import httpx

from backoffice.payments import callback_signatures as sig
from backoffice.payments.psp import (
    Checkout,
    DepositRequest,
    PayoutRequest,
    PspEvent,
    amount_text,
    post,
)
from brokerstack.settings import Settings

_EVENTS = {
    "payment.pending": "pending",
    "payment.completed": "succeeded",
    "payment.failed": "failed",
    "payment.refunded": "refunded",
    "payout.completed": "succeeded",
    "payout.failed": "failed",
}


class EwalletProvider:
    """An e-wallet PSP over HTTP (``close()`` it)."""

    name = "ewallet-sim"
    signature_header = sig.EWALLET_SIGNATURE

    def __init__(self, base_url: str, api_key: str, webhook_secret: str, timeout: float = 10.0,
                 attempts: int = 4) -> None:  # fmt: skip
        self._webhook_secrets = [webhook_secret]
        self._attempts = attempts
        self._http = httpx.Client(
            base_url=base_url, timeout=timeout,
            headers={"X-Api-Key": api_key, "Accept": "application/json"},
        )  # fmt: skip

    @classmethod
    def from_settings(cls, settings: Settings) -> EwalletProvider:
        config = settings.backoffice
        url = config.ewallet_psp_url or (
            f"http://{settings.host}:{config.ewallet_psp_simulator_port}"
        )
        return cls(url, config.ewallet_psp_api_key.get_secret_value(),
                   config.ewallet_psp_webhook_secret.get_secret_value())  # fmt: skip

    def close(self) -> None:
        self._http.close()

    def create_deposit(self, request: DepositRequest) -> Checkout:
        body = post(self._http, self.name, "/v2/payments", request.key, self._attempts, body={
            "amount": amount_text(request.amount, request.currency), "currency": request.currency,
            "merchant_reference": str(request.payment_id), "customer_email": request.email,
            "return_url": request.success_url, "cancel_url": request.cancel_url,
        })  # fmt: skip
        return Checkout(str(body["id"]), str(body["approval_url"]))

    def create_payout(self, request: PayoutRequest) -> str:
        """Pay ``amount`` to the wallet the deposit ``source`` came from; the payout's id."""
        body = post(self._http, self.name, "/v2/payouts", request.key, self._attempts, body={
            "amount": amount_text(request.amount, request.currency), "currency": request.currency,
            "merchant_reference": str(request.payment_id), "source_payment": request.source,
        })  # fmt: skip
        return str(body["id"])

    def verify(self, body: bytes, headers: Mapping[str, str], now: float | None = None) -> None:
        sig.ewallet_verify(self._webhook_secrets, body, headers,
                           time.time() if now is None else now)  # fmt: skip

    def parse(self, body: bytes) -> PspEvent:
        event = json.loads(body)
        kind = str(event["type"])
        status = _EVENTS.get(kind)
        if status is None:
            raise ValueError(f"not a payment event: {kind}")
        resource = event["resource"]
        ours = str(resource.get("merchant_reference") or "")
        try:
            amount = Decimal(str(resource["amount"]))
        except (KeyError, InvalidOperation):
            raise ValueError("the callback's amount is not a number") from None
        if not amount.is_finite() or amount <= 0:
            raise ValueError(f"the callback's amount {amount} is not positive")
        at = datetime.fromisoformat(str(event["created_at"]))
        if at.tzinfo is None:
            raise ValueError("the callback's created_at has no time zone")
        return PspEvent(
            event_id=str(event["id"]), type=kind, psp_payment_id=str(resource["id"]),
            payment_id=int(ours) if ours.isdigit() else None, status=status, amount=amount,
            currency=str(resource["currency"]).upper(), failure=resource.get("failure_reason"),
            at=at.astimezone(UTC),
        )  # fmt: skip
