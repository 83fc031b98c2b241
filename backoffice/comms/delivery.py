"""The outbox worker: claim a due message, send it, mark it — one message at a time.

Each message goes through three steps, and only the first and last touch the warehouse:

1. claim (its own committed transaction): state ``sending``, attempts + 1, and a lease until
   ``now + outbox_lease_seconds``;
2. send, with no transaction open;
3. mark (one transaction): ``sent`` and the client's timeline, or back to ``queued`` after the
   backoff (``outbox_first_retry_seconds`` doubling up to ``outbox_most_retry_seconds``), or
   ``failed`` after ``outbox_max_attempts`` attempts or an error retrying cannot mend.

Delivery is **at least once**. A worker killed between 2 and 3 leaves the message ``sending``
with its lease running; once the lease lapses any worker claims it again and sends it again.
That is the one way a recipient gets a message twice, and the copy is recognisable: an e-mail
carries the same Message-ID on every attempt, an SMS the same body. The other order (mark,
then send) would lose a message instead, and a lost verification link or margin call is worse
than a duplicate. A worker killed before 2 finished sending costs nothing but the lease's wait.
The lease must outlast one send (SMTP and HTTP time out after 30 and 15 seconds).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import psycopg

from backoffice.comms.errors import DeliveryFailed
from backoffice.comms.mail import MailTransport
from backoffice.comms.outbox import Outgoing, claim_next, mark_failed, mark_sent
from backoffice.comms.rules import Channel
from backoffice.comms.sms import SmsTransport
from backoffice.worker import Job, JobContext
from brokerstack.settings import BackofficeSettings

log = logging.getLogger(__name__)

MESSAGES_PER_ROUND = 100


class Transport(Protocol):
    def send(self, message: Outgoing) -> str: ...


def deliver_due(context: JobContext) -> int:
    """One round: send what is due, up to :data:`MESSAGES_PER_ROUND`; how many were tried."""
    transports: dict[Channel, Transport] = {
        "email": MailTransport.from_settings(context.settings),
        "sms": SmsTransport.from_settings(context.settings),
    }
    with context.connection() as conn:
        return deliver(conn, transports, context.settings.backoffice)


def deliver(
    conn: psycopg.Connection[Any],
    transports: dict[Channel, Transport],
    config: BackofficeSettings,
    limit: int = MESSAGES_PER_ROUND,
) -> int:
    """Claim, send and mark due messages one by one on ``conn`` (each step its own
    transaction); how many were tried."""
    tried = 0
    while tried < limit:
        with conn.transaction():
            message = claim_next(conn, config.outbox_lease_seconds)
        if message is None:
            break
        tried += 1
        try:
            provider_id = transports[message.channel].send(message)
        except DeliveryFailed as exc:
            with conn.transaction():
                state = mark_failed(
                    conn,
                    message,
                    exc.error,
                    permanent=exc.permanent,
                    max_attempts=config.outbox_max_attempts,
                    first_retry_seconds=config.outbox_first_retry_seconds,
                    most_retry_seconds=config.outbox_most_retry_seconds,
                )
            log.warning(
                "message %d (attempt %d) not sent: %s; now %s",
                message.id,
                message.attempts,
                exc.error,
                state or "taken by another worker",
            )
            continue
        with conn.transaction():
            mark_sent(conn, message.id, provider_id)
    return tried


OUTBOX = Job("comms-outbox", 2.0, deliver_due)
