"""One shape for every API error, documented in the OpenAPI spec: {"detail": "..."}."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel


class ErrorOut(BaseModel):
    detail: str


API_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No valid API token (Authorization: Bearer ...)"},
    403: {"model": ErrorOut, "description": "The token's agent may not do this"},
    404: {"model": ErrorOut, "description": "No such conversation, message or report"},
    422: {"model": ErrorOut, "description": "A value is missing or wrong; detail says which"},
}


def validation_message(exc: RequestValidationError) -> str:
    """FastAPI's list of problems as one sentence a person can act on."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query",
                                                                         "path", "form"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where
                     else str(error.get("msg", "invalid")))
    return "; ".join(parts) or "the request is not valid"


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")
