"""E-mail over SMTP (smtplib): the configured server, or the local sink ``brokerstack up``
starts.

``BROKERSTACK_BACKOFFICE_SMTP_URL``:

- ``smtp://user:password@host:port`` — plain SMTP (port 25 by default), upgraded with STARTTLS
  when the port is 587 or the URL says ``?starttls=1`` (``?starttls=0`` turns it off on 587);
- ``smtps://user:password@host:port`` — TLS from the first byte (port 465 by default).

User and password are percent-decoded; without them no login is attempted. Unset, mail goes to
the local sink on ``BROKERSTACK_BACKOFFICE_SMTP_SINK_PORT``, plain and without login.

Every mail carries a Message-ID made from its outbox id and creation time, the same on every
attempt: when a worker dies after the server took a mail but before the outbox recorded it, the
mail goes again with the same Message-ID, so the copy is recognisable (the outbox is
at-least-once; see :mod:`backoffice.comms.delivery`).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from backoffice.comms.errors import DeliveryFailed
from backoffice.comms.outbox import Outgoing
from brokerstack.settings import Settings

Security = Literal["none", "starttls", "tls"]
TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    security: Security
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"an SMTP URL is smtp://host[:port] or smtps://host[:port]: {url!r}")
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
        security: Security = "tls"
        if parts.scheme == "smtp":
            flag = parse_qs(parts.query).get("starttls", [None])[-1]
            starttls = port == 587 if flag is None else flag.lower() in ("1", "true", "yes")
            security = "starttls" if starttls else "none"
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        return cls(parts.hostname, port, security, username, password)


def smtp_server(settings: Settings) -> SmtpServer:
    """The configured server, or the local sink."""
    if settings.backoffice.smtp_url:
        return SmtpServer.from_url(settings.backoffice.smtp_url)
    return SmtpServer(settings.host, settings.backoffice.smtp_sink_port, "none")


def message_id(message: Outgoing, domain: str) -> str:
    stamp = message.created_at.strftime("%Y%m%d%H%M%S%f")
    return f"<{message.id}.{stamp}@{domain}>"


def build_email(message: Outgoing, default_from: str) -> EmailMessage:
    """The mail as sent: the brand's sender (the settings' default when the brand has none),
    text with an HTML alternative when the template has one."""
    default_name, default_address = parseaddr(default_from)
    address = message.sender_address or default_address
    mail = EmailMessage()
    mail["From"] = formataddr((message.sender_name or default_name, address))
    mail["To"] = message.recipient
    mail["Subject"] = message.subject or ""
    mail["Date"] = format_datetime(message.created_at)
    mail["Message-ID"] = message_id(message, address.rpartition("@")[2] or "localhost")
    mail.set_content(message.body_text)
    if message.body_html is not None:
        mail.add_alternative(message.body_html, subtype="html")
    return mail


@dataclass
class MailTransport:
    server: SmtpServer
    default_from: str

    @classmethod
    def from_settings(cls, settings: Settings) -> MailTransport:
        return cls(smtp_server(settings), settings.backoffice.mail_from)

    def send(self, message: Outgoing) -> str:
        """Hand the mail to the server; its Message-ID. :class:`DeliveryFailed` says whether
        trying again can help (the server down or busy: yes; the recipient refused: no)."""
        mail = build_email(message, self.default_from)
        try:
            with self._connect() as smtp:
                if self.server.username is not None:
                    smtp.login(self.server.username, self.server.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryFailed(
                f"recipient refused: {exc.recipients}", permanent=all(code >= 500 for code in codes)
            ) from exc
        except smtplib.SMTPDataError as exc:
            raise DeliveryFailed(
                f"message refused: {exc.smtp_code} {exc.smtp_error!r}",
                permanent=exc.smtp_code >= 500,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}", permanent=False) from exc
        return str(mail["Message-ID"])

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        if server.security == "tls":
            context = ssl.create_default_context()
            return smtplib.SMTP_SSL(
                server.host, server.port, timeout=TIMEOUT_SECONDS, context=context
            )
        smtp = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_SECONDS)
        if server.security == "starttls":
            try:
                smtp.starttls(context=ssl.create_default_context())
            except BaseException:
                smtp.close()
                raise
        return smtp
