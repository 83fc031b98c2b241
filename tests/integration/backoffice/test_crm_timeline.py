"""A client's timeline: every area's timeline rows, tasks and trading milestones, newest
first, paged without repeats or gaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from backoffice.crm.errors import NotFound, Refused
from backoffice.crm.events import write_event
from backoffice.crm.timeline import TimelineItem, client_timeline
from tests.integration.backoffice.support_crm import (
    add_account,
    add_client,
    add_deal,
    add_staff,
    add_trading_event,
    brand_id,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def walk(db_url: str, client: int, brand: int, limit: int) -> list[TimelineItem]:
    items: list[TimelineItem] = []
    before: str | None = None
    with psycopg.connect(db_url) as conn:
        while True:
            page = client_timeline(conn, client, before, limit, brand_ids=[brand])
            assert len(page.items) <= limit
            items += page.items
            if page.next_before is None:
                return items
            before = page.next_before


def test_the_timeline_merges_every_source_newest_first_and_pages(seeded_db_url: str) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        demo = brand_id(conn)
        kim = add_staff(conn, "kim@b.example", roles=("kyc",))
        client = add_client(conn, "ann@x.example", demo)
        someone_else = add_client(conn, "bob@x.example", demo)
        demo_account = add_account(conn, client, "demo-usd")
        live = add_account(conn, client, "retail-eu-hedging")
        add_deal(conn, demo_account, at(1))  # a demo trade is no milestone
        write_event(
            conn,
            "kyc.approved",
            client_id=client,
            staff_user_id=kim,
            payload={"summary": "KYC approved: level 1"},
            occurred_at=at(2),
        )
        write_event(conn, "payment.deposit_succeeded", client_id=client, occurred_at=at(3))
        add_deal(conn, live, at(4), symbol="XAUUSD", volume="0.50")
        add_deal(conn, live, at(5))  # the second live trade: not the first
        add_deal(conn, live, at(6), entry="OUT", side="SELL")
        conn.execute(
            "INSERT INTO crm_tasks (brand_id, client_id, owner_staff_user_id, subject, due_at,"
            " created_by_staff_user_id, created_at) VALUES (%s, %s, %s, 'Offer a webinar',"
            " %s, %s, %s)",
            (demo, client, kim, at(60 * 24), kim, at(7)),
        )
        add_trading_event(conn, live, at(8), "margin_call")
        add_trading_event(conn, live, at(9), "stop_out")
        write_event(conn, "message.sent", client_id=client, channel="email", occurred_at=at(10))
        write_event(conn, "kyc.approved", client_id=someone_else, occurred_at=at(11))
        add_trading_event(conn, add_account(conn, someone_else, "retail-eu-hedging"), at(12))

    expected = [
        ("message.sent", at(10), "system", "message: sent"),
        ("trading.stop_out", at(9), "execution service", None),
        ("trading.margin_call", at(8), "execution service", None),
        ("task", at(7), "Kim", "Task (open): Offer a webinar"),
        ("trading.first_trade", at(4), "execution service", None),
        ("payment.deposit_succeeded", at(3), "system", "payment: deposit succeeded"),
        ("kyc.approved", at(2), "Kim", "KYC approved: level 1"),
    ]
    for limit in (1, 2, 3, 50):
        items = walk(seeded_db_url, client, demo, limit)
        assert [(i.kind, i.time, i.actor) for i in items] == [e[:3] for e in expected]
    summaries = [i.summary for i in walk(seeded_db_url, client, demo, 50)]
    assert [s for s, e in zip(summaries, expected, strict=True) if e[3]] == [
        e[3] for e in expected if e[3]
    ]
    assert summaries[4].startswith("First trade: BUY 0.50")
    assert "XAUUSD" in summaries[4]


def test_a_page_is_not_disturbed_by_newer_items_and_is_brand_scoped(seeded_db_url: str) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        demo = brand_id(conn)
        client = add_client(conn, "ann@x.example", demo)
        for minute in range(5):
            write_event(conn, f"step.{minute}", client_id=client, occurred_at=at(minute))
    with psycopg.connect(seeded_db_url) as conn:
        first = client_timeline(conn, client, None, 2, brand_ids=[demo])
        write_event(conn, "step.new", client_id=client, occurred_at=at(100))
        second = client_timeline(conn, client, first.next_before, 2, brand_ids=[demo])
        with pytest.raises(NotFound):
            client_timeline(conn, client, brand_ids=[demo + 1000])
        with pytest.raises(Refused):
            client_timeline(conn, client, "yesterday", brand_ids=[demo])
    assert [i.kind for i in first.items + second.items] == ["step.4", "step.3", "step.2", "step.1"]
