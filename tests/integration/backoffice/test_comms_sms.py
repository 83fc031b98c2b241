"""SMS through the outbox: the worker submits to the simulator over HTTP (Twilio's Messages API
shape), the simulator reports sent and delivered (or undelivered) to the api's signed status
callback, and the message's state follows, forward only; a forged report changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from api.app import create_app
from backoffice.comms.outbox import enqueue
from backoffice.comms.sms import twilio_signature
from backoffice.comms.sms_simulator import SimulatedProvider
from brokerstack.services.ports import free_port
from brokerstack.settings import Settings
from tests.integration.backoffice.support_comms import (
    add_client,
    comms_settings,
    deliver_round,
    message_row,
    served,
    timeline,
    until,
)

SID, TOKEN = "ACtest0123", "test-auth-token"
UNREACHABLE = "+15005550009"


@dataclass
class SmsStack:
    settings: Settings
    provider: SimulatedProvider
    api_url: str
    provider_url: str


@pytest.fixture
def sms_stack(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> Iterator[SmsStack]:
    """The simulator and the api, each under uvicorn on its own port."""
    del redis_client
    provider_port, api_port = free_port(), free_port()
    settings = comms_settings(
        seeded_db_url,
        tmp_path,
        redis_url,
        api_port=api_port,
        sms_url=f"http://127.0.0.1:{provider_port}",
        sms_account_sid=SID,
        sms_auth_token=TOKEN,
        sms_from="+15005550006",
    )
    provider = SimulatedProvider(SID, TOKEN, frozenset({UNREACHABLE}), step_seconds=0.05)
    with (
        served(provider.app(), provider_port) as provider_url,
        served(create_app(settings), api_port) as api_url,
    ):
        yield SmsStack(settings, provider, api_url, provider_url)


def _queue_sms(db_url: str, client_id: int, brand_id: int, to: str) -> int:
    with psycopg.connect(db_url) as conn:
        return enqueue(
            conn,
            brand_id=brand_id,
            template="margin_call",
            language="en",
            channel="sms",
            client_id=client_id,
            to=to,
            context={"login": 70002, "margin_level": 90, "stop_out_level": 50},
        )


def test_an_sms_goes_through_the_provider_and_its_delivery_report_lands(
    sms_stack: SmsStack, seeded_db_url: str
) -> None:
    brand_id, client_id = add_client(seeded_db_url, "gil@example.com")
    message_id = _queue_sms(seeded_db_url, client_id, brand_id, "+4915112345678")

    assert deliver_round(sms_stack.settings) == 1
    until(
        "delivered",
        lambda: message_row(seeded_db_url, message_id)["state"] == "delivered",
        lambda: None,
    )

    row = message_row(seeded_db_url, message_id)
    [submitted] = sms_stack.provider.messages.values()
    assert submitted["sid"] == row["provider_message_id"]
    assert (submitted["to"], submitted["from"]) == ("+4915112345678", "+15005550006")
    assert submitted["body"] == (
        "Demo Brokerage: margin call on 70002, margin level 90% (stop-out at 50%)."
    )
    assert row["sent_at"] is not None
    assert row["delivered_at"] is not None
    assert timeline(seeded_db_url, client_id) == [
        (
            "message_sent",
            "sms",
            {"message_id": message_id, "template": "margin_call", "to": "+4915112345678"},
        ),
    ]


def test_an_unreachable_handset_ends_undelivered_and_a_late_report_does_not_undo_it(
    sms_stack: SmsStack, seeded_db_url: str
) -> None:
    brand_id, client_id = add_client(seeded_db_url, "hal@example.com")
    message_id = _queue_sms(seeded_db_url, client_id, brand_id, UNREACHABLE)
    deliver_round(sms_stack.settings)
    until(
        "undelivered",
        lambda: message_row(seeded_db_url, message_id)["state"] == "undelivered",
        lambda: None,
    )
    row = message_row(seeded_db_url, message_id)
    assert row["last_error"] == "provider error 30003: undelivered"

    # the provider's "sent" again, genuinely signed, after the final status: answered, ignored
    url = f"{sms_stack.api_url}/v1/webhooks/sms/twilio?message={message_id}"
    form = {"MessageSid": row["provider_message_id"], "MessageStatus": "sent", "AccountSid": SID}
    late = httpx.post(
        url, data=form, headers={"X-Twilio-Signature": twilio_signature(url, form.items(), TOKEN)}
    )
    assert late.json() == {"outcome": "unchanged"}
    assert message_row(seeded_db_url, message_id)["state"] == "undelivered"
    assert [event[0] for event in timeline(seeded_db_url, client_id)] == [
        "message_sent",
        "message_undelivered",
    ]


def test_a_forged_delivery_report_is_refused_and_changes_nothing(
    sms_stack: SmsStack, seeded_db_url: str
) -> None:
    brand_id, client_id = add_client(seeded_db_url, "ida@example.com")
    message_id = _queue_sms(seeded_db_url, client_id, brand_id, "+4915112345679")
    # no worker round: the message is still ours, queued, when the forgeries come
    url = f"{sms_stack.api_url}/v1/webhooks/sms/twilio?message={message_id}"
    genuine = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered", "AccountSid": SID}
    signature = twilio_signature(url, genuine.items(), TOKEN)
    attempts = {
        "wrong key": (genuine, twilio_signature(url, genuine.items(), "not-the-token")),
        "body changed after signing": ({**genuine, "MessageStatus": "undelivered"}, signature),
        "other message's URL": (genuine, twilio_signature(url + "1", genuine.items(), TOKEN)),
        "no signature": (genuine, None),
    }
    for what, (form, forged) in attempts.items():
        headers = {} if forged is None else {"X-Twilio-Signature": forged}
        response = httpx.post(url, data=form, headers=headers)
        assert response.status_code == 403, what
        assert response.json()["error"]["code"] == "invalid_signature", what
    row = message_row(seeded_db_url, message_id)
    assert (row["state"], row["provider_message_id"]) == ("queued", None)
    assert timeline(seeded_db_url, client_id) == []


def test_the_simulator_refuses_a_number_not_in_e164_and_wrong_credentials_as_twilio_does(
    sms_stack: SmsStack, seeded_db_url: str
) -> None:
    url = f"{sms_stack.provider_url}/2010-04-01/Accounts/{SID}/Messages.json"
    form = {"To": "4915112345678", "From": "+15005550006", "Body": "hi"}
    refused = httpx.post(url, data=form, auth=(SID, TOKEN))
    wrong_token = httpx.post(url, data={**form, "To": "+4915112345678"}, auth=(SID, "nope"))
    assert (refused.status_code, refused.json()["code"]) == (400, 21211)
    assert (wrong_token.status_code, wrong_token.json()["code"]) == (401, 20003)
    assert sms_stack.provider.messages == {}
