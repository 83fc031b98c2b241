"""A stand-in for the e-wallet PSP (``brokerstack run ewallet-simulator``), in Skrill's /
PayPal's shape.

* ``POST /v2/payments`` (``X-Api-Key``, JSON, an ``Idempotency-Key`` answered with the first
  payment) creates a payment and answers its ``approval_url``;
* ``GET /approve/{payment}`` is the wallet's page: the payer logs in with the wallet's e-mail
  and approves or declines (``POST``); the browser goes back to the return or cancel URL;
* the outcome goes to our callback URL signed (``X-Ewallet-Signature: sha256=..`` over the event
  id, the time and the body; retried until answered 2xx): ``payment.completed`` or
  ``payment.failed``. The return redirect proves nothing: only the signed callback credits.
* ``POST /v2/payouts`` pays back to the wallet of a completed payment (``source_payment``):
  ``payout.completed`` or, as ``/_sim/config`` says, ``payout.failed``;
* ``GET /v1/reports/settlement?day=YYYY-MM-DD`` (``X-Api-Key``) is the day's settlement report
  (UTC) of what it processed, in the shape of PayPal's settlement report: a row per payment
  (``T0006``), refund (``T1107``) and payout (``T0001``), the gross in the payment's currency,
  converted into the merchant's balance currency (``SETTLEMENT_CURRENCY``, at the fixed
  ``RATES``) less its fee (1.9 % of that + 0.25) as ``settled_amount``.

Tests steer it through ``/_sim``: the callback URL, duplicate deliveries, the payout outcome, a
refund of a completed payment (``/_sim/payments/{id}/refund``) and the delivery log.
"""

from __future__ import annotations

import html
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from backoffice.payments import callback_signatures as sig
from backoffice.payments.simulation import PAGE, Activity, Deliveries, history_file, serve_app
from brokerstack.settings import Settings

WEBHOOK_PATH = "/v1/webhooks/psp/ewallet-sim"
BRAND = "E-wallet simulator"
# the merchant's wallet balance is in one currency: a payment in another is converted at the
# wallet's rate of the day (here fixed), units of SETTLEMENT_CURRENCY per unit of it
SETTLEMENT_CURRENCY = "USD"
RATES = {"USD": Decimal(1), "EUR": Decimal("1.0825"), "GBP": Decimal("1.2650")}
FEE_PERCENT, FEE_FIXED = Decimal("0.019"), Decimal("0.25")  # on a payment, as converted
CENT = Decimal("0.01")
SETTLEMENT_COLUMNS = ("transaction_id", "reference_id", "invoice_id", "initiated_utc",
                      "event_code", "gross_amount", "gross_currency", "fee_amount",
                      "exchange_rate", "settled_amount", "settled_currency")  # fmt: skip


def default_callback(settings: Settings) -> str:
    return f"http://{settings.host}:{settings.api_port}{WEBHOOK_PATH}"


@dataclass
class WalletPayment:
    id: str
    amount: Decimal
    currency: str
    merchant_reference: str
    return_url: str
    cancel_url: str
    status: str = "pending"  # pending, completed, failed, refunded
    payer: dict[str, str] = field(default_factory=dict)


def _error(status: int, code: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code}}, status)


