"""KYC documents kept in a folder or an S3-compatible bucket (moto's server: the S3 wire
protocol over HTTP): stored once by their SHA-256, served only while they match it, an
unreachable bucket refused with nothing recorded, and the purge removing the bytes of purged
documents — not those another document still shares — finishing after an interruption."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import psycopg
import pytest
from moto.server import ThreadedMotoServer
from pydantic import PostgresDsn

from backoffice.audit import Actor
from backoffice.audit.retention import purge
from backoffice.errors import Refused
from backoffice.kyc.content_removal import remove_purged_content
from backoffice.kyc.document_store import StoreUnavailable
from backoffice.kyc.documents import read_document, store_document
from backoffice.kyc.errors import DocumentRefused, DocumentsUnavailable, NotFound
from brokerstack.services.ports import free_port
from brokerstack.settings import BackofficeSettings, Settings
from tests.integration.backoffice.support_kyc import PNG, add_client, add_officer, scalar

BUCKET = "kyc-docs"
PREFIX = "brokerstack/kyc"


class Bucket:
    """A bucket on the S3 server, read directly (not through the code under test)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.s3: Any = boto3.client("s3", endpoint_url=endpoint)
        self.s3.create_bucket(Bucket=BUCKET)

    def stored_keys(self) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=BUCKET)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def read(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())

    def write(self, key: str, data: bytes) -> None:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=data)

    def remove(self, key: str) -> None:
        self.s3.delete_object(Bucket=BUCKET, Key=key)


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[Bucket]:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        httpx.post(f"{endpoint}/moto-api/reset").raise_for_status()  # moto's state is global
        yield Bucket(endpoint)
    finally:
        server.stop()


def bucket_settings(db_url: str, folder: Path, endpoint: str) -> Settings:
    return Settings(
        database_url=PostgresDsn(db_url),
        data_dir=folder,
        backoffice=BackofficeSettings(
            documents_url=f"s3://{BUCKET}/{PREFIX}/", documents_s3_endpoint=endpoint
        ),
    )


def brands(db_url: str) -> list[int]:
    return [int(scalar(db_url, "SELECT id FROM brands WHERE code = 'demo'"))]


def test_documents_go_to_the_bucket_once_and_are_served_while_they_match(
    seeded_db_url: str, tmp_path: Path, bucket: Bucket
) -> None:
    settings = bucket_settings(seeded_db_url, tmp_path, bucket.endpoint)
    first = add_client(seeded_db_url, "first@example.com")
    second = add_client(seeded_db_url, "second@example.com")
    selfie = PNG + b"selfie"
    with psycopg.connect(seeded_db_url) as conn:
        passport = store_document(conn, settings, first, "passport", "front", "p.png", PNG, "DE")
        store_document(conn, settings, first, "selfie", None, "s.png", selfie)
        # the same bytes from another client: a second row, the content kept once
        shared = store_document(conn, settings, second, "passport", "front", "x.png", PNG, "DE")
    key = f"{PREFIX}/{hashlib.sha256(PNG).hexdigest()}"
    assert bucket.stored_keys() == sorted([key, f"{PREFIX}/{hashlib.sha256(selfie).hexdigest()}"])
    assert bucket.read(key) == PNG
    assert not (tmp_path / "kyc-documents").exists()  # nothing went to the data folder
    assert shared.sha256 == passport.sha256

    officer = Actor.staff(add_officer(seeded_db_url, "officer@example.com"))
    with psycopg.connect(seeded_db_url) as conn:
        served = read_document(conn, settings, officer, brands(seeded_db_url), passport.id)
    assert served.data == PNG
    assert served.content_type == "image/png"

    bucket.write(key, PNG + b"changed in the bucket")
    with psycopg.connect(seeded_db_url) as conn, pytest.raises(DocumentRefused, match="SHA-256"):
        read_document(conn, settings, officer, brands(seeded_db_url), passport.id)
    bucket.remove(key)
    with psycopg.connect(seeded_db_url) as conn, pytest.raises(NotFound, match="no longer"):
        read_document(conn, settings, officer, brands(seeded_db_url), passport.id)
    viewed = scalar(seeded_db_url, "SELECT count(*) FROM audit_log WHERE action = "
                                   "'kyc.document.viewed'")  # fmt: skip
    assert viewed == 1  # only the read that served the document


