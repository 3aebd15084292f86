"""The web inbox: list, conversation view, and every action on a conversation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlmodel import Session

from app.accounts.models import Account
from app.auth.models import Agent, Team
from app.db import SessionDep
from app.errors import Invalid
from app.ids import PathId, optional_id, parsed_id
from app.inbox import actions, service
from app.inbox.breach import closest_to_breach
from app.inbox.details import conversation_view
from app.inbox.models import ConversationTag, Tag
from app.inbox.views import VIEWS, parse, view_filter
from app.outbox.service import queue_reply, retry_reply
from app.reports.sla import sla_status
from app.web import CsrfAgent, WebAgent, is_htmx, redirect, render

router = APIRouter(include_in_schema=False)
PAGE = 50
# A live refresh reloads at most this many of the rows the agent had loaded (the most
# one list call gives).
MAX_SHOWN = service.MAX_LIMIT


@router.get("/")
def home(_agent: WebAgent) -> Response:
    return Response(status_code=303, headers={"Location": "/inbox"})


@router.get("/inbox")
def inbox(request: Request, session: SessionDep, agent: WebAgent,
          cursor: str | None = None) -> Response:
    params = {k: v for k, v in request.query_params.items() if k not in ("cursor", "shown")}
    context = _listing(session, agent, params, cursor, _shown(request.query_params.get("shown")))
    if is_htmx(request) and request.headers.get("HX-Target") in ("rows", "more"):
        return render(request, "inbox/_rows.html", **context)
    counts = _counts(session, agent)
    if is_htmx(request) and request.headers.get("HX-Target") == "list":
        return render(request, "inbox/_list.html", counts=counts, oob_counts=True, **context)
    return render(request, "inbox/index.html", counts=counts, **context,
                  accounts=session.scalars(select(Account).order_by(Account.name)).all(),
                  teams=session.scalars(select(Team).order_by(Team.name)).all(),
                  all_tags=session.scalars(select(Tag).order_by(Tag.name)).all())


def _listing(session: Session, agent: Agent, params: dict[str, str], cursor: str | None,
             limit: int) -> dict[str, Any]:
    """What the list templates need: one page of a view, with its rows' tags and SLAs."""
    view, filters, sort = parse(params, agent)
    if params.get("sort") == "breach":
        page = closest_to_breach(session, filters=filters, limit=limit, cursor=cursor)
    else:
        page = service.list_conversations(session, filters=filters, sort=sort, limit=limit,
                                          cursor=cursor)
    ids = [row[0].id for row in page.items]
    tags: dict[int, list[Tag]] = {}
    for conv_id, tag in session.execute(select(ConversationTag.conversation_id, Tag).join(
            Tag, Tag.id == ConversationTag.tag_id).where(
            ConversationTag.conversation_id.in_(ids)).order_by(Tag.name)):  # type: ignore[attr-defined]
        tags.setdefault(conv_id, []).append(tag)
    sla = sla_status(session, [i for i in ids if i is not None])
    session.commit()  # keeps the SLA clocks brought up to date on the way
    return dict(
        view=view, views=VIEWS, params=params, page=page, tags=tags, sla=sla,
        sort=params.get("sort") or sort.value,
        agents={a.id: a for a in session.scalars(select(Agent).order_by(Agent.name))},
        more_url="/inbox?" + urlencode(params | {"cursor": page.next_cursor})
        if page.next_cursor else None,
    )


def _shown(raw: str | None) -> int:
    """How many rows to list: a live refresh asks for as many as the agent had loaded
    with "Load more", so they are not thrown away; never fewer than a page."""
    try:
        return min(max(PAGE, int(raw or 0)), MAX_SHOWN)
    except ValueError:
        return PAGE


def _counts(session: Session, agent: Agent) -> dict[str, int]:
    return {v.key: service.count_conversations(session, view_filter(v.key, agent))
            for v in VIEWS}


