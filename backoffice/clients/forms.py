"""What clients send to the portal: the fields and their rules, all in the schema (so the
published OpenAPI admits exactly what is taken); the rules only the warehouse can judge (the
brand's countries, a taken address) are the services'."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from backoffice.clients.tokens import TOKEN_PATTERN
from backoffice.crm.submission import Country, Email, Language

# a person's name: no digits, control characters or markup; something other than spaces
_NAME_CHAR = r"[^\x00-\x1f\x7f0-9@<>\"\\]"
NAME_PATTERN = rf"^{_NAME_CHAR}*[^\x00-\x20\x7f0-9@<>\"\\]{_NAME_CHAR}*$"
FullName = Annotated[
    str,
    StringConstraints(min_length=3, max_length=200, pattern=NAME_PATTERN),
    Field(description="First and last name, as on the identity document"),
]
# no control characters; 10..128 characters
Password = Annotated[
    str, StringConstraints(min_length=10, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")
]
_ISO_DATE = re.compile(r"(?:19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}")  # the schema's pattern too


def _iso_date(value: object) -> object:
    """Only ISO 8601 text: pydantic would also read ``0`` or ``"1e9"`` as a Unix time."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("a date is ISO 8601 text, like 1990-04-30")
    return value


BirthDate = Annotated[
    date,
    BeforeValidator(_iso_date),
    Field(
        description="ISO 8601 date, YYYY-MM-DD",
        json_schema_extra={"pattern": r"^(?:19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$"},
    ),
]
BrandCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
Token = Annotated[str, StringConstraints(pattern=TOKEN_PATTERN)]
# backoffice.kyc.documents.KINDS, spelled out for the schema
DocumentKind = Literal[
    "passport", "id_card", "driving_licence", "residence_permit", "selfie",
    "proof_of_address", "other",
]  # fmt: skip
Side = Literal["front", "back"]
FormSide = Literal["front", "back", ""]  # a form field cannot be null: empty for no side


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Registration(_Form):
    brand: BrandCode = Field(description="The brand's code")
    email: Email
    password: Password
    full_name: FullName
    country: Country = Field(description="Country of residence, ISO 3166-1 alpha-2")
    birth_date: BirthDate
    language: Language = "en"


class ProfileChange(_Form):
    """Only the fields sent change."""

    full_name: FullName | None = None
    birth_date: BirthDate | None = None
    language: Language | None = None


class PasswordChange(_Form):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    new_password: Password


class ResetRequest(_Form):
    brand: BrandCode
    email: Email


class ResetConfirm(_Form):
    token: Token
    new_password: Password


class EmailVerification(_Form):
    token: Token