def test_an_unreachable_bucket_refuses_the_upload_and_records_nothing(
    seeded_db_url: str, tmp_path: Path, bucket: Bucket
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = bucket_settings(seeded_db_url, tmp_path, closed)
    client = add_client(seeded_db_url, "client@example.com")
    with psycopg.connect(seeded_db_url) as conn, pytest.raises(DocumentsUnavailable) as refused:
        store_document(conn, settings, client, "passport", "front", "p.png", PNG, "DE")
    assert isinstance(refused.value, Refused)
    assert refused.value.kind == "unavailable"  # the api answers 503
    assert scalar(seeded_db_url, "SELECT count(*) FROM kyc_documents") == 0
    # a bucket that does not exist is named, not taken for a missing document
    missing = bucket_settings(seeded_db_url, tmp_path, bucket.endpoint).model_copy(
        update={"backoffice": BackofficeSettings(documents_url="s3://no-such-bucket",
                                                 documents_s3_endpoint=bucket.endpoint)}
    )  # fmt: skip
    with psycopg.connect(seeded_db_url) as conn, pytest.raises(DocumentsUnavailable,
                                                               match="NoSuchBucket"):  # fmt: skip
        store_document(conn, missing, client, "passport", "front", "p.png", PNG, "DE")
    assert scalar(seeded_db_url, "SELECT count(*) FROM kyc_documents") == 0


def close_long_ago(db_url: str, client: int) -> None:
    """The client left seven years ago: past the demo brand's five years for documents."""
    long_ago = datetime.now(UTC) - timedelta(days=7 * 366)
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE clients SET status = 'closed', updated_at = %s WHERE id = %s",
                     (long_ago, client))  # fmt: skip
        # the uploads' timeline entries would count as activity today
        conn.execute("DELETE FROM crm_events WHERE client_id = %s", (client,))


def removals(db_url: str) -> list[tuple[str, str]]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT sha256, outcome FROM kyc_document_content_removals ORDER BY purge_id"
        ).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


@pytest.mark.parametrize("store", ["folder", "bucket"])
def test_the_purge_removes_purged_documents_bytes_but_not_shared_ones(
    seeded_db_url: str, tmp_path: Path, bucket: Bucket, store: str
) -> None:
    if store == "bucket":
        settings = bucket_settings(seeded_db_url, tmp_path, bucket.endpoint)
    else:
        settings = Settings(database_url=PostgresDsn(seeded_db_url), data_dir=tmp_path)

    def stored() -> set[str]:
        if store == "bucket":
            return {key.removeprefix(f"{PREFIX}/") for key in bucket.stored_keys()}
        return {p.name for p in (tmp_path / "kyc-documents").iterdir()}

    gone = add_client(seeded_db_url, "gone@example.com")
    stays = add_client(seeded_db_url, "stays@example.com")
    own, common = PNG + b"only the gone client's", PNG
    with psycopg.connect(seeded_db_url) as conn:
        store_document(conn, settings, gone, "passport", "front", "p.png", common, "DE")
        store_document(conn, settings, gone, "selfie", None, "s.png", own)
        store_document(conn, settings, stays, "passport", "front", "p.png", common, "DE")
    close_long_ago(seeded_db_url, gone)
    own_digest, common_digest = hashlib.sha256(own).hexdigest(), hashlib.sha256(common).hexdigest()
    assert stored() == {own_digest, common_digest}

    with psycopg.connect(seeded_db_url) as conn:
        assert purge(conn).counts()["kyc_documents"] == 2
    # interrupted: the rows are gone, the store cannot be reached; nothing is marked done
    unreachable = settings.model_copy(update={"backoffice": BackofficeSettings(
        documents_url=f"s3://{BUCKET}", documents_s3_endpoint=f"http://127.0.0.1:{free_port()}"
    )})  # fmt: skip
    with psycopg.connect(seeded_db_url) as conn, pytest.raises(StoreUnavailable):
        remove_purged_content(conn, unreachable)
    # the shared content needs no store; the other is not marked done
    assert removals(seeded_db_url) == [(common_digest, "shared")]
    assert stored() == {own_digest, common_digest}

    with psycopg.connect(seeded_db_url) as conn:
        assert remove_purged_content(conn, settings) == 1
    assert stored() == {common_digest}  # still the staying client's passport
    assert sorted(removals(seeded_db_url)) == sorted(
        [(own_digest, "removed"), (common_digest, "shared")]
    )
    with psycopg.connect(seeded_db_url) as conn:
        assert remove_purged_content(conn, settings) == 0  # nothing twice
    officer = Actor.staff(add_officer(seeded_db_url, "officer@example.com"))
    kept = int(scalar(seeded_db_url, "SELECT d.id FROM kyc_documents d JOIN kyc_applications a "
                                     "ON a.id = d.application_id WHERE a.client_id = %s",
                      stays))  # fmt: skip
    with psycopg.connect(seeded_db_url) as conn:
        assert read_document(conn, settings, officer, brands(seeded_db_url), kept).data == common
