"""Reports for supervisors: the page, CSV downloads, and the same figures as JSON."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from app.accounts.models import Account
from app.api_errors import API_ERRORS
from app.auth.deps import ApiAgent
from app.auth.models import Agent, Team
from app.db import SessionDep
from app.errors import DomainError, Invalid, NotFound
from app.ids import PathId, QueryId, parsed_id
from app.inbox.models import Tag
from app.reports.calendar import WEEKDAYS as CAL_WEEKDAYS
from app.reports.models import SlaPolicy
from app.reports.page import TABLES, WEEKDAYS, as_csv, parse, table
from app.reports.policy_forms import PolicyForm, delete_policy, save_policy
from app.web import CsrfAgent, WebAgent, redirect, render

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/reports", tags=["reports"], responses=API_ERRORS)


class Forbidden(DomainError):
    status_code = 403


def _supervisor(agent: Agent) -> None:
    if agent.role not in ("supervisor", "admin"):
        raise Forbidden("reports are for supervisors and admins")


@router.get("/reports")
def reports_page(request: Request, session: SessionDep, agent: WebAgent) -> Response:
    _supervisor(agent)
    q = parse(dict(request.query_params))
    tables = {name: table(session, name, q) for name in TABLES}
    session.commit()  # keeps the report spans brought up to date on the way
    return render(request, "reports/index.html", q=q, params=q.params(), tables=tables,
                  weekdays=WEEKDAYS,
                  accounts=session.scalars(select(Account).order_by(Account.name)).all(),
                  teams=session.scalars(select(Team).order_by(Team.name)).all(),
                  tags=session.scalars(select(Tag).order_by(Tag.name)).all(),
                  agents=session.scalars(select(Agent).order_by(Agent.name)).all())


@router.get("/reports/{name}.csv")
def report_csv(name: str, request: Request, session: SessionDep, agent: WebAgent) -> Response:
    _supervisor(agent)
    q = parse(dict(request.query_params))
    head, rows = table(session, name, q)
    session.commit()
    filename = f"switchboard-{name}-{q.start_day}-{q.end_day}.csv"
    return Response(as_csv(head, rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@api.get("/{name}")
def report_json(name: str, request: Request, session: SessionDep,
                agent: ApiAgent) -> dict[str, Any]:
    """One report (response-times, sla, volumes, backlog, busiest-hours, agents) for
    `start`..`end` (local dates in `tz`, end included) and the inbox's filters."""
    _supervisor(agent)
    q = parse(dict(request.query_params))
    head, rows = table(session, name, q)
    session.commit()
    return {"report": name, "params": q.params(), "columns": head, "rows": rows}


@router.get("/reports/sla-policies")
def policies_page(request: Request, session: SessionDep, agent: WebAgent,
                  edit: QueryId = None) -> Response:
    _supervisor(agent)
    policies = session.scalars(select(SlaPolicy).order_by(SlaPolicy.is_default.desc(),  # type: ignore[attr-defined]
                                                          SlaPolicy.name)).all()
    current = next((p for p in policies if p.id == edit), None) if edit else None
    if edit and current is None:
        raise NotFound(f"no SLA policy {edit}")
    form = PolicyForm.of(current) if current else PolicyForm(hours={})
    return _policies(request, session, policies, form, edit)


def _policies(request: Request, session: SessionDep, policies: Any, form: PolicyForm,
              edit: int | None, error: str | None = None, status_code: int = 200) -> Response:
    return render(request, "reports/policies.html", policies=policies, form=form, edit=edit,
                  error=error, weekdays=CAL_WEEKDAYS, status_code=status_code,
                  teams=session.scalars(select(Team).order_by(Team.name)).all(),
                  leads=session.scalars(select(Agent).where(Agent.role != "agent")
                                        .order_by(Agent.name)).all(),
                  accounts=session.scalars(select(Account).order_by(Account.name)).all())


@router.post("/reports/sla-policies")
async def save_policy_route(request: Request, session: SessionDep, agent: CsrfAgent) -> Response:
    _supervisor(agent)
    data = await request.form()
    form = PolicyForm(
        name=str(data.get("name", "")), priority=str(data.get("priority", "")),
        platform=str(data.get("platform", "")), account_id=str(data.get("account_id", "")),
        first_response_minutes=str(data.get("first_response_minutes", "")),
        next_reply_minutes=str(data.get("next_reply_minutes", "")),
        resolution_hours=str(data.get("resolution_hours", "")),
        at_risk_percent=str(data.get("at_risk_percent", "")),
        timezone=str(data.get("timezone", "")),
        hours={d: str(data.get(f"hours_{d}", "")) for d in CAL_WEEKDAYS},
        holidays=str(data.get("holidays", "")), is_default=data.get("is_default") == "true",
        escalate_to=str(data.get("escalate_to", "")))
    raw_id = str(data.get("policy_id", ""))
    policy_id = parsed_id(raw_id)
    try:
        save_policy(session, form, policy_id)
    except Invalid as exc:
        session.rollback()
        policies = session.scalars(select(SlaPolicy).order_by(SlaPolicy.name)).all()
        return _policies(request, session, policies, form, policy_id, str(exc), 422)
    session.commit()
    return redirect(request, "/reports/sla-policies")


@router.post("/reports/sla-policies/{policy_id}/delete")
def delete_policy_route(policy_id: PathId, request: Request, session: SessionDep,
                        agent: CsrfAgent) -> Response:
    _supervisor(agent)
    delete_policy(session, policy_id)
    session.commit()
    return redirect(request, "/reports/sla-policies")
