"""Full-text search (the inbox's search box), on SQLite FTS5 and PostgreSQL tsvector."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update
from sqlmodel import Session, col

from app.accounts.models import Account
from app.errors import Invalid
from app.inbox import search
from app.inbox.models import Conversation, Message
from app.inbox.search import fts5_query, matching_conversation_ids, parse_terms, tsquery_text
from app.inbox.service import ConversationFilter, count_conversations, list_conversations
from app.ingest.service import ingest_batch
from connectors.base import InboundMessage
from tests import factories as f


def ingest(session: Session, acc: Account, *messages: InboundMessage) -> None:
    ingest_batch(session, account=acc, stream="mentions", messages=list(messages), cursor=None)


def found(session: Session, q: str, **filters: object) -> set[str]:
    """The external thread ids of the conversations the inbox shows for `q`."""
    page = list_conversations(session, filters=ConversationFilter(q=q, **filters))  # type: ignore[arg-type]
    return {conv.external_thread_id for conv, _, _ in page.items}


def conv(session: Session, thread: str) -> Conversation:
    session.expire_all()
    return session.scalars(
        select(Conversation).where(col(Conversation.external_thread_id) == thread)).one()


@pytest.fixture(autouse=True, params=["collect", "walk"])
def strategy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of searching (see search.WALK_FROM) must find the same conversations."""
    threshold = 0 if request.param == "walk" else 10**9
    for dialect in list(search.WALK_FROM):
        monkeypatch.setitem(search.WALK_FROM, dialect, threshold)
    return str(request.param)


@pytest.fixture
def acc(session: Session) -> Account:
    acc = f.account(session)
    ingest(session, acc,
           f.inbound("My printer is broken, please help!", thread="t1", author="7",
                     name="Jane Doe", handle="jane_d"),
           f.inbound("Der Drucker druckt nicht. Ich warte seit Tagen auf eine Antwort für "
                     "meine Bestellung.", minutes=1, thread="t2", author="8",
                     name="Bob Builder", handle="bobthebuilder"),
           f.inbound("Refund for order 4711 please (urgent!)", minutes=2, thread="t3",
                     author="9", name="Jürgen Müller", handle="jmueller"))
    return acc


def test_message_text_matches_whole_words_in_any_case(session: Session, acc: Account) -> None:
    assert found(session, "printer") == {"t1"}
    assert found(session, "PRINTER Broken") == {"t1"}
    assert found(session, "4711") == {"t3"}
    assert found(session, "rinter") == set()  # inside a word is not a match


def test_every_term_must_match_one_message(session: Session, acc: Account) -> None:
    assert found(session, "broken printer") == {"t1"}
    assert found(session, "printer refund") == set()


def test_last_term_matches_as_a_prefix(session: Session, acc: Account) -> None:
    assert found(session, "print") == {"t1"}
    assert found(session, "printer bro") == {"t1"}
    assert found(session, "bro printer") == set()  # earlier terms are whole words
    assert found(session, "pr") == set()  # too short to be a prefix


def test_contact_name_and_handle_match(session: Session, acc: Account) -> None:
    assert found(session, "Jane") == {"t1"}
    assert found(session, "doe jane") == {"t1"}
    assert found(session, "bobthebuilder") == {"t2"}
    assert found(session, "@jmueller") == {"t3"}
    assert found(session, "jane_d") == {"t1"}


def test_no_match_is_an_empty_page(session: Session, acc: Account) -> None:
    page = list_conversations(session, filters=ConversationFilter(q="scanner"))
    assert (page.items, page.next_cursor) == ([], None)
    assert count_conversations(session, ConversationFilter(q="scanner")) == 0


def test_german_umlauts(session: Session, acc: Account) -> None:
    assert found(session, "drucker") == {"t2"}
    assert found(session, "für") == {"t2"}
    assert found(session, "FÜR") == {"t2"}
    assert found(session, "Müller") == {"t3"}
    assert found(session, "jürgen MÜLLER") == {"t3"}
    # No accent folding on either store: "fur" is another word.
    assert found(session, "fur") == set()


@pytest.mark.parametrize("q", [
    '"printer', 'printer"', '"printer broken"', "(printer)", "printer)", "((printer",
    "printer*", "*printer", "-printer", "+printer", "printer:", ":printer", "^printer",
    "printer'", "'printer'", "printer\\", "{printer}", "printer;--", "printer % _",
    "printer & !broken |", "printer (is) -broken",
])
def test_special_characters_are_only_separators(session: Session, acc: Account, q: str) -> None:
    assert found(session, q) == {"t1"}


@pytest.mark.parametrize("q", ['"', "(", ")", "*", "-", ":", "AND", "OR", "NOT", "'", "\\",
                               '" OR "', "NEAR", "a:b", "x*y", "printer AND", "NOT printer",
                               "printer NEAR(broken)", "printer OR broken", "printer's",
                               "a & b | !c", "text:printer", "'; DROP TABLE message; --"])
def test_odd_queries_never_break_the_statement(session: Session, acc: Account, q: str) -> None:
    try:
        found(session, q)
    except Invalid as exc:  # a query of punctuation alone is refused with a message
        assert "letter or digit" in str(exc)


