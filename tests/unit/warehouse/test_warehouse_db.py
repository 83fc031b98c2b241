"""URL translation, feature flags and candle bucket arithmetic (no database needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from warehouse.candles import bucket_ceil, bucket_floor
from warehouse.db import TimescaleSupport, libpq_url, sqlalchemy_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgres://u@h/db?sslmode=disable", "postgresql+psycopg://u@h/db?sslmode=disable"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_sqlalchemy_url(given: str, expected: str) -> None:
    assert sqlalchemy_url(given) == expected
    assert libpq_url(sqlalchemy_url(given)).startswith("postgresql://")


def test_sqlalchemy_url_refuses_other_schemes_without_echoing_secrets() -> None:
    with pytest.raises(ValueError, match="mysql://") as raised:
        sqlalchemy_url("mysql://user:secret@host/db")
    assert "secret" not in str(raised.value)


@pytest.mark.parametrize(
    ("version", "license_", "hypertables", "community"),
    [
        (None, None, False, False),
        ("2.23.0", "apache", True, False),
        ("2.23.0", "timescale", True, True),
    ],
)
def test_timescale_features_follow_installation_and_license(
    version: str | None, license_: str | None, hypertables: bool, community: bool
) -> None:
    support = TimescaleSupport(available=True, installed_version=version, license=license_)
    assert support.hypertables is hypertables
    assert support.community_features is community


MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
AT = datetime(2025, 3, 5, 10, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("width", "floor", "ceil"),
    [
        (MINUTE, AT.replace(second=0), AT.replace(minute=8, second=0)),
        (HOUR, AT.replace(minute=0, second=0), AT.replace(hour=11, minute=0, second=0)),
        (DAY, AT.replace(hour=0, minute=0, second=0), datetime(2025, 3, 6, tzinfo=UTC)),
    ],
)
def test_buckets_are_utc_aligned(width: timedelta, floor: datetime, ceil: datetime) -> None:
    assert bucket_floor(AT, width) == floor
    assert bucket_ceil(AT, width) == ceil
    assert bucket_ceil(floor, width) == floor
