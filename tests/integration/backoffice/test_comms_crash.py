"""A worker killed in the middle of sending a mail (``SIGKILL``, no cleanup) — what the
recipient gets once another round picks the message up.

The worker runs in its own process; the SMTP server kills it at a chosen point of the SMTP
dialogue, with the claim committed and the mark not yet written:

- at ``MAIL FROM`` (before the server has the mail): the message is sent once, by the next
  worker after the claim's lease lapsed;
- after the server has stored the mail but before it answered (the worker never learns it
  was sent): the message is sent once more — two copies, both with the same Message-ID, so a
  reader or a mail filter can tell the second is a duplicate. That is the at-least-once
  choice: never lost, at most one extra copy per crash.

In both cases the message ends ``sent`` with two attempts and one timeline entry.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from backoffice.comms.outbox import enqueue
from backoffice.comms.smtp_sink import MailFolder
from brokerstack.services.ports import free_port
from tests.integration.backoffice.support_comms import (
    add_client,
    comms_settings,
    deliver_round,
    kept_mails,
    message_row,
    timeline,
    until,
)

WORKER = """
from backoffice.comms.delivery import deliver_due
from backoffice.worker import JobContext
from brokerstack.settings import Settings
settings = Settings()
deliver_due(JobContext(settings, settings.database_dsn, None))
"""
LEASE_SECONDS = 1.0


@dataclass
class KillingSink(MailFolder):
    """The sink, killing the worker process at one point of the first SMTP dialogue."""

    at: Literal["MAIL", "DATA"] = "DATA"
    victim: subprocess.Popen[bytes] | None = None
    killed: bool = False

    def _kill(self) -> None:
        if self.killed:
            return
        deadline = time.monotonic() + 30
        while self.victim is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        self.victim.kill()
        self.victim.wait(30)
        self.killed = True

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.at == "MAIL":
            self._kill()
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if self.at == "DATA":
            self._kill()  # the mail is kept, the worker never hears "250"
        return reply


@pytest.mark.parametrize(("kill_at", "copies"), [("MAIL", 1), ("DATA", 2)])
def test_a_worker_killed_between_claim_and_mark_costs_at_most_one_extra_copy(
    seeded_db_url: str, tmp_path: Path, kill_at: Literal["MAIL", "DATA"], copies: int
) -> None:
    port = free_port()
    smtp_url = f"smtp://127.0.0.1:{port}"
    settings = comms_settings(
        seeded_db_url, tmp_path, smtp_url=smtp_url, outbox_lease_seconds=LEASE_SECONDS
    )
    brand_id, client_id = add_client(seeded_db_url, "fay@example.com")
    with psycopg.connect(seeded_db_url) as conn:
        message_id = enqueue(
            conn,
            brand_id=brand_id,
            template="margin_call",
            language="en",
            channel="email",
            client_id=client_id,
            context={"login": 70001, "margin_level": 95, "stop_out_level": 50},
        )
    handler = KillingSink(tmp_path / "mail", at=kill_at)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        env = {
            **os.environ,
            "BROKERSTACK_DATABASE_URL": seeded_db_url,
            "BROKERSTACK_DATA_DIR": str(tmp_path),
            "BROKERSTACK_BACKOFFICE_SMTP_URL": smtp_url,
            "BROKERSTACK_BACKOFFICE_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        handler.victim = subprocess.Popen([sys.executable, "-c", WORKER], env=env)
        assert handler.victim.wait(60) == -9  # SIGKILL, in the middle of the dialogue
        row = message_row(seeded_db_url, message_id)
        assert (row["state"], row["attempts"]) == ("sending", 1)  # claimed, never marked
        assert len(kept_mails(tmp_path / "mail")) == copies - 1

        until(
            "sent again",
            lambda: message_row(seeded_db_url, message_id)["state"] == "sent",
            lambda: deliver_round(settings),
        )
        assert deliver_round(settings) == 0
    finally:
        controller.stop()

    mails = kept_mails(tmp_path / "mail")
    row = message_row(seeded_db_url, message_id)
    assert len(mails) == copies
    assert {mail["Message-ID"] for mail in mails} == {row["provider_message_id"]}
    assert {mail["Subject"] for mail in mails} == {"Margin call on account 70001"}
    assert row["attempts"] == 2
    assert [event[0] for event in timeline(seeded_db_url, client_id)] == ["message_sent"]
