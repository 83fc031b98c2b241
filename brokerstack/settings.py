"""Settings from ``BROKERSTACK_*`` environment variables and an optional ``.env`` file.

Unset service URLs mean "run the embedded service under the data folder".
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import Field, PostgresDsn, RedisDsn, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from brokerstack.errors import ConfigError

Port = Annotated[int, Field(ge=1, le=65535)]


class SettingsBase(BaseSettings):
    """What every process's settings share; a subclass names only its ``env_prefix``."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )


class Settings(SettingsBase):
    """Everything a brokerstack process needs to find its services and where to listen."""

    model_config = SettingsConfigDict(env_prefix="BROKERSTACK_")

    database_url: PostgresDsn | None = None
    redis_url: RedisDsn | None = None
    data_dir: Path = Path("var")
    host: str = "127.0.0.1"
    postgres_port: Port = 55432
    redis_port: Port = 56379
    api_port: Port = 8000
    dashboard_port: Port = 8501
    dagster_port: Port = 3000
    # The LPs `brokerstack up` trades with: the two built-in simulators it starts, or the LPs
    # configured in the warehouse (`lps`, `lp_sessions`), with no simulator started.
    lps: Literal["simulators", "configured"] = "simulators"

    @cached_property
    def data_path(self) -> Path:
        """The data folder as an absolute path (created on first use)."""
        path = self.data_dir.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def embedded_postgres(self) -> bool:
        return self.database_url is None

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None


S = TypeVar("S", bound=SettingsBase)


def load(settings_class: type[S]) -> S:
    """Read settings, turning validation failures into a one-line :class:`ConfigError` that
    names the environment variable."""
    try:
        return settings_class()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "settings"
        prefix = settings_class.model_config.get("env_prefix", "")
        variable = f"{prefix}{field.upper()}"
        raise ConfigError(f"{variable}: {first['msg']} (got {first.get('input')!r})") from exc


def load_settings() -> Settings:
    return load(Settings)
