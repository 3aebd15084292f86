"""Seed data for the demo: a believable morning in a support inbox, both platforms."""

from __future__ import annotations

import random
import secrets
import threading
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from app.accounts.crypto import CredentialBox
from app.accounts.models import Account
from app.accounts.service import add_account
from app.auth.models import Team
from app.auth.service import agent_by_email, create_agent, create_token
from app.db import utcnow
from app.inbox.actions import escalate
from app.inbox.models import CannedResponse, Conversation, Tag
from app.ingest.service import ingest_batch
from app.reports.models import SlaPolicy
from connectors.base import Author, InboundMessage, Platform, ThreadKind
from connectors.simulator import graph_traffic
from connectors.simulator.state import SimState

DEMO_EMAIL = "demo@switchboard.local"
DEMO_PASSWORD = "switchboard-demo"

# (account key, thread kind, customer (id, handle, name), [(minutes ago, own?, text)])
THREADS: list[tuple[str, ThreadKind, tuple[str, str, str], list[tuple[int, bool, str]]]] = [
    ("x_en", ThreadKind.X_MENTION, ("1001", "maria_k", "Maria Keller"), [
        (95, False, "@acmehelp my printer shows error E-07 and I need to print the order of "
                    "service for my dad's funeral tomorrow morning. Please, anyone?"),
        (80, False, "@acmehelp still nothing. I've restarted it three times."),
    ]),
    ("x_en", ThreadKind.X_MENTION, ("1002", "tom_builds", "Tom Okafor"), [
        (240, False, "@acmehelp ordered a replacement cartridge 9 days ago, tracking hasn't "
                     "moved since Monday. Order 55120."),
        (225, True, "@tom_builds Sorry about the wait, Tom. I've asked the carrier to trace it "
                    "and will update you here by 3 pm. ^Sam"),
        (30, False, "@acmehelp it's 3:30 now..."),
    ]),
    ("x_en", ThreadKind.X_DM, ("1003", "lena_writes", "Lena Fischer"), [
        (50, False, "Hi, I was charged twice for my subscription this month. Can you refund "
                    "one of them? I can send the bank statement."),
        (41, True, "Hi Lena, I'm sorry, that shouldn't happen. Refunds go through our billing "
                   "team: I've passed it to them with your details, and they'll write to you "
                   "here today. No need for the statement yet. ^Sam"),
    ]),
    ("x_de", ThreadKind.X_MENTION, ("1004", "jonas_b", "Jonas Becker"), [
        (15, False, "@acme_de Mein Drucker druckt seit dem Update nur noch leere Seiten. "
                    "Brauche ihn dringend für die Bewerbung morgen."),
    ]),
    ("x_de", ThreadKind.X_DM, ("1005", "oma_gerda", "Gerda Schmitt"), [
        (300, False, "Guten Tag, ich komme mit der Einrichtung nicht zurecht. Mein Enkel ist "
                     "erst nächste Woche da. Können Sie mir helfen?"),
        (290, True, "Guten Tag Frau Schmitt, sehr gerne! Sind Sie gerade am Gerät? Dann gehen "
                    "wir es Schritt für Schritt zusammen durch. Viele Grüße, Anna"),
        (285, False, "Ja, ich sitze davor."),
    ]),
    ("fb", ThreadKind.FB_COMMENT, ("2001", "", "Priya Nair"), [
        (70, False, "Is anyone actually reading these? Third time asking about my warranty "
                    "claim (ref W-8812)."),
    ]),
    ("fb", ThreadKind.FB_MESSENGER, ("2002", "", "Daniel Roth"), [
        (20, False, "Hello, the app says my device is offline but it's on the network. I run "
                    "a small bakery and can't print labels this morning."),
    ]),
    ("fb", ThreadKind.FB_MESSENGER, ("2003", "", "Sofia Marino"), [
        (1500, False, "Do you ship to Italy?"),
        (1490, True, "Hi Sofia, yes we do: 3 to 5 working days. Anything else I can help with?"),
        (1480, False, "Perfect, thank you!"),
    ]),
]

ACCOUNTS = {
    "x_en": ("Acme Help (X)", Platform.X, "900001", "acmehelp"),
    "x_de": ("Acme Deutschland (X)", Platform.X, "900002", "acme_de"),
    "fb": ("Acme (Facebook Page)", Platform.FACEBOOK, "900003", "Acme"),
}


