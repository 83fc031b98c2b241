"""The worker's round of retention automations, sending through the messages area's outbox."""

from __future__ import annotations

import importlib
from typing import Any, cast

import psycopg

from backoffice.crm.automations import Send, run_automations
from backoffice.worker import Job, JobContext

EVERY_SECONDS = 60.0


def outbox_send(conn: psycopg.Connection[Any], **message: Any) -> int:
    """``backoffice.comms.outbox.enqueue``, imported when a rule first sends (the messages
    area is its own package; a rule that sends fails its firing, untouched, without it)."""
    outbox = importlib.import_module("backoffice.comms.outbox")
    return cast(Send, outbox.enqueue)(conn, **message)


def run(ctx: JobContext) -> int:
    with ctx.connection() as conn:
        conn.autocommit = True  # each firing commits on its own: a kill keeps what was done
        return run_automations(conn, outbox_send)


RETENTION_AUTOMATIONS = Job("retention-automations", EVERY_SECONDS, run)
