"""Settings: defaults, environment, and one-line errors that name the setting."""

from __future__ import annotations

import pytest

from app.settings import ConfigError, load_settings


def test_defaults_are_an_sqlite_file_under_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWITCHBOARD_DATABASE_URL", raising=False)
    s = load_settings()
    assert s.database_url == "sqlite:///var/switchboard.db"
    assert (s.host, s.port, s.poll_interval) == ("127.0.0.1", 8000, 60)


def test_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_PORT", "9001")
    monkeypatch.setenv("SWITCHBOARD_LOG_LEVEL", "DEBUG")
    s = load_settings()
    assert (s.port, s.log_level) == (9001, "debug")


@pytest.mark.parametrize(("var", "value", "named"), [
    ("SWITCHBOARD_PORT", "eighty", "SWITCHBOARD_PORT"),
    ("SWITCHBOARD_PORT", "70000", "SWITCHBOARD_PORT"),
    ("SWITCHBOARD_DATABASE_URL", "mysql://x", "SWITCHBOARD_DATABASE_URL"),
    ("SWITCHBOARD_POLL_INTERVAL", "0", "SWITCHBOARD_POLL_INTERVAL"),
    ("SWITCHBOARD_POLL_THREADS", "0", "SWITCHBOARD_POLL_THREADS"),
    ("SWITCHBOARD_POLL_THREADS", "many", "SWITCHBOARD_POLL_THREADS"),
])
def test_bad_values_name_the_setting(monkeypatch: pytest.MonkeyPatch, var: str, value: str,
                                     named: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith(named)
    assert "\n" not in str(err.value)


def test_missing_keys_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWITCHBOARD_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SWITCHBOARD_SECRET_KEY"):
        load_settings().require_keys()


def test_a_short_secret_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_SECRET_KEY", "x")
    monkeypatch.setenv("SWITCHBOARD_ENCRYPTION_KEY", "k" * 44)
    with pytest.raises(ConfigError, match="SWITCHBOARD_SECRET_KEY is too short"):
        load_settings().require_keys()


def test_demo_keys_are_generated_once_and_kept(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = load_settings(var_dir=tmp_path).keys_in_var()
    again = load_settings(var_dir=tmp_path).keys_in_var()
    assert s.secret_key and again.secret_key
    assert s.secret_key.get_secret_value() == again.secret_key.get_secret_value()
    assert (tmp_path / "encryption_key").stat().st_mode & 0o777 == 0o600
