"""A stand-in for the crypto gateway (``brokerstack run crypto-simulator``), in the shape of a
typical USDT / BTC processor.

* ``POST /v1/addresses`` (``X-Api-Key``, JSON ``currency``, ``foreign_id``) answers the deposit
  address of that customer in that currency: the same one every time it is asked;
* ``GET /address/{address}`` is the gateway's page showing the address, with a test-mode
  "wallet" that sends any amount of USDT to it (``POST /address/{address}/send``); tests send
  through ``POST /_sim/send`` (``address``, ``amount``, ``confirmations``) and add blocks with
  ``POST /_sim/transactions/{tx}/confirm``; as ``brokerstack up`` runs it, a block is also
  mined every ``block_seconds`` (10), confirming every transfer still short of 6 confirmations;
* each transfer is reported by a signed callback (``X-Crypto-Signature``: HMAC-SHA256 hex of
  the body, which carries its ``timestamp``) at 0 confirmations and at each block after: the
  USDT received and its value in the address's currency (at ``/_sim/config`` ``rates``, USDT
  per unit; the payer may send any amount, not the one asked);
* ``POST /v1/withdrawals`` pays to an address: ``withdrawal`` callback ``confirmed`` or, as
  ``/_sim/config`` says, ``failed``;
* ``GET /v1/reports/settlement?day=YYYY-MM-DD`` (``X-Api-Key``) is the day's (UTC) settlement
  report: each transfer the gateway credited to the merchant (at ``CREDITED_DEPTH``
  confirmations: the USDT received, the rate it was valued at, its value in the address's
  currency, the 1 % processing fee, net) and each withdrawal it sent (the USDT network fee it
  paid charged in that currency).
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from backoffice.payments import callback_signatures as sig
from backoffice.payments.simulation import PAGE, Activity, Deliveries, history_file, serve_app
from brokerstack.settings import Settings

WEBHOOK_PATH = "/v1/webhooks/psp/crypto-sim"
BRAND = "Crypto gateway simulator"
ASSET = "USDT"
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def default_callback(settings: Settings) -> str:
    return f"http://{settings.host}:{settings.api_port}{WEBHOOK_PATH}"


@dataclass
class Transfer:
    id: str
    address: str
    currency: str
    crypto_amount: Decimal
    amount: Decimal  # its value in the address's currency
    rate: Decimal  # the USDT per unit of that currency it was valued at
    confirmations: int = 0


def _error(status: int, code: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code}}, status)


def _positive(value: Any, places: str = "0.000001") -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    ok = amount.is_finite() and amount > 0 and amount == amount.quantize(Decimal(places))
    return amount if ok else None


BLOCK_SECONDS = 10.0  # the stack's chain: a block every 10 s
SETTLED_DEPTH = 6  # confirmations after which the simulator stops reporting a transfer
CREDITED_DEPTH = 2  # confirmations at which the gateway credits a transfer to the merchant
FEE_PERCENT = Decimal("0.01")  # the gateway's processing fee on a deposit
NETWORK_FEE = Decimal(1)  # USDT (TRC20) the gateway pays the network per withdrawal
CENT = Decimal("0.01")
SETTLEMENT_COLUMNS = ("id", "created_utc", "type", "txid", "address", "asset", "asset_amount",
                      "rate", "currency", "amount", "fee", "net_amount")  # fmt: skip


def _sent_now(body: bytes) -> bytes:
    """A retried callback carries the time of its own attempt (the signature covers it)."""
    return json.dumps({**json.loads(body), "timestamp": int(time.time())},
                      separators=(",", ":")).encode()  # fmt: skip


def create_simulator(
    settings: Settings,
    callback_url: str | None = None,
    block_seconds: float | None = None,
    history: Path | None = None,
) -> FastAPI:
    """``block_seconds`` None: blocks only when ``/_sim/transactions/{tx}/confirm`` asks;
    ``history``: the file its settlement report is kept in across restarts (none: memory)."""
    config = settings.backoffice
    api_key = config.crypto_psp_api_key.get_secret_value()
    secret = config.crypto_psp_webhook_secret.get_secret_value()
    webhooks = Deliveries(lambda body: {sig.CRYPTO_SIGNATURE: sig.crypto_signature(secret, body)},
                          callback_url or default_callback(settings),
                          restamp=_sent_now)  # fmt: skip
    addresses: dict[tuple[str, str], str] = {}  # (foreign id, currency) -> address
    currency_of: dict[str, str] = {}
    transfers: dict[str, Transfer] = {}
    payouts_by_key: dict[str, dict[str, Any]] = {}
    options: dict[str, Any] = {"withdrawal": "confirmed",
                               "rates": {"USD": Decimal(1), "EUR": Decimal("1.08")}}  # fmt: skip
    lock = threading.Lock()
    activity = Activity(SETTLEMENT_COLUMNS, "created_utc", history)

    def book(kind: str, id_: str, txid: str, address: str, coins: Decimal, rate: Decimal,
             currency: str, amount: Decimal, fee: Decimal) -> None:  # fmt: skip
        activity.book(id=id_, type=kind, txid=txid, address=address, asset=ASSET,
                      asset_amount=f"{coins:f}", rate=f"{rate:f}", currency=currency,
                      amount=f"{amount:f}", fee=f"{fee:f}",
                      net_amount=f"{amount - fee:f}")  # fmt: skip

    mined = threading.Event()

    def mine() -> None:
        while block_seconds is not None and not mined.wait(block_seconds):
            with lock:
                waiting = [t for t in transfers.values() if t.confirmations < SETTLED_DEPTH]
            for transfer in waiting:
                confirm(transfer, 1)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        webhooks.start()
        miner = threading.Thread(target=mine, name="crypto-blocks", daemon=True)
        miner.start()
        try:
            yield
        finally:
            mined.set()
            webhooks.stop()

    app = FastAPI(title="crypto gateway simulator", docs_url=None, redoc_url=None,
                  lifespan=lifespan)  # fmt: skip
    app.state.webhooks = webhooks
    app.state.payouts = payouts_by_key

    def report(transfer: Transfer, confirmations: int) -> None:
        webhooks.emit({
            "id": f"cb_{transfer.id[:16]}_{confirmations}", "type": "deposit",
            "timestamp": int(time.time()),
            "transaction": {
                "id": transfer.id, "address": transfer.address, "status": "confirming",
                "confirmations": confirmations, "crypto_currency": ASSET,
                "crypto_amount": f"{transfer.crypto_amount:f}", "amount": f"{transfer.amount:f}",
                "currency": transfer.currency,
            },
        })  # fmt: skip

    def send(address: str, crypto_amount: Decimal, confirmations: int) -> Transfer | None:
        with lock:
            currency = currency_of.get(address)
            if currency is None:
                return None
            rate = options["rates"][currency]
            value = (crypto_amount / rate).quantize(CENT, ROUND_DOWN)
            if value <= 0:
                return None
            transfer = Transfer(secrets.token_hex(32), address, currency, crypto_amount, value,
                                rate)  # fmt: skip
            transfers[transfer.id] = transfer
        report(transfer, 0)
        confirm(transfer, confirmations)
        return transfer

    def confirm(transfer: Transfer, blocks: int) -> None:
        for _ in range(blocks):
            with lock:
                transfer.confirmations += 1
                reached = transfer.confirmations
            if reached == CREDITED_DEPTH:
                t = transfer
                book(
                    "deposit",
                    t.id,
                    t.id,
                    t.address,
                    t.crypto_amount,
                    t.rate,
                    t.currency,
                    t.amount,
                    (t.amount * FEE_PERCENT).quantize(CENT, ROUND_HALF_UP),
                )
            report(transfer, reached)

    async def json_body(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    @app.post("/v1/addresses")
    async def deposit_address(request: Request, x_api_key: str = Header(default="")) -> Any:
        if x_api_key != api_key:
            return _error(401, "unauthorized")
        body = await json_body(request)
        currency, foreign_id = str(body.get("currency", "")).upper(), body.get("foreign_id")
        if currency not in options["rates"] or not foreign_id:
            return _error(400, "invalid_request")
        with lock:
            address = addresses.get((str(foreign_id), currency))
            if address is None:
                address = "T" + "".join(secrets.choice(_BASE58) for _ in range(33))
                addresses[(str(foreign_id), currency)] = address
                currency_of[address] = currency
        return {"address": address, "currency": currency, "crypto_currency": ASSET,
                "network": "TRC20", "foreign_id": foreign_id}  # fmt: skip

    @app.post("/v1/withdrawals")
    async def withdraw(
        request: Request,
        x_api_key: str = Header(default=""),
        idempotency_key: str | None = Header(default=None),
    ) -> Any:
        if x_api_key != api_key:
            return _error(401, "unauthorized")
        body = await json_body(request)
        amount = _positive(body.get("amount"), "0.01")
        address = str(body.get("address") or "")
        currency = str(body.get("currency", "")).upper()
        if amount is None or currency not in options["rates"] or not 26 <= len(address) <= 64:
            return _error(400, "invalid_request")
        with lock:
            if idempotency_key and idempotency_key in payouts_by_key:
                return payouts_by_key[idempotency_key]
            rate = options["rates"][currency]
            payout = {"id": f"wd_{uuid.uuid4().hex}", "address": address,
                      "amount": f"{amount:f}", "currency": currency,
                      "crypto_amount": f"{amount * rate:f}",
                      "crypto_currency": ASSET,
                      "foreign_id": str(body.get("foreign_id") or "")}  # fmt: skip
            if idempotency_key:
                payouts_by_key[idempotency_key] = payout
        outcome = options["withdrawal"]
        if outcome == "confirmed":
            book(
                "withdrawal",
                payout["id"],
                secrets.token_hex(32),
                address,
                -amount * rate,
                rate,
                currency,
                -amount,
                (NETWORK_FEE / rate).quantize(CENT, ROUND_HALF_UP),
            )
        webhooks.emit({
            "id": f"cb_{payout['id']}_{outcome}", "type": "withdrawal",
            "timestamp": int(time.time()),
            "transaction": {**payout, "status": outcome, "confirmations": 1,
                            **({"error": "address_rejected"} if outcome == "failed" else {})},
        })  # fmt: skip
        return {**payout, "status": "processing"}

    @app.get("/v1/reports/settlement")
    def settlement_report(day: str, x_api_key: str = Header(default="")) -> Response:
        if x_api_key != api_key:
            return _error(401, "unauthorized")
        return activity.report(day) or _error(400, "invalid_request")

    @app.get("/address/{address}", response_class=HTMLResponse)
    def address_page(address: str) -> HTMLResponse:
        currency = currency_of.get(address)
        if currency is None:
            return HTMLResponse("<h1>No such address</h1>", 404)
        shown = html.escape(address)
        return HTMLResponse(PAGE.format(brand=BRAND, title=f"Send {ASSET} (TRC20)", body=f"""
            <p>Your {html.escape(currency)} deposit address:</p><p><code id="address">{shown}
            </code></p><p>Anything sent here is credited to your {html.escape(currency)}
            wallet once confirmed.</p><form method="post" action="/address/{shown}/send">
            <label>Test wallet: amount of {ASSET} <input name="amount" id="amount"
            required></label><button id="send" type="submit">Send</button></form>"""))  # fmt: skip

    @app.post("/address/{address}/send", response_class=HTMLResponse)
    def send_from_page(address: str, amount: str = Form(...)) -> HTMLResponse:
        crypto_amount = _positive(amount)
        transfer = None if crypto_amount is None else send(address, crypto_amount, 0)
        if transfer is None:
            return HTMLResponse("<h1>Nothing sent</h1>", 400)
        return HTMLResponse(PAGE.format(brand=BRAND, title="Sent", body=f"""
            <p>Transaction <code id="tx">{transfer.id}</code>: waiting for
            confirmations.</p>"""))  # fmt: skip

    @app.post("/_sim/send")
    async def sim_send(request: Request) -> Any:
        body = await json_body(request)
        crypto_amount = _positive(body.get("amount"))
        confirmations = body.get("confirmations", 0)
        if crypto_amount is None or not isinstance(confirmations, int) or confirmations < 0:
            return _error(400, "invalid_request")
        transfer = send(str(body.get("address")), crypto_amount, confirmations)
        if transfer is None:
            return _error(400, "invalid_request")
        return {"tx": transfer.id, "amount": f"{transfer.amount:f}",
                "confirmations": transfer.confirmations}  # fmt: skip

    @app.post("/_sim/transactions/{tx}/confirm")
    async def sim_confirm(tx: str, request: Request) -> Any:
        transfer = transfers.get(tx)
        blocks = (await json_body(request)).get("blocks", 1)
        if transfer is None or not isinstance(blocks, int) or blocks < 1:
            return _error(400, "invalid_request")
        confirm(transfer, blocks)
        return {"tx": tx, "confirmations": transfer.confirmations}

    @app.post("/_sim/config")
    async def configure(request: Request) -> dict[str, Any]:
        body = await json_body(request)
        if "callback_url" in body:
            webhooks.callback_url = str(body["callback_url"])
        if "duplicates" in body:
            webhooks.duplicates = int(body["duplicates"])
        if body.get("withdrawal") in ("confirmed", "failed"):
            options["withdrawal"] = str(body["withdrawal"])
        for currency, rate in dict(body.get("rates") or {}).items():
            if (value := _positive(rate)) is not None:
                options["rates"][str(currency).upper()] = value
        return {"callback_url": webhooks.callback_url, "duplicates": webhooks.duplicates,
                "withdrawal": options["withdrawal"],
                "rates": {k: f"{v:f}" for k, v in options["rates"].items()}}  # fmt: skip

    @app.get("/_sim/deliveries")
    def deliveries() -> dict[str, Any]:
        return {"idle": webhooks.idle(), "deliveries": list(webhooks.log_entries)}

    return app


def serve(settings: Settings, port: int | None = None, ops_port: int | None = None) -> int:
    config = settings.backoffice
    return serve_app(settings, create_simulator(settings, block_seconds=BLOCK_SECONDS,
                                      history=history_file(settings, "crypto")),
                     port or config.crypto_psp_simulator_port,
                     ops_port or config.crypto_psp_simulator_ops_port)  # fmt: skip
