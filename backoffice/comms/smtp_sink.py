"""The local mail sink (``brokerstack run smtp-sink``; ``brokerstack up`` starts it when no
SMTP URL is configured): an SMTP server (aiosmtpd) that delivers nowhere and keeps every mail
it accepts under ``<data folder>/mail/``.

Each mail is one ``.eml`` file, exactly the bytes the client sent (open it in any mail
program), and one line of ``index.jsonl`` with the file's name, when it arrived, the envelope
sender and recipients, the Subject and the Message-ID; ``brokerstack mail list`` prints it.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import default
from itertools import count
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from brokerstack.ops import OpsServer, Readiness
from brokerstack.settings import Settings

log = logging.getLogger(__name__)

INDEX = "index.jsonl"


@dataclass
class MailFolder:
    """aiosmtpd handler: each accepted mail becomes a file and an index line."""

    folder: Path
    _numbers: count[int] = field(default_factory=lambda: count(1))

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        received = datetime.now(UTC)
        name = f"{received:%Y%m%dT%H%M%S%fZ}-{next(self._numbers):06d}.eml"
        (self.folder / name).write_bytes(raw)
        headers = BytesHeaderParser(policy=default).parsebytes(raw)
        entry = {
            "file": name,
            "received_at": received.isoformat(),
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "subject": str(headers.get("Subject", "")),
            "message_id": str(headers.get("Message-ID", "")),
        }
        with (self.folder / INDEX).open("a", encoding="utf-8") as index:
            index.write(json.dumps(entry) + "\n")
        log.info(
            "mail %s from %s to %s kept as %s",
            entry["message_id"],
            envelope.mail_from,
            ", ".join(envelope.rcpt_tos),
            name,
        )
        return "250 OK kept"


def mail_folder(settings: Settings) -> Path:
    return settings.data_path / "mail"


def read_index(folder: Path) -> list[dict[str, Any]]:
    """Every mail the sink kept in ``folder``, oldest first."""
    path = folder / INDEX
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def start_sink(folder: Path, host: str, port: int) -> Controller:
    """The sink listening on ``host:port`` in a thread of this process (stop() it)."""
    controller = Controller(MailFolder(folder), hostname=host, port=port)
    controller.start()
    return controller


def serve(settings: Settings, ops_port: int | None = None) -> int:
    """Run the sink until SIGTERM or SIGINT (ready on its ops port once it listens)."""
    config = settings.backoffice
    folder = mail_folder(settings)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP line
    controller = start_sink(folder, settings.host, config.smtp_sink_port)
    ops = OpsServer(settings.host, ops_port or config.smtp_sink_ops_port, Readiness()).start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("smtp sink on %s:%d keeps mail in %s", settings.host, config.smtp_sink_port, folder)
    try:
        stop.wait()
    finally:
        ops.stop()
        controller.stop()
    return 0
