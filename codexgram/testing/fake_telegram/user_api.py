"""Playing the user: what a person (or a group, or a channel) does, turned into the updates Telegram would
queue for the bot. Pure: works on a :class:`TelegramState` at clock time ``now``.

Each function returns the queued ``Update`` as JSON, or None when the bot's ``allowed_updates`` filters the
kind out (Telegram never queues those). A test's own mistakes (pressing a button that is not there) raise
:class:`ValueError`: they are bugs in the test, not answers from Telegram.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from codexgram.telegram.html_entities import utf16_len

from .state import CallbackQueryRecord, FakeMessage, TelegramState, user_json

CHAT_TYPES = frozenset({"private", "group", "supergroup", "channel"})
DEFAULT_GROUP_MEMBER = 4242001
_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,})?(?![^\s.,;:!?])")


def command_entities(text: str) -> list[dict[str, Any]]:
    """``bot_command`` entities for every ``/command`` in ``text``, as Telegram's clients send them."""
    return [
        {"type": "bot_command", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m[0])}
        for m in _COMMAND_RE.finditer(text)
    ]


def _sender(state: TelegramState, chat_id: int, chat_type: str, user_id: int | None) -> int | None:
    if chat_type not in CHAT_TYPES:
        raise ValueError(f"chat_type must be one of {sorted(CHAT_TYPES)}")
    if chat_type == "private" and chat_id <= 0:
        raise ValueError("a private chat's id is its user's id, a positive number")
    if chat_type != "private" and chat_id >= 0:
        raise ValueError("group and channel ids are negative")
    if chat_type == "channel":
        return None
    sender = user_id if user_id is not None else (chat_id if chat_type == "private" else DEFAULT_GROUP_MEMBER)
    state.users.setdefault(sender, user_json(sender))
    return sender


def user_message(
    state: TelegramState,
    chat_id: int,
    *,
    now: float,
    user_id: int | None = None,
    chat_type: str = "private",
    text: str | None = None,
    caption: str | None = None,
    document: dict[str, Any] | None = None,
    photo: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any] | None:
    """A message from a user (or a channel post) in ``chat_id``; the update it queues."""
    sender = _sender(state, chat_id, chat_type, user_id)
    state.ensure_chat(chat_id, chat_type)
    state.blocked_by.discard(chat_id)  # writing to the bot means it is not blocked (any more)
    entities = command_entities(text) if text is not None else []
    message = FakeMessage(
        chat_id=chat_id,
        message_id=state.new_message_id(chat_id),
        from_bot=False,
        sender_id=sender,
        date=state.date(now),
        sent_at=now,
        text=text,
        entities=tuple(entities),
        caption=caption,
        document=document,
        photo=photo,
    )
    state.add_message(message)
    kind = "channel_post" if chat_type == "channel" else "message"
    return state.push_update(kind, state.message_json(message), now=now)


def user_document(
    state: TelegramState,
    chat_id: int,
    data: bytes,
    *,
    now: float,
    file_name: str,
    mime_type: str,
    caption: str | None = None,
    user_id: int | None = None,
    chat_type: str = "private",
) -> dict[str, Any] | None:
    """The user sends a file; getFile and the download route then serve ``data`` for its file_id."""
    stored = state.store_file(data, folder="documents", file_name=file_name, mime_type=mime_type)
    document = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_name": file_name,
        "mime_type": mime_type,
        "file_size": len(data),
    }
    return user_message(
        state, chat_id, now=now, user_id=user_id, chat_type=chat_type, caption=caption, document=document
    )


def user_photo(
    state: TelegramState,
    chat_id: int,
    data: bytes,
    *,
    now: float,
    width: int,
    height: int,
    caption: str | None = None,
    user_id: int | None = None,
    chat_type: str = "private",
) -> dict[str, Any] | None:
    """The user sends a photo: Telegram offers it in sizes; here a thumbnail and the original (``data``)."""
    sizes = []
    for scale, blob in ((4, data[: max(1, len(data) // 16)]), (1, data)):
        stored = state.store_file(blob, folder="photos", file_name="photo.jpg", mime_type="image/jpeg")
        sizes.append(
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(blob),
                "width": max(1, width // scale),
                "height": max(1, height // scale),
            }
        )
    return user_message(
        state, chat_id, now=now, user_id=user_id, chat_type=chat_type, caption=caption, photo=tuple(sizes)
    )


def user_presses_button(
    state: TelegramState,
    chat_id: int,
    message_id: int,
    data: str,
    *,
    now: float,
    user_id: int | None = None,
    strict: bool = True,
) -> dict[str, Any] | None:
    """A press on an inline button of the bot's message: a ``callback_query`` update the bot must answer.

    With ``strict`` the message must exist and carry a button with this ``data`` (what a real client can do);
    ``strict=False`` sends any data, like a tampered client, for testing the bot's refusal.
    """
    chat = state.chats.get(chat_id)
    message = state.messages.get(chat_id, {}).get(message_id)
    if strict:
        if chat is None or message is None or message.deleted:
            raise ValueError(f"no message {message_id} in chat {chat_id} to press a button on")
        if not any(button.get("callback_data") == data for button in message.buttons):
            raise ValueError(f"message {message_id} has no button with callback_data {data!r}")
    if chat is None:
        raise ValueError(f"chat {chat_id} does not exist")
    sender = _sender(state, chat_id, chat.type, user_id)
    if sender is None:
        raise ValueError("nobody presses buttons in a channel in this fake")
    query_id = secrets.token_hex(8)
    state.callback_queries[query_id] = CallbackQueryRecord(
        id=query_id, chat_id=chat_id, message_id=message_id, data=data, created_at=now
    )
    payload: dict[str, Any] = {
        "id": query_id,
        "from": state.users[sender],
        "chat_instance": f"ci{abs(chat_id)}",
        "data": data,
    }
    if message is not None and not message.deleted:
        payload["message"] = state.message_json(message)
    return state.push_update("callback_query", payload, now=now)


def user_edits_text(
    state: TelegramState, chat_id: int, message_id: int, text: str, *, now: float
) -> dict[str, Any] | None:
    """The user edits one of their text messages: an ``edited_message`` (``edited_channel_post``) update."""
    message = state.messages.get(chat_id, {}).get(message_id)
    if message is None or message.from_bot or message.text is None or message.deleted:
        raise ValueError(f"no text message {message_id} of the user in chat {chat_id} to edit")
    edited = state.replace_message(message, now, text=text, entities=tuple(command_entities(text)))
    kind = "edited_channel_post" if state.chats[chat_id].type == "channel" else "edited_message"
    return state.push_update(kind, state.message_json(edited), now=now)


def bot_added_to_group(
    state: TelegramState,
    chat_id: int,
    *,
    now: float,
    by_user_id: int = DEFAULT_GROUP_MEMBER,
    chat_type: str = "group",
) -> dict[str, Any] | None:
    """Someone adds the bot to a group: a ``my_chat_member`` update (left -> member)."""
    if chat_type not in ("group", "supergroup") or chat_id >= 0:
        raise ValueError("the bot is added to a group or supergroup, whose id is negative")
    chat = state.ensure_chat(chat_id, chat_type)
    state.users.setdefault(by_user_id, user_json(by_user_id))
    bot = dict(state.bot_user)
    payload = {
        "chat": chat.to_json(),
        "from": state.users[by_user_id],
        "date": state.date(now),
        "old_chat_member": {"status": "left", "user": bot},
        "new_chat_member": {"status": "member", "user": bot},
    }
    return state.push_update("my_chat_member", payload, now=now)
