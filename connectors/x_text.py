"""The length of a post as X counts it (twitter-text v3 "weighted length").

X does not count code points: each one weighs 100 or 200 "units" by its range, an emoji
sequence (skin tone, ZWJ family, flag, keycap) weighs 200 in all, and every link weighs
23 characters whatever its length, because X shortens it to a t.co link. A post may weigh
at most 280 characters (28,000 units). Direct messages are not weighted.

Configuration (twitter-text v3): scale 100, default weight 200, weight 100 for the ranges
below, transformed URL length 23, emoji parsing on, max weighted length 280; the text is
NFC-normalized first.
"""

from __future__ import annotations

import re
import unicodedata

MAX_WEIGHTED_LENGTH = 280
URL_LENGTH = 23
_SCALE = 100
_DEFAULT_WEIGHT = 200
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))  # weight 100 each

# Links: with a scheme, or a bare domain under a common generic TLD ("acme.com/help").
# A link under another TLD without a scheme is counted character by character: X links
# some of those too, so such a post may weigh a little more on X than here.
_TLDS = "com|net|org|info|biz|edu|gov|io|ai|app|dev|co|me|tv|ly|xyz|shop|store|online|site"
_URL = re.compile(
    r"(?<![\w@＠$#＃./-])"
    r"(?:https?://[^\s/?#]+\.[^\s/?#]+"
    rf"|(?:www\.)?(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:{_TLDS})(?![\w-]))"
    r"(?:[/?#]\S*)?",
    re.IGNORECASE,
)
# Punctuation that closes a sentence rather than the link (twitter-text leaves it out too).
_TRAILING = ".,;:!?'\"…"

# Emoji: pictographs from the symbol blocks and the supplementary emoji planes; ©, ® and
# the keycap characters only in their emoji presentation (followed by U+FE0F or U+20E3),
# as they are plain text otherwise.
_PICTOGRAPH = (
    "\u203c\u2049\u2122\u2139\u2194-\u21aa\u231a-\u23ff\u24c2\u25aa-\u25fe\u2600-\u27bf"
    "\u2934\u2935\u2b05-\u2b55\u3030\u303d\u3297\u3299\U0001f000-\U0001faff"
)
_ELEMENT = (
    rf"(?:[{_PICTOGRAPH}]\ufe0f?[\U0001f3fb-\U0001f3ff]?"  # skin tone modifiers
    r"(?:[\U000e0020-\U000e007e]+\U000e007f)?"  # tag sequences: subdivision flags
    r"|[\u00a9\u00ae]\ufe0f)"
)
_EMOJI = re.compile(
    r"[\U0001f1e6-\U0001f1ff]{2}"  # a flag is a pair of regional indicators
    r"|[0-9#*]\ufe0f?\u20e3"  # keycaps
    rf"|{_ELEMENT}(?:\u200d{_ELEMENT})*"  # ZWJ sequences count once
)


def weighted_length(text: str) -> int:
    """The number of characters X counts for `text` as a post (compare with 280)."""
    text = unicodedata.normalize("NFC", text)
    units = 0
    position = 0
    for start, end in _url_spans(text):
        units += _weigh(text[position:start]) + URL_LENGTH * _SCALE
        position = end
    units += _weigh(text[position:])
    return units // _SCALE


def _url_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _URL.finditer(text):
        link = match.group().rstrip(_TRAILING)
        if link.endswith(")") and link.count("(") < link.count(")"):
            link = link[:-1]  # "(see acme.com/help)": the parenthesis is the sentence's
        spans.append((match.start(), match.start() + len(link)))
    return spans


def _weigh(text: str) -> int:
    units = 0
    position = 0
    while position < len(text):
        emoji = _EMOJI.match(text, position)
        if emoji:
            units += _DEFAULT_WEIGHT
            position = emoji.end()
            continue
        units += _char_weight(ord(text[position]))
        position += 1
    return units


def _char_weight(code_point: int) -> int:
    if any(low <= code_point <= high for low, high in _LIGHT_RANGES):
        return _SCALE
    return _DEFAULT_WEIGHT
