"""What each level needs and unlocks, and how documents meet a requirement."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from backoffice.kyc.documents import content_type_of
from backoffice.kyc.errors import DocumentRefused
from backoffice.kyc.levels import HeldDocument, Level, missing_documents, months_after, standing_of

TODAY = date(2026, 3, 2)


def level(n: int, docs: list[str], limit: Decimal | None, trade: bool) -> Level:
    return Level(n, f"level {n}", limit, "USD", trade, trade, limit is None, docs, None, False)


LADDER = [
    level(0, [], Decimal(0), False),
    level(1, ["identity", "selfie"], Decimal(2000), True),
    level(2, ["proof_of_address"], None, True),
]


def doc(kind: str, side: str | None = None, status: str = "uploaded",
        expires: date | None = None) -> HeldDocument:  # fmt: skip
    return HeldDocument(kind, side, status, expires)


def test_a_new_client_may_only_use_demo_and_needs_identity_and_selfie() -> None:
    standing = standing_of(LADDER, 0, [], TODAY)
    assert (standing.level.deposits, standing.level.trading, standing.level.live_accounts) == (
        False, False, False)  # fmt: skip
    assert [m.requirement for m in standing.missing] == ["identity", "selfie"]
    assert standing.next_level == LADDER[1]


def test_an_id_card_needs_both_sides_a_passport_one() -> None:
    half = missing_documents(["identity"], [doc("id_card", "front")], TODAY)
    assert [(m.requirement, m.sides_missing) for m in half] == [
        ("identity", {"id_card": ("back",)})
    ]
    assert missing_documents(["identity"], [doc("id_card", "front"), doc("id_card", "back")],
                             TODAY) == []  # fmt: skip
    assert missing_documents(["identity"], [doc("passport", "front")], TODAY) == []


def test_rejected_and_expired_documents_do_not_count() -> None:
    held = [doc("passport", "front", status="rejected"), doc("selfie", expires=TODAY)]
    assert [m.requirement for m in missing_documents(["identity", "selfie"], held, TODAY)] == [
        "identity", "selfie"]  # fmt: skip
    valid = [doc("passport", "front", expires=date(2026, 3, 3)), doc("selfie")]
    assert missing_documents(["identity", "selfie"], valid, TODAY) == []


def test_level_one_trades_with_a_deposit_limit_level_two_withdraws_without_one() -> None:
    one = standing_of(LADDER, 1, [], TODAY)
    assert (one.level.deposit_limit, one.level.trading, one.level.withdrawals) == (
        Decimal(2000), True, False)  # fmt: skip
    assert [m.requirement for m in one.missing] == ["proof_of_address"]
    top = standing_of(LADDER, 5, [], TODAY)  # above the ladder: its highest level
    assert (top.level.level, top.next_level, top.missing) == (2, None, [])
    assert (top.level.deposit_limit, top.level.withdrawals) == (None, True)


def test_review_dates_keep_the_day_or_take_the_months_last() -> None:
    assert months_after(date(2026, 3, 2), 24) == date(2028, 3, 2)
    assert months_after(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert months_after(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_documents_are_typed_by_their_first_bytes() -> None:
    assert content_type_of(b"%PDF-1.7\n...") == "application/pdf"
    assert content_type_of(b"\xff\xd8\xff\xe0JFIF") == "image/jpeg"
    assert content_type_of(b"\x89PNG\r\n\x1a\n....") == "image/png"
    for data in (b"GIF89a", b"<html>", b"MZ\x90\x00"):
        with pytest.raises(DocumentRefused):
            content_type_of(data)