def _show(request: Request, session: Session, conv_id: PathId,
          fragment: str | None = None) -> Response:
    conv = service.get_conversation(session, conv_id)
    view = conversation_view(session, conv)
    sla = sla_status(session, [conv_id]).get(conv_id)
    session.commit()
    if fragment and is_htmx(request):
        return render(request, fragment, v=view, sla=sla)
    return render(request, "inbox/conversation.html", v=view, sla=sla)


@router.get("/conversations/{conv_id}")
def conversation(request: Request, conv_id: PathId, session: SessionDep,
                 _agent: WebAgent, part: str | None = None) -> Response:
    conv = service.get_conversation(session, conv_id)
    if part is None:
        actions.mark_read(session, conv)
        session.commit()
    fragments = {"thread": "inbox/_thread.html", "details": "inbox/_details.html"}
    return _show(request, session, conv_id, fragments.get(part or ""))


@router.post("/conversations/{conv_id}/reply")
def reply(request: Request, conv_id: PathId, session: SessionDep, agent: CsrfAgent,
          text: Annotated[str, Form()] = "", private: Annotated[bool, Form()] = False,
          resolve: Annotated[bool, Form()] = False, canned_id: Annotated[str, Form()] = "",
          canned_text: Annotated[str, Form()] = "") -> Response:
    conv = service.get_conversation(session, conv_id)
    canned_number = parsed_id(canned_id)
    canned = (canned_number, canned_text) if canned_number is not None else None
    queue_reply(session, conversation=conv, agent=agent, text=text, private=private,
                canned=canned)
    if resolve:
        actions.resolve(session, conv, by=agent)
    session.commit()
    return _after(request, session, conv_id, "inbox/_thread.html")


def _after(request: Request, session: Session, conv_id: PathId, fragment: str) -> Response:
    if is_htmx(request):
        return _show(request, session, conv_id, fragment)
    return redirect(request, f"/conversations/{conv_id}")


@router.post("/conversations/{conv_id}/notes")
def note(request: Request, conv_id: PathId, session: SessionDep, agent: CsrfAgent,
         text: Annotated[str, Form()] = "") -> Response:
    conv = service.get_conversation(session, conv_id)
    actions.add_note(session, conv, by=agent, text=text)
    session.commit()
    return _after(request, session, conv_id, "inbox/_thread.html")


@router.post("/conversations/{conv_id}/assign")
def assign(request: Request, conv_id: PathId, session: SessionDep, agent: CsrfAgent,
           assignee: Annotated[str, Form()] = "", team: Annotated[str, Form()] = "") -> Response:
    conv = service.get_conversation(session, conv_id)
    agent_id = agent.id if assignee == "me" else optional_id(assignee, "assignee")
    actions.assign(session, conv, by=agent, agent_id=agent_id, team_id=optional_id(team, "team"))
    session.commit()
    return _after(request, session, conv_id, "inbox/_details.html")


@router.post("/conversations/{conv_id}/tags")
def tag(request: Request, conv_id: PathId, session: SessionDep, agent: CsrfAgent,
        name: Annotated[str, Form()] = "") -> Response:
    conv = service.get_conversation(session, conv_id)
    actions.add_tag(session, conv, name=name, by=agent)
    session.commit()
    return _after(request, session, conv_id, "inbox/_details.html")


@router.post("/conversations/{conv_id}/tags/{tag_id}/remove")
def untag(request: Request, conv_id: PathId, tag_id: PathId, session: SessionDep,
          agent: CsrfAgent) -> Response:
    conv = service.get_conversation(session, conv_id)
    actions.remove_tag(session, conv, tag_id=tag_id, by=agent)
    session.commit()
    return _after(request, session, conv_id, "inbox/_details.html")


@router.post("/conversations/{conv_id}/priority")
def priority(request: Request, conv_id: PathId, session: SessionDep, agent: CsrfAgent,
             value: Annotated[str, Form()] = "") -> Response:
    conv = service.get_conversation(session, conv_id)
    actions.set_priority(session, conv, priority=value, by=agent)
    session.commit()
    return _after(request, session, conv_id, "inbox/_details.html")


