"""Platform credentials are encrypted at rest with the configured Fernet key."""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken

from app.settings import ConfigError


class CredentialBox:
    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except (ValueError, TypeError):
            raise ConfigError(
                "SWITCHBOARD_ENCRYPTION_KEY: must be a Fernet key (32 url-safe base64 bytes)"
            ) from None

    def seal(self, credentials: dict[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(credentials).encode()).decode()

    def open(self, sealed: str) -> dict[str, str]:
        try:
            return json.loads(self._fernet.decrypt(sealed.encode()))  # type: ignore[no-any-return]
        except InvalidToken:
            raise ConfigError(
                "SWITCHBOARD_ENCRYPTION_KEY: cannot decrypt stored credentials "
                "(the key changed since they were saved)"
            ) from None
