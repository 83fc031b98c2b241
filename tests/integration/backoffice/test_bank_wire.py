"""Bank wire deposits on real PostgreSQL: the client asks over the api and is shown the
client-money account and a creditor reference; finance imports the bank's statements (CAMT.053,
then an overlapping CSV one) and each credit quoting a reference pays its deposit exactly once.
Wallet figures are plain sums over ``ledger_entries``."""

from __future__ import annotations

from decimal import Decimal as D

import httpx
import psycopg

from backoffice.audit import Actor
from backoffice.payments.bank_wire import valid_reference
from backoffice.reconciliation import exceptions, statements
from backoffice.scope import BrandScope
from brokerstack.settings import Settings
from tests.integration.api.support import Party
from tests.integration.backoffice.support_staff import add_member, brand_id
from tests.integration.backoffice.test_card_deposits import (  # noqa: F401 (world: a fixture)
    token,
    wallet_balance,
    world,
)

IBAN = "CY17002001280000001200527600"
SCOPE = BrandScope.every_brand()


def camt053(entries: list[tuple[str, str, str, str]], closing: str) -> bytes:
    """(amount, CRDT/DBIT, remittance text, end-to-end id) entries of one USD statement."""
    booked = "".join(f"""
      <Ntry><Amt Ccy="USD">{amount}</Amt><CdtDbtInd>{side}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2026-12-02</Dt></BookgDt><ValDt><Dt>2026-12-02</Dt></ValDt>
        <NtryDtls><TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>
          <RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"""
        for amount, side, text, e2e in entries)  # fmt: skip
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
  <GrpHdr><MsgId>STMT-1</MsgId><CreDtTm>2026-12-02T18:00:00Z</CreDtTm></GrpHdr>
  <Stmt><Id>S1</Id><Acct><Id><IBAN>{IBAN}</IBAN></Id><Ccy>USD</Ccy></Acct>
    <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">{closing}</Amt>
      <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-02</Dt></Dt></Bal>{booked}
  </Stmt></BkToCstmrStmt></Document>""".encode()


def wire(api: str, auth: dict[str, str], amount: str, key: str) -> dict[str, object]:
    answer = httpx.post(
        f"{api}/v1/portal/deposits",
        headers=auth,
        json={"amount": amount, "currency": "USD", "method": "bank_wire", "idempotency_key": key},
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_statement_credits_pay_each_bank_wire_once_and_the_rest_waits_for_finance(
    world: tuple[str, str, Settings, Party],  # noqa: F811 (the fixture imported above)
    seeded_db_url: str,
) -> None:
    api, _, settings, client = world
    auth = token(api, client)
    first = wire(api, auth, "500.00", "w1")
    details = first["bank_wire"]
    assert isinstance(details, dict)
    assert (first["status"], details["iban"]) == ("pending", settings.backoffice.bank_wire_iban)
    reference = str(details["reference"])
    assert valid_reference(reference)
    spaced = " ".join(reference[i : i + 4] for i in range(0, len(reference), 4))
    camt = camt053([("500.00", "CRDT", f"Deposit {spaced} W Walker", "E2E-1"),
                    ("77.00", "CRDT", "RF18 5390 0754 7034 unknown", "E2E-2"),
                    ("1200.00", "DBIT", "Payout to LP", "E2E-3")], "9377.00")  # fmt: skip
    finance = add_member(seeded_db_url, ["finance"], [brand_id(seeded_db_url, "demo")])
    actor = Actor.staff(finance.id)
    with psycopg.connect(seeded_db_url) as conn:
        done = statements.import_statement(conn, actor, SCOPE, "demo", "camt.xml", camt)
        again = statements.import_statement(conn, actor, SCOPE, "demo", "copy.xml", camt)
    assert (done.format, done.lines, done.credited, done.exceptions) == ("camt.053", 3, 1, 1)
    assert (again.already, again.credited) == (True, 0)
    assert wallet_balance(seeded_db_url, client.client_id) == D("500.00")
    shown = httpx.get(f"{api}/v1/portal/deposits/{first['payment_id']}", headers=auth).json()
    assert (shown["status"], shown["received"], shown["first_deposit"]) == (
        "succeeded", "500.00", True)  # fmt: skip
    with psycopg.connect(seeded_db_url) as conn:  # the client's timeline, in order
        timeline = conn.execute(
            """SELECT event_type, payload->>'amount' FROM crm_events
               WHERE client_id = %s AND event_type LIKE 'payment.%%' ORDER BY occurred_at, id""",
            (client.client_id,),
        ).fetchall()
    assert timeline == [("payment.deposit_started", "500.00"),
                        ("payment.deposit_succeeded", "500.00")]  # fmt: skip

    # the next day's CSV statement repeats yesterday's credit (overlap), pays a second wire
    # short, and has the client wire the first reference again
    second = wire(api, auth, "300.00", "w2")
    ref2 = second["bank_wire"]["reference"]  # type: ignore[index]
    header = "iban,booking_date,amount,currency,reference,end_to_end_id,closing_balance\n"
    csv_body = header + "".join(f"{IBAN},{day},{amount},USD,{text},{e2e},\n" for day, amount,
                                text, e2e in (
        ("2026-12-02", "500.00", f"Deposit {spaced} W Walker", "E2E-1"),
        ("2026-12-03", "250.00", f"{ref2}", "E2E-4"),
        ("2026-12-03", "500.00", f"again {reference}", "E2E-5"),
    )) + f"{IBAN},2026-12-03,,USD,,,10127.00\n"  # fmt: skip
    with psycopg.connect(seeded_db_url) as conn:
        later = statements.import_statement(
            conn, actor, SCOPE, "demo", "day2.csv", csv_body.encode()
        )
        found = exceptions.queue(conn, BrandScope.every_brand(), provider="bank-wire")
        closing = conn.execute("""SELECT iban, as_of::text, closing FROM statement_balances
                                  ORDER BY as_of""").fetchall()  # fmt: skip
        held = conn.execute("""SELECT b.code, m.bank_account, m.as_of::text, m.balance
                               FROM client_money_bank_balances m JOIN brands b ON b.id = m.brand_id
                               ORDER BY m.as_of""").fetchall()  # fmt: skip
    assert (later.format, later.credited, later.exceptions) == ("csv", 1, 2)
    assert wallet_balance(seeded_db_url, client.client_id) == D("750.00")  # 500 + 250 received
    assert sorted((e.kind, e.theirs["amount"]) for e in found) == [
        ("amount_differs", "250.00"),
        ("missing_here", "77.00"),
        ("status_differs", "500.00"),
    ]
    assert {e.brand_id for e in found} == {brand_id(seeded_db_url, "demo")}  # finance's queue
    assert closing == [(IBAN, "2026-12-02", D("9377.00")), (IBAN, "2026-12-03", D("10127.00"))]
    # the closing balances are the bank's side of the client-money reconciliation too
    assert held == [("demo", IBAN, "2026-12-02", D("9377.00")),
                    ("demo", IBAN, "2026-12-03", D("10127.00"))]  # fmt: skip
