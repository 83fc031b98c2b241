"""Brands: each brand's rules (countries, default account groups, retail leverage caps,
maker-checker threshold, mail sender) as a typed object the other areas apply."""

from backoffice.brands.rules import BrandRules
from backoffice.brands.store import BrandChange, BrandConfig, LeverageCap, brand_rules

__all__ = ["BrandChange", "BrandConfig", "BrandRules", "LeverageCap", "brand_rules"]
