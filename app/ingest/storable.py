"""Messages mended so that both stores can hold them.

A platform's JSON can carry half of a surrogate pair ("\\ud83d" alone: an emoji cut in
two) or a NUL character. Python decodes both into str, but neither store takes them
(UTF-8 has no surrogates; PostgreSQL's text and jsonb have no NUL), and one such message
would fail its whole batch on every poll, holding its stream up for good. Each is
replaced by U+FFFD, the replacement character, as a browser shows a broken character;
the rest of the message is kept as sent.
"""

from __future__ import annotations

from dataclasses import fields, replace
from operator import attrgetter
from typing import Any

import orjson

from app.text import mended
from connectors.base import Author, InboundMessage


def storable(message: InboundMessage) -> InboundMessage:
    """The message itself when every string in it can be stored, else a mended copy."""
    strings = "".join(filter(None, (*_message_texts(message), *_author_texts(message.author))))
    raw_ok = _storable_json(message.raw)
    if raw_ok and mended(strings) is strings:
        return message  # the usual case, checked in a few C calls
    changes: dict[str, Any] = _mended_fields(message, _MESSAGE_FIELDS)
    author = _mended_fields(message.author, _AUTHOR_FIELDS)
    if author:
        changes["author"] = replace(message.author, **author)
    if not raw_ok:
        changes["raw"] = _mended_json(message.raw)
    return replace(message, **changes) if changes else message


def _text_fields(cls: type) -> tuple[str, ...]:
    # The annotations are strings here (connectors/base.py postpones them).
    return tuple(f.name for f in fields(cls) if f.type in ("str", "str | None"))


_MESSAGE_FIELDS = _text_fields(InboundMessage)
_AUTHOR_FIELDS = _text_fields(Author)
_message_texts = attrgetter(*_MESSAGE_FIELDS)
_author_texts = attrgetter(*_AUTHOR_FIELDS)


def _mended_fields(obj: InboundMessage | Author, names: tuple[str, ...]) -> dict[str, str]:
    changed = {}
    for name in names:
        value = getattr(obj, name)
        if value is not None:
            fixed = mended(value)
            if fixed is not value:
                changed[name] = fixed
    return changed


def _storable_json(value: Any) -> bool:
    # orjson refuses surrogates; a NUL shows as its escape. One C call per payload.
    try:
        return b"\\u0000" not in orjson.dumps(value)
    except orjson.JSONEncodeError:
        return False


def _mended_json(value: Any) -> Any:
    if isinstance(value, str):
        return mended(value)
    if isinstance(value, dict):
        return {mended(k) if isinstance(k, str) else k: _mended_json(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_mended_json(v) for v in value]
    return value
