"""Reading back what the regulatory exports wrote, for the tests: files as the regulator
would read them, and the records kept of them."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import psycopg

from tests.integration.pipelines import support

LEI = "9845000DEM0BR0KER059"  # the seeded demo brand's
NS = {"a": "urn:iso:std:iso:20022:tech:xsd:auth.030.001.03"}
# Trade date 2026-01-06 runs from 2026-01-05 17:00 to 2026-01-06 17:00 New York (EST).
DAY1 = "2026-01-05"
CUT1 = datetime(2026, 1, 6, 22, tzinfo=UTC)
DAY2 = "2026-01-06"  # trade date 2026-01-07
CUT2 = datetime(2026, 1, 7, 22, tzinfo=UTC)
D = Decimal


def at(hour: int, minute: int = 0, day: int = 6) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Report:
    """One report of an EMIR XML file, by its wrapper (the action type)."""

    wrapper: str
    element: ET.Element

    def text(self, path: str) -> str | None:
        found = self.element.find(_qualified(path), NS)
        return None if found is None else found.text

    def attr(self, path: str, name: str) -> str | None:
        found = self.element.find(_qualified(path), NS)
        return None if found is None else found.get(name)

    @property
    def uti(self) -> str | None:
        return self.text("CmonTradData/TxData/TxId/UnqTxIdr")


def _qualified(path: str) -> str:
    return "/".join(f"a:{name}" for name in path.split("/"))


def reports(path: Path) -> list[Report]:
    root = ET.parse(path).getroot()
    return [
        Report(wrapper.tag.split("}")[1], wrapper)
        for rpt in root.findall("a:DerivsTradRpt/a:TradData/a:Rpt", NS)
        for wrapper in rpt
    ]


def csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def files(conn: psycopg.Connection[Any], regime: str) -> list[tuple[Any, ...]]:
    """(sequence, format, path, sha256, records, valid) of each file, in order."""
    return conn.execute(
        """SELECT sequence, format, path, sha256, records, valid FROM regulatory_files
           WHERE regime = %s ORDER BY id""",
        (regime,),
    ).fetchall()


def events(conn: psycopg.Connection[Any], regime: str) -> list[tuple[str, str, str]]:
    """(event_key, identifier, action) of each recorded event, in order."""
    return [
        (key, identifier, action)
        for key, identifier, action in conn.execute(
            """SELECT event_key, identifier, action FROM regulatory_events
               WHERE regime = %s ORDER BY id""",
            (regime,),
        ).fetchall()
    ]


def data_root(resources: dict[str, Any]) -> Path:
    return Path(resources["folders"].root)


def netting_client(conn: psycopg.Connection[Any], **client: Any) -> support.Account:
    """A client of the demo brand with a live netting account (USD)."""
    return support.account(conn, support.client(conn, **client))