@router.post("/conversations/{conv_id}/status")
def status(request: Request, conv_id: PathId, session: SessionDep, agent: CsrfAgent,
           action: Annotated[str, Form()] = "", until: Annotated[str, Form()] = "",
           tz: Annotated[str, Form()] = "") -> Response:
    conv = service.get_conversation(session, conv_id)
    if action == "resolve":
        actions.resolve(session, conv, by=agent)
    elif action == "reopen":
        actions.reopen(session, conv, by=agent)
    elif action == "snooze":
        actions.snooze(session, conv, until=_when(until, tz), by=agent)
    else:
        raise Invalid("action must be resolve, reopen or snooze")
    session.commit()
    return _after(request, session, conv_id, "inbox/_details.html")


def _when(raw: str, tz: str = "") -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid("snooze needs a date and time, like 2026-12-01T09:00") from None
    # A datetime-local field has no zone: it is the agent's wall time in the browser's
    # zone, which app.js sends alongside (no zone without JavaScript: read as UTC).
    if value.tzinfo is None:
        value = value.replace(tzinfo=_zone(tz))
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59 west of Greenwich
        raise Invalid("snooze until a date before the year 9999") from None


def _zone(name: str) -> ZoneInfo:
    """The browser's IANA zone, or UTC when it sent none or one we do not know."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: not a zone name at all
        return ZoneInfo("UTC")


@router.post("/conversations/{conv_id}/escalate")
def escalate(request: Request, conv_id: PathId, session: SessionDep, agent: CsrfAgent,
             target: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "") -> Response:
    conv = service.get_conversation(session, conv_id)
    kind, _, raw_id = target.partition(":")
    number = parsed_id(raw_id)
    if kind not in ("agent", "team") or number is None:
        raise Invalid("choose a team or a person to escalate to")
    actions.escalate(session, conv, by=agent, reason=reason,
                     to_agent_id=number if kind == "agent" else None,
                     to_team_id=number if kind == "team" else None)
    session.commit()
    return _after(request, session, conv_id, "inbox/_details.html")


@router.post("/conversations/{conv_id}/deescalate")
def deescalate(request: Request, conv_id: PathId, session: SessionDep, agent: CsrfAgent,
               note: Annotated[str, Form()] = "") -> Response:
    conv = service.get_conversation(session, conv_id)
    actions.deescalate(session, conv, by=agent, note=note)
    session.commit()
    return _after(request, session, conv_id, "inbox/_details.html")


@router.post("/messages/{message_id}/retry")
def retry(request: Request, message_id: PathId, session: SessionDep, agent: CsrfAgent) -> Response:
    message = service.get_message(session, message_id)
    retry_reply(session, message=message, agent=agent)
    session.commit()
    return _after(request, session, message.conversation_id, "inbox/_thread.html")


@router.post("/inbox/bulk")
def bulk(request: Request, session: SessionDep, agent: CsrfAgent,
         ids: Annotated[list[int], Form()] = [],  # noqa: B006 - FastAPI form default
         action: Annotated[str, Form()] = "", value: Annotated[str, Form()] = "",
         shown: Annotated[str, Form()] = "",
         back: Annotated[str, Query()] = "/inbox") -> Response:
    actions.bulk(session, ids, action=action, value=value, by=agent)
    session.commit()
    if not back.startswith("/inbox"):
        back = "/inbox"
    if is_htmx(request):
        # The list as it now is, in place: the agent keeps the filters and the rows loaded.
        params = {k: v for k, v in parse_qsl(urlsplit(back).query) if k not in ("cursor", "shown")}
        context = _listing(session, agent, params, None, _shown(shown))
        return render(request, "inbox/_list.html", counts=_counts(session, agent),
                      oob_counts=True, **context)
    return redirect(request, back)
