"""All configuration, read once from the environment (prefix SWITCHBOARD_) or `.env`."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR_DIR = Path("var")


class ConfigError(Exception):
    """A setting is wrong or missing; the message names it in one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SWITCHBOARD_", env_file=".env", extra="ignore"
    )

    database_url: str = Field(default=f"sqlite:///{VAR_DIR / 'switchboard.db'}")
    secret_key: SecretStr | None = None
    encryption_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    poll_interval: int = Field(default=60, ge=1, description="seconds between polls")
    poll_threads: int = Field(default=4, ge=1, le=32, description="streams polled at once")
    var_dir: Path = VAR_DIR

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    def keys_in_var(self) -> Settings:
        """Fill unset secrets from ./var, generating them once (the demo needs no setup)."""
        updates: dict[str, SecretStr] = {}
        for name in ("secret_key", "encryption_key"):
            if getattr(self, name) is None:
                updates[name] = SecretStr(_kept_secret(self.var_dir / name))
        return self.model_copy(update=updates) if updates else self

    def require_keys(self) -> tuple[str, str]:
        """Both keys, or a ConfigError naming the missing one."""
        for name in ("secret_key", "encryption_key"):
            if getattr(self, name) is None:
                raise ConfigError(
                    f"SWITCHBOARD_{name.upper()} is not set "
                    "(set it, or run the demo, which generates one in ./var)"
                )
        assert self.secret_key is not None and self.encryption_key is not None
        secret = self.secret_key.get_secret_value()
        if len(secret) < MIN_SECRET:
            # It signs sign-in sessions: a short one can be guessed.
            raise ConfigError(f"SWITCHBOARD_SECRET_KEY is too short: use at least {MIN_SECRET} "
                              "random characters")
        return secret, self.encryption_key.get_secret_value()


MIN_SECRET = 32


def _kept_secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Fernet wants 32 url-safe base64 bytes; the same shape suits the session key.
    from cryptography.fernet import Fernet

    if path.name == "encryption_key":
        value = Fernet.generate_key().decode()
    else:
        value = secrets.token_urlsafe(48)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, or a ConfigError naming the bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "?"
        raise ConfigError(f"SWITCHBOARD_{name.upper()}: {err['msg']}") from None
