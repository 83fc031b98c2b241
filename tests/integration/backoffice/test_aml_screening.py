"""Sanctions lists in the warehouse, clients screened against them, the case queue worked
by compliance, and the risk score's due diligence — against a real PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from backoffice.aml import cases
from backoffice.aml.errors import AmlError, MalformedListError
from backoffice.aml.risk import score_due
from backoffice.aml.sanctions import load_list_file
from backoffice.aml.screening import screen_client, screen_due
from backoffice.audit import Actor
from brokerstack.cli import app
from tests.unit.backoffice.support_aml import EU_ROWS, SDN_ROWS, alt_csv, eu_csv, sdn_csv

pytestmark = pytest.mark.integration
LOADER = Actor.system("test")


def _files(tmp_path: Path, sdn: bytes | None = None) -> tuple[Path, Path]:
    sdn_path, alt_path = tmp_path / "sdn.csv", tmp_path / "alt.csv"
    sdn_path.write_bytes(sdn_csv() if sdn is None else sdn)
    alt_path.write_bytes(alt_csv())
    return sdn_path, alt_path


def _brand(conn: psycopg.Connection[Any], code: str = "demo") -> int:
    row = conn.execute("SELECT id FROM brands WHERE code = %s", (code,)).fetchone()
    assert row is not None
    return int(row[0])


def _client(
    conn: psycopg.Connection[Any],
    first: str,
    last: str,
    born: date | None = None,
    country: str = "DE",
    **profile: Any,
) -> int:
    row = conn.execute(
        """INSERT INTO clients (brand_id, email, first_name, last_name, birth_date, country,
                                occupation, expected_annual_deposit)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (
            _brand(conn),
            f"{first}.{last}@example.com".lower(),
            first,
            last,
            born,
            country,
            profile.get("occupation", "engineer"),
            profile.get("deposits", 10_000),
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _staff(conn: psycopg.Connection[Any], email: str = "mlro@example.com") -> int:
    row = conn.execute(
        "INSERT INTO staff_users (email, display_name) VALUES (%s, 'Compliance') RETURNING id",
        (email,),
    ).fetchone()
    assert row is not None
    # an owner of a case works for the client's brand
    conn.execute(
        "INSERT INTO staff_brand_scopes (staff_user_id, brand_id) SELECT %s, id FROM brands",
        (row[0],),
    )
    return int(row[0])


def _counts(conn: psycopg.Connection[Any]) -> tuple[int, ...]:
    row = conn.execute(
        """SELECT (SELECT count(*) FROM sanctions_lists), (SELECT count(*) FROM sanctions_entries),
                  (SELECT count(*) FROM aml_screenings), (SELECT count(*) FROM audit_log)"""
    ).fetchone()
    assert row is not None
    return tuple(row)


def _status(conn: psycopg.Connection[Any], client_id: int) -> str:
    row = conn.execute("SELECT status FROM clients WHERE id = %s", (client_id,)).fetchone()
    assert row is not None
    return str(row[0])


def test_loading_the_same_list_twice_changes_nothing(seeded_db_url: str, tmp_path: Path) -> None:
    sdn, alt = _files(tmp_path)
    with psycopg.connect(seeded_db_url) as conn:
        first = load_list_file(conn, LOADER, sdn, alt_path=alt)
        after_first = _counts(conn)
        again = load_list_file(conn, LOADER, sdn, alt_path=alt)
        assert _counts(conn) == after_first
        stored = conn.execute(
            "SELECT alternative_names, birth_dates, countries FROM sanctions_entries"
            " WHERE list_id = %s AND external_id = '1002'",
            (first.list_id,),
        ).fetchone()
    assert (first.already_loaded, first.entries, first.source) == (False, len(SDN_ROWS), "ofac_sdn")
    assert (again.already_loaded, again.list_id) == (True, first.list_id)
    assert after_first[:2] == (1, len(SDN_ROWS))
    assert stored == (
        [{"type": "aka", "name": "AL-RASHEEDI, Khaled"}, {"type": "fka", "name": "ABU MAHMOUD"}],
        ["1971"],
        ["IQ"],
    )


def test_a_malformed_list_is_rejected_whole(seeded_db_url: str, tmp_path: Path) -> None:
    bad = sdn_csv([*SDN_ROWS[:3], ("oops", "BAD, Row", "individual", "SDGT", "-0-")])
    sdn, alt = _files(tmp_path, bad)
    with psycopg.connect(seeded_db_url) as conn:
        before = _counts(conn)
        with pytest.raises(MalformedListError, match=r"sdn\.csv line 4"):
            load_list_file(conn, LOADER, sdn, alt_path=alt)
        assert _counts(conn) == before


def test_a_hit_blocks_the_client_and_opens_one_case(seeded_db_url: str, tmp_path: Path) -> None:
    sdn, alt = _files(tmp_path)
    with psycopg.connect(seeded_db_url) as conn:
        listed = _client(conn, "Иван", "Петров", date(1960, 3, 12), "RU")
        ordinary = _client(conn, "Anna", "Schmidt", date(1988, 4, 2))
        load_list_file(conn, LOADER, sdn, alt_path=alt)
        assert screen_due(conn) == 2  # never screened: both, without anyone calling for it
        assert screen_due(conn) == 0
        assert (_status(conn, listed), _status(conn, ordinary)) == ("suspended", "active")
        (case,) = cases.list_cases(conn, [_brand(conn)])
        detail = cases.get_case(conn, [_brand(conn)], case.id)
        audit = conn.execute(
            "SELECT action, before, after FROM audit_log WHERE entity_type = 'client'"
            " AND entity_id = %s ORDER BY chain_seq",
            (str(listed),),
        ).fetchall()
        timeline = [
            r[0]
            for r in conn.execute(
                "SELECT event_type FROM crm_events WHERE client_id = %s ORDER BY id", (listed,)
            )
        ]
        outcomes: dict[int, str] = dict(
            conn.execute(
                "SELECT client_id, outcome FROM aml_screenings WHERE reason = 'registration'"
            )
        )

        # a new list version re-screens everyone; the same listed person opens no new case
        eu = tmp_path / "eu.csv"
        eu.write_bytes(eu_csv(EU_ROWS))
        load_list_file(conn, LOADER, eu, list_format="eu")
        assert screen_due(conn) == 2
        assert len(cases.list_cases(conn, [_brand(conn)])) == 1
    assert outcomes == {listed: "hit", ordinary: "clear"}
    assert (case.client_id, case.kind, case.status, case.client_blocked) == (
        listed,
        "sanctions_hit",
        "open",
        True,
    )
    assert case.subject_key == "ofac_sdn:1001"
    assert detail.source["primary_name"] == "PETROV, Ivan Sergeyevich"
    assert detail.source["factors"] == {"birth_date": "exact", "country": "match"}
    assert [a[0] for a in audit] == ["client.suspended", "aml.screened"]
    assert (audit[0][1], audit[0][2]["status"]) == ({"status": "active"}, "suspended")
    assert audit[1][2]["outcome"] == "hit"
    assert timeline == ["aml.case_opened", "client.suspended"]


def test_a_change_of_name_is_screened_again(seeded_db_url: str, tmp_path: Path) -> None:
    sdn, alt = _files(tmp_path)
    with psycopg.connect(seeded_db_url) as conn:
        load_list_file(conn, LOADER, sdn, alt_path=alt)
        client = _client(conn, "Maria", "Jensen", date(1975, 6, 3), "CO")
        assert screen_client(conn, client, "registration").outcome == "clear"
        conn.execute(
            "UPDATE clients SET first_name = 'Juan Carlos', last_name = 'García López'"
            " WHERE id = %s",
            (client,),
        )
        assert screen_due(conn) == 1
        reason, outcome = conn.execute(
            "SELECT reason, outcome FROM aml_screenings WHERE client_id = %s"
            " ORDER BY id DESC LIMIT 1",
            (client,),
        ).fetchone() or (None, None)
        assert (reason, outcome, _status(conn, client)) == ("profile_change", "hit", "suspended")


def test_a_case_is_worked_to_a_decision_and_clearing_it_unblocks(
    seeded_db_url: str, tmp_path: Path
) -> None:
    sdn, alt = _files(tmp_path)
    with psycopg.connect(seeded_db_url) as conn:
        load_list_file(conn, LOADER, sdn, alt_path=alt)
        client = _client(conn, "Dragan", "Novak", date(1966, 1, 21), "RS")
        result = screen_client(conn, client, "registration")
        assert result.blocked
        brands = [_brand(conn)]
        officer = _staff(conn)
        actor = Actor.staff(officer)
        case_id = result.matches[0].case_id
        assert case_id is not None
        with pytest.raises(AmlError) as not_yet:
            cases.decide(conn, actor, brands, case_id, "clear", "namesake")
        assert not_yet.value.code == "case_not_assigned"
        with pytest.raises(AmlError) as elsewhere:
            cases.assign(conn, actor, [brands[0] + 1000], case_id, officer)
        assert elsewhere.value.code == "case_not_found"
        assigned = cases.assign(conn, actor, brands, case_id, officer)
        note = cases.add_note(conn, actor, brands, case_id, "Passport shows another father's name")
        with pytest.raises(AmlError) as no_reason:
            cases.decide(conn, actor, brands, case_id, "clear", "  ")
        assert no_reason.value.code == "reason_required"
        cleared = cases.decide(conn, actor, brands, case_id, "clear", "different person: ID")
        with pytest.raises(AmlError):
            cases.decide(conn, actor, brands, case_id, "escalate", "changed my mind")
        audit = conn.execute(
            "SELECT action, actor_type, actor_id, before, after FROM audit_log"
            " WHERE entity_type = 'aml_case' AND entity_id = %s ORDER BY chain_seq",
            (str(case_id),),
        ).fetchall()
        unblock = conn.execute(
            "SELECT actor_id, before, after FROM audit_log WHERE action = 'client.unsuspended'"
        ).fetchone()
        timeline = [
            r[0]
            for r in conn.execute(
                "SELECT event_type FROM crm_events WHERE client_id = %s ORDER BY id", (client,)
            )
        ]
        status = _status(conn, client)
        # a later screening finds the same entry: the cleared decision stands
        again = screen_client(conn, client, "manual")
        assert again.matches[0].case_id is None
        assert _status(conn, client) == "active"
    assert (assigned.status, assigned.owner_staff_user_id) == ("under_review", officer)
    assert note.staff_user_id == officer
    assert (cleared.status, cleared.decision, cleared.decision_reason) == (
        "cleared",
        "clear",
        "different person: ID",
    )
    assert cleared.decided_at is not None
    assert [a[0] for a in audit] == [
        "aml.case_opened",
        "aml.case_assigned",
        "aml.case_note",
        "aml.case_decided",
    ]
    assert audit[1][1:] == (
        "staff",
        str(officer),
        {"owner_staff_user_id": None, "status": "open"},
        {"owner_staff_user_id": officer, "status": "under_review"},
    )
    assert audit[3][3] == {"status": "under_review", "decision": None}
    assert audit[3][4]["status"] == "cleared"
    assert status == "active"
    assert unblock is not None
    assert unblock[0] == str(officer)
    assert (unblock[1], unblock[2]["status"]) == ({"status": "suspended"}, "active")
    assert timeline == [
        "aml.case_opened",
        "client.suspended",
        "aml.case_assigned",
        "aml.case_note",
        "aml.case_decided",
        "client.unsuspended",
    ]


def test_monitoring_alerts_land_in_the_same_queue_once(seeded_db_url: str) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        client = _client(conn, "Lukas", "Weber")
        alert = conn.execute(
            """INSERT INTO aml_alerts (client_id, rule, trade_date, fingerprint, details)
               VALUES (%s, 'structuring', '2026-12-01', 'f1', '{"count": "3"}') RETURNING id""",
            (client,),
        ).fetchone()
        assert alert is not None
        assert cases.open_alert_cases(conn) == 1
        assert cases.open_alert_cases(conn) == 0
        brands = [_brand(conn)]
        (case,) = cases.list_cases(conn, brands, kind="monitoring_alert")
        officer = _staff(conn)
        actor = Actor.staff(officer)
        cases.assign(conn, actor, brands, case.id, officer)
        cases.decide(conn, actor, brands, case.id, "escalate", "three deposits of 9,500 EUR")
        assert _alert_status(conn, alert[0]) == "in_case"
        reported = cases.decide(conn, actor, brands, case.id, "report", "SAR filed")
        detail = cases.get_case(conn, brands, case.id)
        assert _alert_status(conn, alert[0]) == "closed"
    assert (case.aml_alert_id, case.status, case.client_blocked) == (alert[0], "open", False)
    assert reported.status == "reported"
    assert detail.source["rule"] == "structuring"


def _alert_status(conn: psycopg.Connection[Any], alert_id: int) -> str:
    row = conn.execute("SELECT status FROM aml_alerts WHERE id = %s", (alert_id,)).fetchone()
    assert row is not None
    return str(row[0])


def test_a_high_risk_score_asks_for_enhanced_due_diligence(seeded_db_url: str) -> None:
    with psycopg.connect(seeded_db_url) as conn:
        risky = _client(
            conn, "Olga", "Smirnova", country="IR", occupation="Casino owner", deposits=750_000
        )
        plain = _client(conn, "Emma", "Nielsen")
        assert score_due(conn) == 2
        assert score_due(conn) == 0
        rows = dict(
            (r[0], r[1:])
            for r in conn.execute(
                """SELECT d.client_id, d.level, d.required_document_kinds, d.next_review_on,
                          s.level, s.factors, current_date
                   FROM client_due_diligence d JOIN client_risk_scores s
                     ON s.id = d.risk_score_id"""
            )
        )
        audit = conn.execute(
            "SELECT after FROM audit_log WHERE action = 'aml.risk_level' AND entity_id = %s",
            (str(risky),),
        ).fetchone()
    level, documents, review, risk, factors, today = rows[risky]
    assert (level, risk) == ("enhanced", "high")
    assert {"source_of_funds", "source_of_wealth"} <= set(documents)
    assert today + timedelta(days=364) <= review <= today + timedelta(days=366)
    assert [f["factor"] for f in factors] == ["country", "occupation", "expected_deposits"]
    assert rows[plain][0] == "standard"
    assert rows[plain][3] == "low"
    assert rows[plain][2] >= today + timedelta(days=3 * 365)
    assert audit is not None
    assert audit[0]["risk_level"] == "high"


def test_the_command_loads_a_list_and_screens_every_client(
    seeded_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdn, alt = _files(tmp_path)
    with psycopg.connect(seeded_db_url) as conn:
        client = _client(conn, "Khaled", "Al Rashidi", date(1971, 8, 1), "IQ")
    monkeypatch.setenv("BROKERSTACK_DATABASE_URL", seeded_db_url)
    monkeypatch.setenv("BROKERSTACK_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    first = runner.invoke(app, ["sanctions", "load", str(sdn), "--alt", str(alt)])
    second = runner.invoke(app, ["sanctions", "load", str(sdn), "--alt", str(alt)])
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b'1,"ONLY, Two"\r\n')
    bad = runner.invoke(app, ["sanctions", "load", str(broken)])
    with psycopg.connect(seeded_db_url) as conn:
        status = _status(conn, client)
    assert first.exit_code == 0, first.output
    assert f"{len(SDN_ROWS)} entries loaded" in first.output
    assert "1 clients screened" in first.output
    assert second.exit_code == 0
    assert "already loaded" in second.output
    assert "0 clients screened" in second.output
    assert bad.exit_code == 1
    assert "broken.csv line 1" in bad.output
    assert status == "suspended"
