"""Parsing bank statement files: good rows, and each kind of bad file refused whole."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pipelines.client_money.statements import BankBalance, SettlementFileError, parse_statement

HEADER = "brand,bank_account,currency,as_of,closing_balance\n"


def test_a_good_file_gives_every_row_exactly() -> None:
    text = HEADER + "demo,CY17 0020 0128,EUR,2026-03-03,125000.10\n\ndemo,GB-1,USD,2026-03-03,-5\n"
    assert parse_statement(("\ufeff" + text).encode()) == [
        BankBalance("demo", "CY17 0020 0128", "EUR", date(2026, 3, 3), Decimal("125000.10")),
        BankBalance("demo", "GB-1", "USD", date(2026, 3, 3), Decimal(-5)),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("demo,A,EUR,2026-03-03,1,000.00\n", "6 fields"),
        ("demo,A,eur,2026-03-03,1\n", "ISO 4217"),
        ("demo,A,EUR,03/03/2026,1\n", "YYYY-MM-DD"),
        ("demo,A,EUR,2026-03-07,1\n", "weekend"),
        ("demo,A,EUR,2026-03-03,1e5\n", "plain decimal"),
        ("demo,A,EUR,2026-03-03,0.000000001\n", "plain decimal"),
        (",A,EUR,2026-03-03,1\n", "brand is empty"),
        ("demo,,EUR,2026-03-03,1\n", "bank_account is empty"),
        (
            "demo,A,EUR,2026-03-03,1\ndemo,A,EUR,2026-03-03,2\n",
            "line 4: repeats the account and day of line 3",
        ),
        ("", "no balances"),
    ],
)
def test_a_bad_row_refuses_the_file(body: str, message: str) -> None:
    good = "demo,B,EUR,2026-03-03,1\n"
    with pytest.raises(SettlementFileError, match=message):
        parse_statement((HEADER + good + body).encode() if body else HEADER.encode())


def test_a_wrong_header_or_encoding_refuses_the_file() -> None:
    with pytest.raises(SettlementFileError, match="header"):
        parse_statement(b"brand,account,currency,date,balance\ndemo,A,EUR,2026-03-03,1\n")
    with pytest.raises(SettlementFileError, match="UTF-8"):
        parse_statement(HEADER.encode() + "demo,Ä,EUR,2026-03-03,1\n".encode("latin-1"))
