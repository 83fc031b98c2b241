"""Password hashes (argon2id through pwdlib), for clients and staff alike."""

from __future__ import annotations

from pwdlib import PasswordHash

_passwords = PasswordHash.recommended()  # argon2id with the library's current parameters
# Verifying against this keeps the time of "no such user" close to "wrong password".
_DUMMY_HASH = _passwords.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _passwords.verify(password, _DUMMY_HASH)
        return False
    return _passwords.verify(password, password_hash)
