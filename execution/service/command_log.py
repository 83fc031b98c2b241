"""One log line per command the service answered, tagged with the id of the HTTP request that
sent it (the command's ``trace``), so an order can be followed from the api's log into this one.

Written by the publishing thread once the batch's replies are out: a line costs tens of
microseconds of formatting, which the loop thread (and a reply's latency) should not pay.
"""

from __future__ import annotations

import logging

from brokerstack.logs import request_context
from execution import contracts as c

log = logging.getLogger("execution.service.commands")


def log_handled(handled: list[tuple[c.Command, list[c.Reply]]]) -> None:
    if not handled or not log.isEnabledFor(logging.INFO):
        return
    for command, replies in handled:
        answers = ", ".join(
            f"rejected {r.code.value}" if isinstance(r, c.Rejected) else type(r).__name__
            for r in replies
        )
        account = getattr(command, "account_id", None)
        with request_context(command.trace):
            log.info(
                "%s %s account %s: %s", type(command).__name__, command.request_id,
                account if account is not None else "-", answers or "no reply",
            )  # fmt: skip
