"""Full-text search over message text and contact names and handles.

The migration "full text search" builds the indexes: on SQLite FTS5 tables kept in sync
by triggers, on PostgreSQL GIN indexes on to_tsvector('simple', ...) (for message text,
since the migration "message text tsvector", on the stored column text_tsv that holds
it, so that testing a message does not parse its text again). Both split words
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

from sqlalchemy import ColumnElement, any_, column, func, literal_column, select, table
from sqlalchemy.orm import aliased
from sqlalchemy.sql import CompoundSelect, Select
from sqlmodel import Session, col

from app.errors import Invalid
from app.inbox.models import Contact, Conversation, Message
from app.text import typed

MAX_QUERY = 200
# A shorter last term matches whole words only: a one- or two-letter prefix would read
# a large part of the index.
MIN_PREFIX = 3
_ALNUM = re.compile(r"[^\W_]+")

# What the migration "full text search" creates and the models don't describe
# (see include_name).
FTS_TABLES = ("message_fts", "contact_fts")
FTS_INDEXES = ("ix_message_text_fts", "ix_contact_name_handle_fts")
# PostgreSQL only (migration "message text tsvector"): the words of message.text.
FTS_COLUMNS = {"message": ("text_tsv",)}
_MESSAGE_WORDS = table("message", column("id"), column("conversation_id"), column("text_tsv"))
# The same migration adds these for the inbox list; they belong in
# Conversation.__table_args__ and leave this list once they are there.
def matching_conversation_ids(session: Session, query: str) -> CompoundSelect:
    """A SELECT of the ids of conversations whose messages or contact match `query`.

    For `Conversation.id.in_(...)` in a query on conversation: when many match, the SELECT
    is correlated to that query's conversation row (see WALK_FROM).
    """
    terms = parse_terms(query)
    if session.get_bind().dialect.name == "postgresql":
        return _postgres(session, terms)
    return _sqlite(session, terms)


def parse_terms(query: str) -> list[str]:
    """The query's space-separated terms that hold a letter or a digit."""
    text = typed(query.strip(), "search")
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


