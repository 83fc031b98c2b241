"""Bank wire deposits: no PSP in between. The client is shown the brand's client-money bank
account and a reference to quote; the money is credited when a bank statement line carrying
that reference is imported (:mod:`backoffice.reconciliation.statements`).

The reference is an ISO 11649 creditor reference (``RF`` + two check digits + our part), so a
mistyped one fails its mod-97 check instead of matching another client's deposit.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

from backoffice.errors import Refused
from backoffice.payments.psp import Checkout, DepositRequest, PayoutRequest, PspEvent
from brokerstack.settings import Settings

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1: read over the phone
REFERENCE = re.compile(r"RF\d{2}[A-Z0-9]{1,21}")


def _digits(text: str) -> int:
    return int("".join(str(int(ch, 36)) for ch in text))


def creditor_reference(body: str) -> str:
    """``body`` as an ISO 11649 reference: RF, check digits, body."""
    check = 98 - _digits(body + "RF00") % 97
    return f"RF{check:02d}{body}"


def valid_reference(reference: str) -> bool:
    reference = reference.replace(" ", "").upper()
    return bool(REFERENCE.fullmatch(reference)) and \
        _digits(reference[4:] + reference[:4]) % 97 == 1  # fmt: skip


def references_in(text: str) -> list[str]:
    """The valid creditor references a statement line's remittance text may carry, most likely
    first. Banks pass the reference as typed: in groups of four, run together, or followed by
    the payer's name, so every run of letters and digits from an ``RF`` and its check digits
    is tried at each length: whole groups first, then cut inside one. The caller looks each
    one up among the references it issued; the mod-97 check leaves few to look up."""
    found: list[str] = []
    upper = text.upper()
    for start in re.finditer(r"(?<![A-Z0-9])RF\d{2}", upper):
        tokens = re.match(r"[A-Z0-9]+(?: [A-Z0-9]+)*", upper[start.start() :])
        assert tokens is not None  # the RF and its digits match at least
        ends, run = [], ""
        for token in tokens.group().split(" "):
            run += token
            ends.append(len(run))
        run = run[:25]
        whole = [n for n in reversed(ends) if 5 <= n <= 25]
        inside = [n for n in range(len(run), 4, -1) if n not in whole]
        found += [run[:n] for n in whole + inside if valid_reference(run[:n])]
    return list(dict.fromkeys(found))


class BankWireProvider:
    """The bank-wire "provider": a reference per deposit, nothing to call, no webhooks."""

    name = "bank-wire"
    signature_header = "X-Not-Used"

    def __init__(self, iban: str, bic: str, holder: str) -> None:
        self.iban, self.bic, self.holder = iban, bic, holder

    @classmethod
    def from_settings(cls, settings: Settings) -> BankWireProvider:
        config = settings.backoffice
        return cls(config.bank_wire_iban, config.bank_wire_bic, config.bank_wire_holder)

    def create_deposit(self, request: DepositRequest) -> Checkout:
        body = f"{request.payment_id}" + "".join(secrets.choice(_ALPHABET) for _ in range(6))
        return Checkout(creditor_reference(body), None)

    def create_payout(self, request: PayoutRequest) -> str:
        raise Refused("invalid", "no_bank_payouts", "withdrawals by bank wire are not offered",
                      {"source": "backoffice"})  # fmt: skip

    def verify(self, body: bytes, headers: Mapping[str, str], now: float | None = None) -> None:
        raise Refused("forbidden", "invalid_signature", "the bank sends no webhooks")

    def parse(self, body: bytes) -> PspEvent:
        raise ValueError("the bank sends no webhooks")

    def close(self) -> None:
        return None
