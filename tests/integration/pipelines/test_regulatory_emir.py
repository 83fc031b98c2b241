"""EMIR REFIT exports: each leg's life cycle from deals and cut statements, written as
auth.030 XML that validates, recorded so a re-run reports nothing twice.

Expected values are worked out by hand from the rows each test seeds: UTI = the brand's LEI
+ 'BS' + the opening deal's id in 20 digits; quantity = lots x contract size (EURUSD:
100,000); notional = quantity x price."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import xmlschema

from pipelines.assets.regulatory import emir_files_validate, emir_one_row_per_event, emir_reports
from pipelines.regulatory import export_day
from tests.integration.pipelines import support
from tests.integration.pipelines.conftest import Runner, check_results
from tests.integration.pipelines.support_regulatory import (
    CUT1,
    CUT2,
    DAY1,
    DAY2,
    LEI,
    D,
    at,
    csv_rows,
    data_root,
    events,
    files,
    netting_client,
    reports,
)

ASSET = [emir_reports, emir_one_row_per_event, emir_files_validate]
SCHEMA = Path("pipelines/regulatory/schemas/auth.030.001.03-brokerstack.xsd")
DAY1_FILE = "exports/emir/2026-01-06/demo-emir-2026-01-06-001.xml"


def uti(deal_id: int) -> str:
    return f"{LEI}BS{deal_id:020d}"


def test_a_new_trade_and_its_valuation_go_out_as_xml_that_validates(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    acc = netting_client(conn, country="DE", nationality="CZ")
    pos = support.position(conn, acc, "EURUSD", "BUY", D(1), D("1.1"), at(9))
    deal = support.deal(conn, acc, pos, "EURUSD", "BUY", "IN", D(1), D("1.1"), at(9))
    support.position_statement(
        conn, acc, pos, CUT1, symbol="EURUSD", side="BUY", volume=D(1), open_price=D("1.1"),
        close_price=D("1.1005"), profit=D(50),
    )  # fmt: skip

    result = run(ASSET, DAY1)

    assert check_results(result) == {"one_row_per_event": True, "files_validate": True}
    xml = data_root(resources) / DAY1_FILE
    xmlschema.XMLSchema(str(SCHEMA)).validate(str(xml))  # raises when it does not
    new, valuation = reports(xml)
    assert (new.wrapper, valuation.wrapper) == ("New", "ValtnUpd")
    assert new.uti == valuation.uti == uti(deal)
    party = "CtrPtySpcfcData/CtrPty/"
    assert new.text(party + "RptgCtrPty/Id/Lgl/Id/LEI") == LEI
    assert new.text(party + "RptgCtrPty/DrctnOrSd/CtrPtySd") == "SLLR"  # the client bought
    assert new.text(party + "OthrCtrPty/IdTp/Ntrl/Id/Id/Id") == f"BSCLIENT{acc.client_id:012d}"
    assert new.text(party + "OthrCtrPty/IdTp/Ntrl/Ctry") == "DE"  # residence, not nationality
    contract = "CmonTradData/CtrctData/"
    assert [new.text(contract + n) for n in ("CtrctTp", "AsstClss", "PdctClssfctn")] == [
        "CFDS", "CURR", "JFTXFC",
    ]  # fmt: skip
    assert new.text(contract + "UndrlygInstrm/Othr") == "EURUSD"
    tx = "CmonTradData/TxData/"
    assert new.text(tx + "NtnlAmt/FrstLeg/Amt/Amt") == "110000"
    assert new.attr(tx + "NtnlAmt/FrstLeg/Amt/Amt", "Ccy") == "USD"
    assert new.text(tx + "NtnlQty/FrstLeg/TtlQty") == "100000"
    assert new.text(tx + "TxPric/Pric/MntryVal/Amt") == "1.1"
    assert new.text(tx + "PltfmIdr") == "XXXX"
    assert new.text(tx + "ExctnTmStmp") == "2026-01-06T09:00:00Z"
    assert new.text(tx + "DerivEvt/Tp") == "TRAD"
    assert new.text("Lvl") == "TCTN"
    assert new.text("CtrPtySpcfcData/Valtn/CtrctVal") is None
    # the broker's view of a client's 50 USD profit
    assert valuation.text("CtrPtySpcfcData/Valtn/CtrctVal") == "-50"
    assert valuation.attr("CtrPtySpcfcData/Valtn/CtrctVal", "Ccy") == "USD"
    assert valuation.text("CtrPtySpcfcData/Valtn/TmStmp") == "2026-01-06T22:00:00Z"
    assert valuation.text("CtrPtySpcfcData/Valtn/Tp") == "MTMA"
    assert valuation.text(tx + "DerivEvt/Tp") is None

    rows = csv_rows(xml.with_suffix(".csv"))
    assert [(r["action_type"], r["uti"], r["valuation_amount"]) for r in rows] == [
        ("NEWT", uti(deal), ""), ("VALU", uti(deal), "-50"),
    ]  # fmt: skip
    recorded = files(conn, "emir")
    assert [(seq, fmt, path, records, valid) for seq, fmt, path, _, records, valid in recorded] == [
        (1, "xml", DAY1_FILE, 2, True),
        (1, "csv", DAY1_FILE.replace(".xml", ".csv"), 2, True),
    ]
    digest = hashlib.sha256(xml.read_bytes()).hexdigest()
    assert recorded[0][3] == digest
    assert xml.with_name(xml.name + ".sha256").read_text() == f"{digest}  {xml.name}\n"
    assert xml.with_name(xml.name + ".validation.txt").read_text() == "valid\n"
    assert events(conn, "emir") == [
        (f"NEWT:{uti(deal)}", uti(deal), "NEWT"),
        (f"VALU:{uti(deal)}:2026-01-06", uti(deal), "VALU"),
    ]


def test_the_schema_refuses_an_action_type_written_as_a_field(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    acc = netting_client(conn)
    pos = support.position(conn, acc, "EURUSD", "SELL", D(1), D("1.1"), at(9))
    support.deal(conn, acc, pos, "EURUSD", "SELL", "IN", D(1), D("1.1"), at(9))
    run(ASSET, DAY1)
    xml = (data_root(resources) / DAY1_FILE).read_text()
    schema = xmlschema.XMLSchema(str(SCHEMA))

    assert schema.is_valid(xml)
    assert not schema.is_valid(xml.replace("<New>", "<Rpt2>").replace("</New>", "</Rpt2>"))
    assert not schema.is_valid(xml.replace("<Lvl>TCTN</Lvl>", "<Lvl>NEWT</Lvl>"))


def test_a_rerun_of_a_day_writes_nothing_new(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    acc = netting_client(conn)
    pos = support.position(conn, acc, "EURUSD", "BUY", D(1), D("1.1"), at(9))
    support.deal(conn, acc, pos, "EURUSD", "BUY", "IN", D(1), D("1.1"), at(9))
    support.position_statement(
        conn, acc, pos, CUT1, symbol="EURUSD", side="BUY", volume=D(1), open_price=D("1.1"),
        close_price=D("1.1005"), profit=D(50),
    )  # fmt: skip
    run(ASSET, DAY1)
    folder = data_root(resources) / "exports/emir/2026-01-06"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    again = run(ASSET, DAY1)

    metadata = again.asset_materializations_for_node("emir_reports")[0].metadata
    assert (metadata["files"].value, metadata["events"].value) == (0, 0)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert len(files(conn, "emir")) == 2
    assert len(events(conn, "emir")) == 2
    assert check_results(again) == {"one_row_per_event": True, "files_validate": True}


def test_a_closed_position_is_a_termination(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    acc = netting_client(conn)
    pos = support.position(
        conn, acc, "EURUSD", "BUY", D(1), D("1.1"), at(9), closed_at=at(15), close_price=D("1.12")
    )
    opening = support.deal(conn, acc, pos, "EURUSD", "BUY", "IN", D(1), D("1.1"), at(9))
    support.deal(conn, acc, pos, "EURUSD", "SELL", "OUT", D(1), D("1.12"), at(15))

    run(ASSET, DAY1)

    new, term = reports(data_root(resources) / DAY1_FILE)
    assert (new.wrapper, term.wrapper) == ("New", "Termntn")
    assert term.uti == uti(opening)
    tx = "CmonTradData/TxData/"
    assert term.text(tx + "DerivEvt/Tp") == "ETRM"
    assert term.text(tx + "DerivEvt/TmStmp/DtTm") == "2026-01-06T15:00:00Z"
    assert term.text(tx + "EarlyTermntnDt") == "2026-01-06"
    assert term.text(tx + "NtnlQty/FrstLeg/TtlQty") == "100000"  # what was closed
    assert events(conn, "emir") == [
        (f"NEWT:{uti(opening)}", uti(opening), "NEWT"),
        (f"TERM:{uti(opening)}", uti(opening), "TERM"),
    ]


def test_adding_to_and_partly_closing_a_netting_position_modify_its_leg(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    acc = netting_client(conn)
    pos = support.position(conn, acc, "EURUSD", "BUY", D("0.5"), D("1.11"), at(9))
    opening = support.deal(conn, acc, pos, "EURUSD", "BUY", "IN", D(1), D("1.1"), at(9))
    added = support.deal(conn, acc, pos, "EURUSD", "BUY", "IN", D(1), D("1.12"), at(10))
    partial = support.deal(conn, acc, pos, "EURUSD", "SELL", "OUT", D("1.5"), D("1.13"), at(15))
    support.position_statement(
        conn, acc, pos, CUT1, symbol="EURUSD", side="BUY", volume=D("0.5"),
        open_price=D("1.11"), close_price=D("1.132"), profit=D(1100),
    )  # fmt: skip

    run(ASSET, DAY1)

    new, add, close, valuation = reports(data_root(resources) / DAY1_FILE)
    assert [r.wrapper for r in (new, add, close, valuation)] == ["New", "Mod", "Mod", "ValtnUpd"]
    assert {r.uti for r in (new, add, close, valuation)} == {uti(opening)}
    tx = "CmonTradData/TxData/"
    # 2 lots at an average of (1.10 + 1.12) / 2 = 1.11
    assert add.text(tx + "NtnlQty/FrstLeg/TtlQty") == "200000"
    assert add.text(tx + "TxPric/Pric/MntryVal/Amt") == "1.11"
    assert add.text(tx + "NtnlAmt/FrstLeg/Amt/Amt") == "222000"
    # 0.5 lots left at the same average
    assert close.text(tx + "NtnlQty/FrstLeg/TtlQty") == "50000"
    assert close.text(tx + "NtnlAmt/FrstLeg/Amt/Amt") == "55500"
    assert close.text(tx + "DerivEvt/Tp") == "TRAD"
    assert valuation.text("CtrPtySpcfcData/Valtn/CtrctVal") == "-1100"
    assert [key for key, _, _ in events(conn, "emir")] == [
        f"NEWT:{uti(opening)}",
        f"MODI:{uti(opening)}:{added}",
        f"MODI:{uti(opening)}:{partial}",
        f"VALU:{uti(opening)}:2026-01-06",
    ]


def test_a_netting_reversal_terminates_the_leg_and_opens_one_with_a_new_uti(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    acc = netting_client(conn)
    pos = support.position(conn, acc, "EURUSD", "SELL", D("0.5"), D("1.12"), at(9))
    opening = support.deal(conn, acc, pos, "EURUSD", "BUY", "IN", D(1), D("1.1"), at(9))
    reversal = support.deal(conn, acc, pos, "EURUSD", "SELL", "INOUT", D("1.5"), D("1.12"), at(15))
    support.position_statement(
        conn, acc, pos, CUT1, symbol="EURUSD", side="SELL", volume=D("0.5"),
        open_price=D("1.12"), close_price=D("1.121"), profit=D(-50),
    )  # fmt: skip

    result = run(ASSET, DAY1)

    assert check_results(result) == {"one_row_per_event": True, "files_validate": True}
    new, term, reopened, valuation = reports(data_root(resources) / DAY1_FILE)
    assert [r.wrapper for r in (new, term, reopened, valuation)] == [
        "New", "Termntn", "New", "ValtnUpd",
    ]  # fmt: skip
    assert (new.uti, term.uti) == (uti(opening), uti(opening))
    assert reopened.uti == valuation.uti == uti(reversal) != uti(opening)
    tx = "CmonTradData/TxData/"
    assert reopened.text(tx + "PrrUnqTxIdr/UnqTxIdr") == uti(opening)
    assert reopened.text("CtrPtySpcfcData/CtrPty/RptgCtrPty/DrctnOrSd/CtrPtySd") == "BYER"
    assert reopened.text(tx + "NtnlQty/FrstLeg/TtlQty") == "50000"
    assert reopened.text(tx + "TxPric/Pric/MntryVal/Amt") == "1.12"
    assert reopened.text(tx + "NtnlAmt/FrstLeg/Amt/Amt") == "56000"
    assert reopened.text(tx + "ExctnTmStmp") == "2026-01-06T15:00:00Z"
    assert valuation.text("CtrPtySpcfcData/Valtn/CtrctVal") == "50"


def test_a_position_open_over_several_cuts_is_valued_at_each(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    acc = netting_client(conn)
    pos = support.position(conn, acc, "EURUSD", "BUY", D(1), D("1.1"), at(9))
    deal = support.deal(conn, acc, pos, "EURUSD", "BUY", "IN", D(1), D("1.1"), at(9))
    for cut, close, profit in ((CUT1, "1.1005", 50), (CUT2, "1.0980", -200)):
        support.position_statement(
            conn, acc, pos, cut, symbol="EURUSD", side="BUY", volume=D(1), open_price=D("1.1"),
            close_price=D(close), profit=D(profit),
        )  # fmt: skip

    run(ASSET, DAY1)
    result = run(ASSET, DAY2)

    assert check_results(result) == {"one_row_per_event": True, "files_validate": True}
    day2 = reports(data_root(resources) / "exports/emir/2026-01-07/demo-emir-2026-01-07-001.xml")
    assert [(r.wrapper, r.uti) for r in day2] == [("ValtnUpd", uti(deal))]
    assert day2[0].text("CtrPtySpcfcData/Valtn/CtrctVal") == "200"
    assert day2[0].text("CtrPtySpcfcData/Valtn/TmStmp") == "2026-01-07T22:00:00Z"
    assert [key for key, _, action in events(conn, "emir") if action == "VALU"] == [
        f"VALU:{uti(deal)}:2026-01-06",
        f"VALU:{uti(deal)}:2026-01-07",
    ]


def test_a_corrected_deal_goes_out_as_a_correction_in_the_next_file(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    acc = netting_client(conn)
    pos = support.position(conn, acc, "EURUSD", "BUY", D(1), D("1.1"), at(9))
    deal = support.deal(conn, acc, pos, "EURUSD", "BUY", "IN", D(1), D("1.1"), at(9))
    run(ASSET, DAY1)
    conn.execute("UPDATE deals SET price = 1.1002 WHERE id = %s", (deal,))  # a dealer's fix

    result = run(ASSET, DAY1)

    assert check_results(result) == {"one_row_per_event": True, "files_validate": True}
    second = data_root(resources) / "exports/emir/2026-01-06/demo-emir-2026-01-06-002.xml"
    (correction,) = reports(second)
    assert (correction.wrapper, correction.uti) == ("Crrctn", uti(deal))
    tx = "CmonTradData/TxData/"
    assert correction.text(tx + "TxPric/Pric/MntryVal/Amt") == "1.1002"
    assert correction.text(tx + "NtnlAmt/FrstLeg/Amt/Amt") == "110020"
    assert [(seq, fmt) for seq, fmt, *_ in files(conn, "emir")] == [
        (1, "xml"), (1, "csv"), (2, "xml"), (2, "csv"),
    ]  # fmt: skip
    assert events(conn, "emir") == [
        (f"NEWT:{uti(deal)}", uti(deal), "NEWT"),
        (f"NEWT:{uti(deal)}", uti(deal), "CORR"),
    ]
    run(ASSET, DAY1)
    assert len(files(conn, "emir")) == 4  # the correction is not sent twice


def test_demo_accounts_are_not_reported(conn: psycopg.Connection[Any], run: Runner) -> None:
    acc = support.account(conn, support.client(conn), group="demo-usd")
    pos = support.position(conn, acc, "EURUSD", "BUY", D(1), D("1.1"), at(9))
    support.deal(conn, acc, pos, "EURUSD", "BUY", "IN", D(1), D("1.1"), at(9))

    result = run(ASSET, DAY1)

    assert result.asset_materializations_for_node("emir_reports")[0].metadata["files"].value == 0
    assert files(conn, "emir") == []


def _one_trade(conn: psycopg.Connection[Any]) -> int:
    acc = netting_client(conn)
    pos = support.position(conn, acc, "EURUSD", "BUY", D(1), D("1.1"), at(9))
    return support.deal(conn, acc, pos, "EURUSD", "BUY", "IN", D(1), D("1.1"), at(9))


def _file_id(conn: psycopg.Connection[Any], fmt: str = "xml") -> int:
    return int(
        support.one(
            conn, "SELECT id FROM regulatory_files WHERE regime = 'emir' AND format = %s", (fmt,)
        )
    )


def test_the_event_check_fails_on_an_event_recorded_twice(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    deal = _one_trade(conn)
    run(ASSET, DAY1)
    conn.execute(
        """INSERT INTO regulatory_events (regime, event_key, identifier, action, trade_date,
               content_hash, file_id)
           VALUES ('emir', %s, %s, 'NEWT', '2026-01-06', 'a second copy', %s)""",
        (f"NEWT:{uti(deal)}", uti(deal), _file_id(conn, "csv")),
    )

    # the re-run re-sends the true content over the copy's; the copy stays on record
    result = run(ASSET, DAY1, ok=False)

    assert check_results(result)["one_row_per_event"] is False


def test_the_event_check_fails_on_an_event_the_day_does_not_have(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    _one_trade(conn)
    run(ASSET, DAY1)
    conn.execute(
        """INSERT INTO regulatory_events (regime, event_key, identifier, action, trade_date,
               content_hash, file_id)
           VALUES ('emir', 'NEWT:NOSUCHUTI', 'NOSUCHUTI', 'NEWT', '2026-01-06', 'x', %s)""",
        (_file_id(conn),),
    )

    result = run(ASSET, DAY1, ok=False)  # a re-run: nothing new to write

    assert check_results(result)["one_row_per_event"] is False


def test_the_file_check_fails_on_a_file_altered_on_disk(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    _one_trade(conn)
    run(ASSET, DAY1)
    xml = data_root(resources) / DAY1_FILE
    xml.write_text(xml.read_text().replace("110000", "110001"))

    result = run(ASSET, DAY1, ok=False)  # a re-run: nothing new to write

    assert check_results(result) == {"one_row_per_event": True, "files_validate": False}


def test_the_file_check_fails_on_a_file_that_did_not_validate(
    conn: psycopg.Connection[Any], run: Runner, resources: dict[str, Any]
) -> None:
    _one_trade(conn)
    run(ASSET, DAY1)
    path, sha256 = conn.execute(
        "SELECT path, sha256 FROM regulatory_files WHERE format = 'xml'"
    ).fetchone() or ("", "")
    conn.execute(
        """INSERT INTO regulatory_files (regime, brand_id, trade_date, sequence, format, path,
               sha256, records, valid, validation)
           VALUES ('emir', %s, '2026-01-06', 2, 'xml', %s, %s, 1, false, 'Lvl: not TCTN')""",
        (support.brand_id(conn), path, sha256),
    )

    result = run(ASSET, DAY1, ok=False)  # a re-run: nothing new to write

    assert check_results(result) == {"one_row_per_event": True, "files_validate": False}


def test_export_day_does_what_the_asset_does_for_one_trade_date(
    conn: psycopg.Connection[Any], seeded_db_url: str, tmp_path: Path
) -> None:
    _one_trade(conn)

    written = export_day(seeded_db_url, tmp_path, "emir", date(2026, 1, 6))

    assert written == [tmp_path / DAY1_FILE, tmp_path / DAY1_FILE.replace(".xml", ".csv")]
    assert [r.wrapper for r in reports(written[0])] == ["New"]
    assert export_day(seeded_db_url, tmp_path, "emir", date(2026, 1, 6)) == []
