"""facebook-sdk's GraphAPI made safe to call: the simulator seam, usage headers, error classes.

facebook-sdk 3.1.0 ignores the HTTP status, raises only on an `error` key, raises KeyError on
a response without Content-Type and discards the headers (platforms.md B3). A response hook
on our own session keeps what the SDK throws away, so every failure can be classified.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import facebook
import requests

from connectors.base import AuthExpired, ConnectorError, Permanent, RateLimited, Transient
from connectors.http import RedirectSession

log = logging.getLogger(__name__)

Payload = dict[str, Any]

RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613, *range(80000, 80015)})
TRANSIENT_CODES = frozenset({1, 2})
PERMISSION_CODES = frozenset({10, *range(200, 300)})
WINDOW_SUBCODE = 2018278
WINDOW_CLOSED = ("Messenger only allows replies within 7 days of the person's last message "
                 "(and private replies within 7 days of the comment)")
# Without estimated_time_to_regain_access Meta gives no reset; its windows roll over an hour,
# so a few minutes is a polite first wait before the worker tries again.
DEFAULT_WAIT = 300.0
USAGE_HEADERS = ("x-app-usage", "x-page-usage", "x-business-use-case-usage")


@dataclass(frozen=True, slots=True)
class Usage:
    """The highest figure in the usage headers (percent) and Meta's wait, if it gave one."""

    percent: float
    wait_minutes: float | None

    @classmethod
    def from_headers(cls, headers: Any) -> Usage | None:
        figures: list[float] = []
        waits: list[float] = []
        for name in USAGE_HEADERS:
            raw = headers.get(name)
            if not raw:
                continue
            try:
                data = json.loads(raw)
            except ValueError:
                continue
            for entry in _usage_entries(data):
                figures += [float(v) for k, v in entry.items()
                            if k in ("call_count", "total_cputime", "total_time")
                            and isinstance(v, int | float)]
                wait = entry.get("estimated_time_to_regain_access")
                if isinstance(wait, int | float) and wait > 0:
                    waits.append(float(wait))
        if not figures and not waits:
            return None
        return cls(max(figures, default=0.0), max(waits, default=None))

    @property
    def exhausted(self) -> bool:
        return self.percent >= 100 or self.wait_minutes is not None

    def reset_at(self) -> float:
        wait = self.wait_minutes * 60 if self.wait_minutes else DEFAULT_WAIT
        return time.time() + wait


def _usage_entries(data: Any) -> Iterator[dict[str, Any]]:
    """X-App-Usage is one flat object; X-Business-Use-Case-Usage maps ids to lists of them."""
    if isinstance(data, dict) and "call_count" in data:
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            for entry in value if isinstance(value, list) else [value]:
                if isinstance(entry, dict):
                    yield entry


def without_token(url: str) -> str:
    """A paging URL safe to store: the access token is a secret, the cursor is not."""
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "access_token"])
    return urlunsplit(parts._replace(query=query))


class GraphClient:
    """One Page token's GraphAPI on a session of our own; counts calls and remembers limits."""

    def __init__(self, token: str, *, base_url: str | None, timeout: float, version: str) -> None:
        self.session = RedirectSession(base_url, timeout)
        self.session.hooks["response"].append(self._record)
        # 3.1.0 rejects every current version in the constructor: set it afterwards (B1).
        self.api = facebook.GraphAPI(access_token=token, timeout=timeout, session=self.session)
        self.api.version = version if version.startswith("v") else f"v{version}"
        self.calls = 0
        self.blocked_until = 0.0
        self._last: requests.Response | None = None

    def get(self, path: str, what: str, **args: Any) -> Payload:
        return self._call(what, path, {k: v for k, v in args.items() if v is not None}, None)

    def post(self, path: str, what: str, **data: Any) -> Payload:
        return self._call(what, path, {}, {k: v for k, v in data.items() if v is not None})

    def follow(self, url: str, what: str) -> Payload:
        """A paging.next URL, sent through the SDK so it gets the same checks and our token."""
        parts = urlsplit(url)
        args = {k: v for k, v in parse_qsl(parts.query) if k != "access_token"}
        return self._call(what, parts.path.lstrip("/"), args, None, versioned=True)

    def _call(self, what: str, path: str, args: dict[str, Any], data: dict[str, Any] | None,
              *, versioned: bool = False) -> Payload:
        if time.time() < self.blocked_until:
            raise RateLimited(f"{what}: Facebook usage is at its limit, waiting",
                              reset_at=self.blocked_until)
        self.calls += 1
        self._last = None
        full = path if versioned else f"{self.api.version}/{path.lstrip('/')}"
        sending = data is not None
        try:
            if sending:
                result = self.api.request(full, post_args=data, method="POST")
            else:
                result = self.api.request(full, args)
        except facebook.GraphAPIError as exc:
            raise self._error(exc, what, sending=sending) from exc
        except (KeyError, requests.JSONDecodeError) as exc:
            # KeyError: no Content-Type (B3); the other: a body that claims JSON but is not.
            raise Transient(f"{what}: unreadable answer ({type(exc).__name__}: {exc})") from exc
        except (requests.RequestException, ValueError, OSError) as exc:
            raise Transient(f"{what}: {type(exc).__name__}: {exc}") from exc
        status = self._last.status_code if self._last is not None else 200
        if status >= 500:
            raise Transient(f"{what}: Facebook answered HTTP {status}")
        if not isinstance(result, dict):
            raise Transient(f"{what}: Facebook answered {type(result).__name__}, not an object")
        usage = self._usage()
        if usage is not None and usage.exhausted:
            # This answer is good (a send that went through must report its id, a page read
            # is kept): only the next call is held back, until Meta's wait is over.
            self.blocked_until = usage.reset_at()
        return result

    def _record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last = response

    def _usage(self) -> Usage | None:
        return Usage.from_headers(self._last.headers) if self._last is not None else None

    def _error(self, exc: facebook.GraphAPIError, what: str, *, sending: bool) -> ConnectorError:
        """Map a Graph error body (or the SDK's complaint about a non-JSON one) to a class."""
        status = self._last.status_code if self._last is not None else None
        body = exc.result if isinstance(exc.result, dict) else None
        error = body.get("error") if body is not None else None
        if not isinstance(error, dict):
            # "Maintype was not text, image, or querystring": HTML from a proxy, an outage page.
            kind = self._last.headers.get("content-type") if self._last is not None else None
            return Transient(f"{what}: not a Graph answer (HTTP {status}, {kind}): {exc}")
        code, subcode = error.get("code"), error.get("error_subcode")
        message = str(error.get("message") or exc)
        detail = f"{what}: {message} (code {code}" + (f", subcode {subcode})" if subcode else ")")
        if code in RATE_LIMIT_CODES:
            usage = self._usage()
            reset = usage.reset_at() if usage is not None else time.time() + DEFAULT_WAIT
            self.blocked_until = reset
            return RateLimited(detail, reset_at=reset)
        if sending and code == 10 and (subcode == WINDOW_SUBCODE or "allowed window" in message):
            return Permanent(f"{WINDOW_CLOSED}: {detail}")
        if code in TRANSIENT_CODES or error.get("is_transient") is True:
            return Transient(detail)
        if status is not None and status >= 500:
            return Transient(detail)
        if code == 190 or code in PERMISSION_CODES:
            return AuthExpired(f"Facebook refused the Page token: {detail}")
        return Permanent(detail)
