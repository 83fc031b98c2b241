"""Credentials: password hashes (argon2, the back office's), signed access tokens (JWT,
HS256) and API keys.

Pure functions plus the signing key's home; nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import jwt
from pydantic import SecretStr

# the api's names for the back office's hashes (clients' and staff's are the same kind)
from backoffice.passwords import hash_password as hash_password
from backoffice.passwords import verify_password as verify_password

ISSUER: Final = "brokerstack"
AUDIENCE: Final = "brokerstack-api"
ALGORITHM: Final = "HS256"
SCOPES: Final = ("read", "trade")
KEY_PREFIX: Final = "bsk"


def signing_key(configured: SecretStr, data_dir: Path) -> bytes:
    """The configured key, or one generated once under the data folder (0600) and reused.

    Several workers may start at once: the first to create the file wins, the others read it.
    """
    if configured.get_secret_value():
        return configured.get_secret_value().encode()
    path = data_dir.expanduser().resolve() / "api" / "signing.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
        raise RuntimeError(f"{path} holds a truncated key; delete it to make a new one") from None
    with os.fdopen(fd, "wb") as out:
        key = secrets.token_hex(32).encode()
        out.write(key)
    return key


@dataclass(frozen=True, slots=True)
class AccessClaims:
    client_id: int
    brand_id: int
    scopes: frozenset[str]
    expires_at: datetime


def _encode(key: bytes, claims: dict[str, Any], ttl: timedelta) -> tuple[str, datetime]:
    now = datetime.now(UTC)
    expires = now + ttl
    full = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": expires, **claims}
    return jwt.encode(full, key, algorithm=ALGORITHM), expires


def issue_access_token(
    key: bytes, client_id: int, brand_id: int, scopes: frozenset[str], ttl: timedelta
) -> tuple[str, datetime]:
    claims = {
        "sub": str(client_id),
        "brand": brand_id,
        "scope": " ".join(sorted(scopes)),
        "typ": "access",
        "jti": uuid.uuid4().hex,
    }
    return _encode(key, claims, ttl)


def issue_refresh_token(
    key: bytes, client_id: int, token_id: uuid.UUID, ttl: timedelta
) -> tuple[str, datetime]:
    claims = {"sub": str(client_id), "typ": "refresh", "jti": str(token_id)}
    return _encode(key, claims, ttl)


class InvalidToken(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _decode(key: bytes, token: str, kind: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "aud", "iss", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token_expired", f"the {kind} token has expired") from None
    except jwt.PyJWTError as error:
        raise InvalidToken("invalid_token", f"the {kind} token is invalid: {error}") from None
    if claims.get("typ") != kind:
        raise InvalidToken("invalid_token", f"not a {kind} token")
    return claims


def decode_access_token(key: bytes, token: str) -> AccessClaims:
    claims = _decode(key, token, "access")
    try:
        return AccessClaims(
            client_id=int(claims["sub"]),
            brand_id=int(claims["brand"]),
            scopes=frozenset(str(claims.get("scope", "")).split()) & frozenset(SCOPES),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidToken("invalid_token", f"the access token is invalid: {error}") from None


def decode_refresh_token(key: bytes, token: str) -> tuple[int, uuid.UUID]:
    """(client id, token id) of a validly signed, unexpired refresh token."""
    claims = _decode(key, token, "refresh")
    try:
        return int(claims["sub"]), uuid.UUID(str(claims["jti"]))
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidToken("invalid_token", f"the refresh token is invalid: {error}") from None


# --- API keys: "bsk_<key id>_<secret>"; the key id finds the row, the secret is checked ---


@dataclass(frozen=True, slots=True)
class NewApiKey:
    key_id: str
    secret_sha256: bytes
    token: str  # shown to the client once


def new_api_key() -> NewApiKey:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return NewApiKey(key_id, secret_digest(secret), f"{KEY_PREFIX}_{key_id}_{secret}")


def secret_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def split_api_key(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or len(key_id) != 16 or len(secret) < 32:
        return None
    return key_id, secret


def secret_matches(secret: str, digest: bytes) -> bool:
    return hmac.compare_digest(secret_digest(secret), digest)