def test_operator_words_are_searched_as_words(session: Session, acc: Account) -> None:
    ingest(session, acc, f.inbound("printer OR scanner, NOT sure", thread="t4", author="10"))
    assert found(session, "OR") == {"t4"}
    assert found(session, "not SURE") == {"t4"}


@pytest.mark.parametrize("q", ["", "   ", "x" * 201, "!!! ??? ..."])
def test_empty_or_too_long_is_invalid(session: Session, q: str) -> None:
    with pytest.raises(Invalid):
        matching_conversation_ids(session, q)


def test_query_strings_quote_every_term() -> None:
    terms = parse_terms(' say "hi" it\'s a\\b OR ( NOT print ')
    assert terms == ['say', '"hi"', "it's", "a\\b", "OR", "NOT", "print"]
    assert fts5_query(terms) == '"say" """hi""" "it\'s" "a\\b" "OR" "NOT" "print"*'
    assert tsquery_text(terms) == "'say' & '\"hi\"' & 'it''s' & 'a\\\\b' & 'OR' & 'NOT' & 'print':*"


def test_search_combines_with_other_filters(session: Session, acc: Account) -> None:
    other = f.account(session, platform="facebook", external_id="99")
    ingest(session, acc, f.inbound("printer jammed again", minutes=3, thread="t5", author="11"))
    ingest(session, other, f.inbound("printer on fire", minutes=4, thread="t6", author="12"))
    session.execute(update(Conversation).where(col(Conversation.external_thread_id) == "t5")
                    .values(status="resolved", waiting_since=None))

    assert found(session, "printer") == {"t1", "t5", "t6"}
    assert found(session, "printer", status="open") == {"t1", "t6"}
    assert found(session, "printer", account_id=other.id) == {"t6"}
    assert found(session, "printer", platform="x", status="open") == {"t1"}
    assert count_conversations(session, ConversationFilter(q="printer", status="open")) == 2


def test_search_results_page_with_the_cursor(session: Session, acc: Account) -> None:
    ingest(session, acc, f.inbound("printer jammed", minutes=3, thread="t5", author="11"))
    first = list_conversations(session, filters=ConversationFilter(q="printer"), limit=1)
    assert first.next_cursor
    second = list_conversations(session, filters=ConversationFilter(q="printer"), limit=1,
                                cursor=first.next_cursor)
    seen = [row[0].external_thread_id for row in first.items + second.items]
    assert seen == ["t1", "t5"]  # longest waiting first
    assert second.next_cursor is None


def test_new_messages_are_searchable_right_after_ingest(session: Session, acc: Account) -> None:
    assert found(session, "toner") == set()
    ingest(session, acc, f.inbound("the toner is empty", minutes=5, thread="t1", author="7"))
    assert found(session, "toner") == {"t1"}
    ingest(session, acc, f.inbound("Tonerkassette leer", minutes=6, thread="t7", author="13",
                                   name="Zoë Quast", handle="zquast"))
    assert found(session, "tonerkassette") == {"t7"}
    assert found(session, "zoë") == {"t7"}


def test_edited_message_text_is_searched_as_edited(session: Session, acc: Account) -> None:
    session.execute(update(Message).where(col(Message.text).startswith("My printer"))
                    .values(text="My scanner is broken"))
    assert found(session, "printer") == set()
    assert found(session, "scanner") == {"t1"}
    # Changing other columns leaves the index as it is.
    session.execute(update(Message).values(delivery_state="sent"))
    assert found(session, "scanner") == {"t1"}
    assert_index_in_sync(session)


def test_renamed_contact_is_searched_by_the_new_name(session: Session, acc: Account) -> None:
    ingest(session, acc, f.inbound("hello again", minutes=5, thread="t1", author="7",
                                   name="Janet Smith", handle="janet_s"))
    assert found(session, "janet") == {"t1"}
    assert found(session, "Doe") == set()
    assert found(session, "jane_d") == set()
    assert_index_in_sync(session)


def test_deleted_messages_and_conversations_are_not_found(session: Session, acc: Account) -> None:
    session.execute(delete(Message).where(col(Message.text).startswith("Refund")))
    assert found(session, "refund") == set()
    session.execute(delete(Conversation).where(col(Conversation.external_thread_id) == "t2"))
    assert found(session, "drucker") == set()
    assert found(session, "bobthebuilder") == set()
    assert found(session, "printer") == {"t1"}
    assert_index_in_sync(session)


def test_the_indexes_are_used(session: Session, acc: Account, db_kind: str,
                              strategy: str) -> None:
    query = select(col(Conversation.id)).where(
        col(Conversation.id).in_(matching_conversation_ids(session, "printer")))
    sql = str(query.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    conn = session.connection()
    if db_kind == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql))
        wanted = (["ix_message_text_fts", "ix_contact_name_handle_fts"] if strategy == "collect"
                  else ["ix_message_conversation_created"])
    else:
        plan = "\n".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
        wanted = ["message_fts VIRTUAL TABLE INDEX", "contact_fts VIRTUAL TABLE INDEX"]
        if strategy == "walk":
            wanted.append("COVERING INDEX ix_message_conversation_created")
    assert all(name in plan for name in wanted), plan


def assert_index_in_sync(session: Session) -> None:
    """On SQLite, FTS5 compares its index with the content tables (PostgreSQL: nothing to do)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    for fts in ("message_fts", "contact_fts"):
        session.connection().exec_driver_sql(
            f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)")
