"""What the outbox needs to know about each request, as pure functions: its lane and coalescing key, its
durable record (the ``outbox`` table row), and its plain-text fallback.

Pure: no trio, httpx or apsw. The records are JSON with a ``kind`` tag; a row written by this version is read
back by the next one, so the field names are a storage format: add fields with defaults, never rename.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Hashable
from typing import Any

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
from codexgram.telegram.converter import structure, unstructure
from codexgram.telegram.outbox_queue import Lane
from codexgram.telegram.render import html_to_plain
from codexgram.telegram.types import InlineKeyboardMarkup

# One Bot API call: what the outbox queues (its mailbox also takes a StoredRequest, which wraps one).
OutboxCall = (
    SendMessage
    | EditMessageText
    | EditMessageMarkup
    | DeleteMessage
    | AnswerCallback
    | SendDocument
    | SendChatAction
)
DurableRequest = SendMessage | EditMessageText | EditMessageMarkup | DeleteMessage | SendDocument

_KINDS: dict[type[Any], str] = {
    SendMessage: "send_message",
    EditMessageText: "edit_message_text",
    EditMessageMarkup: "edit_message_markup",
    DeleteMessage: "delete_message",
    SendDocument: "send_document",
}
_CLASSES = {kind: cls for cls, kind in _KINDS.items()}


class UnknownRecord(ValueError):
    """A stored outbox row this code cannot read (a kind or field it does not know)."""


def placement(request: OutboxCall) -> tuple[Lane, int | None, Hashable | None]:
    """The request's lane, chat and coalescing key (edits of one message share a key; markup its own)."""
    if isinstance(request, AnswerCallback):
        return Lane.CALLBACK, None, None
    if isinstance(request, SendMessage | SendDocument):
        return Lane.SEND, request.chat_id, None
    if isinstance(request, DeleteMessage):
        return Lane.DELETE, request.chat_id, None
    if isinstance(request, EditMessageText):
        return Lane.EDIT, request.chat_id, edit_keys(request.chat_id, request.message_id)[0]
    if isinstance(request, EditMessageMarkup):
        return Lane.EDIT, request.chat_id, edit_keys(request.chat_id, request.message_id)[1]
    return Lane.ACTION, request.chat_id, None


def edit_keys(chat_id: int, message_id: int) -> tuple[Hashable, Hashable]:
    """The coalescing keys of a message's text edits and of its markup edits."""
    return ("text", chat_id, message_id), ("markup", chat_id, message_id)


def is_durable(request: OutboxCall) -> bool:
    return isinstance(request, DurableRequest) and request.durable


# --- durable records ---------------------------------------------------------------------------------------


def to_record(request: DurableRequest) -> tuple[str, str]:
    """``(kind, payload JSON)`` for the outbox table. The reply is not stored: it cannot outlive a restart."""
    fields: dict[str, Any] = {}
    for field in attrs.fields(type(request)):
        if field.name in ("reply", "durable"):
            continue
        value = getattr(request, field.name)
        if isinstance(value, InlineKeyboardMarkup):
            value = unstructure(value)
        elif isinstance(value, bytes):
            value = base64.b64encode(value).decode("ascii")
        fields[field.name] = value
    return _KINDS[type(request)], json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def from_record(kind: str, payload: str) -> DurableRequest:
    """The request a row stands for (``durable=True``, no reply). Raises :class:`UnknownRecord`."""
    cls = _CLASSES.get(kind)
    if cls is None:
        raise UnknownRecord(f"unknown outbox kind {kind!r}")
    try:
        fields = json.loads(payload)
    except ValueError as exc:
        raise UnknownRecord(f"cannot read outbox {kind} row: {exc}") from None
    if not isinstance(fields, dict):
        raise UnknownRecord(f"cannot read outbox {kind} row: the payload is not an object")
    try:
        if fields.get("reply_markup") is not None:
            fields["reply_markup"] = structure(fields["reply_markup"], InlineKeyboardMarkup)
        if cls is SendDocument:
            fields["data"] = base64.b64decode(fields["data"], validate=True)
        request: DurableRequest = cls(**fields, durable=True)
    except (ValueError, TypeError, KeyError) as exc:
        raise UnknownRecord(f"cannot read outbox {kind} row: {exc}") from None
    return request


# --- plain-text fallback -----------------------------------------------------------------------------------


def as_plain_text(request: OutboxCall) -> OutboxCall | None:
    """The same content without formatting, or None when the request has no formatted text to fall back
    from (then the failure stands)."""
    if isinstance(request, SendMessage | EditMessageText) and request.parse_mode is not None:
        plain = html_to_plain(request.text) if request.parse_mode.upper() == "HTML" else request.text
        return attrs.evolve(request, text=plain or "(empty message)", parse_mode=None)
    if isinstance(request, SendDocument) and request.parse_mode is not None and request.caption:
        caption = html_to_plain(request.caption) if request.parse_mode.upper() == "HTML" else request.caption
        return attrs.evolve(request, caption=caption, parse_mode=None)
    return None


def describe(request: OutboxCall) -> str:
    """A short name for logs: the kind and the chat, never the text (it may hold anything)."""
    if isinstance(request, AnswerCallback):
        return "answerCallbackQuery"
    if isinstance(request, SendChatAction):
        return f"sendChatAction chat={request.chat_id}"
    kind = _KINDS[type(request)]
    message_id = getattr(request, "message_id", None)
    suffix = f" message={message_id}" if message_id is not None else ""
    return f"{kind} chat={request.chat_id}{suffix}"
