"""The client risk score, pure: points per factor, a level, and what the level asks for.

Factors: the country of residence and the nationality against the high-risk list
(``aml_country_risk``), a PEP match not cleared, the occupation (cash-intensive and
politically exposed trades; unknown counts a little), the expected annual deposits (unknown
counts a little), and payment behaviour as the monitoring alerts not yet closed. A PEP alone
is high risk (FATF recommendation 12 asks enhanced measures of every foreign PEP); a
high-risk country alone is medium. High drives enhanced due diligence: more documents and a
yearly periodic review instead of one every three years.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

RiskLevel = Literal["low", "medium", "high"]
DueDiligence = Literal["standard", "enhanced"]

MEDIUM_FROM = 20
HIGH_FROM = 40
HIGH_RISK_OCCUPATIONS = (
    "politic",
    "public official",
    "minister",
    "diplomat",
    "judge",
    "military",
    "arms",
    "casino",
    "gambling",
    "money service",
    "currency exchange",
    "remittance",
    "crypto",
    "precious metal",
    "jewel",
    "art dealer",
    "real estate",
    "cash",
)
LARGE_DEPOSITS = (Decimal(500_000), 25), (Decimal(100_000), 15)  # EUR a year, points
ALERT_POINTS, ALERT_POINTS_MAX = 10, 30

# kyc_documents.kind values where one exists; source of funds and wealth are the evidence
# enhanced due diligence adds.
STANDARD_DOCUMENTS = ("passport", "proof_of_address")
ENHANCED_DOCUMENTS = (*STANDARD_DOCUMENTS, "selfie", "source_of_funds", "source_of_wealth")
REVIEW_MONTHS: Mapping[RiskLevel, int] = {"low": 36, "medium": 24, "high": 12}


@dataclass(frozen=True, slots=True)
class RiskInputs:
    country: str
    nationality: str | None
    high_risk_countries: Mapping[str, str]  # code -> why
    pep: bool
    occupation: str | None
    expected_annual_deposit: Decimal | None
    open_alerts: int


@dataclass(frozen=True, slots=True)
class Factor:
    factor: str
    points: int
    detail: str


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    level: RiskLevel
    points: int
    factors: tuple[Factor, ...]

    @property
    def due_diligence(self) -> DueDiligence:
        return "enhanced" if self.level == "high" else "standard"

    @property
    def required_documents(self) -> tuple[str, ...]:
        return ENHANCED_DOCUMENTS if self.level == "high" else STANDARD_DOCUMENTS

    def next_review(self, scored_on: date, current: date | None = None) -> date:
        """The periodic review this level asks for, never later than one already due."""
        due = add_months(scored_on, REVIEW_MONTHS[self.level])
        return due if current is None else min(current, due)


def assess(x: RiskInputs) -> RiskAssessment:
    factors: list[Factor] = []
    risky = x.high_risk_countries
    if x.country in risky:
        factors.append(Factor("country", 30, f"resides in {x.country}: {risky[x.country]}"))
    if x.nationality and x.nationality != x.country and x.nationality in risky:
        why = f"national of {x.nationality}: {risky[x.nationality]}"
        factors.append(Factor("nationality", 20, why))
    if x.pep:
        factors.append(Factor("pep", 40, "matches a politically exposed person"))
    occupation = (x.occupation or "").strip().casefold()
    if not occupation:
        factors.append(Factor("occupation", 5, "occupation not given"))
    elif hit := next((k for k in HIGH_RISK_OCCUPATIONS if k in occupation), None):
        factors.append(Factor("occupation", 15, f"{x.occupation} ({hit})"))
    if x.expected_annual_deposit is None:
        factors.append(Factor("expected_deposits", 5, "expected deposits not given"))
    else:
        for floor, points in LARGE_DEPOSITS:
            if x.expected_annual_deposit >= floor:
                factors.append(
                    Factor(
                        "expected_deposits", points, f"expects {x.expected_annual_deposit} a year"
                    )
                )
                break
    if x.open_alerts:
        points = min(ALERT_POINTS * x.open_alerts, ALERT_POINTS_MAX)
        factors.append(
            Factor("payment_behaviour", points, f"{x.open_alerts} monitoring alerts not closed")
        )
    total = sum(f.points for f in factors)
    level: RiskLevel = "high" if total >= HIGH_FROM else "medium" if total >= MEDIUM_FROM else "low"
    return RiskAssessment(level, total, tuple(factors))


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")
