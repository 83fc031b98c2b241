"""What producers put on the event streams the event writer reads.

Both carry their message in field ``brokerstack.streams.EVENT_FIELD`` (``e``).

* ``events`` (execution service): one ``execution.contracts`` event
  (``execution.contracts.encode``). Margin calls and stop-outs are stored in
  ``trading_events``; orders, deals, positions and balance changes are journaled by the
  execution service itself and are not stored again.
* ``crm-events`` (back office): one :class:`CrmEvent` in msgpack
  (:func:`encode_crm_event`), stored in ``crm_events``.
"""

from __future__ import annotations

from typing import Any

import msgspec


class CrmEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Something that happened with a client or lead (at least one of the two is named)."""

    time_ns: int  # UTC, integer nanoseconds
    event_type: str  # e.g. 'lead_created', 'kyc_approved', 'first_deposit', 'call_logged'
    client_id: int | None = None
    lead_id: int | None = None
    staff_user_id: int | None = None
    channel: str = "system"  # system, email, sms, phone, web, note or trading
    payload: dict[str, Any] = {}


_crm_encoder = msgspec.msgpack.Encoder()
_crm_decoder = msgspec.msgpack.Decoder(CrmEvent)


def encode_crm_event(event: CrmEvent) -> bytes:
    return _crm_encoder.encode(event)


def decode_crm_event(data: bytes) -> CrmEvent:
    """Raises ``msgspec.ValidationError`` / ``msgspec.DecodeError`` on a bad entry."""
    return _crm_decoder.decode(data)
