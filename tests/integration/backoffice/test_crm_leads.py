"""Leads in the warehouse: who gets them (IB desk, country desk, round robin fair across
restarts), their stages, and conversion to a client with the history kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from backoffice.audit import Actor
from backoffice.crm.errors import NotFound, Refused
from backoffice.crm.leads import (
    capture_lead,
    convert_lead,
    move_lead,
    reassign_lead,
    record_first_deposit,
)
from backoffice.crm.notes import add_note
from backoffice.crm.submission import LeadSubmission
from backoffice.crm.tasks import create_task, list_tasks
from backoffice.crm.timeline import client_timeline
from tests.integration.backoffice.support_crm import add_brand, add_client, add_staff, brand_id


def capture(db_url: str, brand: int, **fields: Any) -> int:
    """One submission in its own connection, as each api request (or a restarted api) has."""
    with psycopg.connect(db_url) as conn:
        return capture_lead(conn, brand, LeadSubmission(**fields)).lead_id


def owners(db_url: str, lead_ids: list[int]) -> list[int]:
    with psycopg.connect(db_url) as conn:
        rows: dict[int, int] = dict(
            conn.execute(
                "SELECT id, owner_staff_user_id FROM leads WHERE id = ANY(%s)", (lead_ids,)
            ).fetchall()
        )
    return [rows[i] for i in lead_ids]


def test_leads_go_to_the_ib_desk_then_the_country_desk_then_round_robin(
    seeded_db_url: str,
) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        demo = brand_id(conn)
        other = add_brand(conn, "other")
        ib_desk = add_staff(conn, "ib-desk@b.example")
        cz_1 = add_staff(conn, "cz1@b.example")
        cz_2 = add_staff(conn, "cz2@b.example")
        sales = [add_staff(conn, f"s{i}@b.example") for i in range(2)]
        add_staff(conn, "away@b.example", enabled=False)
        add_staff(conn, "other-brand@b.example", brand=other)
        add_staff(conn, "support@b.example", roles=("support",))
        ib = conn.execute(
            "INSERT INTO ib_partners (brand_id, referral_code, name) VALUES (%s, 'IB42', 'IB')"
            " RETURNING id",
            (demo,),
        ).fetchone()[0]  # type: ignore[index]
        for position, name, ib_id, countries, desk in [
            (1, "IB 42's desk", ib, None, [ib_desk]),
            (2, "Czech desk", None, ["CZ", "SK"], [cz_1, cz_2]),
        ]:
            rule = conn.execute(
                "INSERT INTO lead_assignment_rules (brand_id, position, name, ib_partner_id,"
                " countries) VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (demo, position, name, ib_id, countries),
            ).fetchone()[0]  # type: ignore[index]
            for member in desk:
                conn.execute(
                    "INSERT INTO lead_assignment_desk_members VALUES (%s, %s)", (rule, member)
                )

    referred = capture(seeded_db_url, demo, email="r@x.example", country="CZ", referral_code="IB42")
    czech = [capture(seeded_db_url, demo, email=f"cz{i}@x.example", country="CZ") for i in range(3)]
    assert owners(seeded_db_url, [referred]) == [ib_desk]
    assert owners(seeded_db_url, czech) == [cz_1, cz_2, cz_1]

    # Everyone else: every enabled sales person of the brand in turn, by id, each capture on
    # its own connection — three "restarts" of the api, two leads each.
    everyone = sorted([ib_desk, cz_1, cz_2, *sales])
    rest = [capture(seeded_db_url, demo, email=f"de{i}@x.example", country="DE") for i in range(6)]
    assert owners(seeded_db_url, rest) == everyone + everyone[:1]

    with psycopg.connect(seeded_db_url) as conn:
        audited = conn.execute(
            "SELECT entity_id::bigint, after->>'rule_id' FROM audit_log"
            " WHERE action = 'lead.assign' ORDER BY chain_seq"
        ).fetchall()
    assert [lead for lead, _ in audited] == [referred, *czech, *rest]
    assert audited[0][1] is not None  # a desk's rule
    assert audited[-1][1] is None  # the round robin


def test_the_stage_machine_refuses_what_sales_may_not_do(seeded_db_url: str) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        demo = brand_id(conn)
        agent = Actor.staff(add_staff(conn, "sam@b.example"))
    lead = capture(seeded_db_url, demo, email="ann@x.example")
    with psycopg.connect(seeded_db_url) as conn:
        move_lead(conn, agent, lead, "contacted", brand_ids=[demo])
        with pytest.raises(Refused) as no_reason:
            move_lead(conn, agent, lead, "lost", brand_ids=[demo])
        with pytest.raises(Refused) as registered:
            move_lead(conn, agent, lead, "registered", brand_ids=[demo])
        with pytest.raises(NotFound):
            move_lead(conn, agent, lead, "qualified", brand_ids=[demo + 1000])
        moved = move_lead(conn, agent, lead, "lost", "went to a competitor", brand_ids=[demo])
        history = conn.execute(
            "SELECT payload->>'from', payload->>'to', payload->>'reason', staff_user_id"
            " FROM crm_events WHERE event_type = 'lead.stage_changed' ORDER BY id"
        ).fetchall()
        audits = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'lead.stage' AND actor_id = %s",
            (agent.id,),
        ).fetchone()
    assert (no_reason.value.code, registered.value.code) == ("reason_required", "use_conversion")
    assert (moved.status, moved.lost_reason) == ("lost", "went to a competitor")
    assert history == [
        ("new", "contacted", None, int(agent.id)),
        ("contacted", "lost", "went to a competitor", int(agent.id)),
    ]
    assert audits == (2,)


def test_conversion_brings_the_leads_history_onto_the_clients_timeline(seeded_db_url: str) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        demo = brand_id(conn)
        sam = add_staff(conn, "sam@b.example")
    lead = capture(seeded_db_url, demo, email="ann@x.example", source="webinar")
    with psycopg.connect(seeded_db_url) as conn:
        add_note(
            conn, Actor.staff(sam), "Called, wants a demo account", lead_id=lead, brand_ids=[demo]
        )
    with psycopg.connect(seeded_db_url) as conn:
        create_task(
            conn,
            Actor.staff(sam),
            sam,
            "Call back",
            datetime.now(UTC) + timedelta(days=1),
            lead_id=lead,
            brand_ids=[demo],
        )
    with psycopg.connect(seeded_db_url) as conn:
        client = add_client(conn, "ann@x.example", demo)
        convert_lead(conn, lead, client)
    with psycopg.connect(seeded_db_url) as conn:
        convert_lead(conn, lead, client)  # registration retried: nothing twice
    with psycopg.connect(seeded_db_url) as conn:
        assert record_first_deposit(conn, client) == lead
        assert record_first_deposit(conn, client) is None  # the second deposit is no FTD
        page = client_timeline(conn, client, brand_ids=[demo])
        owner = conn.execute(
            "SELECT staff_user_id FROM client_owners WHERE client_id = %s", (client,)
        ).fetchone()
        [task] = list_tasks(conn, brand_ids=[demo], client_id=client)
        stage = conn.execute("SELECT status FROM leads WHERE id = %s", (lead,)).fetchone()
    kinds = [item.kind for item in page.items]
    assert kinds == [
        "lead.stage_changed",
        "lead.converted",
        "task",
        "note.added",
        "lead.assigned",
        "lead.created",
    ]
    assert (page.items[3].actor, page.items[3].summary) == ("Sam", "Called, wants a demo account")
    assert page.items[0].summary == "Stage registered -> funded"
    assert page.items[-1].summary == "Lead captured (webinar)"
    assert (owner, task.subject, stage) == ((sam,), "Call back", ("funded",))


def test_a_lead_or_task_goes_only_to_a_member_of_its_brand(seeded_db_url: str) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        demo = brand_id(conn)
        other = add_brand(conn, "elsewhere")
        ours = add_staff(conn, "ours@b.example", brand=demo)
        theirs = add_staff(conn, "theirs@b.example", brand=other)
        # as `staff add` and the admin routes make members: brands in staff_brand_scopes only
        conn.execute("UPDATE staff_users SET brand_id = NULL WHERE id IN (%s, %s)", (ours, theirs))
    lead = capture(seeded_db_url, demo, email="bo@x.example", source="web")
    due = datetime.now(UTC) + timedelta(days=1)
    with psycopg.connect(seeded_db_url) as conn:
        # another brand's member would be handed a client it may not see
        with pytest.raises(NotFound):
            reassign_lead(conn, Actor.staff(ours), lead, theirs, brand_ids=[demo, other])
        with pytest.raises(NotFound):
            create_task(conn, Actor.staff(ours), theirs, "Call", due, lead_id=lead,
                        brand_ids=[demo, other])  # fmt: skip
        assert reassign_lead(conn, Actor.staff(ours), lead, ours, brand_ids=[demo]) == ours
    assert owners(seeded_db_url, [lead]) == [ours]
