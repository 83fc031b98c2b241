"""SMS through an HTTP provider with Twilio's Messages API shape, or the local simulator.

A message is ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with the form
fields To, From, Body and StatusCallback, HTTP basic auth ``AccountSid:AuthToken``; the reply
is the message resource as JSON (``sid``, ``status``). The provider then calls StatusCallback
with MessageSid and MessageStatus (sent, delivered, undelivered, failed), signed in the
``X-Twilio-Signature`` header: base64 of HMAC-SHA1, keyed with the auth token, over the full
callback URL followed by every form parameter's name and value, sorted by name.

Our StatusCallback is ``BROKERSTACK_BACKOFFICE_SMS_STATUS_CALLBACK_URL`` (by default the api's
``/v1/webhooks/sms/twilio`` on this host) with ``?message=<outbox id>``, so a status that
arrives before the worker recorded the provider's sid still finds its message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from backoffice.comms.errors import DeliveryFailed
from backoffice.comms.outbox import Outgoing
from brokerstack.settings import Settings

API_VERSION = "2010-04-01"
STATUS_CALLBACK_PATH = "/v1/webhooks/sms/twilio"
TIMEOUT_SECONDS = 15.0


def twilio_signature(url: str, params: Iterable[tuple[str, str]], auth_token: str) -> str:
    signed = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def status_callback_url(settings: Settings) -> str:
    """Where the provider reports delivery (the URL it signs, without our query)."""
    configured = settings.backoffice.sms_status_callback_url
    return configured or f"http://{settings.host}:{settings.api_port}{STATUS_CALLBACK_PATH}"


def provider_url(settings: Settings) -> str:
    configured = settings.backoffice.sms_url
    return (
        configured or f"http://{settings.host}:{settings.backoffice.sms_simulator_port}"
    ).rstrip("/")


@dataclass
class SmsTransport:
    base_url: str
    account_sid: str
    auth_token: str
    default_from: str
    status_callback: str

    @classmethod
    def from_settings(cls, settings: Settings) -> SmsTransport:
        config = settings.backoffice
        return cls(
            provider_url(settings),
            config.sms_account_sid,
            config.sms_auth_token.get_secret_value(),
            config.sms_from,
            status_callback_url(settings),
        )

    def send(self, message: Outgoing) -> str:
        """Submit the SMS; the provider's message sid. :class:`DeliveryFailed` is permanent
        when the provider refused the message itself (400: a bad number, an empty body), and
        temporary otherwise: unreachable, refusing our credentials (an operator mends them),
        overloaded (429) or failing (5xx)."""
        url = f"{self.base_url}/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"
        form = {
            "To": message.recipient,
            "From": message.sender_address or self.default_from,
            "Body": message.body_text.strip(),
            "StatusCallback": f"{self.status_callback}?message={message.id}",
        }
        try:
            response = httpx.post(
                url, data=form, auth=(self.account_sid, self.auth_token), timeout=TIMEOUT_SECONDS
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}", permanent=False) from exc
        if response.status_code in (200, 201):
            sid = _json(response).get("sid")
            if isinstance(sid, str) and sid:
                return sid
            raise DeliveryFailed(
                f"provider answered without a sid: {response.text[:200]}", permanent=False
            )
        body = _json(response)
        error = f"HTTP {response.status_code} {body.get('code', '')}: {body.get('message', '')}"
        raise DeliveryFailed(error, permanent=response.status_code == 400)


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
