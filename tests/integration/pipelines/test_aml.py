"""AML monitoring over a seeded day: which clients the rules flag, with which payments, once.

Trade date 2026-03-03 (partition 2026-03-02, window 2026-03-02 22:00 to 03-03 22:00 UTC);
cut rates EUR 1.08 and GBP 1.27 USD.

- Anna deposits EUR 12000 the morning before and takes EUR 11000 back today without trading:
  deposit_withdrawal_window and withdrawal_without_trading;
- Boris deposits USD 9720 (EUR 9000), USD 10260 (EUR 9500) and today USD 10799.98
  (EUR 9999.98) paid by "Ivan Petrov": structuring, third_party_payer, and velocity (today
  9999.98 against (9000 + 9500) / 90 a day);
- Carla deposited EUR 2000 by card, traded 1 lot of EURUSD (EUR 100000 notional) and
  withdraws GBP 500 by crypto: method_mismatch only;
- Dan's failed EUR 50000 deposit counts for nothing.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import dagster as dg
import psycopg
import pytest
from psycopg.types.json import Jsonb

from pipelines.assets.aml import aml_alerts, aml_alerts_refer_to_rows
from tests.integration.pipelines.conftest import Runner, check_results
from tests.integration.pipelines.support import account, client, cut_rates, deal, payment, position

pytestmark = pytest.mark.integration

D = Decimal
KEY = "2026-03-02"
CUT = datetime(2026, 3, 3, 22, tzinfo=UTC)
NOON = datetime(2026, 3, 3, 12, tzinfo=UTC)


def days(n: float) -> timedelta:
    return timedelta(days=n)


def seed(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    cut_rates(conn, CUT, {"EUR": D("1.08"), "GBP": D("1.27")})
    anna = client(conn, first_name="Anna", last_name="Novak")
    boris = client(conn, first_name="Boris", last_name="Petrov")
    carla = client(conn, first_name="Carla", last_name="Rossi")
    dan = client(conn, first_name="Dan", last_name="Berg")
    p = {
        "anna_in": payment(conn, anna, "deposit", D(12_000), "EUR", NOON - timedelta(hours=26)),
        "anna_out": payment(conn, anna, "withdrawal", D(11_000), "EUR", NOON),
        "boris_1": payment(conn, boris, "deposit", D(9_720), "USD", NOON - days(5)),
        "boris_2": payment(conn, boris, "deposit", D(10_260), "USD", NOON - days(2)),
        "boris_3": payment(
            conn, boris, "deposit", D("10799.98"), "USD", NOON, payer_name="Ivan Petrov"
        ),
        "carla_in": payment(
            conn, carla, "deposit", D(2_000), "EUR", NOON - days(20), payer_country="IT"
        ),
        "carla_out": payment(
            conn, carla, "withdrawal", D(500), "GBP", NOON, method="crypto", payer_country="IT"
        ),
    }
    payment(conn, dan, "deposit", D(50_000), "EUR", NOON, status="failed")
    acc = account(conn, carla)
    opened = NOON - days(10)
    pos = position(conn, acc, "EURUSD", "BUY", D(1), D("1.08"), opened)
    deal(conn, acc, pos, "EURUSD", "BUY", "IN", D(1), D("1.08"), opened)
    return {"anna": anna, "boris": boris, "carla": carla, "dan": dan, **p}


def alerts(conn: psycopg.Connection[Any]) -> dict[tuple[int, str], list[int]]:
    rows = conn.execute(
        "SELECT client_id, rule, details->'payment_ids', trade_date FROM aml_alerts"
    ).fetchall()
    assert all(str(r[3]) == "2026-03-03" for r in rows)
    return {(r[0], r[1]): r[2] for r in rows}


def test_the_rules_flag_the_right_clients_and_payments(
    conn: psycopg.Connection[Any], run: Runner
) -> None:
    s = seed(conn)

    result = run([aml_alerts, aml_alerts_refer_to_rows], KEY)

    assert alerts(conn) == {
        (s["anna"], "deposit_withdrawal_window"): sorted([s["anna_in"], s["anna_out"]]),
        (s["anna"], "withdrawal_without_trading"): sorted([s["anna_in"], s["anna_out"]]),
        (s["boris"], "structuring"): sorted([s["boris_1"], s["boris_2"], s["boris_3"]]),
        (s["boris"], "third_party_payer"): [s["boris_3"]],
        (s["boris"], "velocity"): [s["boris_3"]],
        (s["carla"], "method_mismatch"): [s["carla_out"]],
    }
    details = conn.execute(
        "SELECT details FROM aml_alerts WHERE rule IN ('structuring', 'method_mismatch')"
        " ORDER BY rule"
    ).fetchall()
    assert details[0][0]["differs"] == "method,currency"
    assert D(details[1][0]["total_eur"]) == D(9_000) + D(9_500) + D("9999.98148148")
    assert check_results(result) == {"aml_alerts_refer_to_rows": True}
    metadata = result.asset_materializations_for_node("aml_alerts")[0].metadata
    assert metadata["new_alerts"].value == 6


def test_a_rerun_and_the_next_days_overlapping_look_back_add_nothing(
    conn: psycopg.Connection[Any], run: Runner
) -> None:
    s = seed(conn)
    run([aml_alerts], KEY)
    first = conn.execute("SELECT id, fingerprint FROM aml_alerts ORDER BY id").fetchall()
    run([aml_alerts], KEY)
    cut_rates(conn, CUT + days(1), {"EUR": D("1.09"), "GBP": D("1.27")})
    payment(conn, s["boris"], "deposit", D(100), "EUR", NOON + days(1))  # the next day
    run([aml_alerts], "2026-03-03")
    assert conn.execute("SELECT id, fingerprint FROM aml_alerts ORDER BY id").fetchall() == first


def test_thresholds_come_from_the_run_config(
    conn: psycopg.Connection[Any], resources: dict[str, Any]
) -> None:
    s = seed(conn)
    result = dg.materialize(
        [aml_alerts],
        partition_key=KEY,
        resources=resources,
        run_config={"ops": {"aml_alerts": {"config": {"structuring_count": 4,
                                                      "velocity_multiple": "1000"}}}},
    )  # fmt: skip
    assert result.success
    flagged = alerts(conn)
    assert (s["boris"], "structuring") not in flagged
    assert (s["boris"], "velocity") not in flagged  # 9999.98 < 1000 x 205.56
    assert (s["boris"], "third_party_payer") in flagged


def test_a_currency_without_a_cut_rate_stops_the_run(
    conn: psycopg.Connection[Any], run: Runner
) -> None:
    seed(conn)
    payment(conn, client(conn), "deposit", D(1_000_000), "JPY", NOON)
    result = run([aml_alerts], KEY, ok=False)
    assert not result.success
    assert conn.execute("SELECT count(*) FROM aml_alerts").fetchone() == (0,)


@pytest.mark.parametrize(
    "corruption", ["missing_payment", "another_clients_payment", "no_ids", "forged_fingerprint"]
)
def test_the_check_fails_on_an_alert_without_its_rows(
    conn: psycopg.Connection[Any], run: Runner, corruption: str
) -> None:
    s = seed(conn)
    ids = {"missing_payment": [99_999_999], "another_clients_payment": [s["boris_1"]],
           "no_ids": [], "forged_fingerprint": [s["anna_out"]]}[corruption]  # fmt: skip
    listed = ",".join(str(i) for i in ids)
    digest = hashlib.sha256(f"velocity:{listed}".encode()).hexdigest()
    if corruption == "forged_fingerprint":
        digest = hashlib.sha256(b"velocity:1,2").hexdigest()
    conn.execute(
        """INSERT INTO aml_alerts (client_id, rule, trade_date, fingerprint, details)
           VALUES (%s, 'velocity', '2026-03-03', %s, %s)""",
        (s["anna"], digest, Jsonb({"payment_ids": ids})),
    )
    result = run([aml_alerts, aml_alerts_refer_to_rows], KEY, ok=False)
    assert check_results(result) == {"aml_alerts_refer_to_rows": False}
