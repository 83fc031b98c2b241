"""A stand-in for the card PSP (``brokerstack run card-psp-simulator``), speaking Stripe's shape.

* ``POST /v1/checkout/sessions`` (``Authorization: Bearer <secret key>``, form-encoded, an
  ``Idempotency-Key`` answered with the first session) creates a checkout session and its
  payment intent and answers the hosted page's URL;
* ``GET /pay/{session}`` is the hosted page (a card form); ``POST`` takes the card: test card
  numbers decide what happens, as Stripe's do — ``4242 4242 4242 4242`` pays,
  ``4000 0027 6000 3184`` asks for 3-D Secure first (``/3ds/{session}``, where ``1234``
  authenticates and anything else fails), ``4000 0000 0000 0002`` is declined;
* the outcome goes to our webhook endpoint as signed events (``Stripe-Signature: t=..,v1=..``,
  signed at each delivery attempt, retried with a doubling backoff until answered 2xx):
  ``payment_intent.requires_action``, then ``payment_intent.succeeded`` or
  ``payment_intent.payment_failed``; the browser goes back to the session's success or cancel
  URL. Our return redirect proves nothing: only the signed event credits.

Tests steer it through ``/_sim``: the webhook URL, duplicate deliveries, a refund or a
chargeback of a paid intent (``/_sim/payments/{intent}/refund|dispute``), and the delivery log.
"""

from __future__ import annotations

import html
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from backoffice.payments import signatures
from backoffice.payments.psp import from_minor
from backoffice.payments.simulation import PAGE, Activity, Deliveries, history_file, serve_app
from brokerstack.settings import Settings

WEBHOOK_PATH = "/v1/webhooks/psp/card-sim"
PAYS = "4242424242424242"
NEEDS_3DS = "4000002760003184"
DECLINED = "4000000000000002"
THREE_DS_CODE = "1234"
BRAND = "Card PSP simulator"


def default_callback(settings: Settings) -> str:
    return f"http://{settings.host}:{settings.api_port}{WEBHOOK_PATH}"


@dataclass
class Session:
    id: str
    intent: str
    amount: int
    currency: str
    metadata: dict[str, str]
    success_url: str
    cancel_url: str
    status: str = "open"  # open, requires_action, succeeded, failed


# the settlement report's columns (Stripe's itemised balance change report, the ones we use)
SETTLEMENT_COLUMNS = ("balance_transaction_id", "created_utc", "reporting_category", "source_id",
                      "gross", "fee", "net", "currency")  # fmt: skip


