"""Retention automations: a dry run names exactly who the run then hits; each rule fires once
per client per window, also when the worker is killed in the middle of a run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from pydantic import PostgresDsn, RedisDsn

from backoffice.crm.automation_job import RETENTION_AUTOMATIONS
from backoffice.crm.automations import create_rule, dry_run, run_automations
from backoffice.crm.leads import capture_lead, convert_lead
from backoffice.crm.submission import LeadSubmission
from backoffice.crm.triggers import window_start
from backoffice.worker import JobContext
from brokerstack.services.ports import free_port
from brokerstack.settings import Settings
from execution import contracts as c
from tests.integration.backoffice.support_crm import (
    ADMIN,
    add_brand,
    add_client,
    add_deposit,
    add_login,
    add_staff,
    brand_id,
)

ROOT = Path(__file__).resolve().parents[3]
# Noon on a Wednesday: an hour later is the same daily and weekly window, a day later is not.
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
AGO = NOW - timedelta(days=3)


@dataclass
class RecordingOutbox:
    """Stands in for the messages area's outbox: what was queued, in which transaction."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    def __call__(
        self,
        conn: psycopg.Connection[Any],
        *,
        brand_id: int,
        template: str,
        language: str,
        channel: str,
        client_id: int | None = None,
        lead_id: int | None = None,
        to: str | None = None,
        context: Mapping[str, Any] = {},
        idempotency_key: str | None = None,
    ) -> int:
        del conn, lead_id, to
        self.sent.append(
            {
                "client_id": client_id,
                "template": template,
                "language": language,
                "channel": channel,
                "key": idempotency_key,
                "brand_id": brand_id,
                "first_name": context["first_name"],
            }
        )
        return len(self.sent)


def test_a_dry_run_lists_exactly_who_the_run_then_hits_and_nobody_twice(seeded_db_url: str) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        demo = brand_id(conn)
        other = add_brand(conn, "other")
        add_staff(conn, "rita@b.example", roles=("retention",))
        sam = add_staff(conn, "sam@b.example", roles=("sales",))
        never_deposited = add_client(conn, "never@x.example", demo, created_at=AGO)
        lead = capture_lead(conn, demo, LeadSubmission(email="never@x.example", language="de"))
        convert_lead(conn, lead.lead_id, never_deposited)
        first_deposit = add_client(conn, "ftd@x.example", demo, created_at=AGO)
        add_deposit(conn, first_deposit, window_start(NOW, 24))
        add_login(conn, first_deposit, NOW - timedelta(hours=1))
        add_client(conn, "new@x.example", demo, created_at=NOW - timedelta(hours=1))
        suspended = add_client(conn, "gone@x.example", demo, created_at=AGO)
        conn.execute("UPDATE clients SET status = 'suspended' WHERE id = %s", (suspended,))
        add_client(conn, "elsewhere@x.example", other, created_at=AGO)
        no_deposit = create_rule(
            conn,
            ADMIN,
            demo,
            "No deposit after 2 days",
            "registered_no_deposit_hours",
            {"hours": 48},
            24 * 7,
            brand_ids=[demo],
            task_subject="Help them fund",
            template="deposit-nudge",
            channel="email",
        )
        ftd = create_rule(
            conn,
            ADMIN,
            demo,
            "Welcome the FTD",
            "ftd",
            {},
            24,
            brand_ids=[demo],
            template="ftd-thanks",
            channel="sms",
        )
        idle = create_rule(
            conn,
            ADMIN,
            demo,
            "Idle 2 days",
            "no_login_days",
            {"days": 2},
            24,
            brand_ids=[demo],
            task_subject="Call them",
        )

    outbox = RecordingOutbox()
    with psycopg.connect(seeded_db_url) as conn:
        would = {
            rule: [h.client_id for h in dry_run(conn, rule, NOW)]
            for rule in (no_deposit, ftd, idle)
        }
        fired = run_automations(conn, outbox, NOW)
        tasks = conn.execute(
            "SELECT created_by_rule_id, client_id, owner_staff_user_id, subject FROM crm_tasks"
            " ORDER BY id"
        ).fetchall()
        firings = conn.execute(
            "SELECT rule_id, client_id, task_id IS NOT NULL, message_id IS NOT NULL"
            " FROM automation_firings ORDER BY id"
        ).fetchall()
    assert would == {no_deposit: [never_deposited], ftd: [first_deposit], idle: [never_deposited]}
    assert fired == 3
    assert firings == [
        (no_deposit, never_deposited, True, True),
        (ftd, first_deposit, False, True),
        (idle, never_deposited, True, False),
    ]
    # the client came from Sam's lead: Sam looks after them
    assert tasks == [
        (no_deposit, never_deposited, sam, "Help them fund"),
        (idle, never_deposited, sam, "Call them"),
    ]
    assert [(m["client_id"], m["template"], m["language"], m["channel"]) for m in outbox.sent] == [
        (never_deposited, "deposit-nudge", "de", "email"),
        (first_deposit, "ftd-thanks", "en", "sms"),
    ]
    assert outbox.sent[0]["key"] != outbox.sent[1]["key"]

    with psycopg.connect(seeded_db_url) as conn:
        assert run_automations(conn, outbox, NOW + timedelta(hours=1)) == 0
        assert dry_run(conn, no_deposit, NOW + timedelta(hours=1)) == []
        # the next window of the daily rule hits the idle client again
        assert [h.client_id for h in dry_run(conn, idle, NOW + timedelta(days=1))] == [
            never_deposited
        ]
        timeline = conn.execute(
            "SELECT count(*) FROM crm_events WHERE event_type = 'automation.fired'"
        ).fetchone()
    assert len(outbox.sent) == 2
    assert timeline == (3,)


