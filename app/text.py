"""Text both stores can hold.

Neither store takes half of a surrogate pair ("\\ud83d" alone, which JSON escapes can
produce) and PostgreSQL's text takes no NUL character. What a platform sends is mended
(app/ingest/storable.py); what a person types is refused with a clear message instead,
since a changed reply should not go out in their name.
"""

from __future__ import annotations

import unicodedata

from app.errors import Invalid

REPLACEMENT = "\ufffd"


def mended(text: str) -> str:
    """The text with lone surrogates and NUL characters replaced by U+FFFD; the same
    object when there was nothing to mend."""
    if text.isascii():  # constant time in CPython: only NUL can be wrong here
        return text.replace("\x00", REPLACEMENT) if "\x00" in text else text
    if "\x00" in text:
        text = text.replace("\x00", REPLACEMENT)
    try:
        text.encode()
    except UnicodeEncodeError:
        # Through UTF-16: a surrogate pair becomes its character, a lone half U+FFFD.
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def typed(text: str, what: str, *, limit: int | None = None) -> str:
    """`text` as a person typed it, refused (Invalid) if a store could not hold it, if it
    holds a control character (nothing a person means to send), or is over `limit`."""
    if mended(text) is not text:
        raise Invalid(f"the {what} holds a character that cannot be stored or sent "
                      "(a NUL or half of an emoji); remove it and try again")
    if not text.isascii() or not text.isprintable():
        if any(_control(c) for c in text):
            raise Invalid(f"the {what} holds a control character; remove it and try again")
    if limit is not None and len(text) > limit:
        raise Invalid(f"the {what} has {len(text)} characters; at most {limit} are kept")
    return text


def blank(text: str) -> bool:
    """True when nothing in `text` can be seen: spaces, zero-width and format characters."""
    return all(unicodedata.category(c) in INVISIBLE for c in text)


INVISIBLE = {"Zs", "Zl", "Zp", "Cc", "Cf"}


def _control(char: str) -> bool:
    return unicodedata.category(char) == "Cc" and char not in "\t\n\r"