def create_simulator(
    settings: Settings, callback_url: str | None = None, history: Path | None = None
) -> FastAPI:
    config = settings.backoffice
    secret_key = config.card_psp_secret_key.get_secret_value()
    secret = config.card_psp_webhook_secret.get_secret_value()
    webhooks = Deliveries(
        lambda body: {signatures.SIGNATURE_HEADER: signatures.sign(secret, body,
                                                                   int(time.time()))},
        callback_url or default_callback(settings),
    )  # fmt: skip
    sessions: dict[str, Session] = {}
    by_key: dict[str, str] = {}
    payouts_by_key: dict[str, dict[str, Any]] = {}
    outcomes = {"payout": "paid"}
    lock = threading.Lock()
    activity = Activity(SETTLEMENT_COLUMNS, "created_utc", history)

    def book(category: str, source: str, amount: int, currency: str) -> None:
        """One balance transaction: gross in minor units (negative for money going out), the
        PSP's fee (2.9 % + 30 on a charge, as the brand's card method says), net."""
        fee = (
            int((Decimal(amount) * Decimal("0.029")).quantize(Decimal(1), ROUND_HALF_UP)) + 30
            if category == "charge"
            else 0
        )
        gross, fee_, net = (f"{from_minor(x, currency):f}" for x in (amount, fee, amount - fee))
        activity.book(balance_transaction_id=f"txn_{uuid.uuid4().hex[:24]}",
                      reporting_category=category, source_id=source, gross=gross, fee=fee_,
                      net=net, currency=currency)  # fmt: skip

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        webhooks.start()
        try:
            yield
        finally:
            webhooks.stop()

    app = FastAPI(title="card PSP simulator", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.webhooks = webhooks
    app.state.sessions = sessions

    def event(kind: str, session: Session, **extra: Any) -> None:
        booked = {"payment_intent.succeeded": ("charge", 1), "charge.refunded": ("refund", -1),
                  "charge.dispute.created": ("dispute", -1)}.get(kind)  # fmt: skip
        if booked is not None:
            book(booked[0], session.intent, booked[1] * session.amount, session.currency)
        webhooks.emit({
            "id": f"evt_{uuid.uuid4().hex[:24]}", "object": "event", "type": kind,
            "created": int(time.time()), "livemode": False,
            "data": {"object": {
                "id": session.intent, "object": "payment_intent", "amount": session.amount,
                "amount_received": session.amount if kind.endswith("succeeded") else 0,
                "currency": session.currency, "status": session.status,
                "metadata": session.metadata, **extra,
            }},
        })  # fmt: skip

    @app.post("/v1/checkout/sessions")
    async def create_session(
        request: Request,
        authorization: str = Header(default=""),
        idempotency_key: str | None = Header(default=None),
    ) -> JSONResponse:
        if authorization != f"Bearer {secret_key}":
            return JSONResponse({"error": {"type": "authentication_error"}}, 401)
        form = await request.form()
        base = str(request.base_url).rstrip("/")
        with lock:
            if idempotency_key and idempotency_key in by_key:
                return JSONResponse(_session_out(sessions[by_key[idempotency_key]], base))
            try:
                amount = int(str(form["amount"]))
                session = Session(
                    f"cs_test_{uuid.uuid4().hex[:24]}", f"pi_{uuid.uuid4().hex[:24]}", amount,
                    str(form["currency"]).lower(),
                    {k[9:-1]: str(v) for k, v in form.items() if k.startswith("metadata[")},
                    str(form["success_url"]), str(form["cancel_url"]),
                )  # fmt: skip
            except (KeyError, ValueError):
                return JSONResponse({"error": {"type": "invalid_request_error"}}, 400)
            if amount <= 0:
                return JSONResponse({"error": {"type": "invalid_request_error"}}, 400)
            sessions[session.id] = session
            if idempotency_key:
                by_key[idempotency_key] = session.id
        return JSONResponse(_session_out(session, base))

    @app.post("/v1/payouts")
    async def create_payout(
        request: Request,
        authorization: str = Header(default=""),
        idempotency_key: str | None = Header(default=None),
    ) -> JSONResponse:
        """A payout (to the card of a deposit): answered at once, then ``payout.paid`` or, as
        ``/_sim/config`` says, ``payout.failed``."""
        if authorization != f"Bearer {secret_key}":
            return JSONResponse({"error": {"type": "authentication_error"}}, 401)
        form = await request.form()
        with lock:
            if idempotency_key and idempotency_key in payouts_by_key:
                return JSONResponse(payouts_by_key[idempotency_key])
            try:
                amount = int(str(form["amount"]))
                payout: dict[str, Any] = {"id": f"po_{uuid.uuid4().hex[:24]}", "object": "payout",
                          "amount": amount, "currency": str(form["currency"]).lower(),
                          "destination": str(form.get("destination") or ""),
                          "metadata": {k[9:-1]: str(v) for k, v in form.items()
                                       if k.startswith("metadata[")}}  # fmt: skip
            except (KeyError, ValueError):
                return JSONResponse({"error": {"type": "invalid_request_error"}}, 400)
            if idempotency_key:
                payouts_by_key[idempotency_key] = payout
        outcome = outcomes["payout"]
        if outcome == "paid":
            book("payout", payout["id"], -amount, payout["currency"])
        webhooks.emit({
            "id": f"evt_{uuid.uuid4().hex[:24]}", "object": "event",
            "type": "payout.paid" if outcome == "paid" else "payout.failed",
            "created": int(time.time()), "livemode": False,
            "data": {"object": {**payout, "status": outcome}},
        })  # fmt: skip
        return JSONResponse({**payout, "status": "pending"})

    @app.get("/v1/reports/settlement")
    def settlement_report(day: str, authorization: str = Header(default="")) -> Response:
        """The day's (UTC) balance transactions as CSV, in the shape of Stripe's itemised
        balance change report."""
        if authorization != f"Bearer {secret_key}":
            return JSONResponse({"error": {"type": "authentication_error"}}, 401)
        report = activity.report(day)
        if report is None:
            return JSONResponse({"error": {"type": "invalid_request_error"}}, 400)
        return report

    @app.get("/pay/{session_id}", response_class=HTMLResponse)
    def hosted_page(session_id: str) -> HTMLResponse:
        session = sessions.get(session_id)
        if session is None:
            return HTMLResponse("<h1>No such checkout session</h1>", 404)
        amount = f"{session.amount / 100:.2f} {session.currency.upper()}"
        return HTMLResponse(PAGE.format(brand=BRAND, title=f"Pay {html.escape(amount)}", body=f"""
            <form method="post"><label>Card number <input name="card" id="card"
            autocomplete="cc-number" required></label><label>Expiry <input name="expiry"
            id="expiry" value="12/34"></label><label>CVC <input name="cvc" id="cvc"
            value="123"></label><button id="pay" type="submit">Pay {html.escape(amount)}</button>
            </form>"""))  # fmt: skip

    @app.post("/pay/{session_id}")
    def pay(session_id: str, card: str = Form(...)) -> Any:
        session = sessions.get(session_id)
        if session is None or session.status not in ("open", "failed"):
            return HTMLResponse("<h1>This checkout session is closed</h1>", 409)
        number = card.replace(" ", "")
        if number == NEEDS_3DS:
            session.status = "requires_action"
            event("payment_intent.requires_action", session)
            return RedirectResponse(f"/3ds/{session.id}", 303)
        if number == PAYS:
            return _finish(session, True)
        return _finish(session, False, "card_declined")

    @app.get("/3ds/{session_id}", response_class=HTMLResponse)
    def challenge(session_id: str) -> HTMLResponse:
        if session_id not in sessions:
            return HTMLResponse("<h1>No such checkout session</h1>", 404)
        return HTMLResponse(PAGE.format(brand=BRAND, title="3-D Secure", body="""
            <p>Your bank asks you to confirm this payment. Enter the code we sent you.</p>
            <form method="post"><label>Code <input name="code" id="code" required></label>
            <button id="confirm" type="submit">Confirm</button></form>"""))  # fmt: skip

    @app.post("/3ds/{session_id}")
    def authenticate(session_id: str, code: str = Form(...)) -> Any:
        session = sessions.get(session_id)
        if session is None or session.status != "requires_action":
            return HTMLResponse("<h1>Nothing to confirm</h1>", 409)
        ok = code.strip() == THREE_DS_CODE
        return _finish(session, ok, None if ok else "authentication_failed")

    def _finish(session: Session, paid: bool, error: str | None = None) -> RedirectResponse:
        session.status = "succeeded" if paid else "failed"
        if paid:
            event("payment_intent.succeeded", session)
            return RedirectResponse(session.success_url, 303)
        event("payment_intent.payment_failed", session,
              last_payment_error={"code": error, "message": error})  # fmt: skip
        return RedirectResponse(session.cancel_url, 303)

    @app.post("/_sim/config")
    async def configure(request: Request) -> dict[str, Any]:
        body = await request.json()
        if "callback_url" in body:
            webhooks.callback_url = str(body["callback_url"])
        if "duplicates" in body:
            webhooks.duplicates = int(body["duplicates"])
        if body.get("payout") in ("paid", "failed"):
            outcomes["payout"] = str(body["payout"])
        return {"callback_url": webhooks.callback_url, "duplicates": webhooks.duplicates,
                "payout": outcomes["payout"]}  # fmt: skip

    @app.post("/_sim/payments/{intent}/{what}")
    def take_back(intent: str, what: str) -> Any:
        """A refund or a chargeback (``dispute``) of a paid intent: the PSP's event about it."""
        session = next((x for x in sessions.values() if x.intent == intent), None)
        if session is None or session.status != "succeeded" or what not in ("refund", "dispute"):
            return JSONResponse({"error": {"type": "invalid_request_error"}}, 400)
        kind = "charge.refunded" if what == "refund" else "charge.dispute.created"
        webhooks.emit({
            "id": f"evt_{uuid.uuid4().hex[:24]}", "object": "event", "type": kind,
            "created": int(time.time()), "livemode": False,
            "data": {"object": {
                "id": f"{'ch' if what == 'refund' else 'dp'}_{uuid.uuid4().hex[:24]}",
                "object": "charge" if what == "refund" else "dispute",
                "payment_intent": intent, "amount": session.amount,
                "currency": session.currency, "metadata": session.metadata,
            }},
        })  # fmt: skip
        return {"intent": intent, "event": kind}

    @app.get("/_sim/deliveries")
    def deliveries() -> dict[str, Any]:
        return {"idle": webhooks.idle(), "deliveries": list(webhooks.log_entries)}

    return app


def _session_out(session: Session, base: str) -> dict[str, Any]:
    return {"id": session.id, "object": "checkout.session", "payment_intent": session.intent,
            "url": f"{base}/pay/{session.id}", "amount_total": session.amount,
            "currency": session.currency, "status": session.status}  # fmt: skip


def serve(settings: Settings, port: int | None = None, ops_port: int | None = None) -> int:
    """Serve until SIGTERM or SIGINT, with ``/health`` and ``/ready`` on its ops port."""
    config = settings.backoffice
    app = create_simulator(settings, history=history_file(settings, "card"))
    return serve_app(settings, app,
                     port or config.card_psp_simulator_port,
                     ops_port or config.card_psp_simulator_ops_port)  # fmt: skip
