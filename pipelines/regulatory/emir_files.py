"""EMIR REFIT files: ISO 20022 auth.030.001.03 XML, validated against the schema the
project keeps, and a CSV of the same records.

The action type is each report's wrapper element (New, Mod, Crrctn, Termntn, ValtnUpd), as
the standard has it. The file envelope (head.001) and the file name are each trade
repository's; they are added where the file is submitted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from importlib.resources import files
from pathlib import Path
from xml.etree import ElementTree as ET

import xmlschema

from pipelines.regulatory import emir, tabular
from pipelines.regulatory.records import Outgoing

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:auth.030.001.03"
SCHEMA = Path(str(files("pipelines.regulatory") / "schemas" / "auth.030.001.03-brokerstack.xsd"))
WRAPPERS = {"NEWT": "New", "MODI": "Mod", "CORR": "Crrctn", "TERM": "Termntn", "VALU": "ValtnUpd"}
CSV = tabular.Layout(
    ("reporting_timestamp", "action_type", *emir.FIELDS),
    required=frozenset(
        {
            "reporting_timestamp",
            "action_type",
            "uti",
            "counterparty_1",
            "counterparty_2",
            "counterparty_2_country",
            "direction",
            "cfi",
            "contract_type",
            "asset_class",
            "underlying",
            "execution_timestamp",
            "quantity",
            "notional",
            "price",
            "venue",
            "level",
        }
    ),
    formats={
        "action_type": "NEWT|MODI|CORR|TERM|VALU",
        "uti": r"[A-Z0-9]{18}[0-9]{2}[A-Z0-9]{0,32}",
        "prior_uti": r"[A-Z0-9]{18}[0-9]{2}[A-Z0-9]{0,32}",
        "counterparty_1": r"[A-Z0-9]{18}[0-9]{2}",
        "counterparty_2_country": "[A-Z]{2}",
        "direction": "BYER|SLLR",
        "cfi": "[A-Z]{6}",
        "quantity": r"\d+(\.\d+)?",
        "notional": r"\d+(\.\d+)?",
        "price": r"\d+(\.\d+)?",
        "valuation_amount": r"-?\d+(\.\d+)?",
    },
)


def xml(outgoing: Sequence[Outgoing], reported_at: datetime) -> bytes:
    """The reports as one auth.030 document."""
    stamp = emir.timestamp(reported_at)
    # Built with plain names under a default namespace declared once: ElementTree would
    # refuse the unqualified Ccy attributes beside a default_namespace.
    root = ET.Element("Document", xmlns=NAMESPACE)
    report = _at(root, "DerivsTradRpt")
    _at(report, "RptHdr/RptgTmStmp", stamp)
    _at(report, "RptHdr/NbRcrds", str(len(outgoing)))
    data = _at(report, "TradData")
    for item in outgoing:
        wrapper = ET.SubElement(ET.SubElement(data, "Rpt"), WRAPPERS[item.action])
        _report(wrapper, item.event.fields, stamp)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return document


def csv(outgoing: Sequence[Outgoing], reported_at: datetime) -> bytes:
    stamp = emir.timestamp(reported_at)
    rows = [
        {"reporting_timestamp": stamp, "action_type": o.action, **o.event.fields} for o in outgoing
    ]
    return tabular.write(CSV, rows)


def validate_xml(content: bytes) -> list[str]:
    """The schema's complaints about a document (empty: it validates)."""
    try:
        document = ET.fromstring(content)  # noqa: S314 - our own file, just written
    except ET.ParseError as error:
        return [f"not well-formed: {error}"]
    return [f"{e.path}: {e.reason}" for e in _schema().iter_errors(document)]


@cache
def _schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA))


def _report(wrapper: ET.Element, fields: Mapping[str, str], stamp: str) -> None:
    _at(wrapper, "RptgTmStmp", stamp)
    party = _at(wrapper, "CtrPtySpcfcData/CtrPty")
    _at(party, "RptgCtrPty/Id/Lgl/Id/LEI", fields["counterparty_1"])
    _at(party, "RptgCtrPty/Ntr/FI/Sctr", "INVF")  # an investment firm
    _at(party, "RptgCtrPty/DrctnOrSd/CtrPtySd", fields["direction"])
    _at(party, "OthrCtrPty/IdTp/Ntrl/Id/Id/Id", fields["counterparty_2"])
    _at(party, "OthrCtrPty/IdTp/Ntrl/Ctry", fields["counterparty_2_country"])
    if fields["valuation_amount"]:
        valuation = _at(wrapper, "CtrPtySpcfcData/Valtn")
        _at(valuation, "CtrctVal", fields["valuation_amount"], Ccy=fields["valuation_currency"])
        _at(valuation, "TmStmp", fields["valuation_timestamp"])
        _at(valuation, "Tp", fields["valuation_type"])
    contract = _at(wrapper, "CmonTradData/CtrctData")
    _at(contract, "CtrctTp", fields["contract_type"])
    _at(contract, "AsstClss", fields["asset_class"])
    _at(contract, "PdctClssfctn", fields["cfi"])
    underlying = {"ISIN": "ISIN", "INDX": "Indx/Nm", "OTHR": "Othr"}[fields["underlying_type"]]
    _at(contract, f"UndrlygInstrm/{underlying}", fields["underlying"])
    _at(contract, "SttlmCcy", fields["settlement_currency"])
    tx = _at(wrapper, "CmonTradData/TxData")
    _at(tx, "TxId/UnqTxIdr", fields["uti"])
    if fields["prior_uti"]:
        _at(tx, "PrrUnqTxIdr/UnqTxIdr", fields["prior_uti"])
    _at(tx, "PltfmIdr", fields["venue"])
    _at(tx, "ExctnTmStmp", fields["execution_timestamp"])
    _at(tx, "FctvDt", fields["effective_date"])
    if fields["termination_date"]:
        _at(tx, "EarlyTermntnDt", fields["termination_date"])
    _at(tx, "NtnlAmt/FrstLeg/Amt/Amt", fields["notional"], Ccy=fields["notional_currency"])
    _at(tx, "NtnlQty/FrstLeg/TtlQty", fields["quantity"])
    _at(tx, "TxPric/Pric/MntryVal/Amt", fields["price"], Ccy=fields["price_currency"])
    if fields["event_type"]:
        _at(tx, "DerivEvt/Tp", fields["event_type"])
        _at(tx, "DerivEvt/TmStmp/DtTm", fields["event_timestamp"])
    _at(wrapper, "Lvl", fields["level"])


def _at(parent: ET.Element, path: str, text: str | None = None, **attrib: str) -> ET.Element:
    """The element at `path` under `parent`, reusing an open branch (the last child of the
    same name) so the calls, made in document order, build the schema's sequence."""
    node = parent
    names = path.split("/")
    for depth, name in enumerate(names):
        last = node[-1] if len(node) else None
        leaf = depth == len(names) - 1
        if not leaf and last is not None and last.tag == name:
            node = last
        else:
            node = ET.SubElement(node, name)
    if text is not None:
        node.text = text
    for key, value in attrib.items():
        node.set(key, value)
    return node
