"""Trying again what failed for a moment (the warehouse or Redis restarting, a connection
dropped): one policy for every process, on tenacity.

Pauses grow exponentially with "equal jitter": the n-th is drawn between half and all of
``first x 2^(n-1)``, capped at ``most``, so processes that lost a server at the same moment do
not all come back at the same moment, even once their pauses reach the cap (tenacity's
``wait_exponential_jitter`` adds its jitter before capping: capped pauses would all be equal).
Each failure is logged as one line. Loops that run until their process stops retry forever,
or until their stop event is set: a pause ends when it is, and the next failure ends the
retrying with ``tenacity.RetryError``. Any exception not listed propagates at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import tenacity
from tenacity.wait import wait_base

log = logging.getLogger(__name__)

Errors = type[BaseException] | tuple[type[BaseException], ...]
P = ParamSpec("P")
R = TypeVar("R")

FIRST = 0.05  # seconds: a blip is over before anyone notices
MOST = 2.0  # seconds: back within two seconds of the server


def backoff(first: float, most: float) -> wait_base:
    """Pauses between half and all of ``first``, ``2 x first``, ``4 x first``, ... ``most``."""
    if not 0 < first <= most:
        raise ValueError(f"backoff needs 0 < first <= most, got {first} and {most}")
    return tenacity.wait_exponential(multiplier=first / 2, max=most / 2) + (
        tenacity.wait_random_exponential(multiplier=first / 2, max=most / 2)
    )


def delay(wait: wait_base, failures: int) -> float:
    """The pause ``wait`` gives after ``failures`` failed tries in a row, for a schedule kept
    outside a retry loop (when an LP session may try to connect again)."""
    state = tenacity.RetryCallState(tenacity.Retrying(), None, (), {})
    state.attempt_number = max(failures, 1)
    return wait(state)


def retrying(
    what: str,
    errors: Errors,
    *,
    first: float = FIRST,
    most: float = MOST,
    stop: threading.Event | None = None,
    level: int = logging.WARNING,
    logger: logging.Logger = log,
    sleep: Callable[[float], None] | None = None,
) -> tenacity.Retrying:
    """Calls ``retrying(fn, *args)`` that try ``fn`` until it returns (or ``stop`` is set),
    pausing after each failure with one of ``errors``; ``what`` names it in the log."""
    pause = sleep or (tenacity.sleep_using_event(stop) if stop else tenacity.sleep)
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(errors),
        wait=backoff(first, most),
        stop=tenacity.stop_when_event_set(stop) if stop else tenacity.stop_never,
        sleep=pause,
        before_sleep=_logged(what, level, logger),
    )


def async_retrying(
    what: str,
    errors: Errors,
    *,
    first: float = FIRST,
    most: float = MOST,
    level: int = logging.WARNING,
    logger: logging.Logger = log,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> AsyncRetrying:
    """``retrying`` for coroutines: forever, until the task is cancelled."""
    return AsyncRetrying(
        tenacity.AsyncRetrying(
            retry=tenacity.retry_if_exception_type(errors),
            wait=backoff(first, most),
            sleep=sleep or asyncio.sleep,
            before_sleep=_logged(what, level, logger),
        )
    )


class AsyncRetrying:
    """``await retrying(fn, *args)``: tenacity's, but awaiting what ``fn`` returns whatever
    ``fn`` is. tenacity awaits only coroutine functions: redis-py's commands are plain methods
    returning a coroutine, which it would hand back unawaited (so never retried)."""

    def __init__(self, retrying: tenacity.AsyncRetrying) -> None:
        self.retrying = retrying

    async def __call__(self, fn: Callable[P, Awaitable[R]], *args: P.args, **kwargs: P.kwargs) -> R:
        async def attempt() -> R:
            return await fn(*args, **kwargs)

        result: R = await self.retrying(attempt)
        return result


def _logged(
    what: str, level: int, logger: logging.Logger
) -> Callable[[tenacity.RetryCallState], None]:
    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        logger.log(
            level, "%s failed (%s); retrying in %.2f s", what, _reason(error), state.upcoming_sleep
        )

    return before_sleep


def _reason(error: BaseException | None) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
