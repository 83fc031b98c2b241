"""How the KYC simulator delivers its webhooks: signed like the provider's, retried with a
doubling backoff while our endpoint is down, and — for tests — held back and released in
another order, or sent more than once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from backoffice.kyc import signatures

log = logging.getLogger(__name__)


@dataclass(eq=False)  # each delivery is itself, whatever its body
class Delivery:
    body: bytes
    event_type: str
    applicant_id: str
    attempts: int = 0
    due: float = 0.0


@dataclass
class DeliveryPolicy:
    callback_url: str
    duplicates: int = 1  # each webhook is sent this many times
    hold: bool = False  # keep webhooks until released (tests reorder them)
    first_retry_seconds: float = 0.2
    max_retry_seconds: float = 5.0
    max_attempts: int = 50


@dataclass
class Webhooks:
    """Builds, signs and delivers webhooks on a thread of its own."""

    secret: str
    policy: DeliveryPolicy
    client_id: str = "brokerstack"
    log_entries: list[dict[str, Any]] = field(default_factory=list)
    _pending: list[Delivery] = field(default_factory=list)
    _held: list[Delivery] = field(default_factory=list)
    _wake: threading.Condition = field(default_factory=threading.Condition)
    _stopped: bool = False
    _last_ms: dict[str, datetime] = field(default_factory=dict)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kyc-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(10)

    def emit(self, event_type: str, applicant: dict[str, Any], **fields: Any) -> None:
        """Queue one webhook about ``applicant`` (each applicant's events get increasing
        times, so their order is the provider's order whatever order they arrive in)."""
        at = datetime.now(UTC).replace(tzinfo=None)
        previous = self._last_ms.get(applicant["id"])
        if previous is not None and at <= previous:
            at = previous + timedelta(milliseconds=1)
        at = at.replace(microsecond=at.microsecond // 1000 * 1000)
        self._last_ms[applicant["id"]] = at
        payload = {
            "applicantId": applicant["id"],
            "inspectionId": applicant["inspectionId"],
            "correlationId": f"req-{applicant['id']}-{len(self.log_entries)}-{time.time_ns()}",
            "externalUserId": applicant["externalUserId"],
            "levelName": applicant["levelName"],
            "type": event_type,
            "sandboxMode": False,
            "clientId": self.client_id,
            "createdAt": at.strftime("%Y-%m-%d %H:%M:%S+0000"),
            "createdAtMs": at.strftime("%Y-%m-%d %H:%M:%S.") + f"{at.microsecond // 1000:03d}",
            **fields,
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        with self._wake:
            for _ in range(self.policy.duplicates):
                delivery = Delivery(body, event_type, applicant["id"])
                (self._held if self.policy.hold else self._pending).append(delivery)
            self._wake.notify_all()

    def release(self, order: str = "sent") -> int:
        """Send the held webhooks, in the order they were made or reversed."""
        with self._wake:
            held = self._held if order == "sent" else list(reversed(self._held))
            self._held = []
            now = time.monotonic()
            for delivery in held:
                delivery.due = now
            self._pending.extend(held)
            self._wake.notify_all()
            return len(held)

    def idle(self) -> bool:
        with self._wake:
            return not self._pending

    def _run(self) -> None:
        with httpx.Client(timeout=5.0) as http:
            while True:
                with self._wake:
                    delivery = self._next()
                    if delivery is None:
                        return
                url = self.policy.callback_url
                status = self._post(http, url, delivery)
                with self._wake:
                    self.log_entries.append({
                        "type": delivery.event_type,
                        "applicantId": delivery.applicant_id,
                        "attempt": delivery.attempts,
                        "status": status,
                    })  # fmt: skip
                    if status is None or not 200 <= status < 300:
                        self._retry(delivery)
                    self._pending.remove(delivery)

    def _next(self) -> Delivery | None:
        # under the lock: the first delivery due, waiting for one (None once stopped)
        while not self._stopped:
            now = time.monotonic()
            due = [d for d in self._pending if d.due <= now]
            if due:
                return due[0]
            soonest = min((d.due for d in self._pending), default=now + 1.0)
            self._wake.wait(max(soonest - now, 0.01))
        return None

    def _post(self, http: httpx.Client, url: str, delivery: Delivery) -> int | None:
        delivery.attempts += 1
        headers = {
            "Content-Type": "application/json",
            signatures.DIGEST_HEADER: signatures.payload_digest(self.secret, delivery.body),
            signatures.DIGEST_ALG_HEADER: signatures.DEFAULT_DIGEST_ALG,
        }
        try:
            return http.post(url, content=delivery.body, headers=headers).status_code
        except httpx.HTTPError as exc:
            log.info("webhook %s not delivered (%s)", delivery.event_type, exc)
            return None

    def _retry(self, delivery: Delivery) -> None:
        if delivery.attempts >= self.policy.max_attempts:
            log.warning("webhook %s dropped after %d attempts", delivery.event_type,
                        delivery.attempts)  # fmt: skip
            return
        backoff = self.policy.first_retry_seconds * 2 ** (delivery.attempts - 1)
        retry = Delivery(delivery.body, delivery.event_type, delivery.applicant_id,
                         delivery.attempts)  # fmt: skip
        retry.due = time.monotonic() + min(backoff, self.policy.max_retry_seconds)
        self._pending.append(retry)