def tsquery_text(terms: list[str], prefix: bool = True) -> str:
    """A to_tsquery() string: every term quoted, so nothing in it is an operator."""
    quoted = ["'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in terms]
    if prefix and _prefix(terms):
        quoted[-1] += ":*"
    return " & ".join(quoted)


# --- How to search: collect every match, or walk the list and test each conversation -----
#
# Collecting the matching conversations first costs about a microsecond (SQLite) to tens
# of microseconds (PostgreSQL, heap reads) per matching message: fine for a rare word,
# hundreds of milliseconds for a common one. Then the list's own order index is walked
# instead, each conversation tested against the query; that stops as soon as the page
# is full, which is quick when many conversations match and slow when few do. So the
# search first asks how many messages and contacts match (SQLite: a count that stops at
# the threshold; PostgreSQL: the planner's estimate from the index statistics).
# The walk's bad case: a common word under a filter that lets through many conversations
# of which few match (and a count, which walks them all).
WALK_FROM = {"sqlite": 5_000, "postgresql": 8_000}


def _sqlite_matches_many(session: Session, *rowids: Select[Any]) -> bool:
    """Whether the FTS5 matches reach WALK_FROM: a count that stops there."""
    threshold, total = WALK_FROM["sqlite"], 0
    for query in rowids:
        total += session.scalar(
            select(func.count()).select_from(query.limit(threshold).subquery())) or 0
    return total >= threshold


def _postgres_matches_many(session: Session, terms: list[str]) -> bool:
    """Whether the planner expects WALK_FROM matches or more. Its guess for a prefix can
    fall back to a fixed default, so the guess for whole words counts as well."""
    m, ct = _MESSAGE_WORDS.alias("m"), aliased(Contact)
    total = 0
    for table_id, matches in ((m.c.id, lambda q: _words_match(m, q)),
                              (col(ct.id), lambda q: _matches(_name_and_handle(ct), q))):
        total += max(_estimated_rows(session, select(table_id).where(
            matches(func.to_tsquery(_simple(), tsquery_text(terms, prefix)))))
            for prefix in (True, False))
    return total >= WALK_FROM["postgresql"]


def _estimated_rows(session: Session, query: Select[Any]) -> int:
    """PostgreSQL's estimate of how many rows `query` returns (planned, not run)."""
    compiled = query.compile(session.get_bind())
    plan = session.connection().exec_driver_sql(
        "EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params).scalar_one()
    return int(plan[0]["Plan"]["Plan Rows"])


# --- SQLite: FTS5 external-content tables, rowid = message.id / contact.id --------------

def _sqlite(session: Session, terms: list[str]) -> CompoundSelect:
    match = fts5_query(terms)
    message_fts = table("message_fts", column("rowid"))
    contact_fts = table("contact_fts", column("rowid"))
    message_ids = (select(message_fts.c.rowid)
                   .where(literal_column("message_fts").op("MATCH")(match)))
    contact_ids = (select(contact_fts.c.rowid)
                   .where(literal_column("contact_fts").op("MATCH")(match)))
    if _sqlite_matches_many(session, message_ids, contact_ids):
        # Per conversation of the list: its message ids (a covering index) against the
        # match set, which SQLite builds once per statement.
        m = aliased(Message)
        by_text = (select(col(m.conversation_id))
                   .where(col(m.conversation_id) == col(Conversation.id),
                          col(m.id).in_(message_ids))
                   .correlate(Conversation))
        by_conversation_contact = (select(col(Conversation.id))
                                   .where(col(Conversation.contact_id).in_(contact_ids))
                                   .correlate(Conversation))
        return by_text.union_all(by_conversation_contact)
    by_text = (select(col(Message.conversation_id))
               .where(col(Message.id).in_(message_ids))
               .correlate(None))
    by_contact = (select(col(Conversation.id))
                  .where(col(Conversation.contact_id).in_(contact_ids))
                  .correlate(None))
    return by_text.union_all(by_contact)


# --- PostgreSQL: the expressions of the GIN indexes, written out exactly ----------------

def _simple() -> ColumnElement[Any]:
    # A literal, never a bound parameter: the planner matches index expressions as written.
    return literal_column("'simple'::regconfig")


def _matches(document: Any, tsquery: ColumnElement[Any]) -> ColumnElement[bool]:
    return func.to_tsvector(_simple(), document).op("@@", is_comparison=True)(tsquery)


def _words_match(message: Any, tsquery: ColumnElement[Any]) -> ColumnElement[bool]:
    """A message's stored words (text_tsv, the GIN-indexed column) against the query."""
    return message.c.text_tsv.op("@@", is_comparison=True)(tsquery)  # type: ignore[no-any-return]


def _name_and_handle(contact: Any) -> ColumnElement[str]:
    empty: ColumnElement[str] = literal_column("''")
    return (func.coalesce(contact.name, empty) + literal_column("' '")
            + func.coalesce(contact.handle, empty))


def _postgres(session: Session, terms: list[str]) -> CompoundSelect:
    tsquery = func.to_tsquery(_simple(), tsquery_text(terms))
    m, ct = _MESSAGE_WORDS.alias("m"), aliased(Contact)
    text_matches = _words_match(m, tsquery)
    contact_matches = _matches(_name_and_handle(ct), tsquery)
    if _postgres_matches_many(session, terms):
        # Per conversation of the list: its messages (by index) and its contact, tested
        # without the GIN indexes.
        by_text = (select(m.c.conversation_id)
                   .where(m.c.conversation_id == col(Conversation.id), text_matches)
                   .correlate(Conversation))
        by_contact = (select(col(Conversation.id)).select_from(ct)
                      .where(col(ct.id) == col(Conversation.contact_id), contact_matches)
                      .correlate(Conversation))
        return by_text.union_all(by_contact)
    by_text = select(m.c.conversation_id).where(text_matches).correlate(None)
    # The contacts as an array computed once: the planner then guesses a handful of rows
    # instead of its default for a prefix, and does not plan parallel workers (which cost
    # more to start than these few rows cost to read).
    c = aliased(Conversation)
    contact_ids = func.array(select(col(ct.id)).where(contact_matches).scalar_subquery())
    by_contact = (select(col(c.id)).where(col(c.contact_id) == any_(contact_ids))
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
    if type_ == "column":
        return name not in FTS_COLUMNS.get(parent_names.get("table_name") or "", ())
    return True
