"""Which brands a staff member works for: every query of the back office is cut to them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BrandScope:
    """``brand_ids`` None: every brand (an admin with no brand rows); otherwise exactly these
    (possibly none)."""

    brand_ids: frozenset[int] | None

    @classmethod
    def every_brand(cls) -> BrandScope:
        return cls(None)

    @classmethod
    def of(cls, *brand_ids: int) -> BrandScope:
        return cls(frozenset(brand_ids))

    @property
    def unlimited(self) -> bool:
        return self.brand_ids is None

    def allows(self, brand_id: int | None) -> bool:
        if self.brand_ids is None:
            return True
        return brand_id is not None and brand_id in self.brand_ids

    def covers(self, other: BrandScope) -> bool:
        """Whether everything ``other`` reaches is within this scope (so a staff member of
        brand A cannot act on a colleague who also works for brand B)."""
        if self.brand_ids is None:
            return True
        return (
            other.brand_ids is not None
            and bool(other.brand_ids)
            and (other.brand_ids <= self.brand_ids)
        )

    @property
    def param(self) -> list[int] | None:
        """For SQL: ``(%(brands)s::bigint[] IS NULL OR brand_id = ANY(%(brands)s))``."""
        return None if self.brand_ids is None else sorted(self.brand_ids)