CLIENTS = 5
BLOCKED = 2  # the worker gets stuck in the third client's firing: two are done
WINDOW_HOURS = 24 * 365 * 40  # one window for the whole test, whenever it runs


def _start_worker(db_url: str, redis_url: str, folder: Path) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "BROKERSTACK_DATABASE_URL": db_url,
        "BROKERSTACK_REDIS_URL": redis_url,
        "BROKERSTACK_DATA_DIR": str(folder),
    }
    with (folder / "worker.log").open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "brokerstack",
                "run",
                "backoffice-worker",
                "--ops-port",
                str(free_port()),
            ],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_until_stuck(db_url: str, worker: subprocess.Popen[bytes]) -> None:
    """Until the worker waits for the rotation the test holds."""
    deadline = time.monotonic() + 90
    with psycopg.connect(db_url, autocommit=True) as conn:
        while not conn.execute(
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND query LIKE '%%crm_assignment_cursors%%'"
        ).fetchone():
            assert worker.poll() is None, "the worker stopped"
            assert time.monotonic() < deadline, "the worker never reached the third client"
            time.sleep(0.1)


class _NoExecution:
    def execute(self, command: c.Command) -> c.Reply:
        raise AssertionError("automations send no trading commands")


def test_a_worker_killed_mid_run_fires_each_client_exactly_once(
    seeded_db_url: str, redis_url: str, tmp_path: Path
) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        demo = brand_id(conn)
        keeper = add_staff(conn, "rita@b.example", roles=("retention",))
        registered = datetime.now(UTC) - timedelta(days=3)
        clients = [
            add_client(conn, f"c{i}@x.example", demo, created_at=registered) for i in range(CLIENTS)
        ]
        rule = create_rule(
            conn,
            ADMIN,
            demo,
            "No deposit",
            "registered_no_deposit_hours",
            {"hours": 24},
            WINDOW_HOURS,
            brand_ids=[demo],
            task_subject="Help them fund",
        )
        assert [h.client_id for h in dry_run(conn, rule)] == clients
        # The first clients have an owner; the third is the first to need one from the
        # retention desk's rotation, whose cursor the test holds: the worker stops there, with
        # the third client's firing claimed and its task not yet written.
        for client in clients[:BLOCKED]:
            conn.execute("INSERT INTO client_owners VALUES (%s, %s)", (client, keeper))
        rotation = f"brand:{demo}:retention"
        conn.execute("INSERT INTO crm_assignment_cursors VALUES (%s, %s)", (rotation, keeper))
    blocker = psycopg.connect(seeded_db_url)
    blocker.execute("SELECT 1 FROM crm_assignment_cursors WHERE pool = %s FOR UPDATE", (rotation,))
    worker = _start_worker(seeded_db_url, redis_url, tmp_path)
    try:
        _wait_until_stuck(seeded_db_url, worker)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
        blocker.rollback()
        blocker.close()

    def fired() -> list[tuple[int, int]]:
        with psycopg.connect(seeded_db_url) as conn:
            return conn.execute(
                "SELECT f.client_id, count(t.id) FROM automation_firings f"
                " LEFT JOIN crm_tasks t ON t.created_by_rule_id = f.rule_id"
                "  AND t.client_id = f.client_id"
                " WHERE f.rule_id = %s GROUP BY f.client_id ORDER BY f.client_id",
                (rule,),
            ).fetchall()

    assert fired() == [(client, 1) for client in clients[:BLOCKED]]

    settings = Settings(database_url=PostgresDsn(seeded_db_url), redis_url=RedisDsn(redis_url))
    context = JobContext(settings, seeded_db_url, _NoExecution())
    assert RETENTION_AUTOMATIONS.run(context) == CLIENTS - BLOCKED  # the restarted worker
    assert RETENTION_AUTOMATIONS.run(context) == 0
    assert fired() == [(client, 1) for client in clients]
    with psycopg.connect(seeded_db_url) as conn:
        tasks = conn.execute(
            "SELECT client_id, owner_staff_user_id FROM crm_tasks ORDER BY client_id"
        ).fetchall()
        events = conn.execute(
            "SELECT client_id FROM crm_events WHERE event_type = 'automation.fired'"
            " ORDER BY client_id"
        ).fetchall()
    assert tasks == [(client, keeper) for client in clients]
    assert events == [(client,) for client in clients]


def test_a_rule_whose_message_cannot_be_queued_leaves_no_trace_and_holds_up_no_other(
    seeded_db_url: str,
) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        demo = brand_id(conn)
        add_staff(conn, "rita@b.example", roles=("retention",))
        client = add_client(conn, "never@x.example", demo, created_at=AGO)
        broken = create_rule(
            conn,
            ADMIN,
            demo,
            "Nudge",
            "registered_no_deposit_hours",
            {"hours": 48},
            24,
            brand_ids=[demo],
            task_subject="Call",
            template="missing",
            channel="email",
        )
        working = create_rule(
            conn,
            ADMIN,
            demo,
            "Idle",
            "no_login_days",
            {"days": 2},
            24,
            brand_ids=[demo],
            task_subject="Call them",
        )

    def refusing(conn: psycopg.Connection[Any], **message: Any) -> int:
        raise LookupError(f"no template {message['template']}")

    with psycopg.connect(seeded_db_url, autocommit=True) as conn:
        assert run_automations(conn, refusing, NOW) == 1
        firings = conn.execute("SELECT rule_id, client_id FROM automation_firings").fetchall()
        tasks = conn.execute("SELECT created_by_rule_id FROM crm_tasks").fetchall()
        assert [h.client_id for h in dry_run(conn, broken, NOW)] == [client]
    assert firings == [(working, client)]
    assert tasks == [(working,)]
