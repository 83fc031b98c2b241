"""Replay an account's trading day from the journal through the deterministic core, and compare
what comes out with what was recorded.

The day is the FX trade date: from 17:00 New York on the day before to 17:00 on the day. The
replay starts from the account's exact image at the last cut before the day (account_snapshots),
feeds the core, in the journal's order, everything that reached this account: its commands
(command_journal, at the time each was applied), its group's client prices (ticks), when
symbols went off quotes and back, the LP's fills of its A-book orders (its deals routed A) and
the cuts (rollovers). Then every reply, every deal and the image at the day's end must be what
was recorded; the first difference is reported.

What one account's replay cannot see is not replayed: limits that add up other accounts' flow
(group net volume), account flags the back office changed during the day, and an A-book LP's
price beyond what the deal recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import psycopg

from brokerstack.times import to_datetime, to_ns
from execution import contracts as c
from execution.core import Core
from execution.image import AccountImage, install, take
from execution.image import decode as decode_image
from execution.lp import LpOrder, LpReport, ReportStatus
from execution.records import Outcome
from execution.rollover import NEW_YORK, rollovers
from execution.service.reference import load_reference
from execution.service.shard import Shard
from execution.units import points_to_price

_CUT = time(17, 0)


class ReplayError(RuntimeError):
    """The day cannot be replayed (no image before it, unknown account...)."""


@dataclass(frozen=True, slots=True)
class Difference:
    what: str
    when: int  # ns
    recorded: object
    replayed: object

    def __str__(self) -> str:
        moment = to_datetime(self.when).isoformat(timespec="microseconds")
        return f"{self.what} at {moment}: recorded {self.recorded!r}, replayed {self.replayed!r}"


@dataclass(slots=True)
class Replayed:
    account_id: int
    start: int
    end: int
    commands: int = 0
    prices: int = 0
    deals: int = 0
    end_image: bool = False  # whether the day's closing image was there to compare with
    difference: Difference | None = None


def trade_day(day: date) -> tuple[int, int]:
    """The window of an FX trade date: (17:00 New York the day before, 17:00 on the day]."""
    start = datetime.combine(day - timedelta(days=1), _CUT, tzinfo=NEW_YORK)
    end = datetime.combine(day, _CUT, tzinfo=NEW_YORK)
    return to_ns(start), to_ns(end)


@dataclass(order=True, frozen=True, slots=True)
class _Input:
    time: int
    rank: int  # at one instant: quote state before the price it came with
    kind: str = field(compare=False)
    payload: Any = field(compare=False)


class _Ids:
    """Replayed ids (the replay's own sequences) matched to the recorded ones in order."""

    def __init__(self) -> None:
        self.maps: dict[str, dict[int, int]] = {"order": {}, "position": {}, "deal": {}}

    def same(self, kind: str, replayed: int | None, recorded: int | None) -> bool:
        if replayed is None or recorded is None:
            return replayed is None and recorded is None
        known = self.maps[kind].setdefault(replayed, recorded)
        return known == recorded

    def recorded(self, kind: str, replayed: int) -> int | None:
        return self.maps[kind].get(replayed)


def replay_day(
    conn: psycopg.Connection[Any], account_id: int, day: date, shard: str = "main"
) -> Replayed:
    start, end = trade_day(day)
    consumer = Shard(shard).consumer
    reference = load_reference(conn, Shard(shard).lp_prefix)
    first = _image(conn, account_id, start, before=True)
    if first is None:
        raise ReplayError(
            f"account {account_id} has no image at or before {to_datetime(start).isoformat()}: "
            "images are taken at each daily cut from the first one the service ran through"
        )
    core = Core(reference.config)
    if first.group not in core.ctx.groups:
        raise ReplayError(f"account {account_id}: its group {first.group} is no longer enabled")
    install(core.ctx, first)
    core.last_rollover = first.taken_at
    core.ctx.ids.order = core.ctx.ids.position = core.ctx.ids.deal = 0
    closing = _image(conn, account_id, end, before=False)
    result = Replayed(account_id, start, end)
    recorded_deals = _deals(conn, account_id, first.taken_at, end)
    run = _Run(core, first, result, recorded_deals)
    for item in _inputs(conn, core, first, consumer, end, closing, recorded_deals):
        if run.apply(item):
            return result
    run.finish_deals()
    if result.difference is None and closing is not None:
        result.end_image = True
        run.compare_images(closing)
    return result


def _image(
    conn: psycopg.Connection[Any], account_id: int, moment: int, before: bool
) -> AccountImage | None:
    if before:
        query = """SELECT image FROM account_snapshots WHERE trading_account_id = %s
                   AND taken_at <= %s ORDER BY taken_at DESC LIMIT 1"""
    else:
        query = """SELECT image FROM account_snapshots WHERE trading_account_id = %s
                   AND taken_at = %s"""
    row = conn.execute(query, (account_id, to_datetime(moment))).fetchone()
    return None if row is None else decode_image(bytes(row[0]))


def _deals(conn: psycopg.Connection[Any], account_id: int, after: int, end: int) -> list[Any]:
    return conn.execute(
        """SELECT d.id, d.executed_at, d.order_id, d.position_id, i.symbol, d.side, d.entry,
                  d.volume, d.price, d.profit, d.commission, d.swap, d.routed, l.cl_ord_id
           FROM deals d JOIN instruments i ON i.id = d.instrument_id
           LEFT JOIN lp_orders l ON l.id = d.lp_order_id
           WHERE d.trading_account_id = %s AND d.executed_at > %s AND d.executed_at <= %s
           ORDER BY d.executed_at, d.id""",
        (account_id, to_datetime(after), to_datetime(end)),
    ).fetchall()


def _inputs(
    conn: psycopg.Connection[Any],
    core: Core,
    image: AccountImage,
    consumer: str,
    end: int,
    closing: AccountImage | None,
    recorded_deals: list[Any],
) -> Iterator[_Input]:
    ctx = core.ctx
    group = ctx.groups[image.group]
    after, until = to_datetime(image.taken_at), to_datetime(end)
    inputs: list[_Input] = []
    for applied, command, reply in conn.execute(
        """SELECT applied_at, command, reply FROM command_journal
           WHERE consumer = %s AND applied_at > %s AND applied_at <= %s ORDER BY applied_at""",
        (consumer, after, until),
    ):
        decoded = c.decode_command(bytes(command))
        if decoded.account_id == image.account_id:
            inputs.append(
                _Input(to_ns(applied), 2, "command", (decoded, c.decode_reply(bytes(reply))))
            )
    ids = {v: k for k, v in _instrument_ids(conn).items()}
    for iid, changed, live in conn.execute(
        """SELECT instrument_id, changed_at, live FROM symbol_quote_states
           WHERE changed_at <= %s ORDER BY changed_at""",
        (until,),
    ):
        moment = to_ns(changed)
        # the state at the start, then each change of the day
        inputs.append(_Input(max(moment, image.taken_at), 0, "live", (ids[iid], live)))
    for moment, symbol, bid, ask in conn.execute(
        """SELECT time, symbol, bid, ask FROM ticks
           WHERE source = %s AND time > %s AND time <= %s ORDER BY time""",
        (f"client:{group.name}", after, until),
    ):
        instrument = ctx.instruments.get(symbol)
        if instrument is not None:
            scale = instrument.scale
            payload = (symbol, round(bid * scale), round(ask * scale))
            inputs.append(_Input(to_ns(moment), 1, "price", payload))
    for cut, _ in rollovers(image.taken_at, end):
        applied = closing.applied_at if closing is not None and closing.taken_at == cut else cut
        inputs.append(_Input(applied, 3, "calendar", None))
    for (updated,) in conn.execute(
        """SELECT updated_at FROM orders WHERE trading_account_id = %s AND status = 'EXPIRED'
           AND updated_at > %s AND updated_at <= %s""",
        (image.account_id, after, until),
    ):
        inputs.append(_Input(to_ns(updated), 3, "calendar", None))
    # the LP's side of A-book orders: their fills (the deals), and how unfilled ones ended
    inputs.extend(_Input(to_ns(d[1]), 2, "lp_fill", d) for d in recorded_deals if d[12] == "A")
    for order_id, status, updated in conn.execute(
        """SELECT o.id, o.status, o.updated_at FROM orders o
           WHERE o.trading_account_id = %s AND o.status IN ('REJECTED', 'CANCELED')
             AND o.updated_at > %s AND o.updated_at <= %s
             AND EXISTS (SELECT 1 FROM lp_orders l WHERE l.order_id = o.id)""",
        (image.account_id, after, until),
    ):
        inputs.append(_Input(to_ns(updated), 2, "lp_end", (order_id, status)))
    yield from sorted(inputs)


def _instrument_ids(conn: psycopg.Connection[Any]) -> dict[str, int]:
    return dict(conn.execute("SELECT symbol, id FROM instruments").fetchall())


class _Run:
    """Feeds the inputs, sends A-book orders their recorded fills, compares as it goes."""

    def __init__(
        self, core: Core, image: AccountImage, result: Replayed, recorded_deals: list[Any]
    ) -> None:
        self.core = core
        self.image = image
        self.result = result
        self.recorded = recorded_deals
        self.next_deal = 0
        self.ids = _Ids()
        self.working: list[LpOrder] = []  # A-book orders the replay sent, not yet final

    def apply(self, item: _Input) -> bool:
        """Apply one input; True once a difference is found."""
        core, now = self.core, item.time
        if item.kind == "live":
            symbol, live = item.payload
            core.set_live(symbol, live)
            return False
        if item.kind == "price":
            symbol, bid, ask = item.payload
            self.result.prices += 1
            return self._outcome(core.on_client_price(self.image.group, symbol, bid, ask, now))
        if item.kind == "calendar":
            return self._outcome(core.on_calendar(now))
        if item.kind in ("lp_fill", "lp_end"):
            return self._lp(item)
        command, recorded = item.payload
        self.result.commands += 1
        if isinstance(recorded, c.Rejected) and recorded.code in _SHELL_CODES:
            return False  # refused by the service before the core (a wallet, a refusal)
        outcome = core.handle(command, now)
        reply = outcome.replies[0]
        if not self._same_reply(recorded, reply):
            self.result.difference = Difference(
                f"reply to {command.request_id}", now, recorded, reply
            )
            return True
        return self._outcome(outcome)

    def _outcome(self, outcome: Outcome) -> bool:
        self.working.extend(outcome.lp_orders)
        return any(isinstance(e, c.Deal) and self._deal(e) for e in outcome.events)

    def _lp(self, item: _Input) -> bool:
        """The LP's answer to an A-book order, as recorded: a fill at the deal's price less
        the markup the client paid on top, or the end of an unfilled order."""
        recorded_order = item.payload[2] if item.kind == "lp_fill" else item.payload[0]
        lp_order = next(
            (
                o
                for o in self.working
                if self.ids.recorded("order", o.order_id or 0) == recorded_order
            ),
            None,
        )
        if lp_order is None:
            self.result.difference = Difference(
                f"an LP answer for order {recorded_order}", item.time, item.payload, None
            )
            return True
        if item.kind == "lp_end":
            self.working.remove(lp_order)
            status = (
                ReportStatus.REJECTED if item.payload[1] == "REJECTED" else ReportStatus.CANCELED
            )
            return self._outcome(
                self.core.on_lp_report(LpReport(lp_order.cl_ord_id, status), item.time)
            )
        deal = item.payload
        markup = self.core.ctx.accounts[self.image.account_id].group.markup(lp_order.symbol)
        digits = self.core.ctx.instruments[lp_order.symbol].digits
        shift = markup.ask if lp_order.side is c.Side.BUY else -markup.bid
        lp_price = deal[8] - points_to_price(shift, digits)
        report = LpReport(lp_order.cl_ord_id, ReportStatus.FILL, lp_price, deal[7])
        outcome = self.core.on_lp_report(report, item.time)
        if lp_order.cl_ord_id not in self.core.ctx.lp_orders:  # filled in full
            self.working.remove(lp_order)
        return self._outcome(outcome)

    def _deal(self, deal: c.Deal) -> bool:
        self.result.deals += 1
        if self.next_deal >= len(self.recorded):
            self.result.difference = Difference("an extra deal", deal.time, None, deal)
            return True
        row = self.recorded[self.next_deal]
        self.next_deal += 1
        recorded = (
            to_ns(row[1]), row[4], row[5].lower(), row[6].lower(), row[7].normalize(),
            row[8].normalize(), row[9].normalize(), row[10].normalize(), row[11].normalize(),
        )  # fmt: skip
        replayed = (
            deal.time, deal.symbol, deal.side.value, deal.entry.value, deal.volume.normalize(),
            deal.price.normalize(), deal.profit.normalize(), deal.commission.normalize(),
            deal.swap.normalize(),
        )  # fmt: skip
        for name, mine, theirs in zip(_DEAL_FIELDS, recorded, replayed, strict=True):
            if mine != theirs:
                self.result.difference = Difference(
                    f"{name} of deal {row[0]}", deal.time, mine, theirs
                )
                return True
        for kind, mine_id, theirs_id in (
            ("deal", row[0], deal.deal_id), ("order", row[2], deal.order_id),
            ("position", row[3], deal.position_id),
        ):  # fmt: skip
            if not self.ids.same(kind, theirs_id, mine_id):
                self.result.difference = Difference(
                    f"{kind} of deal {row[0]}", deal.time, mine_id, self.ids.maps[kind]
                )
                return True
        return False

    def _same_reply(self, recorded: c.Reply, replayed: c.Reply) -> bool:
        if isinstance(recorded, c.Rejected) or isinstance(replayed, c.Rejected):
            return (
                isinstance(recorded, c.Rejected)
                and isinstance(replayed, c.Rejected)
                and recorded.code == replayed.code
            )
        return (
            recorded.state == replayed.state
            and recorded.balance == replayed.balance
            and self.ids.same("order", replayed.order_id, recorded.order_id)
            and self.ids.same("position", replayed.position_id, recorded.position_id)
            and len(recorded.deal_ids) == len(replayed.deal_ids)
        )

    def finish_deals(self) -> None:
        if self.result.difference is None and self.next_deal < len(self.recorded):
            row = self.recorded[self.next_deal]
            self.result.difference = Difference("a missing deal", to_ns(row[1]), row, None)

    def compare_images(self, closing: AccountImage) -> None:
        account = self.core.ctx.accounts[self.image.account_id]
        replayed = take(account, closing.taken_at, closing.applied_at)
        for name in ("balance", "credit", "month_units", "in_margin_call"):
            if getattr(closing, name) != getattr(replayed, name):
                self.result.difference = Difference(
                    f"{name} at the day's end", closing.taken_at, getattr(closing, name),
                    getattr(replayed, name),
                )  # fmt: skip
                return
        recorded_positions = {p.position_id: p for p in closing.positions}
        for position in replayed.positions:
            recorded_id = self.ids.recorded("position", position.position_id)
            if recorded_id is None:
                recorded_id = position.position_id  # held all day: the image's own id
            mine = recorded_positions.pop(recorded_id, None)
            expected = (
                None if mine is None else (mine.units, mine.notional, mine.sl, mine.tp, mine.swap)
            )
            got = (position.units, position.notional, position.sl, position.tp, position.swap)
            if expected != got:
                self.result.difference = Difference(
                    f"position {recorded_id} at the day's end", closing.taken_at, expected, got
                )
                return
        if recorded_positions:
            missing = min(recorded_positions)
            self.result.difference = Difference(
                f"position {missing} at the day's end", closing.taken_at,
                recorded_positions[missing], None,
            )  # fmt: skip


_DEAL_FIELDS = (
    "time", "symbol", "side", "entry", "volume", "price", "profit", "commission", "swap",
)  # fmt: skip
# rejects the service's shell gives before the core sees the command
# the shell's refusals (a wallet, an account refused, a group of another kind), which the core
# alone cannot give; a refusal changed nothing, so passing over one the core also gives is safe
_SHELL_CODES = frozenset(
    {c.RejectCode.UNKNOWN_WALLET, c.RejectCode.ACCOUNT_DISABLED, c.RejectCode.INVALID_GROUP}
)
