"""What the back-office queue routes (KYC review, AML cases, CRM) share: the staff member's
brands as the list the area services take. Their refusals are ``backoffice.errors.Refused``
and answer through ``api.staff_auth``'s handler."""

from __future__ import annotations

from typing import Any

import psycopg

from api.staff_auth import StaffPrincipal


def brand_ids(conn: psycopg.Connection[Any], principal: StaffPrincipal) -> list[int]:
    """The brands the staff member works for (every brand when unlimited)."""
    if principal.brand_ids is not None:
        return sorted(principal.brand_ids)
    return [int(row[0]) for row in conn.execute("SELECT id FROM brands ORDER BY id")]
