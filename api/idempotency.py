"""Request ids the api derives from the client's idempotency keys.

The execution service answers a request id it has seen with its first answer (and a different
command under a seen id with IDEMPOTENCY_CONFLICT), so a retry after a timeout, a dropped
connection or a crash of this process is answered, never executed twice. Keys are the
client's, so the request id names the account (two clients may pick the same key) and, for
keys sent as ``Idempotency-Key``, the operation (the same key on a close and on a cancel
is two requests).
"""

from __future__ import annotations

import uuid
from enum import StrEnum

KEY_PATTERN = r"^[\x21-\x7e]{1,64}$"
_PLACE = "co"


class Operation(StrEnum):
    CLOSE = "close"
    MODIFY_ORDER = "modify_order"
    CANCEL = "cancel"
    MODIFY_POSITION = "modify_position"


def place_request_id(account_id: int, client_order_id: str) -> str:
    return f"{_PLACE}:{account_id}:{client_order_id}"


def client_order_id_of(request_id: str | None) -> str | None:
    """The client order id folded into a place's request id, if it has one."""
    if request_id is None or not request_id.startswith(f"{_PLACE}:"):
        return None
    return request_id.split(":", 2)[2]


def request_id(account_id: int, operation: Operation, key: str | None) -> str:
    """The request id of a close, modification or cancel: from the client's key, or fresh
    (which protects nothing) without one."""
    if key is None:
        return f"rq:{uuid.uuid4().hex}"
    return f"ik:{account_id}:{operation.value}:{key}"
