"""The AML monitoring rules, each a pure function over one day's rows and their history.

A rule looks at the payments of the day (its [start, end) window) and alerts on those, using
earlier rows only as context, so a day evaluated again, or a later day whose look-back
overlaps it, raises nothing twice: an alert is identified by its rule and the payments it
names (:attr:`Hit.fingerprint`). Amounts compared across currencies are in EUR, converted by
the caller at the day's cut rates. Payment times are when the payment was created.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Every rule's parameters (the defaults are the house's starting point)."""

    window_hours: int = 72  # large deposit then withdrawal within this many hours
    large_deposit_eur: Decimal = Decimal(10_000)
    withdrawal_share: Decimal = Decimal("0.5")  # of the deposit, to count as taking it back
    turnover_days: int = 30  # deposits a withdrawal is weighed against for trading
    turnover_min_deposits_eur: Decimal = Decimal(1_000)
    turnover_ratio: Decimal = Decimal(2)  # notional traded below this x deposits: not meaningful
    mismatch_days: int = 90  # deposits a withdrawal's method, country, currency must match
    reporting_threshold_eur: Decimal = Decimal(10_000)
    structuring_floor: Decimal = Decimal("0.9")  # [floor x threshold, threshold) is "just under"
    structuring_count: int = 3
    structuring_days: int = 7
    velocity_days: int = 90  # the client's history the day is compared with
    velocity_multiple: Decimal = Decimal(5)
    velocity_min_eur: Decimal = Decimal(5_000)

    @property
    def lookback(self) -> timedelta:
        """How far before the day the rules look."""
        days = max(
            self.turnover_days, self.mismatch_days, self.structuring_days, self.velocity_days
        )
        return max(timedelta(days=days), timedelta(hours=self.window_hours))


@dataclass(frozen=True, slots=True)
class Payment:
    id: int
    client_id: int
    direction: str  # 'deposit' or 'withdrawal'
    method: str
    amount: Decimal
    currency: str
    eur: Decimal
    at: datetime
    payer_name: str | None = None
    payer_country: str | None = None


@dataclass(frozen=True, slots=True)
class Trade:
    client_id: int
    at: datetime
    notional_eur: Decimal


@dataclass(frozen=True, slots=True)
class Client:
    id: int
    first_name: str
    last_name: str


@dataclass(frozen=True, slots=True)
class Day:
    start: datetime
    end: datetime

    def __contains__(self, at: datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True, slots=True)
class Hit:
    rule: str
    client_id: int
    payment_ids: tuple[int, ...]  # sorted
    details: dict[str, str]

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.rule, self.payment_ids)


def fingerprint(rule: str, payment_ids: Iterable[int]) -> str:
    ids = ",".join(str(i) for i in sorted(payment_ids))
    return hashlib.sha256(f"{rule}:{ids}".encode()).hexdigest()


def _hit(rule: str, client_id: int, payments: Iterable[Payment], **details: object) -> Hit:
    ids = tuple(sorted({p.id for p in payments}))
    return Hit(rule, client_id, ids, {k: str(v) for k, v in details.items()})


def _by_client(payments: Iterable[Payment]) -> dict[int, list[Payment]]:
    grouped: dict[int, list[Payment]] = defaultdict(list)
    for p in sorted(payments, key=lambda p: (p.at, p.id)):
        grouped[p.client_id].append(p)
    return grouped


def _withdrawals_today(payments: Sequence[Payment], day: Day) -> list[Payment]:
    return [p for p in payments if p.direction == "withdrawal" and p.at in day]


def _deposits(payments: Sequence[Payment], since: datetime, until: datetime) -> list[Payment]:
    return [p for p in payments if p.direction == "deposit" and since <= p.at < until]


def deposit_withdrawal_window(payments: Sequence[Payment], day: Day, t: Thresholds) -> list[Hit]:
    """A withdrawal of the day taking back much of a large deposit made shortly before."""
    hits = []
    for client_id, rows in _by_client(payments).items():
        for w in _withdrawals_today(rows, day):
            large = [
                d
                for d in _deposits(rows, w.at - timedelta(hours=t.window_hours), w.at)
                if d.eur >= t.large_deposit_eur and w.eur >= t.withdrawal_share * d.eur
            ]
            if large:
                hours = (w.at - large[0].at).total_seconds() / 3600
                hits.append(
                    _hit(
                        "deposit_withdrawal_window",
                        client_id,
                        [*large, w],
                        withdrawal_eur=w.eur,
                        hours_after_deposit=f"{hours:.1f}",
                    )
                )
    return hits


