import os
from pathlib import Path

import pytest

from brokerstack.errors import ConfigError
from brokerstack.settings import (
    BRANCHES,
    ApiSettings,
    ExecutionSettings,
    Settings,
    SettingsBase,
    load,
    load_settings,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("BROKERSTACK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_no_urls_means_embedded_services() -> None:
    settings = load_settings()
    assert settings.embedded_postgres
    assert settings.embedded_redis
    assert settings.postgres_port == 55432


def test_urls_and_ports_come_from_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKERSTACK_DATABASE_URL", "postgresql://broker:pw@db.internal:5432/bs")
    monkeypatch.setenv("BROKERSTACK_REDIS_URL", "redis://cache:6379/2")
    monkeypatch.setenv("BROKERSTACK_API_PORT", "9001")
    settings = load_settings()
    assert not settings.embedded_postgres
    assert not settings.embedded_redis
    assert str(settings.database_url) == "postgresql://broker:pw@db.internal:5432/bs"
    assert settings.api_port == 9001


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BROKERSTACK_REDIS_PORT=7000\nBROKERSTACK_DATA_DIR=state\n")
    settings = load_settings()
    assert settings.redis_port == 7000
    assert settings.data_path == (tmp_path / "state").resolve()
    assert settings.data_path.is_dir()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BROKERSTACK_POSTGRES_PORT", "not-a-port"),
        ("BROKERSTACK_REDIS_PORT", "70000"),
        ("BROKERSTACK_DATABASE_URL", "mysql://user@host/db"),
        ("BROKERSTACK_REDIS_URL", "http://cache:6379"),
    ],
)
def test_malformed_value_is_a_one_line_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert variable in message
    assert "\n" not in message


def test_settings_are_immutable() -> None:
    settings = Settings()
    with pytest.raises(Exception, match="frozen"):
        settings.api_port = 1


@pytest.mark.parametrize(
    ("settings_class", "variable", "field", "good", "bad"),
    [
        (Settings, "BROKERSTACK_API_PORT", "api_port", "9001", "port"),
        (ApiSettings, "BROKERSTACK_API_WORKERS", "workers", "3", "0"),
        (ExecutionSettings, "BROKERSTACK_EXECUTION_MAX_ITEMS", "max_items", "7", "-1"),
    ],
)
def test_every_process_reads_dotenv_and_names_the_variable_it_cannot_use(
    tmp_path: Path,
    settings_class: type[SettingsBase],
    variable: str,
    field: str,
    good: str,
    bad: str,
) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"{variable}={good}\nBROKERSTACK_NOT_A_SETTING=1\n")
    settings = load(settings_class)
    assert getattr(settings, field) == int(good)
    with pytest.raises(Exception, match="frozen"):
        setattr(settings, field, 1)

    dotenv.write_text(f"{variable}={bad}\n")
    with pytest.raises(ConfigError) as raised:
        load(settings_class)
    assert str(raised.value).startswith(f"{variable}: ")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("variable", "bad"),
    [
        ("BROKERSTACK_API_WORKERS", "0"),
        ("BROKERSTACK_EXECUTION_MAX_ITEMS", "-1"),
        ("BROKERSTACK_LOG_FORMAT", "xml"),
        ("BROKERSTACK_INGEST_TICK_WRITER_OPS_PORT", "70000"),
    ],
)
def test_the_root_names_a_branch_variable_it_cannot_use(
    monkeypatch: pytest.MonkeyPatch, variable: str, bad: str
) -> None:
    monkeypatch.setenv(variable, bad)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert str(raised.value).startswith(f"{variable}: ")


def test_the_tree_resolves_the_service_urls_in_one_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKERSTACK_POSTGRES_PORT", "6543")
    monkeypatch.setenv("BROKERSTACK_API_WORKERS", "3")
    settings = load_settings()
    assert settings.database_dsn == "postgresql://postgres@127.0.0.1:6543/postgres"
    assert settings.redis_dsn == "redis://127.0.0.1:56379/0"
    assert settings.api.workers == 3
    monkeypatch.setenv("BROKERSTACK_REDIS_URL", "redis://cache:6379/2")
    assert load_settings().redis_dsn == "redis://cache:6379/2"


def test_the_signing_key_is_a_secret_kept_out_of_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKERSTACK_API_SIGNING_KEY", "k" * 40)
    settings = load_settings()
    assert settings.api.signing_key.get_secret_value() == "k" * 40
    assert "k" * 40 not in repr(settings)


def _every_variable() -> dict[str, object]:
    """Each setting of the tree by its environment variable, with its default."""
    found: dict[str, object] = {}
    for branch in BRANCHES:
        prefix = branch.model_config.get("env_prefix", "")
        for name, field in branch.model_fields.items():
            if isinstance(field.annotation, type) and issubclass(field.annotation, SettingsBase):
                continue  # a branch, listed with its own prefix
            found[f"{prefix}{name.upper()}"] = field.get_default(call_default_factory=True)
    return found


def test_env_example_lists_every_setting_and_copied_as_is_gives_the_defaults(
    tmp_path: Path,
) -> None:
    example = (ROOT / ".env.example").read_text()
    listed = [line.split("=", 1)[0] for line in example.splitlines() if line[:1].isalpha()]
    assert sorted(listed) == sorted(_every_variable())
    assert len(listed) == len(set(listed))
    (tmp_path / ".env").write_text(example)
    assert load_settings() == Settings()
