"""Brands' rules: allowed and blocked countries, default account groups, retail leverage
caps, the maker-checker threshold, the mail sender."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

from api.decimals import DecimalGrammar
from api.deps import ServicesDep
from api.errors import ERROR_RESPONSES
from api.schemas import ID_MAX
from api.staff_auth import StaffPrincipal, require
from backoffice.brands import BrandChange, BrandConfig, LeverageCap
from backoffice.brands import store as brands

router = APIRouter(prefix="/v1/admin/brands", tags=["admin: brands"], responses=ERROR_RESPONSES)

Reader = Annotated[StaffPrincipal, require("brands.read")]
Manager = Annotated[StaffPrincipal, require("brands.manage")]
BrandId = Annotated[int, Path(ge=1, le=ID_MAX, description="Brand id.")]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
CountryOrAny = Annotated[str, Field(pattern=r"^([A-Z]{2}|\*)$")]
GroupCode = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
# money in the brand's maker-checker currency, cents at most (0.01: everything is checked)
THRESHOLD = DecimalGrammar(integer_digits=15, fraction_digits=2, example="1000.00")
Threshold = Annotated[
    Decimal,
    PlainValidator(THRESHOLD.parse, json_schema_input_type=str),
    WithJsonSchema(THRESHOLD.json_schema()),
]
SYMBOL_GROUP = r"^([a-z0-9][a-z0-9._-]{0,63}|\*)$"
TEXT = r"^[^\x00-\x1f]*$"  # one line of text: no control characters
EMAIL_OR_NONE = r"^([^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+)?$"


class LeverageCapIo(BaseModel):
    country: CountryOrAny = Field(description="ISO country, or * for any.")
    symbol_group: str = Field(
        pattern=r"^([a-z0-9][a-z0-9._-]{0,63}|\*)$", description="or * for any"
    )
    max_leverage: int = Field(ge=1, le=10_000)


class BrandOut(BaseModel):
    id: int
    code: str
    name: str
    allowed_countries: list[str] = Field(description="Empty: every country not blocked.")
    blocked_countries: list[str]
    default_groups: dict[str, str] = Field(description="Account kind -> group code.")
    leverage_caps: list[LeverageCapIo]
    maker_checker_threshold: Decimal
    maker_checker_currency: str
    mail_from_name: str
    mail_from_address: str


class DefaultGroups(BaseModel):
    """The group code new accounts of each kind go to; a kind left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    demo: GroupCode | None = None
    live: GroupCode | None = None
    prop: GroupCode | None = None


class BrandUpdate(BaseModel):
    """Fields left out stay as they are; a list given replaces the whole list."""

    allowed_countries: list[Country] | None = Field(default=None, max_length=300)
    blocked_countries: list[Country] | None = Field(default=None, max_length=300)
    default_groups: DefaultGroups | None = None
    # within the api's 64 KiB body limit; a "*" country row covers many countries at once
    leverage_caps: list[LeverageCapIo] | None = Field(default=None, max_length=400)
    maker_checker_threshold: Threshold | None = Field(
        default=None, description="Above this amount a balance or credit operation waits for "
        "a second approver: " + THRESHOLD.rule)  # fmt: skip
    maker_checker_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    mail_from_name: str | None = Field(default=None, max_length=200, pattern=TEXT)
    mail_from_address: str | None = Field(default=None, max_length=320, pattern=EMAIL_OR_NONE)


def _out(config: BrandConfig) -> BrandOut:
    return BrandOut.model_validate(config, from_attributes=True)


@router.get("", response_model=list[BrandOut], summary="Your brands and their rules")
def list_brands(services: ServicesDep, principal: Reader) -> list[BrandOut]:
    with services.db.connection() as conn:
        return [_out(b) for b in brands.list_brands(conn, principal.scope)]


@router.get("/{brand_id}", response_model=BrandOut, summary="A brand's rules")
def get_brand(services: ServicesDep, principal: Reader, brand_id: BrandId) -> BrandOut:
    with services.db.connection() as conn:
        return _out(brands.brand_config(conn, principal.scope, brand_id))


@router.patch("/{brand_id}", response_model=BrandOut, summary="Change a brand's rules")
def update_brand(
    services: ServicesDep, principal: Manager, brand_id: BrandId, body: BrandUpdate
) -> BrandOut:
    groups = None if body.default_groups is None else body.default_groups.model_dump()
    change = BrandChange(
        **body.model_dump(exclude={"leverage_caps", "default_groups"}),
        default_groups=None if groups is None else {k: v for k, v in groups.items() if v},
        leverage_caps=None
        if body.leverage_caps is None
        else [LeverageCap(c.country, c.symbol_group, c.max_leverage) for c in body.leverage_caps],
    )
    with services.db.connection() as conn:
        return _out(brands.update_brand(conn, principal.actor, principal.scope, brand_id, change))
