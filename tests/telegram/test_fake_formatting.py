"""Telegram's treatment of text and keyboards in the fake (pure, synchronous)."""

from __future__ import annotations

import pytest

from codexgram.testing.fake_telegram.answers import ApiError
from codexgram.testing.fake_telegram.formatting import formatted_text, inline_markup, trimmed


def test_trimming_shifts_and_clips_entities() -> None:
    text = "  😀bold  "  # the emoji is two UTF-16 units
    entities = [
        {"type": "bold", "offset": 0, "length": 8},  # covers the leading blanks: clipped
        {"type": "italic", "offset": 4, "length": 4},  # "bold": shifted by 2
        {"type": "code", "offset": 8, "length": 2},  # only trailing blanks: dropped
    ]
    text_out, entities_out = trimmed(text, entities)
    assert text_out == "😀bold"
    assert entities_out == [
        {"type": "bold", "offset": 0, "length": 6},
        {"type": "italic", "offset": 2, "length": 4},
    ]


def test_explicit_entities_must_lie_inside_the_text() -> None:
    params = {"entities": [{"type": "bold", "offset": 3, "length": 5}]}
    with pytest.raises(ApiError) as error:
        formatted_text("short", params, entities_key="entities", limit=4096, minimum=1, what="message text")
    assert error.value.violation is not None


def test_unsupported_parse_mode_is_a_violation() -> None:
    with pytest.raises(ApiError) as error:
        formatted_text(
            "*x*", {"parse_mode": "MarkdownV2"}, entities_key="entities", limit=10, minimum=1, what="t"
        )
    assert error.value.code == 400
    assert error.value.violation is not None


def test_an_empty_keyboard_is_no_keyboard() -> None:
    assert inline_markup({"reply_markup": {"inline_keyboard": []}}) is None
    assert inline_markup({}) is None
    markup = {"inline_keyboard": [[{"text": "Go", "url": "https://example.org"}]]}
    assert inline_markup({"reply_markup": markup}) == markup
