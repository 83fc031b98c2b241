"""Assets and their checks, one module per area (groups named after it)."""

from __future__ import annotations

import dagster as dg

from pipelines.assets import (
    accounts,
    aml,
    candles,
    client_money,
    metrics,
    partners,
    pnl,
    regulatory,
    snapshot,
)

AREAS = (candles, accounts, pnl, metrics, regulatory, client_money, partners, aml, snapshot)

ALL_ASSETS: list[dg.AssetsDefinition] = [
    asset
    for area in AREAS
    for asset in dg.load_assets_from_modules([area], group_name=area.__name__.rsplit(".", 1)[1])
    if isinstance(asset, dg.AssetsDefinition)
]
ALL_CHECKS = dg.load_asset_checks_from_modules(list(AREAS))
