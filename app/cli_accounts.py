"""`switchboard account ...`: connect brand accounts and see how their polling goes."""

from __future__ import annotations

import re
from typing import Annotated

import typer
from sqlalchemy import select

from app.accounts.crypto import CredentialBox
from app.accounts.models import Cursor
from app.accounts.service import add_account, list_accounts
from app.db import session_factory
from app.errors import DomainError
from app.settings import ConfigError

account_cli = typer.Typer(help="Connected brand accounts.", no_args_is_help=True)
add_cli = typer.Typer(help="Connect an account (credentials are verified first).",
                      no_args_is_help=True)
account_cli.add_typer(add_cli, name="add")

Opt = typer.Option


def _box_and_factory():  # type: ignore[no-untyped-def]
    from app.cli import fail, migrated_engine, settings

    s = settings()
    try:
        _, key = s.require_keys()
        box = CredentialBox(key)
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    return box, session_factory(migrated_engine(s)), fail


@add_cli.command("x")
def add_x(
    name: Annotated[str, Opt(help="Name shown in the inbox.")],
    api_base_url: Annotated[str | None, Opt(help="API base URL (default: the real X API; "
                                                 "or the simulator's URL).")] = None,
    bearer_token: Annotated[str | None, Opt(envvar="X_BEARER_TOKEN",
                                            help="OAuth 2.0 bearer token.")] = None,
    consumer_key: Annotated[str | None, Opt(envvar="X_CONSUMER_KEY")] = None,
    consumer_secret: Annotated[str | None, Opt(envvar="X_CONSUMER_SECRET")] = None,
    access_token: Annotated[str | None, Opt(envvar="X_ACCESS_TOKEN")] = None,
    access_token_secret: Annotated[str | None, Opt(envvar="X_ACCESS_TOKEN_SECRET")] = None,
    poll_interval: Annotated[int | None, Opt(min=1, help="Seconds between polls.")] = None,
) -> None:
    """Connect an X account: a bearer token and/or the four OAuth 1.0a user keys."""
    box, factory, fail = _box_and_factory()
    creds = {k: v for k, v in {
        "bearer_token": bearer_token, "consumer_key": consumer_key,
        "consumer_secret": consumer_secret, "access_token": access_token,
        "access_token_secret": access_token_secret}.items() if v}
    oauth1 = [k for k in ("consumer_key", "consumer_secret", "access_token",
                          "access_token_secret") if k in creds]
    if oauth1 and len(oauth1) != 4:
        raise fail("OAuth 1.0a needs all four: --consumer-key, --consumer-secret, "
                   "--access-token, --access-token-secret", 2)
    if not creds:
        raise fail("give --bearer-token or the four OAuth 1.0a keys (direct messages and "
                   "replies need the OAuth 1.0a user keys)", 2)
    with factory() as session:
        try:
            account = add_account(session, box=box, platform="x", name=name, credentials=creds,
                                  api_base_url=api_base_url, poll_interval=poll_interval)
        except DomainError as exc:
            raise fail(str(exc)) from None
        session.commit()
        typer.echo(f"{account.id}")
        typer.echo(f"connected X account @{account.handle} as account {account.id}", err=True)


@add_cli.command("facebook")
def add_facebook(
    name: Annotated[str, Opt(help="Name shown in the inbox.")],
    page_id: Annotated[str, Opt(help="The Facebook Page's id.")],
    page_token: Annotated[str, Opt(envvar="FACEBOOK_PAGE_TOKEN",
                                   help="A Page access token (pages_messaging, "
                                        "pages_read_engagement, pages_manage_engagement).")],
    api_base_url: Annotated[str | None, Opt(help="Graph API base URL (default: the real "
                                                 "Graph API; or the simulator's URL).")] = None,
    graph_version: Annotated[str, Opt(help="Graph API version, like v21.0.")] = "v21.0",
    poll_interval: Annotated[int | None, Opt(min=1, help="Seconds between polls.")] = None,
) -> None:
    """Connect a Facebook Page: its comments and its Messenger conversations."""
    box, factory, fail = _box_and_factory()
    if not re.fullmatch(r"v\d+\.\d+", graph_version):
        raise fail("--graph-version looks like v21.0", 2)
    if not page_id.isdigit():
        raise fail("--page-id is the Page's numeric id", 2)
    creds = {"page_token": page_token, "page_id": page_id, "graph_version": graph_version}
    with factory() as session:
        try:
            account = add_account(session, box=box, platform="facebook", name=name,
                                  credentials=creds, api_base_url=api_base_url,
                                  poll_interval=poll_interval)
        except DomainError as exc:
            raise fail(str(exc)) from None
        session.commit()
        typer.echo(f"{account.id}")
        typer.echo(f"connected Facebook Page {account.handle or account.name} as account "
                   f"{account.id}", err=True)


@account_cli.command("list")
def account_list() -> None:
    """Each account with its last successful poll, last error and reconnection need."""
    _, factory, _fail = _box_and_factory()
    with factory() as session:
        accounts = list_accounts(session)
        if not accounts:
            typer.echo("no accounts yet: switchboard account add x --help")
        for a in accounts:
            state = ("NEEDS RECONNECTION" if a.needs_reconnect
                     else "enabled" if a.enabled else "disabled")
            polled = a.last_polled_at.strftime("%Y-%m-%d %H:%M:%S UTC") if a.last_polled_at \
                else "never"
            typer.echo(f"{a.id:>4}  {a.platform:<9} {a.name}  @{a.handle or '-'}  [{state}]  "
                       f"last poll: {polled}")
            if a.last_error:
                typer.echo(f"      last error: {a.last_error}")
            for c in session.scalars(select(Cursor).where(Cursor.account_id == a.id)):
                if c.last_error:
                    typer.echo(f"      {c.stream}: {c.last_error}")
