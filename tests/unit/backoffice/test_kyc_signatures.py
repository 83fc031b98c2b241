"""The provider's two signatures, against digests computed with openssl (``openssl dgst
-sha256 -hmac KEY``) over the same bytes."""

from __future__ import annotations

from backoffice.kyc import signatures

REQUEST_SIG = "069e90e4486eaeb3329f16b1344578d67778462d4de96f3bccd87a9cb1a3ddc5"
BODY = b'{"type":"applicantPending","applicantId":"abc"}'
BODY_SHA256 = "146a298c1f33bbe6ed603b876dd7193799c231cfd1915435519839c0153991c9"
BODY_SHA512 = (
    "a379af26fc5cf4249ee783ed13dbd04582de15f4606d287e4b6f6392f62e354a"
    "84b977d59b01e5344245c66dae07df588d7a497e22cdd37cabf2218fc70d74f5"
)
PATH = "/resources/applicants?levelName=basic-kyc-level"
REQUEST_BODY = b'{"externalUserId":"42"}'


def test_a_request_is_signed_over_time_method_path_and_body() -> None:
    signature = signatures.request_signature("secret-key", 1607551635, "post", PATH, REQUEST_BODY)
    assert signature == REQUEST_SIG
    assert signatures.request_signed("secret-key", 1607551635, "POST", PATH, REQUEST_BODY,
                                     REQUEST_SIG.upper())  # fmt: skip


def test_a_request_changed_in_any_part_no_longer_matches() -> None:
    for ts, method, path, body in (
        (1607551636, "POST", PATH, REQUEST_BODY),
        (1607551635, "GET", PATH, REQUEST_BODY),
        (1607551635, "POST", "/resources/applicants?levelName=other", REQUEST_BODY),
        (1607551635, "POST", PATH, b'{"externalUserId":"43"}'),
    ):
        assert not signatures.request_signed("secret-key", ts, method, path, body, REQUEST_SIG)
    assert not signatures.request_signed("other-key", 1607551635, "POST", PATH, REQUEST_BODY,
                                         REQUEST_SIG)  # fmt: skip


def test_a_webhook_digest_is_the_hmac_of_the_raw_body_under_the_named_algorithm() -> None:
    assert signatures.payload_digest("webhook-secret", BODY) == BODY_SHA256
    assert signatures.payload_signed("webhook-secret", BODY, BODY_SHA256, "HMAC_SHA256_HEX")
    assert signatures.payload_signed("webhook-secret", BODY, BODY_SHA256, None)  # the default
    assert signatures.payload_signed("webhook-secret", BODY, BODY_SHA512, "HMAC_SHA512_HEX")


def test_forged_changed_or_missing_digests_are_refused() -> None:
    changed = BODY.replace(b"Pending", b"Reviewed")
    assert not signatures.payload_signed("webhook-secret", changed, BODY_SHA256, None)
    assert not signatures.payload_signed("another-secret", BODY, BODY_SHA256, None)
    assert not signatures.payload_signed("webhook-secret", BODY, None, None)
    assert not signatures.payload_signed("webhook-secret", BODY, "", None)
    assert not signatures.payload_signed("webhook-secret", BODY, "zz\u00e9", None)
    assert not signatures.payload_signed("webhook-secret", BODY, BODY_SHA256, "HMAC_MD5_HEX")
    # a digest of another algorithm than the header names
    assert not signatures.payload_signed("webhook-secret", BODY, BODY_SHA256, "HMAC_SHA512_HEX")
