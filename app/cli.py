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


def _register_accounts() -> None:
    from app.cli_accounts import account_cli

    cli.add_typer(account_cli, name="account")


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

    app = create_app(s, engine=engine, worker=worker)
    uvicorn.run(app, host=s.host, port=s.port, log_level=s.log_level)


def make_worker(s: Settings, engine: Engine):  # type: ignore[no-untyped-def]
    from app.accounts.crypto import CredentialBox
    from app.worker import Worker

    try:
        _, key = s.require_keys()
        return Worker(session_factory(engine), CredentialBox(key), poll_interval=s.poll_interval,
                      poll_threads=s.poll_threads)
    except ConfigError as exc:
        raise fail(str(exc), 2) from None


@cli.command()
def worker() -> None:
    """Poll the accounts and send replies, without the web app."""
    import signal
    import threading

    s = settings()
    w = make_worker(s, migrated_engine(s))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        w.run_forever(stop)
    except KeyboardInterrupt:
        stop.set()


@cli.command()
def poll(
    once: Annotated[bool, typer.Option("--once", help="One cycle of every stream and the "
                                                     "outbox, then exit.")] = False,
) -> None:
    """Poll every account's streams and send due replies."""
    if not once:
        raise fail("only --once is supported here; run `switchboard worker` for a loop", 2)
    s = settings()
    w = make_worker(s, migrated_engine(s))
    report = w.run_once(force=True)
    typer.echo(f"polled {report.poll.streams} streams with {report.poll.api_calls} API calls: "
               f"{report.poll.new_messages} new messages; replies sent: {report.send.sent}, "
               f"failed: {report.send.failed}, retrying: {report.send.retried}")
    for error in report.poll.errors:
        typer.echo(f"  {error}", err=True)


@cli.command("reports-rebuild")
def reports_rebuild() -> None:
    """Recompute every conversation's report figures (after changing definitions)."""
    from app.reports.service import rebuild

    s = settings()
    with session_factory(migrated_engine(s))() as session:
        count = rebuild(session)
        session.commit()
    typer.echo(f"recomputed the report figures of {count} conversations")


@cli.command()
def simulator(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8081,
    seed: Annotated[int, typer.Option(help="Seed for the generated traffic.")] = 1,
) -> None:
    """Run the platform simulator (X API v2 subset) for demos and tests."""
    from connectors.simulator.server import run

    typer.echo(f"simulator on http://{host}:{port} (control API under /_sim/)")
    run(host=host, port=port, seed=seed)


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
        try:
            password = sys.stdin.readline().rstrip("\n")
        except UnicodeDecodeError:
            raise fail("the password on stdin is not UTF-8 text") from None
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
    """A working demo: SQLite in ./var, sample history, and a live X account on the simulator."""
    import threading

    from app.accounts.crypto import CredentialBox
    from app.demo import (
        DEMO_EMAIL,
        DEMO_PASSWORD,
        connect_simulator,
        demo_agent_token,
        live_traffic,
        seed,
    )
    from connectors.simulator.server import DEMO_BRAND_ID, DEMO_PAGE_ID, SimulatorThread, demo_state

    base = settings(host=host, port=port)
    s = base.model_copy(update={"database_url": f"sqlite:///{base.var_dir / 'demo.db'}"})
    s = s.keys_in_var()
    _, key = s.require_keys()
    box = CredentialBox(key)
    migrations.upgrade(s.database_url)
    engine = make_engine(s.database_url)
    sim = SimulatorThread(demo_state()).start()
    stop = threading.Event()
    live_traffic(sim.state, DEMO_BRAND_ID, DEMO_PAGE_ID, stop)
    with session_factory(engine)() as session:
        seeded = seed(session)
        connect_simulator(session, box=box, platform="x", base_url=sim.base_url,
                          credentials=sim.state.brands[DEMO_BRAND_ID].credentials())
        connect_simulator(session, box=box, platform="facebook", base_url=sim.base_url,
                          credentials=sim.state.facebook.pages[DEMO_PAGE_ID].credentials())
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
        f"  simulated X and Graph APIs: {sim.base_url} (new customers write every half "
        "minute or so)",
        "",
    ]))
    try:
        run_server(s, engine, worker=True)
    finally:
        stop.set()
        sim.stop()


def main() -> None:
    _register_accounts()
    cli()


if __name__ == "__main__":
    main()
