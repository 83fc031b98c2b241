"""AML monitoring: rules over a day's payments and trading, one alert per hit."""

from pipelines.aml.monitor import AmlDataError, Screening, alert_problems, screen_day
from pipelines.aml.rules import Thresholds

__all__ = ["AmlDataError", "Screening", "Thresholds", "alert_problems", "screen_day"]
