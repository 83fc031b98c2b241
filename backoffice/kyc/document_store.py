"""Where KYC documents' bytes are kept, by their SHA-256: a folder (the default
``<data folder>/kyc-documents``, or ``documents_url`` as ``file:///path`` or a plain path) or an
S3-compatible bucket (``documents_url`` = ``s3://bucket`` or ``s3://bucket/prefix``).

A folder keeps each file readable by its owner only and written whole (a reader never sees
half a file). A bucket is reached with boto3 and the standard AWS configuration (credentials
from ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, a profile or an instance role; the
region from ``AWS_DEFAULT_REGION``); ``documents_s3_endpoint`` names an S3-compatible service
other than AWS (MinIO, Ceph, a cloud's S3 API). The bucket must exist: a missing bucket or
refused credentials are named in the error, not hidden.

The same bytes are stored once whoever uploads them; removing content is the purge's
business (:mod:`backoffice.kyc.document_purge`), once no document row refers to it.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from brokerstack.errors import ConfigError
from brokerstack.settings import Settings


class ContentMissing(LookupError):
    """No content is stored under that digest."""


class StoreUnavailable(RuntimeError):
    """The store could not be reached or refused the request (the message says why)."""


class DocumentStore(Protocol):
    def put(self, digest: str, data: bytes) -> None:
        """Keep ``data`` under ``digest`` (the same bytes again change nothing)."""

    def get(self, digest: str) -> bytes:
        """The bytes under ``digest``; :class:`ContentMissing` if there are none."""

    def delete(self, digest: str) -> None:
        """Remove the bytes under ``digest`` (nothing stored there is not an error)."""

    def describe(self) -> str:
        """Where the store is, for operators."""


class FolderStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _ready(self) -> Path:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self.folder

    def put(self, digest: str, data: bytes) -> None:
        folder = self._ready()
        target = folder / digest
        if target.exists():
            return
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".incoming-")
        try:
            os.fchmod(handle, 0o600)
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, digest: str) -> bytes:
        try:
            return (self.folder / digest).read_bytes()
        except FileNotFoundError:
            raise ContentMissing(digest) from None

    def delete(self, digest: str) -> None:
        (self.folder / digest).unlink(missing_ok=True)

    def describe(self) -> str:
        return str(self.folder)


class BucketStore:
    def __init__(self, bucket: str, prefix: str, endpoint: str | None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix, self.endpoint = bucket, prefix, endpoint
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            config=Config(retries={"mode": "standard", "max_attempts": 4},
                          connect_timeout=5, read_timeout=30),
        )  # fmt: skip

    def _key(self, digest: str) -> str:
        return f"{self.prefix}{digest}"

    def _call(self, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                raise ContentMissing(kwargs.get("Key", "")) from None
            raise StoreUnavailable(f"{self.describe()}: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StoreUnavailable(f"{self.describe()}: {exc}") from exc

    def put(self, digest: str, data: bytes) -> None:
        try:
            self._call("head_object", Key=self._key(digest))
            return
        except ContentMissing:
            pass
        self._call("put_object", Key=self._key(digest), Body=data,
                   ContentType="application/octet-stream")  # fmt: skip

    def get(self, digest: str) -> bytes:
        body = self._call("get_object", Key=self._key(digest))["Body"]
        try:
            return bytes(body.read())
        finally:
            body.close()

    def delete(self, digest: str) -> None:
        self._call("delete_object", Key=self._key(digest))

    def describe(self) -> str:
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"


def document_store(settings: Settings) -> DocumentStore:
    """The store ``settings`` name (a bucket's client is made once per bucket and endpoint)."""
    url = settings.backoffice.documents_url
    if not url:
        return FolderStore(settings.data_path / "kyc-documents")
    parts = urlsplit(url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ConfigError(f"BROKERSTACK_BACKOFFICE_DOCUMENTS_URL {url!r} names no bucket")
        prefix = parts.path.strip("/")
        return _bucket(parts.netloc, f"{prefix}/" if prefix else "",
                       settings.backoffice.documents_s3_endpoint or None)  # fmt: skip
    if parts.scheme not in ("", "file"):
        raise ConfigError(
            f"BROKERSTACK_BACKOFFICE_DOCUMENTS_URL {url!r}: a folder (file:///path or a path) "
            "or an S3 bucket (s3://bucket/prefix)"
        )
    return FolderStore(Path(parts.path if parts.scheme == "file" else url))


@functools.cache
def _bucket(bucket: str, prefix: str, endpoint: str | None) -> BucketStore:
    return BucketStore(bucket, prefix, endpoint)
