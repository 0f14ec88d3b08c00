"""Cross-check: every chunk the renderer makes for arbitrary Markdown is a message the fake (Telegram's rules:
HTML parsing, trimming, emptiness, the limit in UTF-16) accepts, and the chunks show the whole answer.

In-process (the fake's method layer, no HTTP), so hypothesis can try many inputs.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from codexgram.telegram.html_entities import parse_html, telegram_trim
from codexgram.telegram.render import render_chunks
from codexgram.testing.fake_telegram.answers import ApiError
from codexgram.testing.fake_telegram.bot_methods import BotMethods
from codexgram.testing.fake_telegram.flood import FloodControl
from codexgram.testing.fake_telegram.state import TelegramState

PIECES = [
    *"ab \n*_`#->[]()<&!|~\t",
    "```",
    "\n\n",
    "😀",
    "é",
    "\u00a0",
    "\u200b",
    "word ",
    "**x**",
    "`c`",
    "1. ",
]
markdown = st.lists(st.sampled_from(PIECES), max_size=120).map("".join)


@settings(max_examples=300, deadline=None)
@given(markdown, st.integers(min_value=20, max_value=300))
def test_every_rendered_chunk_is_accepted(text: str, limit: int) -> None:
    state = TelegramState(epoch=0)
    state.ensure_chat(1, "private")
    methods = BotMethods(state, FloodControl(enabled=False))
    shown = []
    for chunk in render_chunks(text, limit=limit):
        try:
            message = methods.call("sendMessage", {"chat_id": 1, "text": chunk, "parse_mode": "HTML"}, 0.0)
        except ApiError as error:
            raise AssertionError(f"the fake refused chunk {chunk!r}: {error.description}") from None
        shown.append(message["text"])
    # What the chats show, together, is the rendered answer (modulo the whitespace Telegram trims at the
    # edges of each message).
    whole = "".join(telegram_trim(parse_html(chunk)[0]) for chunk in render_chunks(text, limit=1_000_000))
    assert without_blanks("".join(shown)) == without_blanks(whole)


def without_blanks(text: str) -> str:
    return "".join(ch for ch in text if not (ch.isspace() or ch == "\u200b"))
