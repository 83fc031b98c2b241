"""The e-wallet's and the crypto gateway's settlement reports read to settlement rows: the
gross the client paid in the payment's currency, the fee and net in the currency the PSP
settled to; a row whose conversion does not add up to the settled currency's minor unit
refuses the whole file, naming its line. Expected figures are worked out by hand here."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from backoffice.reconciliation.formats import BadFile, SettlementRow, parse_settlement

EWALLET_HEADER = (
    "transaction_id,reference_id,invoice_id,initiated_utc,event_code,gross_amount,"
    "gross_currency,fee_amount,exchange_rate,settled_amount,settled_currency\n"
)
CRYPTO_HEADER = (
    "id,created_utc,type,txid,address,asset,asset_amount,rate,currency,amount,fee,net_amount\n"
)
ADDRESS = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"
TX = "ab" * 32


def ewallet(*rows: str) -> list[SettlementRow]:
    return parse_settlement("ewallet-sim", (EWALLET_HEADER + "\n".join(rows) + "\n").encode())


def crypto(*rows: str) -> list[SettlementRow]:
    return parse_settlement("crypto-sim", (CRYPTO_HEADER + "\n".join(rows) + "\n").encode())


def refused(read: object, *rows: str) -> BadFile:
    with pytest.raises(BadFile) as caught:
        read(*rows)  # type: ignore[operator]
    return caught.value


PAID_EUR = "EWP-1,,17,2026-12-02 10:00:00,T0006,100.00,EUR,2.31,1.0825,105.94,USD"


def test_an_ewallet_report_converts_each_payment_into_its_settlement_currency() -> None:
    rows = ewallet(
        # 100.00 EUR x 1.0825 = 108.25 USD; fee 1.9 % of it + 0.25 = 2.30675 -> 2.31; 105.94
        PAID_EUR,
        # 75.50 x 1.0825 = 81.72875, less 1.80: 79.92875, which the wallet shows as 79.93
        "EWP-2,,18,2026-12-02 11:00:00,T0006,75.50,EUR,1.80,1.0825,79.93,USD",
        # the refund of EWP-1 names it; no fee, -108.25 back out of the USD balance
        "EWR-1,EWP-1,17,2026-12-02 12:00:00,T1107,-100.00,EUR,0.00,1.0825,-108.25,USD",
        "EWV-1,EWP-2,18,2026-12-02 12:30:00,T1106,-75.50,EUR,0.00,1.0825,-81.73,USD",
        "EWO-1,,19,2026-12-02 13:00:00,T0001,-40.00,USD,0.00,1,-40.00,USD",
    )
    seen = [(r.line, r.external_id, r.category, r.source_id, r.gross, r.currency, r.fee, r.net,
             r.settles_in, r.rate) for r in rows]  # fmt: skip
    assert seen == [
        (2, "EWP-1", "charge", "EWP-1", D("100.00"), "EUR", D("2.31"), D("105.94"), "USD",
         D("1.0825")),
        (3, "EWP-2", "charge", "EWP-2", D("75.50"), "EUR", D("1.80"), D("79.93"), "USD",
         D("1.0825")),
        (4, "EWR-1", "refund", "EWP-1", D("-100.00"), "EUR", D("0.00"), D("-108.25"), "USD",
         D("1.0825")),
        (5, "EWV-1", "dispute", "EWP-2", D("-75.50"), "EUR", D("0.00"), D("-81.73"), "USD",
         D("1.0825")),
        (6, "EWO-1", "payout", "EWO-1", D("-40.00"), "USD", D("0.00"), D("-40.00"), "USD", D(1)),
    ]  # fmt: skip
    assert rows[0].created_at == datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    assert (rows[0].asset, rows[0].asset_amount) == (None, None)


def test_an_ewallet_row_that_does_not_add_up_refuses_the_file_naming_its_line() -> None:
    # 108.25 - 2.31 = 105.94: 105.95 is a cent off
    cent_off = PAID_EUR.replace("EWP-1,", "EWP-3,").replace("105.94", "105.95")
    off = refused(ewallet, PAID_EUR, cent_off)
    assert (off.code, off.details["line"]) == ("bad_file", 3)
    assert "105.95 USD is not gross 100.00 EUR x 1.0825 less fee 2.31" in off.message
    # 79.92875: 79.92 and 79.93 are it to the cent, however rounded; 79.91 is not
    assert ewallet("EWP-2,,18,2026-12-02 11:00:00,T0006,75.50,EUR,1.80,1.0825,79.92,USD")
    assert refused(ewallet, "EWP-2,,18,2026-12-02 11:00:00,T0006,75.50,EUR,1.80,1.0825,79.91,"
                   "USD").details["line"] == 2  # fmt: skip
    # the yen has no minor unit: 10.00 USD x 150.25 = 1502.5 JPY settles as 1502 or 1503 yen
    yen = "EWP-4,,20,2026-12-02 11:00:00,T0006,10.00,USD,0,150.25,{},JPY"
    assert ewallet(yen.format("1503"))[0].net == D(1503)
    assert "1502.50 JPY" in refused(ewallet, yen.format("1502.50")).message


@pytest.mark.parametrize(("row", "why"), [
    ("EWP-1,,17,2026-12-02 10:00:00,T9999,100.00,USD,2.15,1,97.85,USD", "event_code 'T9999'"),
    ("EWR-1,,17,2026-12-02 10:00:00,T1107,-100.00,USD,0,1,-100.00,USD", "without its ids"),
    ("EWP-1,,17,2026-12-02 10:00:00,T0006,-100.00,USD,0,1,-100.00,USD", "a charge of -100.00"),
    ("EWP-1,,17,2026-12-02 10:00:00,T0006,100.00,USD,2.15,1.01,98.85,USD", "USD and itself"),
    ("EWP-1,,17,2026-12-02 10:00:00,T0006,100.00,EUR,2.31,0,105.94,USD", "not a positive rate"),
    ("EWP-1,,17,2026-12-02,T0006,100.00,USD,2.15,1,97.85,USD", "initiated_utc"),
    ("EWP-1,,17,2026-12-02 10:00:00,T0006,100.00,EURO,2.31,1.0825,105.94,USD", "ISO 4217"),
])  # fmt: skip
def test_a_malformed_ewallet_row_is_refused_with_its_reason(row: str, why: str) -> None:
    bad = refused(ewallet, PAID_EUR, row)
    assert (bad.details["line"], why in bad.message) == (3, True), bad.message


def test_a_crypto_report_values_the_coins_at_the_rate_in_the_payments_currency() -> None:
    rows = crypto(
        # 95.5 USDT at 1 USDT per USD: 95.50 USD; 1 % fee 0.955 -> 0.96; net 94.54
        f"{TX},2026-12-02 10:00:00,deposit,{TX},{ADDRESS},USDT,95.5,1,USD,95.50,0.96,94.54",
        # 100 USDT at 1.08 per EUR = 92.5925.. -> 92.59 EUR; fee 0.9259 -> 0.93; net 91.66
        f"{'cd' * 32},2026-12-02 11:00:00,deposit,{'cd' * 32},{ADDRESS},USDT,100,1.08,EUR,92.59,"
        "0.93,91.66",
        # 80.00 EUR sent as 80 x 1.08 = 86.4 USDT; the 1 USDT network fee = 0.9259 -> 0.93 EUR
        f"wd_1,2026-12-02 12:00:00,withdrawal,{'ef' * 32},{ADDRESS},usdt,-86.4,1.08,EUR,-80.00,"
        "0.93,-80.93",
    )
    seen = [(r.external_id[:2], r.category, r.source_id[:4], r.gross, r.currency, r.fee, r.net,
             r.settles_in, r.asset, r.asset_amount) for r in rows]  # fmt: skip
    assert seen == [
        ("ab", "charge", "abab", D("95.50"), "USD", D("0.96"), D("94.54"), "USD", "USDT",
         D("95.5")),
        ("cd", "charge", "cdcd", D("92.59"), "EUR", D("0.93"), D("91.66"), "EUR", "USDT",
         D("100")),
        ("ef", "payout", "wd_1", D("-80.00"), "EUR", D("0.93"), D("-80.93"), "EUR", "USDT",
         D("-86.4")),
    ]  # fmt: skip


@pytest.mark.parametrize(("row", "why"), [
    # 100 USDT at 1.08 is 92.5925.. EUR: 92.61 is more than a cent away
    (f"{TX},2026-12-02 11:00:00,deposit,{TX},{ADDRESS},USDT,100,1.08,EUR,92.61,0.93,91.68",
     "92.61 EUR is not 100 USDT at 1.08"),
    (f"{TX},2026-12-02 11:00:00,deposit,{TX},{ADDRESS},USDT,100,1.08,EUR,92.59,0.93,91.67",
     "is not net_amount 91.67"),
    (f"{TX},2026-12-02 11:00:00,deposit,{TX},{ADDRESS},USDT,-100,1.08,EUR,92.59,0.93,91.66",
     "is not -100 USDT"),
    (f"{TX},2026-12-02 11:00:00,refund,{TX},{ADDRESS},USDT,100,1.08,EUR,92.59,0.93,91.66",
     "neither deposit nor withdrawal"),
    (f"wd_1,2026-12-02 12:00:00,withdrawal,{TX},{ADDRESS},USDT,86.4,1.08,EUR,80.00,0.93,79.07",
     "a payout of 80.00"),
    (f"{TX},2026-12-02 11:00:00,deposit,,{ADDRESS},USDT,100,1.08,EUR,92.59,0.93,91.66",
     "without its ids"),
])  # fmt: skip
def test_a_crypto_row_that_does_not_add_up_refuses_the_file(row: str, why: str) -> None:
    good = f"{'cd' * 32},2026-12-02 10:00:00,deposit,{'cd' * 32},{ADDRESS},USDT,10,1,USD,10.00," \
           "0.10,9.90"  # fmt: skip
    bad = refused(crypto, good, row)
    assert (bad.code, bad.details["line"], why in bad.message) == ("bad_file", 3, True), bad.message


def test_each_provider_reads_only_its_own_format() -> None:
    ewallet_file = (EWALLET_HEADER + PAID_EUR + "\n").encode()
    assert "header lacks" in refused(lambda: parse_settlement("crypto-sim", ewallet_file)).message
    card = parse_settlement("card-sim", b"balance_transaction_id,created_utc,reporting_category,"
                            b"source_id,gross,fee,net,currency\ntxn_1,2026-12-02 10:00:00,"
                            b"charge,pi_1,100.00,3.20,96.80,usd\n")  # fmt: skip
    assert (card[0].settles_in, card[0].rate, card[0].net) == ("USD", D(1), D("96.80"))
