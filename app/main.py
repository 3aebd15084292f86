"""create_app(settings): wiring only."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from app import health
from app.api_errors import is_api, validation_message
from app.auth.routes import router as auth_pages
from app.db import make_engine, session_factory
from app.errors import DomainError, Invalid, Unauthorized
from app.form_bytes import FormBytesCheck
from app.inbox.pages import router as inbox_pages
from app.inbox.routes import api as conversations_api
from app.outbox.routes import api as replies_api
from app.realtime.routes import router as realtime
from app.reports.routes import api as reports_api
from app.reports.routes import router as reports_pages
from app.settings import Settings
from app.web import STATIC, LoginRequired, is_htmx, redirect, render


def create_app(settings: Settings, *, engine: Engine | None = None,
               worker: bool = False) -> FastAPI:
    """The web app; with `worker`, the poller and outbox sender run in a thread beside it."""
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = FastAPI(title="Switchboard", version="0.1.0", lifespan=_lifespan,
                  description="Self-hosted social media support inbox: the JSON API.")
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database_url)
    app.state.session_factory = session_factory(app.state.engine)
    app.state.run_worker = worker
    app.include_router(health.router)
    app.include_router(conversations_api)
    app.include_router(replies_api)
    app.include_router(auth_pages)
    app.include_router(inbox_pages)
    app.include_router(realtime)
    app.include_router(reports_pages)
    app.include_router(reports_api)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_middleware(FormBytesCheck)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    stop = None
    if app.state.run_worker:
        from app.accounts.crypto import CredentialBox
        from app.worker import Worker

        s: Settings = app.state.settings
        _, key = s.require_keys()
        thread, stop = Worker(app.state.session_factory, CredentialBox(key),
                              poll_interval=s.poll_interval,
                              poll_threads=s.poll_threads).start_thread()
    yield
    if stop is not None:
        stop.set()
        thread.join(timeout=15)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    """A wrong parameter or form field: the API's one error shape, or the page's notice."""
    return await _domain_error(request, Invalid(validation_message(exc)))


async def _domain_error(request: Request, exc: DomainError) -> Response:
    if is_api(request):
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code, headers=headers)
    if isinstance(exc, LoginRequired):
        target = request.url.path if request.method == "GET" else "/inbox"
        return redirect(request, f"/login?next={target}")
    if is_htmx(request):
        # app.js shows this text in the page's notice area.
        return Response(str(exc), status_code=exc.status_code, media_type="text/plain")
    return render(request, "error.html", message=str(exc), status_code=exc.status_code)
