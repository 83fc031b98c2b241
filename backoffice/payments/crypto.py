"""The crypto gateway (a typical USDT / BTC processor's shape): each client has one deposit
address per currency, asked for once (``POST /v1/addresses``, JSON, ``X-Api-Key``) and kept by
us (``psp_deposit_addresses``); whatever reaches the address is reported by signed callbacks
(:func:`callback_signatures.crypto_verify`) as the transfer gathers block confirmations. A
transfer is pending until it has the confirmations we require, then it is credited with what
arrived — which need not be what was asked. Payouts go to an address the client gives."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import httpx

from backoffice.errors import invalid
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

ADDRESS_PATTERN = r"^[A-Za-z0-9]{26,64}$"


class CryptoProvider:
    """A crypto gateway over HTTP (``close()`` it)."""

    name = "crypto-sim"
    signature_header = sig.CRYPTO_SIGNATURE

    def __init__(self, base_url: str, api_key: str, webhook_secret: str, confirmations: int = 2,
                 timeout: float = 10.0, attempts: int = 4) -> None:  # fmt: skip
        self._webhook_secrets = [webhook_secret]
        self._attempts = attempts
        self.confirmations = confirmations
        self._http = httpx.Client(
            base_url=base_url, timeout=timeout,
            headers={"X-Api-Key": api_key, "Accept": "application/json"},
        )  # fmt: skip

    @classmethod
    def from_settings(cls, settings: Settings) -> CryptoProvider:
        config = settings.backoffice
        url = config.crypto_psp_url or f"http://{settings.host}:{config.crypto_psp_simulator_port}"
        return cls(url, config.crypto_psp_api_key.get_secret_value(),
                   config.crypto_psp_webhook_secret.get_secret_value(),
                   config.crypto_psp_confirmations)  # fmt: skip

    def close(self) -> None:
        self._http.close()

    def create_deposit(self, request: DepositRequest) -> Checkout:
        """The client's address (the one we hold, else a new one from the gateway; the same
        client and currency always get the same) and the gateway's page showing it. No
        payment id yet: each transfer that arrives is its own."""
        address = request.deposit_address
        if address is None:
            answer = post(self._http, self.name, "/v1/addresses",
                          f"address:{request.client_id}:{request.currency}", self._attempts,
                          body={"currency": request.currency,
                                "foreign_id": f"client:{request.client_id}"})  # fmt: skip
            address = str(answer["address"])
        return Checkout(None, str(self._http.base_url.join(f"/address/{address}")), address)

    def create_payout(self, request: PayoutRequest) -> str:
        if not request.destination:
            raise invalid("destination", "the address to pay to")
        body = post(self._http, self.name, "/v1/withdrawals", request.key, self._attempts, body={
            "address": request.destination, "amount": amount_text(request.amount, request.currency),
            "currency": request.currency, "foreign_id": str(request.payment_id),
        })  # fmt: skip
        return str(body["id"])

    def verify(self, body: bytes, headers: Mapping[str, str], now: float | None = None) -> None:
        sig.crypto_verify(self._webhook_secrets, body, headers.get(sig.CRYPTO_SIGNATURE),
                          time.time() if now is None else now)  # fmt: skip

    def parse(self, body: bytes) -> PspEvent:
        event = json.loads(body)
        kind = str(event["type"])
        tx = event["transaction"]
        state = str(tx["status"])
        if kind == "deposit":
            confirmations = int(tx["confirmations"])
            status = "succeeded" if confirmations >= self.confirmations else "pending"
            if state == "failed":
                status = "failed"
            ours = None
        elif kind == "withdrawal":
            status = {"confirmed": "succeeded", "failed": "failed"}.get(state, "pending")
            ours = str(tx.get("foreign_id") or "")
        else:
            raise ValueError(f"not a payment event: {kind}")
        try:
            amount = Decimal(str(tx["amount"]))
        except (KeyError, InvalidOperation):
            raise ValueError("the callback's amount is not a number") from None
        if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            raise ValueError(f"the callback's amount {amount} is not a positive amount in cents")
        return PspEvent(
            event_id=str(event["id"]), type=f"{kind}.{state}", psp_payment_id=str(tx["id"]),
            payment_id=int(ours) if ours and ours.isdigit() else None, status=status,
            amount=amount, currency=str(tx["currency"]).upper(),
            failure=tx.get("error") if status == "failed" else None,
            at=datetime.fromtimestamp(int(event["timestamp"]), UTC),
            address=str(tx["address"]) if kind == "deposit" else None,
        )  # fmt: skip
