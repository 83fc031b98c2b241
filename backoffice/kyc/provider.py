"""The KYC provider's API, Sumsub's shape: an applicant per client (our client id as its
external user id) at a level, documents per type and side, a check, the review status.

Every request is signed (see :mod:`backoffice.kyc.signatures`) over the exact bytes sent, so the
request is built first, then signed, then sent. The base URL is the configured provider's, or
the local simulator's that ``brokerstack up`` starts.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from backoffice.kyc import signatures
from backoffice.kyc.errors import ProviderError
from brokerstack.settings import Settings

# our document kinds and sides -> the provider's idDocType / idDocSubType
DOC_TYPES = {
    "passport": "PASSPORT",
    "id_card": "ID_CARD",
    "driving_licence": "DRIVERS",
    "residence_permit": "RESIDENCE_PERMIT",
    "proof_of_address": "UTILITY_BILL",
    "selfie": "SELFIE",
    "other": "OTHER",
}
DOC_SIDES = {"front": "FRONT_SIDE", "back": "BACK_SIDE"}


@dataclass(frozen=True, slots=True)
class Applicant:
    id: str
    external_user_id: str
    level_name: str


@dataclass(frozen=True, slots=True)
class ReviewStatus:
    review_status: str  # init, pending, queued, onHold, completed
    review_answer: str | None  # GREEN, RED once completed
    reject_type: str | None
    reject_labels: list[str]


def provider_url(settings: Settings) -> str:
    """The configured provider, or the local simulator."""
    config = settings.backoffice
    return config.kyc_url or f"http://{settings.host}:{config.kyc_simulator_port}"


class KycProvider:
    """A Sumsub-shaped client (``close()`` it, or use it as a context manager)."""

    def __init__(
        self, base_url: str, app_token: str, secret_key: str, timeout: float = 10.0
    ) -> None:
        self._secret_key = secret_key
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            headers={signatures.APP_TOKEN_HEADER: app_token, "Accept": "application/json"},
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> KycProvider:
        config = settings.backoffice
        return cls(
            provider_url(settings),
            config.kyc_app_token.get_secret_value(),
            config.kyc_secret_key.get_secret_value(),
        )

    def __enter__(self) -> KycProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def create_applicant(self, external_user_id: str, level_name: str) -> Applicant:
        body = self._send(
            "POST",
            "/resources/applicants",
            params={"levelName": level_name},
            json={"externalUserId": external_user_id},
        )
        return Applicant(str(body["id"]), str(body["externalUserId"]), level_name)

    def find_applicant(self, external_user_id: str) -> Applicant | None:
        """The applicant the provider holds for our client, if any."""
        try:
            body = self._send(
                "GET", f"/resources/applicants/-;externalUserId={external_user_id}/one"
            )
        except ProviderError as exc:
            if exc.details.get("status") == 404:
                return None
            raise
        return Applicant(str(body["id"]), str(body["externalUserId"]), str(body["levelName"]))

    def move_to_level(self, applicant_id: str, level_name: str) -> None:
        """Have the applicant checked against another level (the next KYC level's
        requirements); the documents sent before stay with it."""
        self._send("POST", f"/resources/applicants/{applicant_id}/moveToLevel",
                   params={"name": level_name})  # fmt: skip

    def add_document(
        self,
        applicant_id: str,
        kind: str,
        side: str | None,
        country: str | None,
        filename: str,
        content: bytes,
        content_type: str,
    ) -> str:
        """Upload one document side; the provider's id of the image."""
        metadata: dict[str, str] = {"idDocType": DOC_TYPES[kind]}
        if side is not None:
            metadata["idDocSubType"] = DOC_SIDES[side]
        if country is not None:
            metadata["country"] = country
        body = self._send(
            "POST",
            f"/resources/applicants/{applicant_id}/info/idDoc",
            data={"metadata": json.dumps(metadata)},
            files={"content": (filename, content, content_type)},
        )
        return str(body.get("imageId", body.get("id", "")))

    def request_check(self, applicant_id: str) -> None:
        """Ask for the review (the provider answers with webhooks as it goes)."""
        self._send("POST", f"/resources/applicants/{applicant_id}/status/pending")

    def get_status(self, applicant_id: str) -> ReviewStatus:
        body = self._send("GET", f"/resources/applicants/{applicant_id}/status")
        result = body.get("reviewResult") or {}
        return ReviewStatus(
            review_status=str(body.get("reviewStatus", "init")),
            review_answer=result.get("reviewAnswer"),
            reject_type=result.get("reviewRejectType"),
            reject_labels=list(result.get("rejectLabels", [])),
        )

    def _send(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        request = self._http.build_request(method, path, **kwargs)
        body = request.read()
        ts = int(time.time())
        target = request.url.raw_path.decode()
        request.headers[signatures.TIMESTAMP_HEADER] = str(ts)
        request.headers[signatures.SIGNATURE_HEADER] = signatures.request_signature(
            self._secret_key, ts, method, target, body
        )
        try:
            response = self._http.send(request)
        except httpx.HTTPError as exc:
            raise ProviderError(f"the KYC provider could not be reached: {exc}") from exc
        if response.is_error:
            raise ProviderError(
                f"the KYC provider refused {method} {path}: {response.status_code}",
                status=response.status_code,
                body=response.text[:500],
            )
        answer = response.json() if response.content else {}
        return answer if isinstance(answer, dict) else {"items": answer}
