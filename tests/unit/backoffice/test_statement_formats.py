"""Bank statements as finance receives them: CAMT.053 (two versions) and CSV read to the same
lines, booked entries only, batches split, bad files refused whole with the line named; bank
wire references checked by ISO 11649's mod 97 and found however the payer's bank typed them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from backoffice.payments.bank_wire import creditor_reference, references_in, valid_reference
from backoffice.reconciliation.formats import BadFile, StatementLine, parse_statement
from backoffice.reconciliation.statements import line_keys

IBAN = "DE89370400440532013000"
V08 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
V02 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


def entry(amount: str, side: str, status: str, details: str, version: str = V08) -> str:
    sts = f"<Sts><Cd>{status}</Cd></Sts>" if version == V08 else f"<Sts>{status}</Sts>"
    return f"""<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{side}</CdtDbtInd>{sts}
      <BookgDt><Dt>2026-12-02</Dt></BookgDt><NtryDtls>{details}</NtryDtls></Ntry>"""


def tx(text: str = "", e2e: str = "NOTPROVIDED", ref: str = "", amount: str = "") -> str:
    amt = f'<AmtDtls><TxAmt><Amt Ccy="EUR">{amount}</Amt></TxAmt></AmtDtls>' if amount else ""
    strd = f"<Strd><CdtrRefInf><Ref>{ref}</Ref></CdtrRefInf></Strd>" if ref else ""
    ustrd = f"<Ustrd>{text}</Ustrd>" if text else ""
    return (f"<TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>{amt}"
            f"<RmtInf>{ustrd}{strd}</RmtInf></TxDtls>")  # fmt: skip


def camt(entries: str, version: str = V08, closing: str = "1500.25") -> bytes:
    return f"""<?xml version="1.0"?><Document xmlns="{version}"><BkToCstmrStmt>
      <GrpHdr><MsgId>M</MsgId><CreDtTm>2026-12-02T18:00:00</CreDtTm></GrpHdr>
      <Stmt><Id>1</Id><Acct><Id><IBAN>{IBAN}</IBAN></Id></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">9.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-01</Dt></Dt></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{closing}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-02</Dt></Dt></Bal>
      {entries}</Stmt></BkToCstmrStmt></Document>""".encode()


def seen(lines: list[StatementLine]) -> list[tuple[object, ...]]:
    return [(x.iban, x.booked_on, x.amount, x.currency, x.reference, x.end_to_end_id)
            for x in lines]  # fmt: skip


@pytest.mark.parametrize("version", [V08, V02])
def test_camt_and_csv_forms_of_one_statement_read_the_same(version: str) -> None:
    xml = camt(entry("250.00", "CRDT", "BOOK", tx("RF18 5390 0754 7034", "E2E-1"), version)
               + entry("40.50", "DBIT", "BOOK", tx("fees"), version)
               + entry("99.00", "CRDT", "PDNG", tx("not yet"), version), version)  # fmt: skip
    csv = (
        "iban,booking_date,amount,currency,reference,end_to_end_id,closing_balance\n"
        f"{IBAN},2026-12-02,250.00,EUR,RF18 5390 0754 7034,E2E-1,\n"
        f"{IBAN},2026-12-02,-40.50,EUR,fees,,\n"
        f"{IBAN},2026-12-02,,EUR,,,1500.25\n"
    ).encode()
    from_xml, from_csv = parse_statement(xml), parse_statement(csv)
    expected = [(IBAN, date(2026, 12, 2), D("250.00"), "EUR", "RF18 5390 0754 7034", "E2E-1"),
                (IBAN, date(2026, 12, 2), D("-40.50"), "EUR", "fees", None)]  # fmt: skip
    assert seen(from_xml.lines) == seen(from_csv.lines) == expected
    assert (
        from_xml.closing == from_csv.closing == {(IBAN, "EUR"): (date(2026, 12, 2), D("1500.25"))}
    )
    assert (from_xml.format, from_csv.format) == ("camt.053", "csv")


def test_a_batch_entry_is_one_line_per_transaction_and_the_structured_reference_is_read() -> None:
    batch = entry("300.00", "CRDT", "BOOK", tx(ref="RF18539007547034", amount="100.00")
                  + tx("Deposit RF71 2345", "E2E-9", amount="200.00"))  # fmt: skip
    lines = parse_statement(camt(batch)).lines
    assert [(x.line, x.amount, x.reference, x.end_to_end_id) for x in lines] == [
        (2, D("100.00"), "RF18539007547034", None),
        (3, D("200.00"), "Deposit RF71 2345", "E2E-9"),
    ]
    wrong = entry("300.00", "CRDT", "BOOK", tx(amount="100.00") + tx(amount="150.00"))
    with pytest.raises(BadFile, match=r"do not sum to its entry \(line 2\)"):
        parse_statement(camt(wrong))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (camt(entry("1,00", "CRDT", "BOOK", tx())), r"amount '1,00' is not a number \(line 2\)"),
        (camt(entry("1.00", "SIDE", "BOOK", tx())), r"neither CRDT nor DBIT \(line 2\)"),
        (
            camt(entry("1.00", "CRDT", "BOOK", tx()) + entry("NaN", "CRDT", "BOOK", tx())),
            r"\(line 3\)",
        ),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>', "DTD or entities"),
        (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.001.001.09'/>", "not a CAMT.053"),
        (b"<Document", "not well-formed"),
        (
            b"iban,booking_date,amount,currency,reference,end_to_end_id,closing_balance\n"
            b"DE89370400440532013000,2026-12-02,5.00,EUR,a,,\n"
            b"DE89370400440532013000,02/12/2026,5.00,EUR,b,,\n",
            r"is not a date \(line 3\)",
        ),
        (b"iban,booking_date,amount,currency\nX,2026-12-02,5.00,EUR\n", "the header lacks"),
        (
            b"iban,booking_date,amount,currency,reference,end_to_end_id,closing_balance\n"
            b"DE89370400440532013000,2026-12-02,5.00,EURO,a,,\n",
            r"ISO 4217 code \(line 2\)",
        ),
    ],
)
def test_a_bad_statement_is_refused_whole_naming_the_line(data: bytes, message: str) -> None:
    with pytest.raises(BadFile, match=message) as refused:
        parse_statement(data)
    assert refused.value.message.endswith("nothing was imported")


def test_a_creditor_reference_passes_mod_97_and_a_mistyped_character_fails_it() -> None:
    assert valid_reference("RF18 5390 0754 7034")  # ISO 11649's own example
    issued = creditor_reference("4711KXQ7PZ")
    assert valid_reference(issued)
    # a digit for a digit or a letter for a letter is always caught (97 is prime); a letter
    # for a digit changes the number's length and is caught all but about once in 97
    for at in range(2, len(issued)):
        same_kind = "0123456789" if issued[at].isdigit() else "ABCDEFGHJKLMNPQRSTUVWXYZ"
        for other in same_kind.replace(issued[at], ""):
            assert not valid_reference(issued[:at] + other + issued[at + 1 :])


def test_the_reference_is_found_however_the_payers_bank_typed_it() -> None:
    issued = creditor_reference("4711KXQ7PZ")
    grouped = " ".join(issued[i : i + 4] for i in range(0, len(issued), 4))
    for text in (issued, grouped, f"deposit {grouped} W Walker", f"{issued}WWALKER",
                 f"ref:{issued.lower()}", f"Payment {issued}, thanks"):  # fmt: skip
        assert issued in references_in(text), text
    assert references_in("Refund of order 12") == []
    assert references_in(f"X{issued}") == []  # a reference starts a word


def test_equal_lines_on_one_day_are_two_and_a_later_statement_repeats_them() -> None:
    line = StatementLine(2, IBAN, date(2026, 12, 2), D("100"), "EUR", "RF18539007547034", None)
    other = StatementLine(3, IBAN, date(2026, 12, 2), D("100"), "EUR", "RF18539007547034", None)
    first = line_keys([line, other])
    assert first[0] != first[1]
    assert line_keys([other, line, line])[:2] == first
