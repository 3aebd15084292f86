"""weighted_length follows twitter-text v3: ranges weigh 1 or 2, links 23, emoji 2."""

from __future__ import annotations

import pytest

from connectors.base import ThreadKind, counted_length
from connectors.x_text import weighted_length

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
LONG_LINK = "https://example.com/orders/track?id=" + "7" * 60


@pytest.mark.parametrize(("text", "weight"), [
    ("hello, world", 12),
    ("ü—‘’“”", 6),  # Latin-1 and the light punctuation ranges
    ("日本語のテキスト", 16),
    ("…™", 4),  # outside the light ranges
    ("😀", 2),
    ("👍🏽", 2),  # skin tone
    (FAMILY, 2),  # ZWJ sequence
    ("🇯🇵", 2),  # flag
    ("1️⃣", 2),  # keycap
    ("©", 1),
    ("©️", 2),
    (LONG_LINK, 23),
    (f"Track it here: {LONG_LINK}.", 15 + 23 + 1),
    ("(details: acme.com/help/returns-and-refunds-for-damaged-goods)", 10 + 23 + 1),
    ("write to jane@example.com", 25),  # an address, not a link
    ("e\u0301", 1),  # NFC first: one é
])
def test_weights(text: str, weight: int) -> None:
    assert weighted_length(text) == weight


def test_only_a_public_x_post_is_weighted() -> None:
    text = "日本語" * 100
    assert counted_length(text, ThreadKind.X_MENTION, private=False) == 600
    for kind, private in [(ThreadKind.X_MENTION, True), (ThreadKind.X_DM, False),
                          (ThreadKind.FB_COMMENT, False), (ThreadKind.FB_MESSENGER, False)]:
        assert counted_length(text, kind, private) == 300
