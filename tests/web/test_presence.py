"""Collision detection: who else views a conversation, and who is typing."""

from __future__ import annotations

import pytest

from app.realtime import presence as presence_module
from app.realtime.presence import Presence


def test_others_see_viewers_but_not_themselves() -> None:
    p = Presence()
    p.join(1, 10, "Sam")
    p.join(1, 11, "Olga")
    p.join(2, 12, "Ben")
    assert p.others(1, 10) == [("Olga", False)]
    assert p.others(1, 11) == [("Sam", False)]


def test_two_tabs_count_until_both_close() -> None:
    p = Presence()
    p.join(1, 10, "Sam")
    p.join(1, 10, "Sam")
    p.leave(1, 10)
    assert p.others(1, 99) == [("Sam", False)]
    p.leave(1, 10)
    assert p.others(1, 99) == []


def test_typing_shows_and_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(presence_module.time, "monotonic", lambda: clock[0])
    p = Presence()
    p.join(1, 10, "Sam")
    p.typing(1, 10, "Sam", True)
    assert p.others(1, 11) == [("Sam", True)]
    clock[0] += presence_module.TYPING_SECONDS + 1
    assert p.others(1, 11) == [("Sam", False)]
    p.typing(1, 10, "Sam", True)
    p.typing(1, 10, "Sam", False)
    assert p.others(1, 11) == [("Sam", False)]
