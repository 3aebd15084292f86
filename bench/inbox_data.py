"""The inbox benchmark's dataset: messages through the real ingest, then the team's work.

Messages come from bench/ingest_data.py (the ingest benchmark's generator), with some
German text and a few rare words mixed in so that search has something to find, and
go through app.ingest.service.ingest_batch batch by batch, one session and one commit
each, as the worker does. Then plain SQL UPDATEs do what agents would have done: assign,
tag, prioritize, escalate, snooze and resolve. The figures are fixed functions of the
conversation id, so the same arguments always build the same database.
"""

from __future__ import annotations

import gc
import multiprocessing
import random
import shutil
import sqlite3
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import and_, func, insert, literal, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col

from app import migrate
from app.accounts.models import Account
from app.auth.models import Agent, Team
from app.db import UTCDateTime, make_engine, session_factory
from app.inbox.models import Contact, Conversation, ConversationTag, Tag
from app.ingest.service import ingest_batch
from bench.common import log, pg_dsn, timed
from bench.ingest import orm_accounts
from bench.ingest_data import StreamBatch, batches, generate
from connectors.base import InboundMessage

GERMAN = (
    "Mein Drucker druckt seit gestern nicht mehr, bitte um Hilfe",
    "Ich warte seit zwei Wochen auf die Rückerstattung für meine Bestellung",
    "Der Drucker zeigt einen Fehler an, was kann ich tun?",
    "Danke für die schnelle Antwort!",
    "Die Lieferung ist beschädigt angekommen, ich möchte sie zurückschicken",
    "Können Sie mir bitte die Rechnung für März schicken? Grüße aus Köln",
)
GERMAN_SHARE = 0.05  # of messages: German text
RARE_WORD = "Garantieverlängerung"
RARE_SHARE = 0.0005  # of messages: RARE_WORD appended
UNIQUE_REF = "ZX48151623"
UNIQUE_EVERY = 50_000  # one message in so many mentions UNIQUE_REF

