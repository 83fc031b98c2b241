"""The trading core's facade: inputs in (commands, quotes, LP reports, timer ticks), each with
the caller's `now` in integer nanoseconds UTC, and an `Outcome` out. No IO, no clock, no
randomness: the same inputs always give the same outputs, so the shell can replay a journal.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from brokerstack.times import NS_PER_SECOND
from execution import contracts as c
from execution.account_state import account_state, publish_states, value
from execution.admin import AccountAdmin
from execution.balance import apply_balance_operation
from execution.context import Context
from execution.dealing import Dealer
from execution.fills import Fills
from execution.groups import AccountGroup
from execution.image import encode as encode_image
from execution.image import take as take_image
from execution.instruments import ConfigError, Instrument
from execution.lp import LpReport
from execution.monitor import MarginMonitor
from execution.orders import OrderManager
from execution.pricing import Aggregator, Best
from execution.rates import Quote
from execution.records import AccountSnapshot, Outcome, RolloverMark
from execution.rollover import apply_rollover, next_cut, rollovers
from execution.routing import RoutingRule
from execution.snapshot import Snapshot, export, load
from execution.state import Account
from execution.statements import cut_rates, statement
from execution.units import decimal_to_int, to_decimal


@dataclass(frozen=True, slots=True)
class CoreConfig:
    instruments: Iterable[Instrument]
    groups: Iterable[AccountGroup]
    rules: Iterable[RoutingRule] = ()
    staleness_ns: int = 5 * NS_PER_SECOND  # an LP quote older than this is ignored
    quiet_ns: int = 10 * NS_PER_SECOND  # an LP silent on every symbol this long is out
    hedge_thresholds: Mapping[str, Decimal] = field(default_factory=dict)  # lots per symbol
    remembered_requests: int = 100_000  # replies kept for replayed request ids
    lp_prefix: str = "bs"  # ClOrdID prefix: unique per shard


class Core:
    def __init__(self, config: CoreConfig) -> None:
        self.config = config
        thresholds = {s: decimal_to_int(v, 4) or 0 for s, v in config.hedge_thresholds.items()}
        self.ctx = Context(
            config.instruments,
            config.groups,
            Aggregator(config.staleness_ns, config.quiet_ns),
            config.rules,
            thresholds,
            config.lp_prefix,
        )
        self.fills = Fills(self.ctx)
        self.dealer = Dealer(self.ctx, self.fills)
        self.orders = OrderManager(self.ctx, self.fills, self.dealer)
        self.monitor = MarginMonitor(self.ctx, self.fills)
        self.admin = AccountAdmin(self.ctx, self.fills, self.monitor)
        # the last swap rollover applied (journaled: see RolloverMark), None for a new book
        self.last_rollover: int | None = None
        self._next_cut = 0  # when a rollover may next be due (a cache of next_cut)
        self._capacity = config.remembered_requests
        # request id -> (first answer, the command's identity)
        self._replies: OrderedDict[str, tuple[c.Reply, bytes]] = OrderedDict()
        self._handlers: dict[type, Callable[[Outcome, c.Command, Account, int], c.Reply]] = {
            c.PlaceOrder: self.orders.place,  # type: ignore[dict-item]
            c.ModifyOrder: self.orders.modify,  # type: ignore[dict-item]
            c.CancelOrder: self.orders.cancel,  # type: ignore[dict-item]
            c.ModifyPosition: self.orders.modify_position,  # type: ignore[dict-item]
            c.ClosePosition: self.orders.close,  # type: ignore[dict-item]
            c.CloseBy: self.orders.close_by,  # type: ignore[dict-item]
            c.BalanceOperation: self._balance,  # type: ignore[dict-item]
            c.UpdateAccount: self.admin.update,  # type: ignore[dict-item]
            c.DealerClose: self.admin.dealer_close,  # type: ignore[dict-item]
        }

    # --- state loading (the shell rebuilds from the warehouse) ----------------------------

    @classmethod
    def from_snapshot(cls, config: CoreConfig, snapshot: Snapshot) -> Core:
        """A core holding the snapshot's state; raises ConfigError on rows it cannot trade."""
        core = cls(config)
        load(core.ctx, snapshot)
        core.ctx.changed.update(core.ctx.accounts)
        core.ctx.unimaged.update(core.ctx.accounts)
        core.last_rollover = snapshot.last_rollover
        for request_id, (reply, identity) in snapshot.replies.items():
            core.remember(request_id, reply, identity)
        return core

    def snapshot(self) -> Snapshot:
        return export(self.ctx, self.last_rollover, self._replies)

    def add_account(
        self,
        account_id: int,
        group: str,
        balance: Decimal = Decimal(0),
        credit: Decimal = Decimal(0),
        enabled: bool = True,
        kyc_level: int = 0,
    ) -> Account:
        account_group = self.ctx.groups[group]
        money = account_group.to_money(balance), account_group.to_money(credit)
        if money[0] is None or money[1] is None:
            raise ConfigError(
                f"account {account_id}: balance {balance} / credit {credit} not exact in "
                f"{account_group.currency} minor units"
            )
        account = Account(account_id, account_group, money[0], money[1], enabled, kyc_level)
        self.ctx.accounts[account_id] = account
        self.ctx.changed.add(account_id)
        self.ctx.unimaged.add(account_id)
        return account

    def remember(self, request_id: str, reply: c.Reply, identity: bytes) -> None:
        """Record the first answer to a request id and what the command was (`contracts.
        identity`); also used to reload persisted answers."""
        replies = self._replies
        replies[request_id] = (reply, identity)
        if len(replies) > self._capacity:
            replies.popitem(last=False)

    def answer_to(self, command: c.Command) -> c.Reply | None:
        """The answer a command already has, if its request id was seen: the first reply, or
        an idempotency conflict when the id came with a different command. The shell checks
        it before its own pre-checks, so a replayed request is answered, never re-judged."""
        first = self._replies.get(command.request_id)
        if first is None:
            return None
        reply, identity = first
        if identity != c.identity(command):
            return c.Rejected(
                request_id=command.request_id,
                code=c.RejectCode.IDEMPOTENCY_CONFLICT,
                message="this request id was used for a different command",
            )
        return reply

    def account_state(self, account_id: int, now: int) -> c.AccountState:
        """An account as the core values it now (what `publish_states` would say of it)."""
        account = self.ctx.accounts[account_id]
        return account_state(self.ctx, account, value(self.ctx, account), now)

    def publish_states(self, now: int) -> Outcome:
        """The states of the accounts that changed since the last call, as events (and the
        alerts of accounts that cannot be valued, or can again)."""
        return publish_states(self.ctx, now)

    def set_toxicity(self, account_id: int, score: int) -> None:
        account = self.ctx.accounts.get(account_id)
        if account is not None:
            account.toxicity = score

    # --- inputs ---------------------------------------------------------------------------

    def handle(self, command: c.Command, now: int) -> Outcome:
        """Apply one command. A command past its deadline is refused and not remembered:
        the request id stays free for the retry the sender makes after giving up."""
        out = Outcome()
        rid = command.request_id
        first = self.answer_to(command)
        if first is not None:
            out.replies.append(first)
            return out
        if command.deadline is not None and now > command.deadline:
            out.replies.append(
                c.Rejected(
                    request_id=rid,
                    code=c.RejectCode.COMMAND_EXPIRED,
                    message="the command's deadline passed before it could be executed",
                )
            )
            return out
        if command.v != c.VERSION:
            reply: c.Reply = c.Rejected(request_id=rid, code=c.RejectCode.UNSUPPORTED_VERSION)
        else:
            account = self.ctx.accounts.get(command.account_id)
            if account is None:
                reply = c.Rejected(request_id=rid, code=c.RejectCode.UNKNOWN_ACCOUNT)
            else:
                reply = self._handlers[type(command)](out, command, account, now)
        out.replies.append(reply)
        self.remember(rid, reply, c.identity(command))
        self._changed(out)
        return out

    def handle_bytes(self, data: bytes, now: int) -> Outcome:
        """Decode and handle one MessagePack command; undecodable input is rejected."""
        try:
            command = c.decode_command(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            out = Outcome()
            out.replies.append(
                c.Rejected(request_id="", code=c.RejectCode.MALFORMED, message=str(error))
            )
            return out
        return self.handle(command, now)

    def on_quote(self, lp: str, symbol: str, bid: int, ask: int, now: int) -> Outcome:
        """An LP's top of book in points of the instrument's digits."""
        out = Outcome()
        ctx = self.ctx
        instrument = ctx.instruments.get(symbol)
        if instrument is None:
            return out
        previous = ctx.pricing.raw.get(symbol)
        best = ctx.aggregator.update(lp, symbol, bid, ask, now)
        if (
            best is not None
            and previous is not None
            and (best.bid, best.ask) == (previous.bid, previous.ask)
        ):
            ctx.pricing.raw[symbol] = best  # same price: keep LP attribution fresh, no new tick
            return out
        self._publish(out, instrument, best, now)
        if out.journal:  # triggered orders, stops, stop-outs
            self._changed(out)
        return out

    def on_lp_report(self, report: LpReport, now: int) -> Outcome:
        out = Outcome()
        self.dealer.on_report(out, report, now)
        self._changed(out)
        return out

    def on_timer(self, now: int) -> Outcome:
        """Quotes gone stale, order expiry, swap rollovers due since the last call."""
        out = Outcome()
        ctx = self.ctx
        for symbol in list(ctx.pricing.live):
            # an LP gone stale or quiet leaves the price: the rest make it, or none
            best = ctx.aggregator.best(symbol, now)
            raw = ctx.pricing.raw.get(symbol)
            if best is None or raw is None or (best.bid, best.ask) != (raw.bid, raw.ask):
                self._publish(out, ctx.instruments[symbol], best, now)
            else:
                ctx.pricing.raw[symbol] = best
        self._calendar(out, now)
        return out

    # --- a replay's inputs: client prices as they were published ----------------------------

    def on_client_price(self, group: str, symbol: str, bid: int, ask: int, now: int) -> Outcome:
        """A client price of one group as the service published it, applied without the
        aggregator: how a replay feeds a day's journaled prices back through the core."""
        out = Outcome()
        ctx = self.ctx
        pricing = ctx.pricing
        pricing.books[group][symbol] = Quote(bid, ask, now)
        pricing.versions[group] += 1
        raw = pricing.raw.get(symbol)
        if raw is None:
            pricing.raw[symbol] = Best(bid, "replay", ask, "replay", now)
        ctx.changed.update(ctx.exposed.get(symbol, ()))
        self.orders.on_price(out, symbol, now)
        self.monitor.on_price(out, symbol, now)
        self._changed(out)
        return out

    def set_live(self, symbol: str, live: bool) -> None:
        """A replay's journaled quote state: whether the symbol had a fresh price."""
        if live:
            self.ctx.pricing.live.add(symbol)
        else:
            self.ctx.pricing.live.discard(symbol)

    def on_calendar(self, now: int) -> Outcome:
        """Order expiry and swap rollovers due by `now` (the timer without the prices)."""
        out = Outcome()
        self._calendar(out, now)
        return out

    def _calendar(self, out: Outcome, now: int) -> None:
        ctx = self.ctx
        self.orders.expire(out, now)
        if self.last_rollover is None:
            self.last_rollover = now  # a new book: rollovers count from here
            out.journal.append(RolloverMark(now))
        if now >= self._next_cut:
            for at, weekday in rollovers(self.last_rollover, now):
                apply_rollover(ctx, out, at, weekday)
                self.last_rollover = at
                out.journal.append(RolloverMark(at))
                self._changed(out)
                self._images(out, at, now)
            self._next_cut = next_cut(self.last_rollover)
        self._changed(out)

    def _images(self, out: Outcome, at: int, now: int) -> None:
        """At a cut: the exact image of every account that changed since its last one, and
        every account's statement with the cut's rates (`execution.statements`)."""
        ctx = self.ctx
        for account_id in sorted(ctx.unimaged):
            account = ctx.accounts.get(account_id)
            if account is not None:
                image = encode_image(take_image(account, at, now))
                out.journal.append(AccountSnapshot(account_id, at, image))
        ctx.unimaged.clear()
        for account_id in sorted(ctx.accounts):
            out.journal.append(statement(ctx, ctx.accounts[account_id], at, now))
        out.journal.append(cut_rates(ctx, at))

    # --- internals ------------------------------------------------------------------------

    def _changed(self, out: Outcome) -> None:
        """Mark the accounts an outcome's records are about: their state is published next."""
        changed, unimaged = self.ctx.changed, self.ctx.unimaged
        for record in out.journal:
            account_id = getattr(record, "account_id", None)
            if account_id is not None and not isinstance(record, AccountSnapshot):
                changed.add(account_id)
                unimaged.add(account_id)

    def _publish(self, out: Outcome, instrument: Instrument, best: Best | None, now: int) -> None:
        symbol = instrument.symbol
        pricing = self.ctx.pricing
        was_live = symbol in pricing.live
        previous = pricing.raw.get(symbol)
        left_before = previous.left_out if previous is not None else ()
        produced = pricing.publish(symbol, best)
        left_out = best.left_out if best is not None else ()
        if (best is not None) != was_live or left_out != left_before:
            reason = "" if best is not None else self.ctx.aggregator.reason(symbol, now)
            out.record(
                c.QuoteState(
                    symbol=symbol, live=best is not None, reason=reason, time=now,
                    left_out=left_out,
                )
            )  # fmt: skip
        digits = instrument.digits
        for group, quote in produced:
            out.events.append(
                c.Tick(
                    group=group.name,
                    symbol=symbol,
                    bid=to_decimal(quote.bid, digits),
                    ask=to_decimal(quote.ask, digits),
                    time=now,
                )
            )
        if best is None:
            return
        self.ctx.changed.update(self.ctx.exposed.get(symbol, ()))
        self.orders.on_price(out, symbol, now)
        self.monitor.on_price(out, symbol, now)

    def _balance(
        self, out: Outcome, command: c.BalanceOperation, account: Account, now: int
    ) -> c.Reply:
        return apply_balance_operation(self.ctx, out, command, account, now)
