"""Full-text search over message text and contact names and handles.

The migration "full text search" builds the indexes: on SQLite FTS5 tables kept in sync
by triggers, on PostgreSQL GIN indexes on to_tsvector('simple', ...). Both split words
the same way, lower-case them, keep umlauts and do no stemming, so a query finds the
same conversations on both stores.

A query is a list of terms separated by spaces. A conversation matches when one of its
messages, or its contact's name and handle, holds every term as a whole word; the last
term also matches as a prefix (search as you type). Nothing the user types is syntax:
quotes, parentheses, AND/OR/NOT, *, - and : are only word separators.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, column, func, literal_column, select, table
from sqlalchemy.sql import CompoundSelect
from sqlmodel import Session, col

from app.errors import Invalid
from app.inbox.models import Contact, Conversation, Message

MAX_QUERY = 200
# A shorter last term matches whole words only: a one- or two-letter prefix would read
# a large part of the index.
MIN_PREFIX = 3
_ALNUM = re.compile(r"[^\W_]+")

# What the migration creates and the models don't describe (see include_name).
FTS_TABLES = ("message_fts", "contact_fts")
FTS_INDEXES = ("ix_message_text_fts", "ix_contact_name_handle_fts")


def matching_conversation_ids(session: Session, query: str) -> CompoundSelect:
    """A SELECT of the ids of conversations whose messages or contact match `query`."""
    terms = parse_terms(query)
    if session.get_bind().dialect.name == "postgresql":
        return _postgres(terms)
    return _sqlite(terms)


def parse_terms(query: str) -> list[str]:
    """The query's space-separated terms that hold a letter or a digit."""
    text = query.strip()
    if not text:
        raise Invalid("type something to search for")
    if len(text) > MAX_QUERY:
        raise Invalid(f"search is limited to {MAX_QUERY} characters")
    terms = [t for t in text.split() if _ALNUM.search(t)]
    if not terms:
        raise Invalid("search for words: type at least one letter or digit")
    return terms


def _prefix(terms: list[str]) -> bool:
    return len(_ALNUM.findall(terms[-1])[-1]) >= MIN_PREFIX


def fts5_query(terms: list[str]) -> str:
    """An FTS5 MATCH string: every term a quoted phrase, so nothing in it is an operator."""
    phrases = ['"' + t.replace('"', '""') + '"' for t in terms]
    if _prefix(terms):
        phrases[-1] += "*"
    return " ".join(phrases)  # FTS5's implicit AND


def tsquery_text(terms: list[str]) -> str:
    """A to_tsquery() string: every term quoted, so nothing in it is an operator."""
    quoted = ["'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in terms]
    if _prefix(terms):
        quoted[-1] += ":*"
    return " & ".join(quoted)


# --- SQLite: FTS5 external-content tables, rowid = message.id / contact.id --------------

def _sqlite(terms: list[str]) -> CompoundSelect:
    match = fts5_query(terms)
    message_fts = table("message_fts", column("rowid"))
    contact_fts = table("contact_fts", column("rowid"))
    by_text = (select(col(Message.conversation_id))
               .where(col(Message.id).in_(
                   select(message_fts.c.rowid)
                   .where(literal_column("message_fts").op("MATCH")(match))))
               .correlate(None))
    by_contact = (select(col(Conversation.id))
                  .where(col(Conversation.contact_id).in_(
                      select(contact_fts.c.rowid)
                      .where(literal_column("contact_fts").op("MATCH")(match))))
                  .correlate(None))
    return by_text.union_all(by_contact)


# --- PostgreSQL: the expressions of the GIN indexes, written out exactly ----------------

def _simple() -> ColumnElement[Any]:
    # A literal, never a bound parameter: the planner matches index expressions as written.
    return literal_column("'simple'::regconfig")


def _matches(document: Any, tsquery: ColumnElement[Any]) -> ColumnElement[bool]:
    return func.to_tsvector(_simple(), document).op("@@", is_comparison=True)(tsquery)


def _postgres(terms: list[str]) -> CompoundSelect:
    tsquery = func.to_tsquery(_simple(), tsquery_text(terms))
    empty: ColumnElement[str] = literal_column("''")
    name_and_handle = (func.coalesce(Contact.name, empty) + literal_column("' '")
                       + func.coalesce(Contact.handle, empty))
    by_text = (select(col(Message.conversation_id))
               .where(_matches(col(Message.text), tsquery))
               .correlate(None))
    by_contact = (select(col(Conversation.id))
                  .join(Contact, col(Contact.id) == col(Conversation.contact_id))
                  .where(_matches(name_and_handle, tsquery))
                  .correlate(None))
    return by_text.union_all(by_contact)


def include_name(name: str | None, type_: str, parent_names: Mapping[str, Any]) -> bool:
    """Alembic's include_name hook: autogenerate leaves the search tables and indexes alone."""
    if name is None:
        return True
    if type_ == "table":
        return not any(name == t or name.startswith(f"{t}_") for t in FTS_TABLES)
    if type_ == "index":
        return name not in FTS_INDEXES
    return True
