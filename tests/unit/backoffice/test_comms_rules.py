"""The outbox's pure rules, the SMTP URL forms, Twilio's signature, and the stand-ins
``brokerstack up`` starts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backoffice.comms.errors import MessageRefused
from backoffice.comms.mail import SmtpServer
from backoffice.comms.message_templates import (
    TemplateSource,
    built_in,
    built_in_keys,
    render,
)
from backoffice.comms.rules import (
    checked_language,
    checked_recipient,
    language_candidates,
    left_our_hands,
    moves_forward,
    retry_delay,
)
from backoffice.comms.sms import twilio_signature
from backoffice.processes import backoffice_processes
from brokerstack.settings import BackofficeSettings, Settings


def test_twilio_signature_matches_twilios_documented_example() -> None:
    # Twilio's own example (docs, "Validating requests"): token 12345 and this URL and form
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675310",
        "Digits": "1234",
        "From": "+14158675310",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature(url, params.items(), "12345") == "GvWf1cFY/Q7PnoempGyD5oXAezc="


def test_retries_wait_twice_as_long_each_time_up_to_the_cap() -> None:
    waits = [retry_delay(n, 30, 300) for n in range(1, 7)]
    assert waits == [timedelta(seconds=s) for s in (30, 60, 120, 240, 300, 300)]
    with pytest.raises(ValueError, match="at least one attempt"):
        retry_delay(0, 30, 300)


def test_states_only_move_forward_and_leaving_our_hands_happens_once() -> None:
    assert moves_forward("queued", "sending")
    assert moves_forward("sending", "sent")
    assert moves_forward("sent", "delivered")
    assert moves_forward("sending", "undelivered")
    assert not moves_forward("delivered", "sent")
    assert not moves_forward("undelivered", "delivered")
    assert not moves_forward("failed", "sent")
    assert left_our_hands("sending", "sent")
    assert left_our_hands("sending", "delivered")
    assert not left_our_hands("sent", "delivered")
    assert not left_our_hands("sending", "failed")


def test_languages_are_tried_as_asked_then_the_primary_subtag_then_the_brands_default() -> None:
    assert language_candidates("pt-BR", "en") == ["pt-BR", "pt", "en"]
    assert language_candidates("de", "de") == ["de"]
    assert language_candidates(None, "fr") == ["fr"]
    assert checked_language("PT_BR") == "pt-BR"
    with pytest.raises(MessageRefused) as refused:
        checked_language("not a language")
    assert refused.value.code == "invalid_language"


@pytest.mark.parametrize(
    ("channel", "recipient", "normal"),
    [("email", " Ana@Example.com ", "Ana@example.com"), ("sms", "+4915112345678", None)],
)
def test_recipients_are_normalised(channel: str, recipient: str, normal: str | None) -> None:
    assert checked_recipient(channel, recipient) == (normal or recipient)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("channel", "recipient"),
    [
        ("email", "not-an-address"),
        ("email", "a@b@c"),
        ("sms", "015112345678"),
        ("sms", "+0123"),
        ("sms", "+49 151 1234"),
    ],
)
def test_bad_recipients_are_refused(channel: str, recipient: str) -> None:
    with pytest.raises(MessageRefused) as refused:
        checked_recipient(channel, recipient)  # type: ignore[arg-type]
    assert refused.value.code == "invalid_recipient"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.internal", SmtpServer("mail.internal", 25, "none")),
        (
            "smtp://u%40x:p%3Aw@mail.internal:587",
            SmtpServer("mail.internal", 587, "starttls", "u@x", "p:w"),
        ),
        ("smtp://mail.internal:2525?starttls=1", SmtpServer("mail.internal", 2525, "starttls")),
        ("smtp://mail.internal:587?starttls=0", SmtpServer("mail.internal", 587, "none")),
        ("smtps://u:p@mail.internal", SmtpServer("mail.internal", 465, "tls", "u", "p")),
    ],
)
def test_smtp_urls(url: str, expected: SmtpServer) -> None:
    assert SmtpServer.from_url(url) == expected


def test_an_smtp_url_of_another_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="smtp://"):
        SmtpServer.from_url("http://mail.internal")


def test_every_built_in_template_renders_as_documented_in_its_file() -> None:
    context = {
        "name": "Ana",
        "brand": {"name": "Demo"},
        "link": "https://x.example/a?b=1&c=2",
        "valid_hours": 24,
        "valid_minutes": 30,
        "level": 1,
        "reason": "blurred photo",
        "can_resubmit": True,
        "documents": ["passport"],
        "days": 30,
        "login": 7,
        "margin_level": 80,
        "stop_out_level": 50,
    }
    assert built_in_keys() == sorted(
        [
            "verification",
            "password_reset",
            "kyc_approved",
            "kyc_rejected",
            "kyc_documents_requested",
            "deposit_reminder",
            "inactivity",
            "margin_call",
        ]
    )
    for key in built_in_keys():
        mail, sms = built_in(key, "email"), built_in(key, "sms")
        assert mail is not None, key
        assert sms is not None, key
        rendered = render(mail, context)
        assert rendered.subject, key
        assert "\n" not in rendered.subject, key
        assert "{" not in rendered.body_text + (rendered.body_html or ""), key
        assert render(sms, context).body_text.strip(), key


def test_html_is_escaped_and_text_is_not() -> None:
    source = TemplateSource(
        "t", "en", "email", "{{ name }}", "{{ name }}", "<p>{{ name }}</p>", "brand"
    )
    rendered = render(source, {"name": "Tom & <Jerry>"})
    assert rendered.subject == "Tom & <Jerry>"
    assert rendered.body_text == "Tom & <Jerry>\n"
    assert rendered.body_html == "<p>Tom &amp; &lt;Jerry&gt;</p>"


def test_a_template_cannot_reach_outside_the_sandbox() -> None:
    source = TemplateSource("t", "en", "sms", None, "{{ name.__class__.__mro__ }}", None, "brand")
    with pytest.raises(MessageRefused) as refused:
        render(source, {"name": "x"})
    assert refused.value.code == "template_error"


def test_up_starts_the_stand_ins_only_where_nothing_is_configured() -> None:
    def names(config: BackofficeSettings) -> list[str]:
        return [spec.name for spec in backoffice_processes(Settings(backoffice=config), {})]

    stand_ins = ["backoffice-worker", "smtp-sink", "sms-simulator", "kyc-simulator",
                 "card-psp-simulator", "ewallet-simulator", "crypto-simulator"]  # fmt: skip
    assert names(BackofficeSettings()) == stand_ins
    configured = BackofficeSettings(
        smtp_url="smtps://mail.example",
        sms_url="https://api.twilio.com",
        kyc_url="https://api.sumsub.com",
        card_psp_url="https://api.stripe.com",
        ewallet_psp_url="https://api.skrill.example",
        crypto_psp_url="https://api.gateway.example",
    )
    assert names(configured) == ["backoffice-worker"]
    assert names(BackofficeSettings(sms_url="https://api.twilio.com")) == [
        "backoffice-worker",
        "smtp-sink",
        "kyc-simulator",
        "card-psp-simulator",
        "ewallet-simulator",
        "crypto-simulator",
    ]
