"""Connected accounts: add (after verifying the credentials), list, build their connector."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.accounts.crypto import CredentialBox
from app.accounts.models import Account, Cursor
from app.errors import Invalid
from app.text import typed
from connectors import CONNECTORS
from connectors.base import Connector, ConnectorError, Platform, Transient

ConnectorFactory = Callable[[Account], Connector]


def make_connector(account: Account, box: CredentialBox, **options: Any) -> Connector:
    """The platform adapter for this account, with its decrypted credentials."""
    cls: Any = CONNECTORS[Platform(account.platform)]
    credentials = box.open(account.credentials_encrypted)
    if "graph_version" in credentials:  # a per-account setting, kept with the credentials
        options.setdefault("graph_version", credentials.pop("graph_version"))
    return cls(credentials=credentials,  # type: ignore[no-any-return]
               account_external_id=account.external_id, api_base_url=account.api_base_url,
               **options)


def add_account(session: Session, *, box: CredentialBox, platform: str, name: str,
                credentials: dict[str, str], api_base_url: str | None = None,
                poll_interval: int | None = None, **options: Any) -> Account:
    """Verify the credentials against the platform, then store them encrypted."""
    try:
        kind = Platform(platform)
    except ValueError:
        raise Invalid(f"unknown platform {platform!r}: use x or facebook") from None
    if kind not in CONNECTORS:
        raise Invalid(f"no connector for {platform} yet")
    if not typed(name, "account name", limit=120).strip():
        raise Invalid("an account needs a name")
    if poll_interval is not None and poll_interval < 1:
        raise Invalid("poll interval must be at least 1 second")
    account = Account(platform=kind.value, name=name.strip(), api_base_url=api_base_url,
                      credentials_encrypted=box.seal(credentials), poll_interval=poll_interval)
    try:
        identity = make_connector(account, box, **options).verify()
    except Transient as exc:
        raise Invalid(f"could not reach the platform to check these credentials: {exc}; "
                      "check the API address and the network, then try again") from None
    except ConnectorError as exc:
        raise Invalid(f"the platform refused these credentials: {exc}") from None
    account.external_id, account.handle = identity.external_id, identity.handle
    session.add(account)
    session.flush()
    ensure_cursors(session, account)
    return account


def ensure_cursors(session: Session, account: Account) -> list[Cursor]:
    """One cursor row per stream of the account's connector."""
    streams = CONNECTORS[Platform(account.platform)].streams
    have = {c.stream: c for c in session.scalars(
        select(Cursor).where(Cursor.account_id == account.id))}
    for stream in streams:
        if stream not in have:
            have[stream] = Cursor(account_id=account.id or 0, stream=stream)
            session.add(have[stream])
    session.flush()
    return [have[s] for s in streams]


def list_accounts(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).order_by(Account.id)))


def reconnect(session: Session, account: Account, *, box: CredentialBox,
              credentials: dict[str, str] | None = None) -> Account:
    """Clear the needs-reconnection mark (optionally with new credentials) after verifying."""
    if credentials is not None:
        account.credentials_encrypted = box.seal(credentials)
    try:
        make_connector(account, box).verify()
    except Transient as exc:
        raise Invalid(f"could not reach the platform to check the credentials: {exc}; "
                      "try again") from None
    except ConnectorError as exc:
        raise Invalid(f"the platform still refuses the credentials: {exc}") from None
    account.needs_reconnect, account.last_error = False, None
    session.add(account)
    return account
