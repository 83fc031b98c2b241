"""The pure rules of staff access: TOTP steps, throttling waits, brand scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp

from backoffice.scope import BrandScope
from backoffice.staff import totp
from backoffice.staff.throttle import wait_seconds

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = datetime(2026, 12, 1, 12, 0, 10, tzinfo=UTC)  # 10 s into its 30-second step


def test_a_code_matches_its_own_step_and_one_either_side_only() -> None:
    step = int(NOW.timestamp()) // 30
    code = pyotp.TOTP(SECRET).at(NOW)  # the app's code, computed by the library itself
    assert totp.matching_step(SECRET, code, NOW) == step
    assert totp.matching_step(SECRET, code, NOW + timedelta(seconds=30)) == step
    assert totp.matching_step(SECRET, code, NOW - timedelta(seconds=30)) == step
    assert totp.matching_step(SECRET, code, NOW + timedelta(seconds=60)) is None
    assert totp.matching_step(SECRET, "12345", NOW) is None
    assert totp.matching_step(SECRET, "12a456", NOW) is None


def test_the_enrolment_uri_names_the_issuer_and_the_member() -> None:
    uri = totp.provisioning_uri(SECRET, "ana@brokerstack.test")
    assert uri.startswith("otpauth://totp/brokerstack:ana%40brokerstack.test?")
    assert f"secret={SECRET}" in uri


def test_throttling_waits_until_the_failure_that_keeps_the_limit_leaves_the_window() -> None:
    window = timedelta(minutes=15)
    failures = [NOW - timedelta(minutes=m) for m in (14, 10, 5, 1)]
    assert wait_seconds(failures, 5, NOW, window) == 0
    # at the limit of 3: the third newest (10 minutes ago) leaves in 5 minutes
    assert wait_seconds(failures, 3, NOW, window) == 300
    old = [NOW - timedelta(minutes=20)] * 10
    assert wait_seconds(old, 3, NOW, window) == 0


def test_a_scope_covers_only_colleagues_wholly_within_it() -> None:
    a_only, a_and_b = BrandScope.of(1), BrandScope.of(1, 2)
    assert a_and_b.covers(a_only)
    assert not a_only.covers(a_and_b)
    assert not a_only.covers(BrandScope.every_brand())
    assert not a_only.covers(BrandScope.of())  # no brand at all: only every-brand admins
    assert BrandScope.every_brand().covers(BrandScope.every_brand())
    assert a_only.allows(1)
    assert not a_only.allows(2)
    assert not a_only.allows(None)
    assert BrandScope.every_brand().param is None
    assert a_and_b.param == [1, 2]
