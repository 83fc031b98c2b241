"""Accounts as the execution core values them.

The execution service publishes each account's contract ``AccountState`` (balance, equity,
margin, level, and each open position's closing price and profit) into ``accounts:state``
whenever it changes. The api serves that state and computes nothing of its own, so a client
sees the figures margin calls and stop-outs are judged by.
"""

from __future__ import annotations

import msgspec
from redis.asyncio import Redis

from api.accounts import OwnedAccount
from api.errors import ApiError
from api.formats import fixed, money, optional_fixed
from api.history import History
from api.market import Market
from api.schemas import AccountSummary, Position
from brokerstack.streams import ACCOUNT_STATES_HASH
from brokerstack.times import to_datetime
from execution import contracts

# The service states every account when it starts and each new one when it appears, a few
# times a second at most: a client asking before that gets told to come back.
RETRY_SECONDS = 1


async def account_state(redis: Redis, account_id: int) -> contracts.AccountState | None:
    data = await redis.hget(ACCOUNT_STATES_HASH, str(account_id))
    if not isinstance(data, bytes):
        return None
    try:
        state = contracts.decode_event(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return state if isinstance(state, contracts.AccountState) else None


async def summary(redis: Redis, account: OwnedAccount) -> AccountSummary:
    state = await account_state(redis, account.id)
    if state is None:
        raise ApiError(
            503,
            "valuation_pending",
            "the execution service has not valued this account yet; retry in a moment",
            {"account_id": account.id},
            headers={"Retry-After": str(RETRY_SECONDS)},
        )
    return AccountSummary(
        account_id=state.account_id,
        currency=state.currency,
        balance=state.balance,
        credit=state.credit,
        floating_profit=state.floating_profit,
        equity=state.equity,
        margin=state.margin,
        free_margin=state.free_margin,
        margin_level=state.margin_level,
        valued=state.valued,
        unpriced_symbols=list(state.unpriced),
        in_margin_call=state.in_margin_call,
        as_of=to_datetime(state.time),
    )


async def positions(
    history: History, market: Market, redis: Redis, account: OwnedAccount
) -> list[Position]:
    """The journaled open positions with the closing price and profit of the account's last
    state (none for a position the state does not know yet)."""
    rows = await history.open_positions(account.id)
    state = await account_state(redis, account.id)
    values = {v.position_id: v for v in state.positions} if state is not None else {}
    valued_at = to_datetime(state.time) if state is not None else None
    listed = []
    for row in rows:
        shown = await market.digits_of(row["symbol"])
        value = values.get(row["id"])
        listed.append(
            Position(
                id=row["id"],
                symbol=row["symbol"],
                side=row["side"],
                volume=fixed(row["volume"], shown.volume),
                open_price=fixed(row["open_price"], shown.price),
                sl=optional_fixed(row["sl"], shown.price),
                tp=optional_fixed(row["tp"], shown.price),
                swap=money(row["swap"], account.currency),
                commission=money(row["commission"], account.currency),
                opened_at=row["opened_at"],
                current_price=value.price if value is not None else None,
                profit=value.profit if value is not None else None,
                valued_at=valued_at if value is not None else None,
            )
        )
    return listed
