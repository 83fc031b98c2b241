"""A staff member of brand A sees nothing of brand B: not by id, not in a list, not in an
export — and another brand's object answers exactly like one that does not exist."""

from __future__ import annotations

from pathlib import Path

import psycopg
import redis

from backoffice.audit import Actor, record
from tests.integration.backoffice.support_staff import (
    add_brand,
    add_client,
    add_member,
    brand_id,
    login,
    staff_api,
    staff_settings,
)


def test_a_member_of_brand_a_sees_nothing_of_brand_b(
    seeded_db_url: str, redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    del redis_client
    a, b = brand_id(seeded_db_url, "demo"), add_brand(seeded_db_url, "beta")
    client_a = add_client(seeded_db_url, a, "a@example.com")
    client_b = add_client(seeded_db_url, b, "b@example.com")
    colleague_a = add_member(seeded_db_url, ["sales"], [a], enrol=False)
    colleague_b = add_member(seeded_db_url, ["sales"], [b], enrol=False)
    both = add_member(seeded_db_url, ["sales"], [a, b], enrol=False)
    with psycopg.connect(seeded_db_url) as conn:
        for client in (client_a, client_b):
            record(conn, Actor.system("test"), "client.update", "client", client,
                   {"status": "active"}, {"status": "suspended"})  # fmt: skip
    officer = add_member(seeded_db_url, ["compliance"], [a])
    with staff_api(staff_settings(seeded_db_url, redis_url, tmp_path)) as api:
        bearer = login(api, officer)

        # by id
        assert api.get(f"/v1/admin/brands/{a}", headers=bearer).status_code == 200
        absent = api.get("/v1/admin/brands/999999", headers=bearer)
        other = api.get(f"/v1/admin/brands/{b}", headers=bearer)
        assert other.status_code == absent.status_code == 404
        assert other.json()["error"]["code"] == absent.json()["error"]["code"] == "not_found"
        assert api.get(f"/v1/admin/staff/{colleague_a.id}", headers=bearer).status_code == 200
        for hidden in (colleague_b.id, both.id):
            assert api.get(f"/v1/admin/staff/{hidden}", headers=bearer).status_code == 404
        trail = {"entity_type": "client", "entity_id": str(client_b)}
        assert api.get("/v1/admin/audit", params=trail, headers=bearer).status_code == 404

        # by search: the lists hold only brand A's
        brands = api.get("/v1/admin/brands", headers=bearer).json()
        assert [row["id"] for row in brands] == [a]
        staff = {row["id"] for row in api.get("/v1/admin/staff", headers=bearer).json()}
        assert colleague_a.id in staff
        assert officer.id in staff
        assert not staff & {colleague_b.id, both.id}

        # by export
        assert api.get(f"/v1/admin/audit/clients/{client_b}", headers=bearer).status_code == 404
        own = api.get(f"/v1/admin/audit/clients/{client_a}", headers=bearer)
        assert own.status_code == 200
        assert {(r["entity_type"], r["entity_id"]) for r in own.json()} == {
            ("client", str(client_a))
        }
