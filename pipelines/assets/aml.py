"""AML monitoring of each trading day and its check (the work: ``pipelines.aml``)."""

from decimal import Decimal
from typing import Any

import dagster as dg
from dagster import AssetCheckExecutionContext, AssetExecutionContext

from pipelines.aml import AmlDataError, Thresholds, alert_problems, screen_day
from pipelines.partitions import trading_day, trading_days
from pipelines.resources import Warehouse

_D = Thresholds()


class AmlConfig(dg.Config):
    """The rules' thresholds for a run (amounts in EUR; decimals as text, kept exact)."""

    window_hours: int = _D.window_hours
    large_deposit_eur: str = str(_D.large_deposit_eur)
    withdrawal_share: str = str(_D.withdrawal_share)
    turnover_days: int = _D.turnover_days
    turnover_min_deposits_eur: str = str(_D.turnover_min_deposits_eur)
    turnover_ratio: str = str(_D.turnover_ratio)
    mismatch_days: int = _D.mismatch_days
    reporting_threshold_eur: str = str(_D.reporting_threshold_eur)
    structuring_floor: str = str(_D.structuring_floor)
    structuring_count: int = _D.structuring_count
    structuring_days: int = _D.structuring_days
    velocity_days: int = _D.velocity_days
    velocity_multiple: str = str(_D.velocity_multiple)
    velocity_min_eur: str = str(_D.velocity_min_eur)

    def thresholds(self) -> Thresholds:
        values: dict[str, Any] = {
            name: Decimal(value) if isinstance(getattr(_D, name), Decimal) else value
            for name, value in self.model_dump().items()
        }
        return Thresholds(**values)


@dg.asset(partitions_def=trading_days)
def aml_alerts(
    context: AssetExecutionContext, config: AmlConfig, warehouse: Warehouse
) -> dg.MaterializeResult[None]:
    """The day's AML rule hits over succeeded payments and trading, one alert each."""
    day = trading_day(context.partition_key)
    with warehouse.connection() as conn:
        try:
            result = screen_day(conn, day, config.thresholds())
        except AmlDataError as error:
            raise dg.Failure(f"AML screening of {day.trade_date} impossible: {error}") from error
    return dg.MaterializeResult(
        metadata={
            "trade_date": day.trade_date.isoformat(),
            "payments": result.payments,
            "clients": result.clients,
            "hits": result.hits,
            "new_alerts": result.new_alerts,
            "by_rule": result.by_rule,
        }
    )


@dg.asset_check(asset=aml_alerts, blocking=True)
def aml_alerts_refer_to_rows(
    context: AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Every alert of the day names its client and payments, which exist and are the
    client's, under the fingerprint of its rule and payments."""
    day = trading_day(context.op_execution_context.partition_key)
    with warehouse.connection() as conn:
        problems = alert_problems(conn, day)
    return dg.AssetCheckResult(
        passed=not problems, metadata={"problems": problems[:50], "count": len(problems)}
    )
