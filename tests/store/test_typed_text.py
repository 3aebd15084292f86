"""Names and other text a person types: a NUL or half an emoji, which no store can hold,
is refused with a message naming the field, and nothing is written."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlmodel import Session

from app.accounts.crypto import CredentialBox
from app.accounts.models import Account
from app.accounts.service import add_account
from app.auth.models import Agent
from app.auth.service import create_agent
from app.errors import Invalid
from app.reports.models import SlaPolicy
from app.reports.policy_forms import PolicyForm, save_policy
from app.text import blank, typed

BAD = {"NUL": "Sam\x00Lee", "lone surrogate": "Sam \ud83d"}


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_names_no_store_can_hold_are_refused_and_nothing_is_written(
        session: Session, bad: str) -> None:
    attempts = {
        "name": lambda: create_agent(session, email="sam@acme.example", name=bad,
                                     role="agent", password="long enough"),
        "email": lambda: create_agent(session, email=f"{bad}@acme.example", name="Sam",
                                      role="agent", password="long enough"),
        "policy name": lambda: save_policy(session, PolicyForm(name=bad, hours={})),
        "holiday name": lambda: save_policy(session, PolicyForm(
            name="Weekdays", hours={}, holidays=f"2026-12-25 {bad}")),
        "account name": lambda: add_account(
            session, box=CredentialBox(Fernet.generate_key().decode()), platform="x",
            name=bad, credentials={"bearer_token": "t"}),
    }
    for what, attempt in attempts.items():
        with pytest.raises(Invalid, match=f"the {what} holds a character that cannot"):
            attempt()
    for model in (Agent, SlaPolicy, Account):
        assert session.scalar(select(func.count()).select_from(model)) == 0


def test_text_that_can_be_stored_comes_back_unchanged() -> None:
    for text in ("Grüße 😀", "plain", "", "tab\tand\nnewline"):
        assert typed(text, "name") is text


def test_control_characters_are_refused_and_long_text_is_named() -> None:
    with pytest.raises(Invalid, match="the reply holds a control character"):
        typed("hi\x01there", "reply")
    with pytest.raises(Invalid, match="the reply holds a control character"):
        typed("caf\u00e9 \x7f", "reply")
    with pytest.raises(Invalid, match="the reason has 2001 characters; at most 2000"):
        typed("x" * 2001, "reason", limit=2000)
    assert typed("x" * 2000, "reason", limit=2000) == "x" * 2000


@pytest.mark.parametrize("text", ["\u200b", "\ufeff", " \u00a0\u2028", ""])
def test_text_nobody_can_see_is_blank(text: str) -> None:
    assert blank(text)


def test_visible_text_is_not_blank() -> None:
    for text in ("a", "\u200bhi", "😀", "\u0301"):  # a lone combining accent shows
        assert not blank(text), text


def test_overlong_names_are_refused_before_the_store_sees_them(session: Session) -> None:
    with pytest.raises(Invalid, match="the name has 121 characters"):
        create_agent(session, email="sam@acme.example", name="S" * 121, role="agent",
                     password="long enough")
    with pytest.raises(Invalid, match="the policy name has 121 characters"):
        save_policy(session, PolicyForm(name="P" * 121, hours={}))
    assert session.scalar(select(func.count()).select_from(Agent)) == 0
