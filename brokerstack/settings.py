"""The settings tree: every process's configuration, from ``BROKERSTACK_*`` environment
variables and an optional ``.env`` file (``.env.example`` lists them all).

:class:`Settings` is the root: where the services are (unset URLs mean "run the embedded
service under the data folder"; :attr:`Settings.database_dsn` and :attr:`Settings.redis_dsn`
resolve that, here and nowhere else), ports, and one branch per process kind with its own
prefix: ``api`` (``BROKERSTACK_API_*``), ``execution`` (``BROKERSTACK_EXECUTION_*``),
``ingest`` (``BROKERSTACK_INGEST_*``), ``backoffice`` (``BROKERSTACK_BACKOFFICE_*``) and ``log``
(``BROKERSTACK_LOG_*``).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import Field, PostgresDsn, RedisDsn, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from brokerstack.errors import ConfigError
from brokerstack.streams import COMMANDS_STREAM

Port = Annotated[int, Field(ge=1, le=65535)]
Positive = Annotated[int, Field(gt=0)]


class SettingsBase(BaseSettings):
    """What every branch of the tree shares; a subclass names only its ``env_prefix``."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,  # BROKERSTACK_X= means "not set" (as in .env.example)
        extra="ignore",
        frozen=True,
    )


class LogSettings(SettingsBase):
    """How every process logs (to stderr; ``brokerstack up`` keeps each process's output in a
    rotated file under ``var/logs``)."""

    model_config = SettingsConfigDict(env_prefix="BROKERSTACK_LOG_")

    format: Literal["text", "json"] = "text"  # json: one JSON object per line
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024  # a log file rotates here
    backups: Annotated[int, Field(ge=0)] = 5  # rotated files kept per process


class ApiSettings(SettingsBase):
    """The api's knobs (``BROKERSTACK_API_*``; its port is the root's ``api_port``)."""

    model_config = SettingsConfigDict(env_prefix="BROKERSTACK_API_")

    workers: int = Field(default=4, ge=1, le=64)
    # Health, readiness and the Prometheus metrics of every worker.
    ops_port: Port = 9180
    # JWT signing key; when empty one is generated once under the data folder and shared by
    # every worker (so a token from one worker is good at all of them).
    signing_key: SecretStr = SecretStr("")
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
    # /ready fails when the execution service's heartbeat is older than this.
    execution_heartbeat_max_age_seconds: float = Field(default=10.0, gt=0)

    @property
    def quote_max_age_ns(self) -> int:
        return round(self.quote_max_age_seconds * 1e9)

    @property
    def commands_stream(self) -> str:
        return COMMANDS_STREAM.format(shard=self.command_shard)


class ExecutionSettings(SettingsBase):
    """One execution service process (``BROKERSTACK_EXECUTION_*``)."""

    model_config = SettingsConfigDict(env_prefix="BROKERSTACK_EXECUTION_")

    shard: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")] = "main"
    ops_port: Port = 9181
    read_count: Positive = 1000  # command entries per XREADGROUP
    max_items: Positive = 256  # inbox items per pass of the loop
    remembered: Positive = 100_000  # replies reloaded for replayed request ids
    warm_up_seconds: Annotated[float, Field(ge=0)] = 5.0  # wait for prices before commands
    # Where A-book and hedge orders go: in-process LPs quoting a random walk ("demo"), or the
    # FIX 4.4 sessions configured in the warehouse ("fix").
    lps: Literal["demo", "fix"] = "demo"
    demo_quote_interval: Annotated[float, Field(gt=0)] = 0.25  # seconds between demo quotes
    demo_seed: int | None = None  # random-walk seed of the demo quotes


class IngestSettings(SettingsBase):
    """The writers' ops ports (``BROKERSTACK_INGEST_*``); their tuning is on the command line."""

    model_config = SettingsConfigDict(env_prefix="BROKERSTACK_INGEST_")

    tick_writer_ops_port: Port = 9182
    event_writer_ops_port: Port = 9183


