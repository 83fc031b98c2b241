"""Settings of one execution service process (``BROKERSTACK_EXECUTION_*``); where the
warehouse and Redis are comes from the stack's own settings."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from brokerstack.settings import SettingsBase

Positive = Annotated[int, Field(gt=0)]


class ExecutionSettings(SettingsBase):
    model_config = SettingsConfigDict(env_prefix="BROKERSTACK_EXECUTION_")

    shard: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")] = "main"
    read_count: Positive = 1000  # command entries per XREADGROUP
    max_items: Positive = 256  # inbox items per pass of the loop
    remembered: Positive = 100_000  # replies reloaded for replayed request ids
    warm_up_seconds: Annotated[float, Field(ge=0)] = 5.0  # wait for prices before commands
    # Where A-book and hedge orders go: in-process LPs quoting a random walk ("demo"), or the
    # FIX 4.4 sessions configured in the warehouse ("fix").
    lps: Literal["demo", "fix"] = "demo"
    demo_quote_interval: Annotated[float, Field(gt=0)] = 0.25  # seconds between demo quotes
    demo_seed: int | None = None  # random-walk seed of the demo quotes
