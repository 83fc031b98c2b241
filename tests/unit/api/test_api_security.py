"""Password hashes, tokens, API keys and the error mapping of execution rejects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from pydantic import SecretStr

from api import security
from api.errors import REJECT_STATUS, rejected, validation_body
from execution.contracts import RejectCode

# What every token must carry (a token without exp would never expire).
REQUIRED_CLAIMS = ("exp", "iat", "sub", "aud", "iss", "jti")


def test_passwords_are_argon2_hashed_and_verified() -> None:
    hashed = security.hash_password("s3cret")
    assert hashed.startswith("$argon2id$")
    assert security.verify_password("s3cret", hashed)
    assert not security.verify_password("S3cret", hashed)
    assert not security.verify_password("s3cret", None)


def test_access_tokens_round_trip_and_refuse_tampering() -> None:
    key = b"k" * 32
    token, expires = security.issue_access_token(
        key, 7, 3, frozenset({"read"}), timedelta(minutes=5)
    )
    claims = security.decode_access_token(key, token)
    assert (claims.client_id, claims.brand_id, claims.scopes) == (7, 3, frozenset({"read"}))
    assert claims.expires_at == expires.replace(microsecond=0)  # exp is in whole seconds
    with pytest.raises(security.InvalidToken) as forged:
        security.decode_access_token(b"x" * 32, token)
    assert forged.value.code == "invalid_token"
    old, _ = security.issue_access_token(key, 7, 3, frozenset(), timedelta(seconds=-1))
    with pytest.raises(security.InvalidToken) as expired:
        security.decode_access_token(key, old)
    assert expired.value.code == "token_expired"


def test_access_tokens_of_another_issuer_or_audience_or_missing_a_claim_are_refused() -> None:
    key = b"k" * 32
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": "brokerstack",
        "aud": "brokerstack-api",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "sub": "7",
        "brand": 3,
        "scope": "read",
        "typ": "access",
        "jti": "a1",
    }
    assert security.decode_access_token(key, jwt.encode(claims, key, "HS256")).client_id == 7
    others = [{**claims, "iss": "another-issuer"}, {**claims, "aud": "another-api"}]
    missing = [{k: v for k, v in claims.items() if k != gone} for gone in REQUIRED_CLAIMS]
    for forged in others + missing:
        with pytest.raises(security.InvalidToken) as refused:
            security.decode_access_token(key, jwt.encode(forged, key, "HS256"))
        assert refused.value.code == "invalid_token", forged


def test_a_signed_token_with_a_bad_subject_brand_or_id_is_invalid() -> None:
    key = b"k" * 32
    now = datetime.now(UTC)
    claims = {
        "iss": "brokerstack",
        "aud": "brokerstack-api",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "typ": "refresh",
    }
    for sub, jti in [("7", "not-a-uuid"), ("seven", "7c9e6679-7425-40de-944b-e07fc1f90ae7")]:
        token = jwt.encode({**claims, "sub": sub, "jti": jti}, key, "HS256")
        with pytest.raises(security.InvalidToken) as refused:
            security.decode_refresh_token(key, token)
        assert refused.value.code == "invalid_token"
    access = {**claims, "typ": "access", "jti": "a1", "scope": "read"}
    for sub, brand in [("seven", 3), ("7", "three"), ("7", None)]:
        token = jwt.encode({**access, "sub": sub, "brand": brand}, key, "HS256")
        with pytest.raises(security.InvalidToken) as refused:
            security.decode_access_token(key, token)
        assert refused.value.code == "invalid_token"


def test_an_access_token_grants_only_the_scopes_the_api_knows() -> None:
    key = b"k" * 32
    token, _ = security.issue_access_token(
        key, 7, 3, frozenset({"read", "admin"}), timedelta(minutes=5)
    )
    assert security.decode_access_token(key, token).scopes == frozenset({"read"})


def test_the_signing_key_is_made_once_and_shared(tmp_path: Path) -> None:
    first = security.signing_key(SecretStr(""), tmp_path)
    assert len(first) == 64
    assert security.signing_key(SecretStr(""), tmp_path) == first
    assert (tmp_path / "api" / "signing.key").stat().st_mode & 0o777 == 0o600
    assert security.signing_key(SecretStr("configured"), tmp_path) == b"configured"


def test_api_keys_split_and_match_only_their_secret() -> None:
    new = security.new_api_key()
    parts = security.split_api_key(new.token)
    assert parts is not None
    key_id, secret = parts
    assert key_id == new.key_id
    assert security.secret_matches(secret, new.secret_sha256)
    assert not security.secret_matches(secret + "x", new.secret_sha256)
    assert security.split_api_key("bsk_short_x") is None
    assert security.split_api_key("Bearer something") is None


def test_every_execution_reject_code_has_a_status_and_keeps_its_code() -> None:
    assert set(REJECT_STATUS) == set(RejectCode)
    error = rejected(RejectCode.NO_MONEY, "", "rq:1")
    assert (error.status, error.code, error.details["request_id"]) == (422, "no_money", "rq:1")
    assert rejected(RejectCode.TOO_MANY_REQUESTS, "", "r").status == 429


def test_validation_errors_name_each_field() -> None:
    body = validation_body(
        [
            {"loc": ("body", "legs", 0, "volume"), "msg": "too big", "type": "less_than"},
            {"loc": (), "msg": "bad json", "type": "json_invalid"},
        ]
    )
    fields = body["error"]["details"]["fields"]
    assert [f["field"] for f in fields] == ["legs.0.volume", "body"]
    assert body["error"]["message"] == "invalid value for legs.0.volume"