AGENTS, TEAMS, TAGS = 20, 5, 10
NOW = datetime(2027, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Spec:
    messages: int
    conversations: int
    contacts: int
    batch: int
    seed: int

    @property
    def key(self) -> str:
        """Names a cached database: the arguments and the schema revision."""
        return (f"inbox-{self.messages}-{self.conversations}-{self.contacts}-{self.batch}-"
                f"{self.seed}-{migrate.head_revision()}")


@dataclass(frozen=True)
class Fixture:
    """Ids the measurements pick from."""

    account_ids: list[int]
    agent_ids: list[int]
    team_ids: list[int]
    tag_ids: list[int]
    max_conversation_id: int
    contact_handle: str


def make_messages(spec: Spec) -> list[InboundMessage]:
    seconds, messages = timed(lambda: _generate(spec))
    log(f"generated {len(messages):,} messages ({seconds:.1f}s)")
    return messages


def _generate(spec: Spec) -> list[InboundMessage]:
    messages = generate(spec.messages, spec.conversations, spec.contacts, spec.seed)
    rng = random.Random(spec.seed + 1)
    for i, m in enumerate(messages):
        roll = rng.random()
        if roll < GERMAN_SHARE:
            messages[i] = replace(m, text=rng.choice(GERMAN))
        elif roll < GERMAN_SHARE + RARE_SHARE:
            messages[i] = replace(m, text=f"{m.text} {RARE_WORD}")
        if i % UNIQUE_EVERY == UNIQUE_EVERY // 2:
            messages[i] = replace(messages[i], text=f"{messages[i].text} ref {UNIQUE_REF}")
    return messages


def build_all(jobs: dict[str, str], spec: Spec, messages: list[InboundMessage]) -> None:
    """Build each database (name -> URL) at once, in a forked process each."""
    if len(jobs) == 1:
        build(next(iter(jobs.values())), spec, messages)
        return
    ctx = multiprocessing.get_context("fork")
    gc.freeze()  # the children then leave the shared messages' pages alone
    try:
        procs = [ctx.Process(target=build, args=(url, spec, messages), name=name)
                 for name, url in jobs.items()]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
    finally:
        gc.unfreeze()
    failed = [proc.name for proc in procs if proc.exitcode != 0]
    if failed:
        raise RuntimeError(f"building the {' and '.join(failed)} database failed")


def build(url: str, spec: Spec, messages: list[InboundMessage]) -> None:
    """Migrate, ingest through the real service, do the team's work, gather statistics."""
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        factory = session_factory(engine)
        accounts = orm_accounts(factory)
        work = batches(messages, spec.batch)
        ingest(engine.dialect.name, factory, accounts, work)
        with factory() as session:
            seconds, _ = timed(lambda: team_work(session))
            session.commit()
        log(f"  {engine.dialect.name}: assigned, tagged, resolved ... ({seconds:.1f}s)")
        seconds, _ = timed(lambda: analyze(engine))
        log(f"  {engine.dialect.name}: statistics gathered ({seconds:.1f}s)")
    finally:
        engine.dispose()


def ingest(name: str, factory: sessionmaker[Session], accounts: dict[str, Account],
           work: list[StreamBatch]) -> None:
    """One session and one commit per batch, as the worker does."""
    start, written, every = time.perf_counter(), 0, max(1, len(work) // 20)
    for number, batch in enumerate(work, start=1):
        with factory() as session:
            result = ingest_batch(session, account=accounts[batch.spec.account],
                                  stream=batch.spec.stream, messages=batch.messages,
                                  cursor=batch.cursor)
            session.commit()
        written += result.new_messages
        if number % every == 0 or number == len(work):
            rate = written / (time.perf_counter() - start)
            log(f"  {name}: ingested {written:,} messages ({rate:,.0f}/s)")


def team_work(session: Session) -> None:
    """What the team did, as plain UPDATEs: fixed functions of the conversation id."""
    agents = [Agent(email=f"agent{i}@example.com", name=f"Agent {i}", password_hash="x")
              for i in range(AGENTS)]
    teams = [Team(name=f"Team {i}") for i in range(TEAMS)]
    tags = [Tag(name=f"tag-{i}") for i in range(TAGS)]
    session.add_all([*agents, *teams, *tags])
    session.flush()
    agent0, team0, tag0 = _first_id(agents), _first_id(teams), _first_id(tags)
    cid = col(Conversation.id)
    last = session.scalar(select(func.max(cid))) or 0
    when = literal(NOW, UTCDateTime())
    c = Conversation
    # About 70 % resolved: all but every fourth, and the newest 5 % stay as they came.
    session.execute(update(c).where(and_(cid % 4 != 0, cid <= last * 0.95)).values(
        status="resolved", resolved_at=c.last_message_at, waiting_since=None))
    session.execute(update(c).where(and_(cid % 47 == 0, col(c.status) == "open")).values(
        status="snoozed", snoozed_until=NOW + timedelta(days=3)))
    session.execute(update(c).where(cid % 5 < 2).values(assignee_id=agent0 + (cid // 5) % AGENTS))
    session.execute(update(c).where(cid % 7 < 3).values(team_id=team0 + (cid // 7) % TEAMS))
    session.execute(update(c).where(cid % 23 == 0).values(priority="urgent"))
    session.execute(update(c).where(and_(cid % 13 == 1, cid % 23 != 0)).values(priority="high"))
    session.execute(update(c).where(and_(cid % 17 == 2, cid % 13 != 1, cid % 23 != 0))
                    .values(priority="low"))
    session.execute(update(c).where(and_(cid % 29 == 0, col(c.status) != "resolved"))
                    .values(escalated_at=c.last_message_at))
    session.execute(insert(ConversationTag).from_select(
        ["conversation_id", "tag_id", "created_at"],
        select(cid, tag0 + (cid // 6) % TAGS, when).where(cid % 6 == 0)))


def _first_id(rows: list[Any]) -> int:
    ids = sorted(r.id for r in rows)
    assert ids[-1] - ids[0] == len(ids) - 1, "ids of one flush are consecutive"
    return int(ids[0])


def analyze(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def fixture(engine: Engine) -> Fixture:
    with Session(engine) as s:
        ids: dict[Any, list[int]] = {
            model: [i for i in s.scalars(select(col(model.id)).order_by(col(model.id)))
                    if i is not None]
            for model in (Account, Agent, Team, Tag)}
        handle = s.scalar(select(col(Contact.handle)).where(col(Contact.handle).is_not(None))
                          .order_by(col(Contact.id).desc()).limit(1))
        return Fixture(account_ids=ids[Account], agent_ids=ids[Agent], team_ids=ids[Team],
                       tag_ids=ids[Tag],
                       max_conversation_id=s.scalar(select(func.max(col(Conversation.id)))) or 0,
                       contact_handle=handle or "nobody")


def cache_path(keep: Path, spec: Spec) -> Path:
    keep.mkdir(parents=True, exist_ok=True)
    return keep / f"{spec.key}.db"


def store_in_cache(built: Path, path: Path) -> None:
    """Move a built SQLite file into the cache, its WAL folded into it first."""
    conn = sqlite3.connect(built)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    shutil.move(built, path)
    log(f"sqlite: kept as {path}")


BUILDING = "_building"


def kept_postgres(admin_url: str, spec: Spec) -> tuple[str, bool]:
    """The URL of the kept database for spec, and whether it is built; if not, an empty
    one is created under a temporary name (finish_kept_postgres renames it when built)."""
    name = f"sb_bench_{spec.key.replace('-', '_')}"
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(pg_dsn(admin_url), autocommit=True) as conn:
        names = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        if name in names:
            log(f"postgresql: reusing database {name}")
            return url, True
        conn.execute(f'DROP DATABASE IF EXISTS "{name}{BUILDING}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}{BUILDING}"')
    return url, False


def finish_kept_postgres(admin_url: str, building_url: str) -> None:
    name = building_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_dsn(admin_url), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" RENAME TO "{name.removesuffix(BUILDING)}"')
    log(f"postgresql: kept as database {name.removesuffix(BUILDING)} (drop it yourself)")