def withdrawal_without_trading(
    payments: Sequence[Payment], trades: Sequence[Trade], day: Day, t: Thresholds
) -> list[Hit]:
    """A withdrawal of the day after deposits that were hardly traded with."""
    hits = []
    for client_id, rows in _by_client(payments).items():
        for w in _withdrawals_today(rows, day):
            deposits = _deposits(rows, w.at - timedelta(days=t.turnover_days), w.at)
            deposited = sum((d.eur for d in deposits), ZERO)
            if not deposits or deposited < t.turnover_min_deposits_eur:
                continue
            since = deposits[0].at
            traded = sum(
                (
                    x.notional_eur
                    for x in trades
                    if x.client_id == client_id and since <= x.at < w.at
                ),
                ZERO,
            )
            if traded < t.turnover_ratio * deposited:
                hits.append(
                    _hit(
                        "withdrawal_without_trading",
                        client_id,
                        [*deposits, w],
                        deposited_eur=deposited,
                        traded_notional_eur=traded,
                    )
                )
    return hits


def method_mismatch(payments: Sequence[Payment], day: Day, t: Thresholds) -> list[Hit]:
    """A withdrawal of the day by a method, to a country or in a currency none of the
    client's recent deposits used (money should leave the way it came)."""
    hits = []
    for client_id, rows in _by_client(payments).items():
        for w in _withdrawals_today(rows, day):
            deposits = _deposits(rows, w.at - timedelta(days=t.mismatch_days), w.at)
            if not deposits:
                continue
            differs = []
            if w.method not in {d.method for d in deposits}:
                differs.append("method")
            countries = {d.payer_country for d in deposits if d.payer_country}
            if w.payer_country and countries and w.payer_country not in countries:
                differs.append("country")
            if w.currency not in {d.currency for d in deposits}:
                differs.append("currency")
            if differs:
                hits.append(
                    _hit(
                        "method_mismatch",
                        client_id,
                        [w],
                        differs=",".join(differs),
                        deposit_ids=",".join(str(d.id) for d in deposits),
                    )
                )
    return hits


_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "jr", "sr"})


def name_tokens(name: str) -> frozenset[str]:
    """A person's name as comparable words: accents, case, punctuation and titles removed."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z]+", plain.casefold())
    return frozenset(w for w in words if w not in _TITLES)


def same_person(payer: str, client: Client) -> bool:
    """The payer's name is the client's: the same words, or one holds the other's (a middle
    name), with at least a first and a last name in common."""
    a, b = name_tokens(payer), name_tokens(f"{client.first_name} {client.last_name}")
    small = a if len(a) <= len(b) else b
    return len(small) >= 2 and (a <= b or b <= a)


def third_party_payer(
    payments: Sequence[Payment], clients: dict[int, Client], day: Day
) -> list[Hit]:
    """The day's deposits paid by someone whose name is not the client's (an unknown payer
    name is not a hit: the PSP did not say)."""
    hits = []
    for client_id, rows in _by_client(payments).items():
        client = clients[client_id]
        foreign = [
            p
            for p in rows
            if p.direction == "deposit"
            and p.at in day
            and p.payer_name
            and not same_person(p.payer_name, client)
        ]
        if foreign:
            names = sorted({p.payer_name or "" for p in foreign})
            hits.append(_hit("third_party_payer", client_id, foreign, payers="; ".join(names)))
    return hits


def structuring(payments: Sequence[Payment], day: Day, t: Thresholds) -> list[Hit]:
    """Several deposits just under the reporting threshold within a few days, one of them
    on the day."""
    low = t.structuring_floor * t.reporting_threshold_eur
    hits = []
    for client_id, rows in _by_client(payments).items():
        under = [
            d
            for d in _deposits(rows, day.end - timedelta(days=t.structuring_days), day.end)
            if low <= d.eur < t.reporting_threshold_eur
        ]
        if len(under) >= t.structuring_count and any(d.at in day for d in under):
            total = sum((d.eur for d in under), ZERO)
            hits.append(_hit("structuring", client_id, under, count=len(under), total_eur=total))
    return hits


def velocity(payments: Sequence[Payment], day: Day, t: Thresholds) -> list[Hit]:
    """The day's deposits far above the client's own daily average before it."""
    hits = []
    for client_id, rows in _by_client(payments).items():
        today = _deposits(rows, day.start, day.end)
        amount = sum((d.eur for d in today), ZERO)
        if amount < t.velocity_min_eur:
            continue
        history = _deposits(rows, day.start - timedelta(days=t.velocity_days), day.start)
        average = sum((d.eur for d in history), ZERO) / t.velocity_days
        if amount > t.velocity_multiple * average:
            hits.append(
                _hit(
                    "velocity",
                    client_id,
                    today,
                    today_eur=amount,
                    daily_average_eur=average.quantize(Decimal("0.01")),
                )
            )
    return hits


def evaluate(
    clients: dict[int, Client],
    payments: Sequence[Payment],
    trades: Sequence[Trade],
    day: Day,
    t: Thresholds,
) -> list[Hit]:
    """Every rule's hits for the day."""
    return [
        *deposit_withdrawal_window(payments, day, t),
        *withdrawal_without_trading(payments, trades, day, t),
        *method_mismatch(payments, day, t),
        *third_party_payer(payments, clients, day),
        *structuring(payments, day, t),
        *velocity(payments, day, t),
    ]
