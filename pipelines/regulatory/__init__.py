"""Regulatory exports: EMIR REFIT trade reports (ISO 20022 XML and CSV) and MiFIR RTS 22
transaction reports (CSV) per brand and trading day, each file checksummed, validated and
recorded with the events it carried so nothing is reported twice."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipelines.partitions import key_for, trading_day
from pipelines.regulatory.exports import Export, export
from pipelines.regulatory.records import Regime
from warehouse.db import connect

__all__ = ["Export", "Regime", "export", "export_day"]


def export_day(
    warehouse_url: str, folders_root: Path, regime: Regime, trade_date: date
) -> list[Path]:
    """Export one trade date as the asset does (for the command line); returns the files
    written, none when everything was reported already."""
    day = trading_day(key_for(trade_date))
    with connect(warehouse_url) as conn:
        return export(conn, folders_root, regime, day).files
