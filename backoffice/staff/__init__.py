"""Staff and access: users, roles and the permissions they grant (data, deny by default),
brand scopes, the TOTP second factor, sessions and login throttling."""

from backoffice.scope import BrandScope
from backoffice.staff.access import StaffAccess, grants, session_access
from backoffice.staff.sessions import LoginRefused, OpenedSession, TotpEnrolment
from backoffice.staff.users import StaffUser

__all__ = [
    "BrandScope",
    "LoginRefused",
    "OpenedSession",
    "StaffAccess",
    "StaffUser",
    "TotpEnrolment",
    "grants",
    "session_access",
]
