"""HTTP plumbing shared by the connectors: a requests session with a timeout and a base URL.

tweepy (and facebook-sdk) hard-code the platform host, so the only way to point them at the
simulator is to hand them a session that rewrites the host (platforms.md A5).
"""

from __future__ import annotations

from typing import Any

import requests

# Hosts the libraries build their URLs from; each is swapped for `base_url` when one is set.
PLATFORM_HOSTS = ("https://api.twitter.com", "https://api.x.com", "https://graph.facebook.com")


class RedirectSession(requests.Session):
    """A session that always applies a timeout and may send everything to another base URL.

    requests has no default timeout; without one a stalled platform would hang a worker forever.
    """

    def __init__(self, base_url: str | None = None, timeout: float = 10.0) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if self.base_url and isinstance(url, str):
            for host in PLATFORM_HOSTS:
                if url.startswith(host):
                    url = self.base_url + url[len(host):]
                    break
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, url, *args, **kwargs)
