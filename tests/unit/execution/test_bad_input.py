"""Any command, however wrong its fields, gets exactly one reply and never raises."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from execution import contracts as c
from execution.testkit import Desk, sample_core

numbers = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=-10, max_value=10, places=3),
    st.sampled_from([Decimal("1.10000"), Decimal("0.01"), Decimal("1E+40"), Decimal("-0")]),
)
optional = st.none() | numbers
ids = st.integers(-2, 6)
times = st.none() | st.integers(-(2**63), 2**63)


def commands() -> st.SearchStrategy[c.Command]:
    rid = st.text(min_size=1, max_size=8)
    symbol = st.sampled_from(["EURUSD", "USDJPY", "AAPL", "", "eurusd", "XXX"])
    return st.one_of(
        st.builds(
            c.PlaceOrder,
            request_id=rid,
            account_id=ids,
            symbol=symbol,
            side=st.sampled_from(c.Side),
            volume=numbers,
            type=st.sampled_from(c.OrderType),
            price=optional,
            sl=optional,
            tp=optional,
            tif=st.sampled_from(c.TimeInForce),
            expires_at=times,
            position_id=st.none() | ids,
        ),
        st.builds(
            c.ModifyOrder,
            request_id=rid,
            account_id=ids,
            order_id=ids,
            price=optional,
            sl=optional,
            tp=optional,
            expires_at=times,
        ),
        st.builds(c.CancelOrder, request_id=rid, account_id=ids, order_id=ids),
        st.builds(
            c.ModifyPosition,
            request_id=rid,
            account_id=ids,
            position_id=ids,
            sl=optional,
            tp=optional,
        ),
        st.builds(
            c.ClosePosition, request_id=rid, account_id=ids, position_id=ids, volume=optional
        ),
        st.builds(
            c.CloseBy, request_id=rid, account_id=ids, position_id=ids, opposite_position_id=ids
        ),
        st.builds(
            c.BalanceOperation,
            request_id=rid,
            account_id=ids,
            kind=st.sampled_from(c.BalanceKind),
            amount=numbers,
            wallet_id=st.none() | st.just("w"),
        ),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(commands(), max_size=25))
def test_every_command_gets_one_reply(batch: list[c.Command]) -> None:
    desk = Desk(sample_core())
    for account in (1, 2):
        desk.core.add_account(account, "retail-usd", balance=Decimal(50_000))
    desk.quote("EURUSD", "1.10000", "1.10002")
    desk.quote("USDJPY", "150.000", "150.010")
    for command in batch:
        outcome = desk.send(command)
        assert len(outcome.replies) == 1
        assert outcome.replies[0].request_id == command.request_id
        desk.quote("EURUSD", "1.09000", "1.09002")
        desk.quote("EURUSD", "1.10000", "1.10002")
