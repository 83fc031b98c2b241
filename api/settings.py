"""The api's own knobs (``BROKERSTACK_API_*``); where the services are comes from
:class:`brokerstack.settings.Settings`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from brokerstack.settings import Settings, SettingsBase


class ApiSettings(SettingsBase):
    model_config = SettingsConfigDict(env_prefix="BROKERSTACK_API_")

    database_url: str = ""  # filled from Settings by load_api_settings when empty
    redis_url: str = ""
    data_dir: Path = Path("var")
    workers: int = Field(default=4, ge=1, le=64)
    # JWT signing key; when empty one is generated once under the data folder and shared by
    # every worker (so a token from one worker is good at all of them).
    signing_key: str = ""
    access_token_seconds: int = Field(default=900, ge=10)
    refresh_token_seconds: int = Field(default=14 * 86_400, ge=60)
    # The execution service's book shard the commands go to.
    command_shard: str = "main"
    execution_timeout_seconds: float = Field(default=10.0, gt=0)
    # Rate limits (GCRA in Redis): every request per API key or per logged-in client, and
    # trading commands per account.
    requests_per_second: float = Field(default=50.0, gt=0)
    request_burst: int = Field(default=100, ge=1)
    orders_per_second: float = Field(default=20.0, gt=0)
    order_burst: int = Field(default=40, ge=1)
    # Account events a socket may have queued before it is closed as too slow (fills are
    # never dropped; a client that cannot keep up reconnects and re-reads over REST).
    socket_event_backlog: int = Field(default=1_000, ge=1)
    db_pool_size: int = Field(default=10, ge=1)
    # A last price older than this is off quotes even if the execution service said nothing
    # (it may be the one that stopped): REST and WebSocket both mark it.
    quote_max_age_seconds: float = Field(default=5.0, gt=0)
    # Request bodies are orders and key names: anything larger is refused (413) before it is
    # read, so a client cannot make a process buffer megabytes.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)

    @property
    def quote_max_age_ns(self) -> int:
        return round(self.quote_max_age_seconds * 1e9)

    @property
    def commands_stream(self) -> str:
        from brokerstack.streams import COMMANDS_STREAM

        return COMMANDS_STREAM.format(shard=self.command_shard)


def load_api_settings(base: Settings | None = None) -> ApiSettings:
    """Api settings with the stack's service URLs (the embedded servers' when none are set)."""
    settings = ApiSettings()
    base = base or Settings()
    updates: dict[str, object] = {}
    if not settings.database_url:
        updates["database_url"] = (
            str(base.database_url)
            if base.database_url is not None
            else f"postgresql://postgres@{base.host}:{base.postgres_port}/postgres"
        )
    if not settings.redis_url:
        updates["redis_url"] = (
            str(base.redis_url)
            if base.redis_url is not None
            else f"redis://{base.host}:{base.redis_port}/0"
        )
    if "data_dir" not in settings.model_fields_set:
        updates["data_dir"] = base.data_dir
    return settings.model_copy(update=updates) if updates else settings
