"""The JSON API: tokens, listing with filters and keyset pages, one conversation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.auth.service import create_agent, create_token
from app.ingest.service import ingest_batch
from app.main import create_app
from app.settings import Settings
from connectors.base import Platform, ThreadKind
from tests import factories as f


@pytest.fixture
def token(session: Session) -> str:
    create_agent(session, email="sam@example.com", name="Sam", role="agent",
                 password="long-enough")
    return create_token(session, email="sam@example.com")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def seed_threads(session: Session, n: int, **kw: object) -> None:
    acc = f.account(session, **kw)  # type: ignore[arg-type]
    ingest_batch(session, account=acc, stream="m", cursor=None, messages=[
        f.inbound(f"question {i}", minutes=i, thread=f"th{acc.id}-{i}", author=str(100 + i))
        for i in range(n)
    ])


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_readiness_fails_on_an_unmigrated_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/empty.db"))
    with TestClient(app) as c:
        r = c.get("/readyz")
    assert r.status_code == 503
    assert "switchboard migrate" in r.json()["reason"]


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc"])
def test_api_refuses_without_a_valid_token(client: TestClient, header: str | None) -> None:
    r = client.get("/api/v1/conversations", headers={"Authorization": header} if header else {})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


def test_list_shows_longest_waiting_first(client: TestClient, session: Session,
                                          token: str) -> None:
    seed_threads(session, 3)
    r = client.get("/api/v1/conversations", headers=auth(token))
    assert r.status_code == 200
    texts = [i["last_message_text"] for i in r.json()["items"]]
    assert texts == ["question 0", "question 1", "question 2"]
    item = r.json()["items"][0]
    assert item["contact"]["handle"] == "jane"
    assert item["status"] == "open"


def test_keyset_pages_cover_everything_once(client: TestClient, session: Session,
                                            token: str) -> None:
    seed_threads(session, 7)
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/v1/conversations", params=params, headers=auth(token)).json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7 == len(set(seen))


def test_waiting_then_answered_across_pages(client: TestClient, session: Session,
                                            token: str) -> None:
    acc = f.account(session)
    ingest_batch(session, account=acc, stream="m", cursor=None, messages=[
        f.inbound("waits", minutes=5, thread="w"),
        f.inbound("asked", minutes=1, thread="a"),
        f.inbound("answered", minutes=2, thread="a", author="42", is_own=True),
    ])
    first = client.get("/api/v1/conversations", params={"limit": 1}, headers=auth(token)).json()
    second = client.get("/api/v1/conversations",
                        params={"limit": 1, "cursor": first["next_cursor"]},
                        headers=auth(token)).json()
    assert [first["items"][0]["external_thread_id"], second["items"][0]["external_thread_id"]] \
        == ["w", "a"]
    assert second["next_cursor"] is None


def test_filters_by_status_platform_and_account(client: TestClient, session: Session,
                                                token: str) -> None:
    seed_threads(session, 2)
    seed_threads(session, 1, platform="facebook")
    h = auth(token)
    fb = client.get("/api/v1/conversations", params={"platform": "facebook"}, headers=h).json()
    assert [i["platform"] for i in fb["items"]] == ["facebook"]
    acc_id = fb["items"][0]["account_id"]
    by_acc = client.get("/api/v1/conversations", params={"account": acc_id}, headers=h).json()
    assert {i["account_id"] for i in by_acc["items"]} == {acc_id}
    resolved = client.get("/api/v1/conversations", params={"status": "resolved"},
                          headers=h).json()
    assert resolved["items"] == []


# Cursors that decode but were not made here: a time without a zone, one out of range,
# an id too big for the store, a phase that does not exist.
FORGED_CURSORS = ["WzAsICIyMDI0LTAxLTAxVDAwOjAwOjAwIiwgMV0",
                  "WzAsICI5OTk5LTEyLTMxVDIzOjU5OjU5LTEyOjAwIiwgMV0",
                  "WzAsICIyMDI0LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgMTAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMF0",
                  "WzksICIyMDI0LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgMV0"]


@pytest.mark.parametrize("params", [{"status": "bogus"}, {"limit": 0}, {"limit": 1000},
                                    {"cursor": "not-a-cursor"}, {"platform": "myspace"},
                                    {"account": 10**30}, {"account": 0},
                                    *({"cursor": c} for c in FORGED_CURSORS)])
def test_bad_list_parameters_are_clear_errors(client: TestClient, token: str,
                                              params: dict[str, object]) -> None:
    r = client.get("/api/v1/conversations", params=params, headers=auth(token))
    assert r.status_code == 422
    assert r.json()["detail"]


def test_conversation_with_its_messages(client: TestClient, session: Session,
                                        token: str) -> None:
    acc = f.account(session)
    ingest_batch(session, account=acc, stream="dms", cursor=None, messages=[
        f.inbound("<script>alert(1)</script> hi", minutes=0, thread="dm1",
                  kind=ThreadKind.X_DM, platform=Platform.X, external_id="e1"),
        f.inbound("hello Jane", minutes=3, thread="dm1", kind=ThreadKind.X_DM,
                  author="42", is_own=True, external_id="e2"),
    ])
    listed = client.get("/api/v1/conversations", headers=auth(token)).json()["items"]
    r = client.get(f"/api/v1/conversations/{listed[0]['id']}", headers=auth(token))
    assert r.status_code == 200
    msgs = r.json()["messages"]
    assert [(m["external_id"], m["direction"]) for m in msgs] == [("e1", "inbound"),
                                                                  ("e2", "outbound")]
    assert msgs[0]["author"] == {"name": "Jane Doe", "handle": "jane"}
    assert msgs[0]["text"] == "<script>alert(1)</script> hi"
    assert msgs[1]["delivery_state"] == "sent"


def test_unknown_conversation_is_404(client: TestClient, token: str) -> None:
    r = client.get("/api/v1/conversations/999999", headers=auth(token))
    assert r.status_code == 404
    assert "999999" in r.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/conversations/9223372036854775808",
                                  "/api/v1/conversations/0"])
def test_an_id_no_store_can_hold_is_a_clear_error(client: TestClient, token: str,
                                                  path: str) -> None:
    r = client.get(path, headers=auth(token))
    assert r.status_code == 422
    posted = client.post(path + "/replies", json={"text": "hi"}, headers=auth(token))
    assert posted.status_code == 422


def test_every_api_error_has_one_shape_and_is_in_the_spec(client: TestClient,
                                                          token: str) -> None:
    r = client.get("/api/v1/conversations", params={"limit": "many"}, headers=auth(token))
    assert r.status_code == 422
    assert isinstance(r.json()["detail"], str) and "limit" in r.json()["detail"]
    spec = client.get("/openapi.json").json()
    responses = spec["paths"]["/api/v1/conversations"]["get"]["responses"]
    for status in ("401", "404", "422"):
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorOut"}, status
