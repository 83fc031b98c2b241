"""E-mail through the outbox: rendered at enqueue in the client's language from the brand's
templates, sent by the worker through a real SMTP server (the aiosmtpd sink), retried while the
server is down, and on the client's timeline once sent."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from backoffice.audit import Actor
from backoffice.comms.errors import MessageRefused
from backoffice.comms.message_templates import save_template
from backoffice.comms.outbox import enqueue
from brokerstack.services.ports import free_port
from tests.integration.backoffice.support_comms import (
    add_brand,
    add_client,
    comms_settings,
    deliver_round,
    kept_mails,
    message_row,
    sink,
    timeline,
    until,
)

GERMAN_SUBJECT = "Bitte bestätigen Sie Ihre E-Mail-Adresse bei {{ brand.name }}"
GERMAN_TEXT = "Hallo {{ name }},\nbitte bestätigen Sie hier: {{ link }}\n"
GERMAN_HTML = '<p>Hallo {{ name }},</p><p><a href="{{ link }}">Bestätigen</a></p>'
LINK = "https://portal.demo.example/verify?token=abc&lang=de"


def test_a_mail_reaches_the_smtp_server_from_the_brand_in_the_clients_language(
    seeded_db_url: str, tmp_path: Path
) -> None:
    port = free_port()
    settings = comms_settings(seeded_db_url, tmp_path, smtp_url=f"smtp://127.0.0.1:{port}")
    brand_id, client_id = add_client(seeded_db_url, "anna@example.com", first_name="Anna")
    with psycopg.connect(seeded_db_url) as conn:
        conn.execute(
            """UPDATE brands SET mail_from_name = 'Demo Support',
                                 mail_from_address = 'support@demo-broker.example' WHERE id = %s""",
            (brand_id,),
        )
        save_template(
            conn,
            Actor.staff(1),
            brand_id=brand_id,
            key="verification",
            language="de",
            channel="email",
            subject=GERMAN_SUBJECT,
            body_text=GERMAN_TEXT,
            body_html=GERMAN_HTML,
        )
        message_id = enqueue(
            conn,
            brand_id=brand_id,
            template="verification",
            language="de",
            channel="email",
            client_id=client_id,
            context={"link": LINK, "valid_hours": 24},
        )

    with sink(tmp_path / "mail", port) as folder:
        assert deliver_round(settings) == 1
    [mail] = kept_mails(folder)

    assert mail["From"] == "Demo Support <support@demo-broker.example>"
    assert mail["To"] == "anna@example.com"
    assert mail["Subject"] == "Bitte bestätigen Sie Ihre E-Mail-Adresse bei Demo Brokerage"
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().splitlines() == ["Hallo Anna,", f"bitte bestätigen Sie hier: {LINK}"]
    # the link's & is escaped in the HTML part, and only there
    assert 'href="https://portal.demo.example/verify?token=abc&amp;lang=de"' in html.get_content()
    row = message_row(seeded_db_url, message_id)
    assert (row["state"], row["attempts"], row["language"]) == ("sent", 1, "de")
    assert row["provider_message_id"] == mail["Message-ID"]
    assert timeline(seeded_db_url, client_id) == [
        (
            "message_sent",
            "email",
            {"message_id": message_id, "template": "verification", "to": "anna@example.com"},
        ),
    ]


def test_a_template_falls_back_to_the_brands_default_language_then_to_the_built_in(
    seeded_db_url: str,
) -> None:
    french = add_brand(seeded_db_url, "fr-broker", "Courtier", default_language="fr")
    plain = add_brand(seeded_db_url, "plain", "Plain Broker")
    with psycopg.connect(seeded_db_url) as conn:
        for language, subject in (("fr", "Compte {{ login }}"), ("pt", "Conta {{ login }}")):
            save_template(
                conn,
                Actor.staff(1),
                brand_id=french,
                key="margin_call",
                language=language,
                channel="email",
                subject=subject,
                body_text="{{ margin_level }} %",
            )
        sent = {
            (brand, language): enqueue(
                conn,
                brand_id=brand,
                template="margin_call",
                language=language,
                channel="email",
                to="x@example.com",
                context={"login": 7001, "margin_level": 80, "stop_out_level": 50, "name": "Jo"},
            )
            for brand, language in (
                (french, "pt-BR"),
                (french, "de"),
                (french, None),
                (plain, "pt"),
            )
        }
        rows = {
            key: conn.execute(
                "SELECT language, subject FROM messages WHERE id = %s", (message_id,)
            ).fetchone()
            for key, message_id in sent.items()
        }
    assert rows == {
        (french, "pt-BR"): ("pt", "Conta 7001"),  # the brand's, in the primary subtag
        (french, "de"): ("fr", "Compte 7001"),  # no German: the brand's default language
        (french, None): ("fr", "Compte 7001"),
        (plain, "pt"): ("en", "Margin call on account 7001"),  # the built-in file
    }


def test_a_missing_variable_is_refused_at_enqueue_and_nothing_is_stored(
    seeded_db_url: str,
) -> None:
    brand_id, client_id = add_client(seeded_db_url, "bo@example.com")
    with psycopg.connect(seeded_db_url) as conn, pytest.raises(MessageRefused) as refused:
        enqueue(
            conn,
            brand_id=brand_id,
            template="password_reset",
            language=None,
            channel="email",
            client_id=client_id,
            context={"valid_minutes": 30},
        )
    assert refused.value.code == "missing_variable"
    assert "link" in refused.value.message
    with psycopg.connect(seeded_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM messages").fetchone() == (0,)


def test_the_same_idempotency_key_twice_queues_one_message(seeded_db_url: str) -> None:
    brand_id, client_id = add_client(seeded_db_url, "cy@example.com")
    ids = []
    for _ in range(2):
        with psycopg.connect(seeded_db_url) as conn:
            ids.append(
                enqueue(
                    conn,
                    brand_id=brand_id,
                    template="kyc_approved",
                    language="en",
                    channel="email",
                    client_id=client_id,
                    context={"level": 1},
                    idempotency_key=f"kyc-approved:{client_id}:1",
                )
            )
    with psycopg.connect(seeded_db_url) as conn:
        count = conn.execute("SELECT count(*) FROM messages").fetchone()
    assert ids[0] == ids[1]
    assert count == (1,)


def test_while_the_smtp_server_is_down_the_mail_waits_longer_each_time_then_goes_once(
    seeded_db_url: str, tmp_path: Path
) -> None:
    port = free_port()
    settings = comms_settings(
        seeded_db_url, tmp_path, smtp_url=f"smtp://127.0.0.1:{port}", outbox_first_retry_seconds=2.0
    )
    brand_id, client_id = add_client(seeded_db_url, "di@example.com")
    with psycopg.connect(seeded_db_url) as conn:
        message_id = enqueue(
            conn,
            brand_id=brand_id,
            template="deposit_reminder",
            language="en",
            channel="email",
            client_id=client_id,
            context={"link": "https://portal.example/deposit"},
        )

    def attempts() -> int:
        return int(message_row(seeded_db_url, message_id)["attempts"])

    waits = []
    for attempt in (1, 2):
        until(f"attempt {attempt}", lambda: attempts() == attempt, lambda: deliver_round(settings))  # noqa: B023 (called at once)
        row = message_row(seeded_db_url, message_id)
        assert row["state"] == "queued"
        assert "ConnectionRefusedError" in row["last_error"]
        waits.append((row["next_attempt_at"] - row["updated_at"]).total_seconds())
        assert deliver_round(settings) == 0  # not due again yet
    assert waits == [2.0, 4.0]
    assert timeline(seeded_db_url, client_id) == []

    with sink(tmp_path / "mail", port) as folder:
        until(
            "sent",
            lambda: message_row(seeded_db_url, message_id)["state"] == "sent",
            lambda: deliver_round(settings),
        )
        assert deliver_round(settings) == 0
    assert [mail["Subject"] for mail in kept_mails(folder)] == [
        "Your Demo Brokerage account is ready for its first deposit"
    ]
    assert message_row(seeded_db_url, message_id)["attempts"] == 3
    assert [event[0] for event in timeline(seeded_db_url, client_id)] == ["message_sent"]


def test_after_the_last_attempt_the_mail_fails_and_the_timeline_says_so(
    seeded_db_url: str, tmp_path: Path
) -> None:
    settings = comms_settings(
        seeded_db_url,
        tmp_path,
        smtp_url=f"smtp://127.0.0.1:{free_port()}",
        outbox_first_retry_seconds=0.1,
        outbox_max_attempts=2,
    )
    brand_id, client_id = add_client(seeded_db_url, "ed@example.com")
    with psycopg.connect(seeded_db_url) as conn:
        message_id = enqueue(
            conn,
            brand_id=brand_id,
            template="kyc_approved",
            language=None,
            channel="email",
            client_id=client_id,
            context={"level": 1},
        )
    until(
        "failed",
        lambda: message_row(seeded_db_url, message_id)["state"] == "failed",
        lambda: deliver_round(settings),
    )
    row = message_row(seeded_db_url, message_id)
    assert (row["attempts"], row["next_attempt_at"], row["sent_at"]) == (2, None, None)
    [(event, channel, payload)] = timeline(seeded_db_url, client_id)
    assert (event, channel, payload["message_id"]) == ("message_failed", "email", message_id)
