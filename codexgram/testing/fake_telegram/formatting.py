"""What Telegram does to a message's text and keyboard before it accepts them. Pure.

- :func:`formatted_text`: ``parse_mode=HTML`` through the shared parser
  (:mod:`codexgram.telegram.html_entities`, Telegram's rules and wording), or explicit ``entities``; then
  Telegram's trimming of leading and trailing whitespace, and the length limits, which count the *parsed*
  text in UTF-16 code units.
- :func:`inline_markup`: the inline keyboard, each button with exactly one action.

Everything refused here is a bug in the bot, so the :class:`~.answers.ApiError` carries a ``violation``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codexgram.telegram import converter
from codexgram.telegram.html_entities import HtmlParseError, parse_html, telegram_trim, utf16_len

from .answers import bad_request


def formatted_text(
    text: str, params: Mapping[str, Any], *, entities_key: str, limit: int, minimum: int, what: str
) -> tuple[str, tuple[Mapping[str, Any], ...]]:
    """Telegram's entity parsing, then the length limits that count the parsed text."""
    parse_mode = str(params.get("parse_mode") or "")
    if parse_mode.lower() == "html":
        try:
            plain, parsed = parse_html(text)
        except HtmlParseError as error:
            raise bad_request(f"can't parse entities: {error.message}", violation=True) from None
        entities = [converter.unstructure(entity) for entity in parsed]
    elif parse_mode:
        raise bad_request(
            f"unsupported parse_mode {parse_mode!r} (the fake implements HTML only)", violation=True
        )
    else:
        plain, entities = text, [dict(e) for e in params.get(entities_key) or []]
        for entity in entities:
            if entity["offset"] < 0 or entity["offset"] + entity["length"] > utf16_len(plain):
                raise bad_request(f"entity {entity} is outside the text", violation=True)
    plain, entities = trimmed(plain, entities)
    if minimum and not plain:
        raise bad_request(f"{what} is empty", violation=True)
    if utf16_len(plain) > limit:
        raise bad_request(f"{what.replace(' text', '')} is too long", violation=True)
    return plain, tuple(entities)


# Fields of an InlineKeyboardButton that are not its action ("exactly one of the others must be used").
_BUTTON_DECORATION = frozenset({"text", "icon_custom_emoji_id", "style"})


def inline_markup(params: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The inline keyboard of a request (None: no keyboard, which removes one on edits)."""
    markup = params.get("reply_markup")
    if not (isinstance(markup, dict) and "inline_keyboard" in markup):
        return None
    for row in markup["inline_keyboard"]:
        for button in row:
            actions = set(button) - _BUTTON_DECORATION
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
                    violation=True,
                )
            if len(actions) > 1:
                named = ", ".join(sorted(actions))
                raise bad_request(
                    f"can't parse inline keyboard button: more than one action ({named})", violation=True
                )
    return markup if markup["inline_keyboard"] else None


def trimmed(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram strips leading and trailing whitespace after parsing; entities shift and shrink with it."""
    trimmed = telegram_trim(text)
    if trimmed == text:
        return text, entities
    start = utf16_len(text[: text.index(trimmed)]) if trimmed else 0
    end = start + utf16_len(trimmed)
    kept = []
    for entity in entities:
        left, right = max(entity["offset"], start), min(entity["offset"] + entity["length"], end)
        if right > left:
            kept.append({**entity, "offset": left - start, "length": right - left})
    return trimmed, kept
