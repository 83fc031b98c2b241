"""A stack simulator's settlement report survives its restart: what it booked before is read
back from its history file, a line torn by a crash mid-write is skipped, the rest kept."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from backoffice.payments.simulation import Activity

COLUMNS = ("id", "amount", "created_utc")


def report(activity: Activity) -> list[str]:
    day = datetime.now(UTC).date().isoformat()
    shown = activity.report(day)
    assert shown is not None
    return bytes(shown.body).decode().splitlines()


def test_a_restarted_simulator_reports_what_it_settled_before(tmp_path: Path) -> None:
    history = tmp_path / "simulators" / "card-settlements.jsonl"
    before = Activity(COLUMNS, "created_utc", history)
    before.book(id="txn_1", amount="100.00")
    before.book(id="txn_2", amount="-20.00")
    first = report(before)
    assert [line.split(",")[:2] for line in first[1:]] == [["txn_1", "100.00"], ["txn_2", "-20.00"]]

    with history.open("a") as out:
        out.write('{"at": 17')  # the process died while writing
    after = Activity(COLUMNS, "created_utc", history)
    assert report(after) == first
    after.book(id="txn_3", amount="5.00")
    assert [line.split(",")[0] for line in report(after)[1:]] == ["txn_1", "txn_2", "txn_3"]
    again = Activity(COLUMNS, "created_utc", history)  # and the next restart keeps it too
    assert report(again) == report(after)


def test_without_a_history_file_nothing_is_kept(tmp_path: Path) -> None:
    Activity(COLUMNS, "created_utc").book(id="txn_1", amount="1.00")
    assert report(Activity(COLUMNS, "created_utc")) == ["id,amount,created_utc"]
    assert list(tmp_path.iterdir()) == []
