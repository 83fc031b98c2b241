"""What the KYC services refuse, each with a stable machine-readable code (a thin route maps
them to its HTTP answer: ``not_found`` 404, ``invalid_signature`` 401, the others 409/422)."""

from __future__ import annotations

from typing import Any

from backoffice.errors import RefusalKind, Refused


class KycError(Refused):
    code = "kyc_error"
    kind: RefusalKind = "invalid"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(self.kind, self.code, message, details)


class NotFound(KycError):
    """No such client or application, or not in the caller's brands (the same answer)."""

    code = "not_found"
    kind = "not_found"


class DecisionRefused(KycError):
    """The application's status (or the four-eyes rule) does not allow this decision."""

    code = "kyc_decision_refused"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message, **details)
        # naming a bad field is input; otherwise the application's state refuses it
        self.kind = "invalid" if {"field", "allowed"} & details.keys() else "conflict"


class DocumentRefused(KycError):
    """A document of a type, size or content we do not take."""

    code = "kyc_document_refused"
    kind = "invalid"


class InvalidEvent(KycError):
    """A provider event that cannot be applied as sent."""

    code = "kyc_invalid_event"
    kind = "invalid"


class WebhookRejected(KycError):
    """A webhook whose digest does not match its body (forged or changed): nothing is kept."""

    code = "invalid_signature"
    kind = "forbidden"


class ProviderError(KycError):
    """The KYC provider refused a request or could not be reached."""

    code = "kyc_provider_error"
    kind = "unavailable"


class DocumentsUnavailable(KycError):
    """The documents' store (a bucket) could not be reached or refused the request."""

    code = "kyc_documents_unavailable"
    kind = "unavailable"
