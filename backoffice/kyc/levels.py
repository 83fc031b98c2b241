"""KYC levels per brand: what a client at a level may do, and which documents are missing to
reach the next one.

A brand's ladder lives in ``kyc_levels`` (0 registered: demo only; 1 identity verified: deposits
up to a limit, live accounts, trading; 2 address verified: no deposit limit, withdrawals — the
demo brand's seed). Each level names the requirements reaching it needs; a requirement is met by
any one of its document kinds, with every side that kind has, neither rejected nor expired.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import class_row

from backoffice.kyc.errors import NotFound

# requirement -> the document kinds that meet it, each with the sides it must show
REQUIREMENTS: dict[str, dict[str, tuple[str | None, ...]]] = {
    "identity": {
        "passport": ("front",),
        "id_card": ("front", "back"),
        "driving_licence": ("front", "back"),
        "residence_permit": ("front", "back"),
    },
    "selfie": {"selfie": (None,)},
    "proof_of_address": {"proof_of_address": (None,)},
}


@dataclass(frozen=True, slots=True)
class Level:
    level: int
    name: str
    deposit_limit: Decimal | None  # None: no limit
    deposit_limit_currency: str
    live_accounts: bool
    trading: bool
    withdrawals: bool
    required_documents: list[str]
    review_months: int | None
    second_approver: bool

    @property
    def deposits(self) -> bool:
        return self.deposit_limit is None or self.deposit_limit > 0


@dataclass(frozen=True, slots=True)
class HeldDocument:
    kind: str
    side: str | None
    status: str
    expires_on: date | None

    def valid_on(self, day: date) -> bool:
        return self.status != "rejected" and (self.expires_on is None or self.expires_on > day)


@dataclass(frozen=True, slots=True)
class Missing:
    """A requirement not met: the kinds that would meet it, and what is already partly there."""

    requirement: str
    accepted: dict[str, tuple[str | None, ...]]
    sides_missing: dict[str, tuple[str | None, ...]]  # a kind begun, the sides still needed


@dataclass(frozen=True, slots=True)
class Standing:
    """What the client may do now, and what the next level needs."""

    level: Level
    next_level: Level | None
    missing: list[Missing]


def missing_documents(
    requirements: Iterable[str], documents: Sequence[HeldDocument], today: date
) -> list[Missing]:
    held: dict[str, set[str | None]] = {}
    for document in documents:
        if document.valid_on(today):
            held.setdefault(document.kind, set()).add(document.side)
    missing = []
    for requirement in requirements:
        accepted = REQUIREMENTS[requirement]
        if any(set(sides) <= held.get(kind, set()) for kind, sides in accepted.items()):
            continue
        begun = {
            kind: tuple(side for side in sides if side not in held[kind])
            for kind, sides in accepted.items()
            if kind in held
        }
        missing.append(Missing(requirement, accepted, begun))
    return missing


def standing_of(
    ladder: Sequence[Level], kyc_level: int, documents: Sequence[HeldDocument], today: date
) -> Standing:
    """The client's standing on a brand's ladder (ordered by level) at ``kyc_level``."""
    reached = [level for level in ladder if level.level <= kyc_level]
    if not reached:
        raise NotFound(f"the brand defines no KYC level at or below {kyc_level}")
    current = reached[-1]
    above = [level for level in ladder if level.level > current.level]
    following = above[0] if above else None
    needed = [] if following is None else following.required_documents
    return Standing(current, following, missing_documents(needed, documents, today))


def months_after(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day where it is shorter)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def ladder(conn: psycopg.Connection[Any], brand_id: int) -> list[Level]:
    """The brand's levels, lowest first."""
    with conn.cursor(row_factory=class_row(Level)) as cur:
        return cur.execute(
            """SELECT level, name, deposit_limit, deposit_limit_currency, live_accounts,
                      trading, withdrawals, required_documents, review_months, second_approver
               FROM kyc_levels WHERE brand_id = %s ORDER BY level""",
            (brand_id,),
        ).fetchall()


def level_of(conn: psycopg.Connection[Any], brand_id: int, level: int) -> Level:
    for candidate in ladder(conn, brand_id):
        if candidate.level == level:
            return candidate
    raise NotFound(f"brand {brand_id} defines no KYC level {level}")


def held_documents(conn: psycopg.Connection[Any], client_id: int) -> list[HeldDocument]:
    with conn.cursor(row_factory=class_row(HeldDocument)) as cur:
        return cur.execute(
            """SELECT d.kind, d.side, d.status, d.expires_on
               FROM kyc_documents d JOIN kyc_applications a ON a.id = d.application_id
               WHERE a.client_id = %s""",
            (client_id,),
        ).fetchall()


def client_standing(
    conn: psycopg.Connection[Any], client_id: int, today: date | None = None
) -> Standing:
    """What this client may do (deposits and their limit, live accounts, trading, withdrawals)
    and the documents missing for the next level."""
    row = conn.execute(
        "SELECT brand_id, kyc_level FROM clients WHERE id = %s", (client_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"client {client_id} not found")
    brand_id, kyc_level = row
    day = today or conn.execute("SELECT current_date").fetchone()[0]  # type: ignore[index]
    return standing_of(ladder(conn, brand_id), kyc_level, held_documents(conn, client_id), day)
