"""The `switchboard` command."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from app import migrate as migrations
from app.db import make_engine, session_factory
from app.errors import DomainError
from app.settings import ConfigError, Settings, load_settings

cli = typer.Typer(help="Switchboard: a self-hosted social media support inbox.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
user_cli = typer.Typer(help="Staff users.", no_args_is_help=True)
token_cli = typer.Typer(help="Personal API tokens.", no_args_is_help=True)
cli.add_typer(user_cli, name="user")
cli.add_typer(token_cli, name="token")


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"switchboard: {message}", err=True)
    return typer.Exit(code)


def settings(**overrides: object) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        raise fail(str(exc), 2) from None


def migrated_engine(s: Settings) -> Engine:
    engine = make_engine(s.database_url)
    try:
        migrations.ensure_migrated(engine)
    except migrations.NotMigrated as exc:
        raise fail(str(exc)) from None
    except OperationalError as exc:
        raise fail(f"cannot reach the database: {exc.orig}") from None
    return engine


@cli.command()
def migrate() -> None:
    """Bring the database to the newest schema."""
    s = settings()
    try:
        migrations.upgrade(s.database_url)
    except OperationalError as exc:
        raise fail(f"cannot reach the database: {exc.orig}") from None
    typer.echo(f"database at revision {migrations.head_revision()}")


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port.")] = None,
    no_worker: Annotated[bool, typer.Option("--no-worker",
                                            help="Do not poll or send in this process.")] = False,
) -> None:
    """Serve the web inbox and the API."""
    s = settings(host=host, port=port)
    try:
        s.require_keys()
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    run_server(s, migrated_engine(s), worker=not no_worker)


def run_server(s: Settings, engine: Engine, *, worker: bool) -> None:
    import uvicorn

    from app.main import create_app

    app = create_app(s, engine=engine)
    uvicorn.run(app, host=s.host, port=s.port, log_level=s.log_level)


@user_cli.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="Sign-in email.")],
    name: Annotated[str, typer.Option(help="Name shown to colleagues.")],
    role: Annotated[str, typer.Option(help="agent, supervisor or admin.")] = "agent",
    password_stdin: Annotated[bool, typer.Option("--password-stdin",
                                                 help="Read the password from stdin.")] = False,
) -> None:
    """Create a staff user."""
    from app.auth.service import create_agent

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with session_factory(migrated_engine(settings()))() as session:
        try:
            agent = create_agent(session, email=email, name=name, role=role, password=password)
        except DomainError as exc:
            raise fail(str(exc)) from None
        session.commit()
        typer.echo(f"created {agent.role} {agent.email} (id {agent.id})")


@token_cli.command("create")
def token_create(
    agent: Annotated[str, typer.Option(help="Email of the agent the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "",
) -> None:
    """Create a personal API token; it is shown once."""
    from app.auth.service import create_token

    with session_factory(migrated_engine(settings()))() as session:
        try:
            token = create_token(session, email=agent, name=name)
        except DomainError as exc:
            raise fail(str(exc)) from None
        session.commit()
    typer.echo(token)


@cli.command()
def demo(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port.")] = None,
) -> None:
    """Run a working demo on an SQLite file in ./var, with sample conversations."""
    from app.demo import DEMO_EMAIL, DEMO_PASSWORD, demo_agent_token, seed

    base = settings(host=host, port=port)
    s = base.model_copy(update={"database_url": f"sqlite:///{base.var_dir / 'demo.db'}"})
    s = s.keys_in_var()
    migrations.upgrade(s.database_url)
    engine = make_engine(s.database_url)
    with session_factory(engine)() as session:
        seeded = seed(session)
        token = demo_agent_token(session)
        session.commit()
    url = f"http://{s.host}:{s.port}"
    typer.echo("\n".join([
        "",
        f"Switchboard demo {'seeded and ' if seeded else ''}running at {url}",
        f"  sign in:   {DEMO_EMAIL} / {DEMO_PASSWORD}",
        f"  API token: {token}",
        f"  try:       curl -H 'Authorization: Bearer {token}' {url}/api/v1/conversations",
        f"  API docs:  {url}/docs",
        "",
    ]))
    run_server(s, engine, worker=True)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
