"""The settlement sensor asks for the reconciliation of each trade date a new or changed
statement file carries, once, and for nothing from a bad file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from pipelines.client_money.sensor import client_money_job, settlement_files_sensor
from pipelines.partitions import key_for
from pipelines.resources import DataFolders

HEADER = "brand,bank_account,currency,as_of,closing_balance\n"


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


def tick(folders: DataFolders, instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        cursor=cursor, instance=instance, resources={"folders": folders}
    )
    result = settlement_files_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def keys(result: dg.SensorResult) -> list[str | None]:
    return [r.partition_key for r in result.run_requests or []]


def test_a_new_file_requests_each_of_its_trade_dates_once(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    folders = DataFolders(root=str(tmp_path))
    path = folders.settlements / "bank.csv"
    path.write_text(HEADER + "demo,A,EUR,2026-03-03,1\ndemo,A,EUR,2026-03-06,2\n")
    (folders.settlements / "bank2.csv.part").write_text("half written")

    first = tick(folders, instance, None)
    assert keys(first) == [key_for(date(2026, 3, 3)), key_for(date(2026, 3, 6))]
    assert keys(first) == ["2026-03-02", "2026-03-05"]
    assert settlement_files_sensor.job_name == client_money_job.name
    assert {r.tags["settlement_file"] for r in first.run_requests or []} == {"bank.csv"}

    assert keys(tick(folders, instance, first.cursor)) == []  # nothing new

    path.write_text(HEADER + "demo,A,EUR,2026-03-03,5\n")  # a corrected file, same name
    os.utime(path, ns=(1, 1))
    again = tick(folders, instance, first.cursor)
    assert keys(again) == ["2026-03-02"]
    [request] = again.run_requests or []
    assert request.run_key not in {r.run_key for r in first.run_requests or []}


def test_a_bad_file_requests_nothing_and_is_not_looked_at_again(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    folders = DataFolders(root=str(tmp_path))
    (folders.settlements / "bad.csv").write_text(HEADER + "demo,A,EUR,2026-03-03,1,5\n")
    first = tick(folders, instance, None)
    assert keys(first) == []
    assert "bad.csv" in (first.cursor or "")
