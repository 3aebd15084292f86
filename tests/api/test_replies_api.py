"""POST /api/v1/conversations/{id}/replies: stored with its outbox item, or a clear refusal."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session

from app.auth.service import create_agent, create_token
from app.inbox.models import Conversation
from app.ingest.service import ingest_batch
from app.outbox.models import Outbox
from connectors.base import ThreadKind
from tests import factories as f


@pytest.fixture
def headers(session: Session) -> dict[str, str]:
    create_agent(session, email="sam@example.com", name="Sam", role="agent",
                 password="long-enough")
    return {"Authorization": f"Bearer {create_token(session, email='sam@example.com')}"}


@pytest.fixture
def conv_ids(session: Session) -> dict[str, int]:
    acc = f.account(session)
    ingest_batch(session, account=acc, stream="m", cursor=None, messages=[
        f.inbound("printer broken", thread="pub"),
        f.inbound("my address is ...", thread="dm", kind=ThreadKind.X_DM),
    ])
    rows = session.execute(select(Conversation.external_thread_id, Conversation.id)).all()
    return dict(rows)  # type: ignore[arg-type]


def outbox_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Outbox)) or 0


def test_reply_is_accepted_and_queued(client: TestClient, session: Session,
                                      headers: dict[str, str],
                                      conv_ids: dict[str, int]) -> None:
    r = client.post(f"/api/v1/conversations/{conv_ids['pub']}/replies",
                    json={"text": "Sorry to hear that, we're on it"}, headers=headers)
    assert r.status_code == 202
    body = r.json()
    assert (body["direction"], body["delivery_state"], body["author"]["name"]) == (
        "outbound", "queued", "Sam")
    assert outbox_count(session) == 1
    detail = client.get(f"/api/v1/conversations/{conv_ids['pub']}", headers=headers).json()
    assert detail["messages"][-1]["delivery_state"] == "queued"
    assert detail["waiting_since"] is None


@pytest.mark.parametrize(("thread", "payload", "says"), [
    ("pub", {"text": ""}, "needs some text"),
    ("pub", {"text": "x" * 281}, "at most 280"),
    ("dm", {"text": "hi", "private": True}, "private already"),
    ("pub", {"text": "hi\x00there"}, "the reply holds a character that cannot"),
    ("pub", {"text": "half an emoji \ud83d"}, "the reply holds a character that cannot"),
])
def test_bad_replies_are_refused_and_nothing_is_stored(
        client: TestClient, session: Session, headers: dict[str, str],
        conv_ids: dict[str, int], thread: str, payload: dict[str, object], says: str) -> None:
    # As a client sends it: JSON escapes (half an emoji cannot travel any other way).
    r = client.post(f"/api/v1/conversations/{conv_ids[thread]}/replies",
                    content=json.dumps(payload),
                    headers={**headers, "Content-Type": "application/json"})
    assert r.status_code == 422
    assert says in r.json()["detail"]
    assert outbox_count(session) == 0


def test_reply_needs_a_token_and_a_real_conversation(client: TestClient,
                                                     headers: dict[str, str],
                                                     conv_ids: dict[str, int]) -> None:
    url = f"/api/v1/conversations/{conv_ids['pub']}/replies"
    assert client.post(url, json={"text": "hi"}).status_code == 401
    assert client.post("/api/v1/conversations/987654/replies", json={"text": "hi"},
                       headers=headers).status_code == 404
    assert client.post(url, json={"nope": 1}, headers=headers).status_code == 422