class BackofficeSettings(SettingsBase):
    """The back office: its worker, the staff sessions, and the third parties it talks to
    (``BROKERSTACK_BACKOFFICE_*``). An unset provider URL means "the local simulator or sink
    ``brokerstack up`` starts"."""

    model_config = SettingsConfigDict(env_prefix="BROKERSTACK_BACKOFFICE_")

    worker_ops_port: Port = 9190
    # staff sessions: short-lived access tokens (a revoked session ends within this)
    staff_access_token_seconds: int = Field(default=600, ge=10)
    staff_session_hours: int = Field(default=12, ge=1)
    # where links in e-mails point (verification, password reset): the portal's address
    public_url: str = ""
    # mail: an SMTP URL (smtp://user:pass@host:port, smtps://...), or the local sink
    smtp_url: str | None = None
    smtp_sink_port: Port = 2525
    smtp_sink_ops_port: Port = 9195
    mail_from: str = "no-reply@brokerstack.local"
    # SMS: an HTTP provider with Twilio's Messages API shape, or the local simulator
    sms_url: str | None = None
    sms_account_sid: str = "ACsimulator"
    sms_auth_token: SecretStr = SecretStr("simulator-token")
    sms_simulator_port: Port = 9192
    sms_simulator_ops_port: Port = 9196
    kyc_simulator_ops_port: Port = 9197
    # the sender number of brands without their own (E.164; Twilio's test "From" by default)
    sms_from: str = Field(default="+15005550006", pattern=r"^\+[1-9][0-9]{1,14}$")
    # where the SMS provider reports delivery (the URL it signs); empty: the api on this host
    sms_status_callback_url: str | None = None
    # the outbox: a claimed message is another worker's to retry after the lease; a failed
    # attempt waits first, 2 x first, 4 x first, ... at most `most`; then it fails for good
    outbox_lease_seconds: float = Field(default=300.0, gt=0)
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_first_retry_seconds: float = Field(default=30.0, gt=0)
    outbox_most_retry_seconds: float = Field(default=3600.0, gt=0)
    # KYC: a Sumsub-shaped provider, or the local simulator; the webhook secret signs its events
    kyc_url: str | None = None
    kyc_app_token: SecretStr = SecretStr("simulator-app-token")
    kyc_secret_key: SecretStr = SecretStr("simulator-secret-key")
    kyc_webhook_secret: SecretStr = SecretStr("simulator-webhook-secret")
    kyc_simulator_port: Port = 9191
    # the card PSP: a Stripe-shaped provider (hosted payment page, signed webhooks), or the
    # local simulator; the secret key authenticates our calls, the webhook secret its events
    card_psp_url: str | None = None
    card_psp_secret_key: SecretStr = SecretStr("sk_test_simulator")
    card_psp_webhook_secret: SecretStr = SecretStr("whsec_simulator")
    card_psp_simulator_port: Port = 9193
    card_psp_simulator_ops_port: Port = 9198
    # the e-wallet PSP (Skrill / PayPal shape: an approval page, signed callbacks), or the
    # local simulator; the API key authenticates our calls, the webhook secret its callbacks
    ewallet_psp_url: str | None = None
    ewallet_psp_api_key: SecretStr = SecretStr("ewallet-simulator-key")
    ewallet_psp_webhook_secret: SecretStr = SecretStr("ewallet-simulator-secret")
    ewallet_psp_simulator_port: Port = 9201
    ewallet_psp_simulator_ops_port: Port = 9202
    # the crypto gateway (a deposit address per client and currency, callbacks per block
    # confirmation), or the local simulator; a transfer credits at this many confirmations
    crypto_psp_url: str | None = None
    crypto_psp_api_key: SecretStr = SecretStr("crypto-simulator-key")
    crypto_psp_webhook_secret: SecretStr = SecretStr("crypto-simulator-secret")
    crypto_psp_simulator_port: Port = 9203
    crypto_psp_simulator_ops_port: Port = 9204
    crypto_psp_confirmations: int = Field(default=2, ge=1, le=100)
    # bank wire deposits: the client-money account clients wire to, quoting their reference
    bank_wire_iban: str = Field(
        default="CY17002001280000001200527600", pattern=r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$"
    )
    bank_wire_bic: str = Field(default="BCYPCY2N", pattern=r"^[A-Z0-9]{8}([A-Z0-9]{3})?$")
    bank_wire_holder: str = "Demo Markets Ltd - client money account"
    # KYC documents: a folder under the data folder, or an S3-compatible bucket (s3://bucket)
    documents_url: str | None = None
    # an S3-compatible service other than AWS for an s3:// documents_url (MinIO, Ceph, ...)
    documents_s3_endpoint: str | None = None
    documents_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # lead capture from the brands' websites: per visitor address
    lead_submissions_per_second: float = Field(default=0.2, gt=0)
    lead_submission_burst: int = Field(default=5, ge=1)


class Settings(SettingsBase):
    """The root of the tree: where the services are, where to listen, and each branch."""

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
    # The Dagster instance's folder (its dagster.yaml); by default the repository's dagster_home.
    dagster_home: Path | None = None
    # The first ops port of the LP simulators `brokerstack up` runs (one each, counting up).
    lpsim_ops_port: Port = 9184
    # The LPs `brokerstack up` trades with: the two built-in simulators it starts, or the LPs
    # configured in the warehouse (`lps`, `lp_sessions`), with no simulator started.
    lps: Literal["simulators", "configured"] = "simulators"

    log: LogSettings = Field(default_factory=LogSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    backoffice: BackofficeSettings = Field(default_factory=BackofficeSettings)

    @cached_property
    def data_path(self) -> Path:
        """The data folder as an absolute path (created on first use)."""
        path = self.data_dir.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def dagster_home_path(self) -> Path:
        if self.dagster_home is not None:
            return self.dagster_home.expanduser().resolve()
        return Path(__file__).resolve().parent.parent / "dagster_home"

    @property
    def embedded_postgres(self) -> bool:
        return self.database_url is None

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def database_dsn(self) -> str:
        """The configured database, or the embedded server's address."""
        if self.database_url is not None:
            return str(self.database_url)
        return f"postgresql://postgres@{self.host}:{self.postgres_port}/postgres"

    @property
    def redis_dsn(self) -> str:
        """The configured Redis, or the embedded server's address."""
        if self.redis_url is not None:
            return str(self.redis_url)
        return f"redis://{self.host}:{self.redis_port}/0"


BRANCHES: tuple[type[SettingsBase], ...] = (
    Settings,
    LogSettings,
    ApiSettings,
    ExecutionSettings,
    IngestSettings,
    BackofficeSettings,
)

S = TypeVar("S", bound=SettingsBase)


def load(settings_class: type[S]) -> S:
    """Read settings, turning validation failures into a one-line :class:`ConfigError` that
    names the environment variable."""
    try:
        return settings_class()
    except ValidationError as exc:
        raise _config_error(exc, settings_class) from exc


def _config_error(exc: ValidationError, settings_class: type[SettingsBase]) -> ConfigError:
    # a branch that fails while the root is built raises its own error (its title names it)
    branch = next((b for b in BRANCHES if b.__name__ == exc.title), settings_class)
    first = exc.errors()[0]
    field = "_".join(str(part) for part in first["loc"]) or "settings"
    prefix = branch.model_config.get("env_prefix", "")
    variable = f"{prefix}{field.upper()}"
    return ConfigError(f"{variable}: {first['msg']} (got {first.get('input')!r})")


def load_settings() -> Settings:
    return load(Settings)
