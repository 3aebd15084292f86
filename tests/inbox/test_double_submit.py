"""The same reply sent twice at once (a double click, a client that retries) goes out once."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app.inbox.models import Conversation, Message
from app.ingest.service import ingest_batch
from app.outbox.models import Outbox
from app.outbox.service import queue_reply
from tests import factories as f


def test_simultaneous_identical_replies_are_stored_once(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        acc = f.account(s)
        agent = f.agent(s)
        ingest_batch(s, account=acc, stream="m", cursor=None,
                     messages=[f.inbound("printer broken", thread="t")])
        s.commit()
        conv_id, agent_id = s.scalars(select(Conversation.id)).one(), agent.id
    start = threading.Barrier(5)
    errors: list[BaseException] = []

    def send(text: str) -> None:
        try:
            start.wait(timeout=10)
            with sessions() as s:
                conv = s.get(Conversation, conv_id)
                me = s.get(type(agent), agent_id)
                assert conv is not None
                queue_reply(s, conversation=conv, agent=me, text=text)
                s.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=("On it, Jane",)) for _ in range(4)]
    threads.append(threading.Thread(target=send, args=("Another answer",)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert errors == []
    with sessions() as s:
        texts = s.scalars(select(Message.text).where(Message.direction == "outbound")
                          .order_by(Message.text)).all()
        assert texts == ["Another answer", "On it, Jane"]
        assert s.scalar(select(func.count()).select_from(Outbox)) == 2
        conv = s.get(Conversation, conv_id)
        assert conv is not None and conv.message_count == 3  # no count lost either
