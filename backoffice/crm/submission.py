"""What a brand's website sends when a visitor leaves their details: the fields, their rules
and the normal forms dedupe compares (e-mail case-insensitively, the phone in E.164).

The rules are all in the schema (patterns, the country list, "an e-mail or a phone"), so what
the published OpenAPI admits is exactly what is accepted.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from backoffice.crm.countries import COUNTRIES

# The WHATWG rule browsers apply to <input type=email>: what a website form already accepted.
EMAIL_PATTERN = (
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
# E.164 (a plus, then up to 15 digits, no leading zero), with the spaces, dots or dashes
# people type between groups of digits.
PHONE_PATTERN = r"^\+[1-9](?:[ .-]?[0-9]){6,14}$"
# Free text without control characters (PostgreSQL text cannot hold NUL).
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
PRINTABLE_PATTERN = r"^[\x21-\x7e]+$"

_SEPARATORS = re.compile(r"[ .-]")


def e164(phone: str) -> str:
    """The phone as E.164: the plus and the digits."""
    return _SEPARATORS.sub("", phone)


def _known_country(code: str) -> str:
    if code not in COUNTRIES:
        raise ValueError("not an ISO 3166-1 alpha-2 country code")
    return code


Email = Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN)]
Phone = Annotated[str, Field(max_length=32, pattern=PHONE_PATTERN, examples=["+420 601 123 456"])]
Country = Annotated[
    str,
    Field(json_schema_extra={"enum": sorted(COUNTRIES)}, description="ISO 3166-1 alpha-2"),
    AfterValidator(_known_country),
]
Language = Annotated[str, Field(pattern=r"^[a-z]{2}$", description="ISO 639-1, e.g. en, de")]
Text = Annotated[str, Field(max_length=200, pattern=TEXT_PATTERN)]
Token = Annotated[str, Field(max_length=200, pattern=PRINTABLE_PATTERN)]


class LeadSubmission(BaseModel):
    """A visitor's details from the brand's website (an e-mail or a phone at least)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"required": ["email"], "properties": {"email": {"type": "string"}}},
                {"required": ["phone"], "properties": {"phone": {"type": "string"}}},
            ]
        },
    )

    full_name: Text | None = None
    email: Email | None = None
    phone: Phone | None = None
    country: Country | None = None
    language: Language | None = None
    source: Annotated[str, Field(pattern=r"^[a-z0-9_.-]{1,40}$")] = "web"
    utm_source: Text | None = None
    utm_medium: Text | None = None
    utm_campaign: Text | None = None
    utm_term: Text | None = None
    utm_content: Text | None = None
    click_id: Token | None = Field(default=None, description="The affiliate network's click id")
    referral_code: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = Field(
        default=None, description="An introducing broker's referral code"
    )

    @model_validator(mode="after")
    def _reachable(self) -> LeadSubmission:
        if self.email is None and self.phone is None:
            raise ValueError("an e-mail or a phone is required")
        return self

    @property
    def phone_e164(self) -> str | None:
        return None if self.phone is None else e164(self.phone)

    def fields(self) -> dict[str, Any]:
        """The lead's columns this submission gives (absent ones left out)."""
        values = self.model_dump(exclude_none=True)
        if self.phone is not None:
            values["phone_e164"] = e164(self.phone)
        return values