def _amount(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    ok = amount.is_finite() and amount > 0 and amount == amount.quantize(Decimal("0.01"))
    return amount if ok else None


def create_simulator(
    settings: Settings, callback_url: str | None = None, history: Path | None = None
) -> FastAPI:
    config = settings.backoffice
    api_key = config.ewallet_psp_api_key.get_secret_value()
    secret = config.ewallet_psp_webhook_secret.get_secret_value()

    def signer(body: bytes) -> dict[str, str]:
        return sig.ewallet_headers(secret, body, str(json.loads(body)["id"]), int(time.time()))

    webhooks = Deliveries(signer, callback_url or default_callback(settings))
    payments: dict[str, WalletPayment] = {}
    by_key: dict[str, str] = {}
    payouts_by_key: dict[str, dict[str, Any]] = {}
    outcomes = {"payout": "completed"}
    lock = threading.Lock()
    activity = Activity(SETTLEMENT_COLUMNS, "initiated_utc", history)

    def book(code: str, transaction: str, gross: Decimal, currency: str, invoice: str,
             reference: str = "") -> None:  # fmt: skip
        """One settlement row: ``gross`` (negative for money going out) converted into the
        settlement currency, less the fee on a payment (``T0006``)."""
        rate = RATES[currency]
        converted = (gross * rate).quantize(CENT, ROUND_HALF_UP)
        fee = (converted * FEE_PERCENT + FEE_FIXED).quantize(CENT, ROUND_HALF_UP) \
            if code == "T0006" else Decimal("0.00")  # fmt: skip
        activity.book(transaction_id=transaction, reference_id=reference, invoice_id=invoice,
                      event_code=code, gross_amount=f"{gross:.2f}", gross_currency=currency,
                      fee_amount=f"{fee:f}", exchange_rate=f"{rate:f}",
                      settled_amount=f"{converted - fee:f}",
                      settled_currency=SETTLEMENT_CURRENCY)  # fmt: skip

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        webhooks.start()
        try:
            yield
        finally:
            webhooks.stop()

    app = FastAPI(title="e-wallet PSP simulator", docs_url=None, redoc_url=None,
                  lifespan=lifespan)  # fmt: skip
    app.state.webhooks = webhooks
    app.state.payments = payments
    app.state.payouts = payouts_by_key

    def callback(kind: str, resource: dict[str, Any]) -> None:
        webhooks.emit({
            "id": f"WH-{uuid.uuid4().hex[:20].upper()}", "type": kind,
            "created_at": datetime.now(UTC).isoformat(), "resource": resource,
        })  # fmt: skip

    def resource(payment: WalletPayment, **extra: Any) -> dict[str, Any]:
        return {"id": payment.id, "kind": "payment", "status": payment.status,
                "amount": f"{payment.amount:f}", "currency": payment.currency,
                "merchant_reference": payment.merchant_reference, "payer": payment.payer,
                **extra}  # fmt: skip

    def authorised(key: str) -> bool:
        return key == api_key

    async def json_body(request: Request) -> dict[str, Any] | None:
        try:
            body = await request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    @app.post("/v2/payments")
    async def create_payment(
        request: Request,
        x_api_key: str = Header(default=""),
        idempotency_key: str | None = Header(default=None),
    ) -> JSONResponse:
        if not authorised(x_api_key):
            return _error(401, "unauthorized")
        body = await json_body(request)
        base = str(request.base_url).rstrip("/")
        with lock:
            if idempotency_key and idempotency_key in by_key:
                return JSONResponse(_payment_out(payments[by_key[idempotency_key]], base))
            amount = _amount((body or {}).get("amount"))
            if body is None or amount is None:
                return _error(400, "invalid_request")
            if str(body.get("currency", "")).upper() not in RATES:
                return _error(400, "currency_not_supported")
            try:
                payment = WalletPayment(
                    f"EWP-{uuid.uuid4().hex[:16].upper()}", amount,
                    str(body["currency"]).upper(), str(body["merchant_reference"]),
                    str(body["return_url"]), str(body["cancel_url"]),
                )  # fmt: skip
            except KeyError:
                return _error(400, "invalid_request")
            payments[payment.id] = payment
            if idempotency_key:
                by_key[idempotency_key] = payment.id
        return JSONResponse(_payment_out(payment, base), 201)

    @app.post("/v2/payouts")
    async def create_payout(
        request: Request,
        x_api_key: str = Header(default=""),
        idempotency_key: str | None = Header(default=None),
    ) -> JSONResponse:
        """A payout to the wallet a completed payment came from: answered at once, then
        ``payout.completed`` or ``payout.failed``."""
        if not authorised(x_api_key):
            return _error(401, "unauthorized")
        body = await json_body(request) or {}
        with lock:
            if idempotency_key and idempotency_key in payouts_by_key:
                return JSONResponse(payouts_by_key[idempotency_key])
            source = payments.get(str(body.get("source_payment")))
            amount = _amount(body.get("amount"))
            if source is None or source.status != "completed" or amount is None:
                return _error(400, "invalid_request")
            if str(body.get("currency", "")).upper() != source.currency:
                return _error(400, "currency_mismatch")
            payout: dict[str, Any] = {
                      "id": f"EWO-{uuid.uuid4().hex[:16].upper()}", "kind": "payout",
                      "amount": f"{amount:f}", "currency": source.currency,
                      "merchant_reference": str(body.get("merchant_reference") or ""),
                      "recipient": source.payer}  # fmt: skip
            if idempotency_key:
                payouts_by_key[idempotency_key] = payout
        outcome = outcomes["payout"]
        if outcome == "completed":
            book("T0001", payout["id"], -amount, source.currency, payout["merchant_reference"])
        callback(f"payout.{outcome}", {**payout, "status": outcome,
                 **({"failure_reason": "recipient_unavailable"} if outcome == "failed"
                    else {})})  # fmt: skip
        return JSONResponse({**payout, "status": "pending"}, 201)

    @app.get("/v1/reports/settlement")
    def settlement_report(day: str, x_api_key: str = Header(default="")) -> Response:
        if not authorised(x_api_key):
            return _error(401, "unauthorized")
        return activity.report(day) or _error(400, "invalid_request")

    @app.get("/approve/{payment_id}", response_class=HTMLResponse)
    def approval_page(payment_id: str) -> HTMLResponse:
        payment = payments.get(payment_id)
        if payment is None:
            return HTMLResponse("<h1>No such payment</h1>", 404)
        amount = html.escape(f"{payment.amount:f} {payment.currency}")
        return HTMLResponse(PAGE.format(brand=BRAND, title=f"Pay {amount}", body=f"""
            <form method="post"><label>Wallet e-mail <input name="wallet_email"
            id="wallet_email" type="email" required></label><label>Password <input
            name="password" id="password" type="password" value="test"></label>
            <button id="approve" name="action" value="approve" type="submit">Pay {amount}
            </button> <button id="decline" name="action" value="decline"
            type="submit">Cancel</button></form>"""))  # fmt: skip

    @app.post("/approve/{payment_id}")
    def approve(payment_id: str, wallet_email: str = Form(...),
                action: str = Form(...)) -> Any:  # fmt: skip
        payment = payments.get(payment_id)
        if payment is None or payment.status != "pending":
            return HTMLResponse("<h1>This payment is closed</h1>", 409)
        if action not in ("approve", "decline"):
            return HTMLResponse("<h1>Approve or decline</h1>", 400)
        wallet = uuid.uuid5(uuid.NAMESPACE_URL, wallet_email.lower()).int % 10**10
        payment.payer = {"wallet_id": f"W{wallet:010d}", "email": wallet_email}
        if action == "approve":
            payment.status = "completed"
            book("T0006", payment.id, payment.amount, payment.currency,
                 payment.merchant_reference)  # fmt: skip
            callback("payment.completed", resource(payment))
            return RedirectResponse(payment.return_url, 303)
        payment.status = "failed"
        callback("payment.failed", resource(payment, failure_reason="payer_declined"))
        return RedirectResponse(payment.cancel_url, 303)

    @app.post("/_sim/config")
    async def configure(request: Request) -> dict[str, Any]:
        body = await json_body(request) or {}
        if "callback_url" in body:
            webhooks.callback_url = str(body["callback_url"])
        if "duplicates" in body:
            webhooks.duplicates = int(body["duplicates"])
        if body.get("payout") in ("completed", "failed"):
            outcomes["payout"] = str(body["payout"])
        return {"callback_url": webhooks.callback_url, "duplicates": webhooks.duplicates,
                "payout": outcomes["payout"]}  # fmt: skip

    @app.post("/_sim/payments/{payment_id}/refund")
    def refund(payment_id: str) -> Any:
        payment = payments.get(payment_id)
        if payment is None or payment.status != "completed":
            return _error(400, "invalid_request")
        payment.status = "refunded"
        book("T1107", f"EWR-{uuid.uuid4().hex[:16].upper()}", -payment.amount, payment.currency,
             payment.merchant_reference, reference=payment.id)  # fmt: skip
        callback("payment.refunded", resource(payment))
        return {"id": payment_id, "status": payment.status}

    @app.get("/_sim/deliveries")
    def deliveries() -> dict[str, Any]:
        return {"idle": webhooks.idle(), "deliveries": list(webhooks.log_entries)}

    return app


def _payment_out(payment: WalletPayment, base: str) -> dict[str, Any]:
    return {"id": payment.id, "status": payment.status, "amount": f"{payment.amount:f}",
            "currency": payment.currency, "merchant_reference": payment.merchant_reference,
            "approval_url": f"{base}/approve/{payment.id}"}  # fmt: skip


def serve(settings: Settings, port: int | None = None, ops_port: int | None = None) -> int:
    config = settings.backoffice
    app = create_simulator(settings, history=history_file(settings, "ewallet"))
    return serve_app(settings, app,
                     port or config.ewallet_psp_simulator_port,
                     ops_port or config.ewallet_psp_simulator_ops_port)  # fmt: skip
