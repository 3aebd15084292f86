"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from app.migrate import NotMigrated, ensure_migrated

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """The database is reachable and migrated to the code's revision."""
    try:
        ensure_migrated(request.app.state.engine)
    except NotMigrated as exc:
        return JSONResponse({"status": "not ready", "reason": str(exc)}, status_code=503)
    except SQLAlchemyError as exc:
        reason = f"database unreachable: {type(exc).__name__}"
        return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ready"})
