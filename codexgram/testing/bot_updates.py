"""Realistic Bot API update JSON for tests of the gate, the chat core and the chat actor.

The builders return the JSON Telegram sends (``from``, not ``from_user``; a ``bot_command`` entity on a
command; fields the bot does not declare, such as ``language_code``), so that a test decoding them with
:func:`decode` also proves that the converter reads what Telegram really sends.
"""

from __future__ import annotations

from typing import Any

from codexgram.telegram.converter import structure
from codexgram.telegram.html_entities import utf16_len
from codexgram.telegram.types import Update

JSON = dict[str, Any]

DATE = 1_764_940_000
BOT_ID = 7_000_000_001
BOT_USERNAME = "codexgram_test_bot"


def user(
    user_id: int = 1001, first_name: str = "Ada", *, is_bot: bool = False, username: str | None = None
) -> JSON:
    raw: JSON = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
    if not is_bot:
        raw["last_name"] = "Lovelace"
        raw["language_code"] = "en"
        raw["is_premium"] = True  # a field codexgram does not declare
    if username is not None:
        raw["username"] = username
    return raw


def the_bot() -> JSON:
    return {"id": BOT_ID, "is_bot": True, "first_name": "Codexgram", "username": BOT_USERNAME}


def private_chat(sender: JSON) -> JSON:
    """The private chat with ``sender`` (its id is the user's id, as Telegram makes it)."""
    raw: JSON = {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}
    if "last_name" in sender:
        raw["last_name"] = sender["last_name"]
    if "username" in sender:
        raw["username"] = sender["username"]
    return raw


def group_chat(chat_id: int = -4_012_345_678, title: str = "Team", *, kind: str = "group") -> JSON:
    """A ``group``, ``supergroup`` (ids -100...) or ``channel``."""
    raw: JSON = {"id": chat_id, "type": kind, "title": title}
    if kind == "group":
        raw["all_members_are_administrators"] = True
    if kind == "supergroup":
        raw["is_forum"] = False
    if kind == "channel":
        raw["username"] = "team_news"
    return raw


def command_entities(text: str) -> list[JSON]:
    """The ``bot_command`` entity Telegram puts on a text that starts with a command."""
    if not text.startswith("/") or len(text) < 2:
        return []
    head = text.split()[0]
    return [{"offset": 0, "length": utf16_len(head), "type": "bot_command"}]


def message(
    chat: JSON,
    sender: JSON | None,
    text: str | None = None,
    *,
    message_id: int = 42,
    date: int = DATE,
    photo: bool = False,
    document: bool = False,
    caption: str | None = None,
    edit_date: int | None = None,
) -> JSON:
    raw: JSON = {"message_id": message_id, "date": date, "chat": chat}
    if sender is not None:
        raw["from"] = sender
    if chat["type"] == "channel":
        raw["sender_chat"] = chat
    if text is not None:
        raw["text"] = text
        entities = command_entities(text)
        if entities:
            raw["entities"] = entities
    if photo:
        raw["photo"] = [
            {
                "file_id": "AgACAgQAAxkBAAIBs2",
                "file_unique_id": "AQADs",
                "file_size": 1201,
                "width": 90,
                "height": 67,
            },
            {
                "file_id": "AgACAgQAAxkBAAIBs3",
                "file_unique_id": "AQADt",
                "file_size": 20140,
                "width": 320,
                "height": 240,
            },
        ]
    if document:
        raw["document"] = {
            "file_name": "notes.txt",
            "mime_type": "text/plain",
            "file_id": "BQACAgQAAxkBAAIBtG",
            "file_unique_id": "AgADtG",
            "file_size": 2048,
        }
    if caption is not None:
        raw["caption"] = caption
    if edit_date is not None:
        raw["edit_date"] = edit_date
    return raw


def message_update(
    update_id: int,
    chat: JSON,
    sender: JSON | None,
    text: str | None = None,
    *,
    kind: str = "message",
    **fields: Any,
) -> JSON:
    """An update of kind ``message``, ``edited_message``, ``channel_post`` or ``edited_channel_post``."""
    if kind.startswith("edited_"):
        fields.setdefault("edit_date", DATE + 60)
    return {"update_id": update_id, kind: message(chat, sender, text, **fields)}


def callback_update(
    update_id: int,
    chat: JSON | None,
    sender: JSON,
    data: str | None,
    *,
    query_id: str = "4382bfdwdsb323b2d9",
    message_id: int = 77,
    inaccessible: bool = False,
) -> JSON:
    """A button press on the bot's message ``message_id`` in ``chat`` (None: an inline message, no chat)."""
    query: JSON = {"id": query_id, "from": sender, "chat_instance": "-5203840274561245127"}
    if chat is None:
        query["inline_message_id"] = "AQAAAH8WAAA"
    elif inaccessible:
        query["message"] = {"chat": chat, "message_id": message_id, "date": 0}
    else:
        query["message"] = {
            "message_id": message_id,
            "from": the_bot(),
            "chat": chat,
            "date": DATE - 30,
            "text": "Choose one:",
            "reply_markup": {"inline_keyboard": [[{"text": "demo", "callback_data": data or "w:demo"}]]},
        }
    if data is not None:
        query["data"] = data
    return {"update_id": update_id, "callback_query": query}


def my_chat_member_update(update_id: int, chat: JSON, sender: JSON, *, old: str, new: str) -> JSON:
    """The bot's membership of ``chat`` changed from ``old`` to ``new`` status (by ``sender``)."""

    def member(status: str) -> JSON:
        raw: JSON = {"user": the_bot(), "status": status}
        if status == "kicked":
            raw["until_date"] = 0
        if status == "administrator":
            raw |= {"can_be_edited": False, "can_manage_chat": True, "is_anonymous": False}
        return raw

    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": chat,
            "from": sender,
            "date": DATE,
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        },
    }


def decode(raw: JSON) -> Update:
    """Decode ``raw`` as the poller does; fails if it did not decode as its kind (a broken builder)."""
    update = structure(raw, Update)
    assert update.unknown is None or update.unknown.error is None, update.unknown
    return update
