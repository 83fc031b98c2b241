"""The retry policy: pauses grow with jitter up to their cap, the stop event ends the
retrying, one line is logged per failure, and what is not listed is not retried."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable

import pytest
import tenacity

from brokerstack import retries


class Flaky:
    """Fails ``failures`` times with ``error``, then returns "done"."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.left = failures
        self.error = error or ConnectionError("server gone\nsecond line of detail")
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.left:
            self.left -= 1
            raise self.error
        return "done"


def _pauses(failures: int, first: float = 0.1, most: float = 0.8) -> list[float]:
    slept: list[float] = []
    policy = retries.retrying("x", ConnectionError, first=first, most=most, sleep=slept.append)
    assert policy(Flaky(failures)) == "done"
    return slept


def test_pauses_double_between_half_and_all_of_each_step_up_to_the_cap() -> None:
    steps = [0.1, 0.2, 0.4, 0.8, 0.8, 0.8]
    runs = [_pauses(len(steps)) for _ in range(100)]
    for run in runs:
        assert len(run) == len(steps)
        assert all(step / 2 <= pause <= step for pause, step in zip(run, steps, strict=True))
    for n, step in enumerate(steps):
        drawn = [run[n] for run in runs]
        assert max(drawn) - min(drawn) > step / 4  # jittered, at the cap too


def test_a_schedule_outside_a_loop_gets_the_same_pauses() -> None:
    wait = retries.backoff(1.0, 8.0)
    for failures, step in [(0, 1), (1, 1), (2, 2), (3, 4), (4, 8), (60, 8), (10_000, 8)]:
        drawn = [retries.delay(wait, failures) for _ in range(100)]
        assert all(step / 2 <= d <= step for d in drawn)
        assert max(drawn) - min(drawn) > step / 4


def test_a_backoff_needs_a_positive_first_pause_below_its_cap() -> None:
    with pytest.raises(ValueError, match="0 < first <= most"):
        retries.backoff(0, 1)
    with pytest.raises(ValueError, match="0 < first <= most"):
        retries.backoff(2, 1)


def test_each_failure_is_one_warning_line_saying_what_failed_why_and_for_how_long(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    slept: list[float] = []
    policy = retries.retrying("reading commands:main", ConnectionError, sleep=slept.append)
    policy(Flaky(2))
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"reading commands:main failed (server gone); retrying in {s:.2f} s" for s in slept
    ]
    assert all(r.levelno == logging.WARNING for r in caplog.records)


def test_an_error_without_a_message_is_named_by_its_type(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    policy = retries.retrying(
        "journaling a batch", TimeoutError, level=logging.ERROR, sleep=lambda _: None
    )
    policy(Flaky(1, TimeoutError()))
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith("journaling a batch failed (TimeoutError); retrying in")


def test_an_exception_not_listed_propagates_at_once() -> None:
    slept: list[float] = []
    flaky = Flaky(5, ValueError("a bug, not an outage"))
    policy = retries.retrying("x", (ConnectionError, TimeoutError), sleep=slept.append)
    with pytest.raises(ValueError, match="a bug"):
        policy(flaky)
    assert (flaky.calls, slept) == (1, [])


def test_without_a_stop_event_it_retries_as_long_as_it_fails() -> None:
    assert len(_pauses(200)) == 200


def test_setting_the_stop_event_ends_the_retrying_after_the_next_failure() -> None:
    stop = threading.Event()
    slept: list[float] = []

    def pause(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 2:
            stop.set()  # SIGTERM while the second pause runs

    flaky = Flaky(1_000)
    policy = retries.retrying("x", ConnectionError, stop=stop, sleep=pause)
    with pytest.raises(tenacity.RetryError) as ended:
        policy(flaky)
    assert (flaky.calls, len(slept)) == (3, 2)
    assert isinstance(ended.value.last_attempt.exception(), ConnectionError)


def test_a_stop_asked_for_before_still_gets_one_try_and_no_pause() -> None:
    stop = threading.Event()
    stop.set()  # a service stopping still commits what it has queued, once
    slept: list[float] = []
    policy = retries.retrying("x", ConnectionError, stop=stop, sleep=slept.append)
    assert policy(Flaky(0)) == "done"
    with pytest.raises(tenacity.RetryError):
        policy(Flaky(1))
    assert slept == []


@pytest.mark.timeout(30)
def test_the_stop_event_cuts_a_long_pause_short() -> None:
    stop = threading.Event()
    policy = retries.retrying("x", ConnectionError, first=3600, most=3600, stop=stop)
    threading.Timer(0.05, stop.set).start()
    with pytest.raises(tenacity.RetryError):
        policy(Flaky(2))  # would pause for an hour without the event


def test_coroutines_retry_with_the_same_pauses() -> None:
    slept: list[float] = []

    async def pause(seconds: float) -> None:
        slept.append(seconds)

    flaky = Flaky(3)

    async def read() -> str:
        return flaky()

    policy = retries.async_retrying("x", Exception, first=0.1, most=0.2, sleep=pause)
    assert asyncio.run(policy(read)) == "done"
    assert len(slept) == 3
    assert all(s / 2 <= p <= s for p, s in zip(slept, [0.1, 0.2, 0.2], strict=True))


def test_a_plain_method_returning_a_coroutine_is_awaited_and_retried() -> None:
    """How redis-py's asyncio commands (xread, xtrim) are made."""
    slept: list[float] = []

    async def pause(seconds: float) -> None:
        slept.append(seconds)

    flaky = Flaky(2)

    async def answer() -> str:
        return flaky()

    def command() -> Awaitable[str]:
        return answer()

    policy = retries.async_retrying("x", ConnectionError, sleep=pause)
    assert asyncio.run(policy(command)) == "done"
    assert (flaky.calls, len(slept)) == (3, 2)


def test_a_cancelled_coroutine_is_not_retried_even_when_every_exception_is() -> None:
    calls = []

    async def read() -> None:
        calls.append(1)
        raise asyncio.CancelledError

    async def pause(seconds: float) -> None:
        raise AssertionError("no pause expected")

    policy = retries.async_retrying("x", Exception, sleep=pause)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(policy(read))
    assert calls == [1]
