import os
from pathlib import Path

import pytest

from brokerstack.errors import ConfigError
from brokerstack.settings import Settings, load_settings


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
