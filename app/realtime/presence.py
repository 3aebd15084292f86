"""Who is looking at which conversation, and who is typing a reply (this process only)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

TYPING_SECONDS = 6.0


@dataclass
class Viewer:
    name: str
    connections: int = 0
    typing_until: float = 0.0


class Presence:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_conv: dict[int, dict[int, Viewer]] = {}

    def join(self, conv_id: int, agent_id: int, name: str) -> None:
        with self._lock:
            viewer = self._by_conv.setdefault(conv_id, {}).setdefault(agent_id, Viewer(name))
            viewer.connections += 1

    def leave(self, conv_id: int, agent_id: int) -> None:
        with self._lock:
            viewers = self._by_conv.get(conv_id, {})
            viewer = viewers.get(agent_id)
            if viewer is not None:
                viewer.connections -= 1
                if viewer.connections <= 0:
                    del viewers[agent_id]

    def typing(self, conv_id: int, agent_id: int, name: str, active: bool) -> None:
        with self._lock:
            viewer = self._by_conv.setdefault(conv_id, {}).setdefault(agent_id, Viewer(name))
            viewer.typing_until = time.monotonic() + TYPING_SECONDS if active else 0.0

    def others(self, conv_id: int, agent_id: int) -> list[tuple[str, bool]]:
        """(name, typing) of everyone else on this conversation, sorted by name."""
        now = time.monotonic()
        with self._lock:
            viewers = dict(self._by_conv.get(conv_id, {}))
        return sorted((v.name, v.typing_until > now) for aid, v in viewers.items()
                      if aid != agent_id and (v.connections > 0 or v.typing_until > now))


presence = Presence()