def seed(session: Session, now: datetime | None = None) -> bool:
    """Seed once; False when the database already has accounts."""
    if session.scalar(select(func.count()).select_from(Account)):
        return False
    now = now or utcnow()
    accounts = {}
    for key, (name, platform, ext, handle) in ACCOUNTS.items():
        # Sample history only: these accounts have no credentials, so nothing polls them.
        acc = Account(platform=platform.value, name=name, external_id=ext, handle=handle,
                      enabled=False)
        session.add(acc)
        accounts[key] = acc
    session.flush()
    for n, (key, kind, (cid, handle, name), msgs) in enumerate(THREADS):
        acc = accounts[key]
        platform = Platform(acc.platform)
        batch = [
            InboundMessage(
                platform=platform, external_id=f"demo-{n}-{i}", thread_kind=kind,
                external_thread_id=f"demo-thread-{n}",
                author=Author(external_id=acc.external_id or "", handle=acc.handle,
                              name=acc.name) if own
                else Author(external_id=cid, handle=handle or None, name=name),
                text=text, created_at=now - timedelta(minutes=ago), is_own=own,
                raw={"demo": True, "text": text},
            )
            for i, (ago, own, text) in enumerate(msgs)
        ]
        result = ingest_batch(session, account=acc, stream="demo", messages=batch, cursor=None,
                              now=now)
        if msgs[-1][0] > 24 * 60:  # yesterday's happy customers are done
            for conv in map(lambda i: session.get(Conversation, i), result.conversation_ids):
                if conv is not None:
                    conv.status, conv.resolved_at, conv.waiting_since = "resolved", now, None
    # Social media runs around the clock; Facebook questions are answered in office hours.
    session.add(SlaPolicy(name="Default", is_default=True, first_response_seconds=30 * 60,
                          next_reply_seconds=60 * 60, resolution_seconds=24 * 3600))
    session.add(SlaPolicy(
        name="Facebook office hours", platform="facebook", first_response_seconds=2 * 3600,
        next_reply_seconds=4 * 3600, resolution_seconds=3 * 24 * 3600,
        timezone="Europe/Berlin",
        business_hours={d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        holidays={"2026-12-24": "Christmas Eve", "2026-12-25": "Christmas Day",
                  "2026-12-26": "Boxing Day"}))
    for tag in ("billing", "shipping", "printer", "urgent", "warranty"):
        session.add(Tag(name=tag))
    second_level = Team(name="Second level")
    session.add(second_level)
    _hand_over(session, second_level)
    session.add(CannedResponse(
        shortcut="thanks", title="Thanks, looking into it",
        text="Hi {first_name}, thank you for telling us. I'm looking into it now. {agent_name}",
    ))
    return True


# Sam could not refund the double charge himself: he told Lena and handed over.
HANDED_OVER = ("Lena Fischer", "Charged twice for her subscription this month. A refund "
               "needs billing access; she offered her bank statement, I said not yet.")


def _hand_over(session: Session, team: Team) -> None:
    session.flush()
    sam = create_agent(session, email="sam@acme.example", name="Sam Lee", role="agent",
                       password=secrets.token_urlsafe(24))  # nobody signs in as Sam
    customer, reason = HANDED_OVER
    n = next(n for n, thread in enumerate(THREADS) if thread[2][2] == customer)
    conv = session.scalars(select(Conversation).where(
        Conversation.external_thread_id == f"demo-thread-{n}")).one()
    escalate(session, conv, by=sam, reason=reason, to_team_id=team.id)


def demo_agent_token(session: Session) -> str:
    """The demo agent (created once) and a fresh API token for it."""
    if agent_by_email(session, DEMO_EMAIL) is None:
        create_agent(session, email=DEMO_EMAIL, name="Demo Agent", role="supervisor",
                     password=DEMO_PASSWORD)
    return create_token(session, email=DEMO_EMAIL, name="demo")


SIM_ACCOUNTS = {"x": "Acme Support (X, simulator)", "facebook": "Acme (Facebook, simulator)"}


def connect_simulator(session: Session, *, box: CredentialBox, platform: str, base_url: str,
                      credentials: dict[str, str]) -> Account:
    """The demo's live account on `platform`, pointed at this run's simulator."""
    name = SIM_ACCOUNTS[platform]
    account = session.scalars(select(Account).where(Account.name == name)).first()
    if account is None:
        account = add_account(session, box=box, platform=platform, name=name,
                              credentials=credentials, api_base_url=base_url, poll_interval=5)
    else:
        account.api_base_url, account.credentials_encrypted = base_url, box.seal(credentials)
        account.needs_reconnect = False
        session.add(account)
    return account


def live_traffic(state: SimState, brand_id: str, page_id: str, stop: threading.Event,
                 every: tuple[float, float] = (20.0, 45.0), seed: int = 7) -> threading.Thread:
    """New customers keep writing, on X and on Facebook, while someone looks around."""
    rng = random.Random(seed)

    def loop() -> None:
        while not stop.wait(rng.uniform(*every)):
            if rng.random() < 0.6:
                state.generate_traffic(brand_id, 1, dm_share=0.3)
            else:
                graph_traffic.generate(state.facebook, page_id, 1, messenger_share=0.4)

    thread = threading.Thread(target=loop, name="demo-traffic", daemon=True)
    thread.start()
    return thread
