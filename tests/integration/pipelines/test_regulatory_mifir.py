"""MiFIR transaction reports: only deals on CFDs whose underlying trades on a venue (US500
here, not EURUSD), the client identified by national id or CONCAT, the broker dealing on own
account. Expected values worked out by hand from the seeded rows."""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg

from pipelines.assets.regulatory import (
    mifir_files_validate,
    mifir_one_row_per_event,
    mifir_reports,
)
from pipelines.regulatory.mifir import COLUMNS
from tests.integration.pipelines import support
from tests.integration.pipelines.conftest import Runner, check_results
from tests.integration.pipelines.support_regulatory import (
    DAY1,
    LEI,
    D,
    at,
    csv_rows,
    data_root,
    events,
    files,
    netting_client,
)

ASSET = [mifir_reports, mifir_one_row_per_event, mifir_files_validate]
DAY1_FILE = "exports/mifir/2026-01-06/demo-mifir-2026-01-06-001.csv"


def test_only_venue_traded_underlyings_are_reported_with_concat_for_the_client(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    acc = netting_client(
        conn, first_name="Dr. Anna Marie", last_name="van der Berg", nationality="NL",
        country="CZ",
    )  # fmt: skip
    fx = support.position(conn, acc, "EURUSD", "BUY", D(1), D("1.1"), at(10))
    support.deal(conn, acc, fx, "EURUSD", "BUY", "IN", D(1), D("1.1"), at(10))
    index = support.position(conn, acc, "US500", "BUY", D("0.5"), D("6000.5"), at(14))
    deal = support.deal(conn, acc, index, "US500", "BUY", "IN", D("0.5"), D("6000.5"), at(14))

    result = run(ASSET, DAY1)

    assert check_results(result) == {"one_row_per_event": True, "files_validate": True}
    path = data_root(resources) / DAY1_FILE
    assert path.read_text().splitlines()[0].count(",") == 64  # 65 columns
    (row,) = csv_rows(path)
    assert list(row) == list(COLUMNS)
    filled = {name: value for name, value in row.items() if value}
    assert filled == {
        "Report status": "NEWT",
        "Transaction Reference Number": f"BSD{deal:015d}",
        "Executing entity identification code": LEI,
        "Investment Firm covered by Directive 2014/65/EU": "true",
        "Submitting entity identification code": LEI,
        # NL + 1985-04-12 + ANNA# (the title and the second first name go) + BERG#
        "Buyer identification code": "NL19850412ANNA#BERG#",
        "Buyer - first name(s)": "Dr. Anna Marie",
        "Buyer - surname(s)": "van der Berg",
        "Buyer - date of birth": "1985-04-12",
        "Seller identification code": LEI,
        "Transmission of order indicator": "false",
        "Trading date time": "2026-01-06T14:00:00.000000Z",
        "Trading capacity": "DEAL",
        "Quantity": "0.5",
        "Derivative notional increase/decrease": "INCR",
        "Price": "6000.5",
        "Price Currency": "USD",
        "Venue": "XXXX",
        "Instrument full name": "US 500 index cash CFD",
        "Instrument classification": "JEIXFC",
        "Notional currency 1": "USD",
        "Price multiplier": "1",
        "Underlying instrument code": "US78378X1072",
        "Delivery type": "CASH",
        "Commodity derivative indicator": "false",
        "Securities financing transaction indicator": "false",
    }
    ((seq, fmt, stored, sha256, records, valid),) = files(conn, "mifir")
    assert (seq, fmt, stored, records, valid) == (1, "csv", DAY1_FILE, 1, True)
    assert sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    trn = f"BSD{deal:015d}"
    assert events(conn, "mifir") == [(f"NEWT:{trn}", trn, "NEWT")]


def test_a_client_with_a_national_id_is_identified_by_it(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    acc = netting_client(conn, first_name="Jan", last_name="Dvořák", nationality="CZ")
    conn.execute("UPDATE clients SET national_id = '850101/1234' WHERE id = %s", (acc.client_id,))
    pos = support.position(conn, acc, "US500", "SELL", D(2), D("6010"), at(11))
    support.deal(conn, acc, pos, "US500", "SELL", "IN", D(2), D("6010"), at(11))

    run(ASSET, DAY1)

    (row,) = csv_rows(data_root(resources) / DAY1_FILE)
    assert row["Buyer identification code"] == LEI  # the client sold to the broker
    assert row["Seller identification code"] == "CZ8501011234"
    assert (row["Seller - first name(s)"], row["Seller - surname(s)"]) == ("Jan", "Dvořák")
    assert row["Buyer - first name(s)"] == ""


def test_a_rerun_writes_nothing_and_a_corrected_deal_is_cancelled_and_reported_anew(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    acc = netting_client(conn)
    pos = support.position(conn, acc, "US500", "BUY", D(1), D("6000"), at(14))
    deal = support.deal(conn, acc, pos, "US500", "BUY", "IN", D(1), D("6000"), at(14))
    run(ASSET, DAY1)
    again = run(ASSET, DAY1)
    assert again.asset_materializations_for_node("mifir_reports")[0].metadata["files"].value == 0
    assert len(files(conn, "mifir")) == 1

    conn.execute("UPDATE deals SET price = 6000.25 WHERE id = %s", (deal,))
    result = run(ASSET, DAY1)

    assert check_results(result) == {"one_row_per_event": True, "files_validate": True}
    cancel, new = csv_rows(data_root(resources) / DAY1_FILE.replace("-001", "-002"))
    trn = f"BSD{deal:015d}"
    assert {k: v for k, v in cancel.items() if v} == {
        "Report status": "CANC",
        "Transaction Reference Number": trn,
        "Executing entity identification code": LEI,
        "Submitting entity identification code": LEI,
    }
    assert (new["Report status"], new["Transaction Reference Number"]) == ("NEWT", trn)
    assert new["Price"] == "6000.25"
    assert [(seq, records) for seq, _, _, _, records, _ in files(conn, "mifir")] == [(1, 1), (2, 2)]
    assert [action for *_, action in events(conn, "mifir")] == ["NEWT", "CORR"]


def test_the_event_check_fails_on_a_transaction_the_day_does_not_have(
    conn: psycopg.Connection[Any], run: Runner
) -> None:
    acc = netting_client(conn)
    pos = support.position(conn, acc, "US500", "BUY", D(1), D("6000"), at(14))
    support.deal(conn, acc, pos, "US500", "BUY", "IN", D(1), D("6000"), at(14))
    run(ASSET, DAY1)
    conn.execute(
        """INSERT INTO regulatory_events (regime, event_key, identifier, action, trade_date,
               content_hash, file_id)
           SELECT 'mifir', 'NEWT:BSD999', 'BSD999', 'NEWT', '2026-01-06', 'x', id
           FROM regulatory_files WHERE regime = 'mifir'"""
    )

    result = run(ASSET, DAY1, ok=False)  # a re-run: nothing new to write

    assert check_results(result) == {"one_row_per_event": False, "files_validate": True}


def test_the_file_check_fails_on_a_file_altered_on_disk(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    acc = netting_client(conn)
    pos = support.position(conn, acc, "US500", "BUY", D(1), D("6000"), at(14))
    support.deal(conn, acc, pos, "US500", "BUY", "IN", D(1), D("6000"), at(14))
    run(ASSET, DAY1)
    path = data_root(resources) / DAY1_FILE
    path.write_text(path.read_text().replace(",6000,", ",6001,"))

    result = run(ASSET, DAY1, ok=False)  # a re-run: nothing new to write

    assert check_results(result) == {"one_row_per_event": True, "files_validate": False}


def test_a_client_without_nationality_or_national_id_stops_the_export(
    conn: psycopg.Connection[Any], run: Runner
) -> None:
    acc = netting_client(conn, nationality=None)
    pos = support.position(conn, acc, "US500", "BUY", D(1), D("6000"), at(14))
    deal = support.deal(conn, acc, pos, "US500", "BUY", "IN", D(1), D("6000"), at(14))

    result = run(ASSET, DAY1, ok=False)

    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert f"deal {deal}: CONCAT needs the client's nationality" in str(failure.event_specific_data)
    assert files(conn, "mifir") == []
