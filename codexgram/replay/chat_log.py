"""The chat's log in a bot replay: what the user did and what the outbox got, in order, and its golden text.

:func:`render_log` lays the log out the way the chat looks: texts as Telegram shows them (the HTML parsed),
buttons, message ids, and whether a request was durable, so a golden file (``tests/golden/replay``) reads
like the conversation and a wrong decision of the bot shows as a changed line (pure, no I/O).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from codexgram.messages import (
    AnswerCallback,
    DeleteMessage,
    EditMessageMarkup,
    EditMessageText,
    SendChatAction,
    SendDocument,
    SendMessage,
)
from codexgram.replay.user_script import UserAction
from codexgram.telegram.html_entities import HtmlParseError, parse_html, telegram_trim
from codexgram.telegram.outbox_requests import OutboxCall, is_durable
from codexgram.telegram.types import InlineKeyboardMarkup


@attrs.frozen(kw_only=True)
class OutboxEntry:
    """One request the outbox got, at ``at`` (seconds since the start). ``message_id``: the id a send got;
    ``stored``: it came as a ``StoredRequest`` (its row written in the sender's own transaction)."""

    at: float
    request: OutboxCall
    message_id: int | None = None
    stored: bool = False


@attrs.frozen(kw_only=True)
class UserEntry:
    """Something the user did, at ``at`` (seconds since the start)."""

    at: float
    action: UserAction


LogEntry = OutboxEntry | UserEntry


def visible_text(html: str) -> str:
    """What Telegram shows for ``html`` (entities parsed away, trimmed). Raises ``HtmlParseError`` for HTML
    Telegram would refuse."""
    text, _ = parse_html(html)
    return telegram_trim(text)


# --- rendering ----------------------------------------------------------------------------------------------

_PAD = " " * 11  # a message's text and buttons, indented under its head line


def render_log(name: str, log: Sequence[LogEntry]) -> str:
    """One block per entry: ``[seconds] who: what``, then the text as Telegram shows it and the buttons,
    indented. Consecutive "typing" actions are one line (their count and first time): how often the bot
    refreshes "typing" is pacing, not a decision worth a line each."""
    lines = [
        f"# {name} played through the ThreadActor: the user's actions and every outbox request, in order.",
        "# [virtual seconds] who: what; texts as Telegram shows them; #N is a message id.",
        "",
    ]
    typing: list[float] = []

    def flush_typing() -> None:
        if typing:
            count = f" x{len(typing)}" if len(typing) > 1 else ""
            lines.append(f"{_stamp(typing[0])} bot: typing{count}")
            typing.clear()

    for entry in log:
        if isinstance(entry, OutboxEntry) and isinstance(entry.request, SendChatAction):
            typing.append(entry.at)
            continue
        flush_typing()
        lines += _render_entry(entry)
    flush_typing()
    return "\n".join(lines) + "\n"


def _stamp(at: float) -> str:
    return f"[{at:6.2f}]"


def _indent(text: str) -> list[str]:
    return [f"{_PAD}{line}".rstrip() for line in text.splitlines()] or [f"{_PAD}(empty)"]


def _render_entry(entry: LogEntry) -> list[str]:
    if isinstance(entry, UserEntry):
        action = entry.action
        if action.kind == "message":
            return [f"{_stamp(entry.at)} user: sends a message", *_indent(action.text)]
        return [f"{_stamp(entry.at)} user: cancels the turn (the Cancel button or /cancel)"]
    request = entry.request
    how = "durable" if entry.stored or is_durable(request) else "best effort"
    head = f"{_stamp(entry.at)} bot:"
    if isinstance(request, SendMessage):
        sound = "silent" if request.disable_notification else "notifies"
        return [
            f"{head} send #{entry.message_id} ({sound}, {how})",
            *_indent(_shown(request.text)),
            *_buttons(request.reply_markup),
        ]
    if isinstance(request, EditMessageText):
        return [
            f"{head} edit #{request.message_id} ({how})",
            *_indent(_shown(request.text)),
            *_buttons(request.reply_markup),
        ]
    if isinstance(request, EditMessageMarkup):
        return [
            f"{head} edit the buttons of #{request.message_id} ({how})",
            *(_buttons(request.reply_markup) or [f"{_PAD}(none)"]),
        ]
    if isinstance(request, DeleteMessage):
        return [f"{head} delete #{request.message_id} ({how})"]
    if isinstance(request, SendDocument):
        return [
            f"{head} send #{entry.message_id} document {request.filename}, {len(request.data)} bytes ({how})",
            *_indent(_shown(request.caption or "")),
        ]
    if isinstance(request, AnswerCallback):
        return [f"{head} answer a button press: {request.text or '(no text)'}"]
    return [f"{head} {type(request).__name__}"]


def _shown(html: str) -> str:
    # Shown rather than raised: the golden diff then points at the message; the invariants fail it anyway.
    try:
        return visible_text(html)
    except HtmlParseError:
        return f"(HTML Telegram refuses) {html}"


def _buttons(markup: InlineKeyboardMarkup | None) -> list[str]:
    if markup is None:
        return []
    return [_PAD + "  ".join(f"[{button.text}]" for button in row) for row in markup.inline_keyboard]
