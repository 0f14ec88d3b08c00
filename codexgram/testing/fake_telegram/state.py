"""What the fake Telegram remembers: chats, users, messages with their edit history, the update queue,
callback queries, files. Pure: times come in as ``now`` (the server's trio clock), dates go out as Unix
seconds.

Messages are frozen snapshots (:class:`FakeMessage`); an edit replaces the snapshot and appends the
previous version to ``history``, a delete marks it ``deleted`` and keeps it, so a test sees everything a chat
ever showed.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import attrs

BOT_USER_ID = 7000000001
UPDATE_LIFETIME = 24 * 3600.0  # Telegram keeps unconfirmed updates for a day
DEFAULT_UPDATE_KINDS = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)  # off by default


@attrs.frozen(kw_only=True)
class Revision:
    """One earlier version of a message: what it showed until ``replaced_at`` (clock seconds)."""

    text: str | None
    entities: tuple[Mapping[str, Any], ...]
    reply_markup: Mapping[str, Any] | None
    replaced_at: float


@attrs.frozen(kw_only=True)
class FakeMessage:
    """A message as its chat shows it now. ``history`` holds earlier versions, oldest first."""

    chat_id: int
    message_id: int
    from_bot: bool
    sender_id: int | None  # the user who sent it; None for the bot and for channel posts
    date: int
    sent_at: float  # clock seconds, for the 48 h delete rule
    text: str | None = None
    entities: tuple[Mapping[str, Any], ...] = ()
    caption: str | None = None
    reply_markup: Mapping[str, Any] | None = None
    document: Mapping[str, Any] | None = None
    photo: tuple[Mapping[str, Any], ...] = ()
    edit_date: int | None = None
    reply_to: int | None = None  # the message_id this one replies to, in the same chat
    history: tuple[Revision, ...] = ()
    deleted: bool = False

    @property
    def buttons(self) -> list[Mapping[str, Any]]:
        """Every inline button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


@attrs.frozen(kw_only=True)
class Chat:
    id: int
    type: str  # private, group, supergroup, channel
    title: str | None = None
    first_name: str | None = None
    username: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "first_name", "username"):
            if (value := getattr(self, key)) is not None:
                out[key] = value
        return out


@attrs.frozen(kw_only=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes = attrs.field(repr=lambda data: f"<{len(data)} bytes>")
    file_name: str | None = None
    mime_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@attrs.define(kw_only=True)
class CallbackQueryRecord:
    id: str
    chat_id: int
    message_id: int
    data: str
    created_at: float
    answered: bool = False
    answer: Mapping[str, Any] | None = None


def user_json(user_id: int, *, first_name: str | None = None, username: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name or f"User{user_id}"}
    if username:
        out["username"] = username
    return out


class TelegramState:
    """The fake's memory. ``epoch`` is the Unix time at clock zero (message dates follow the clock)."""

    def __init__(self, *, epoch: float, bot_username: str = "codexgram_fake_bot") -> None:
        self.epoch = epoch
        self.bot_user: dict[str, Any] = {
            "id": BOT_USER_ID,
            "is_bot": True,
            "first_name": "Codexgram Fake",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.chats: dict[int, Chat] = {}
        self.left_chats: set[int] = set()
        self.blocked_by: set[int] = set()  # private chats whose user blocked the bot
        self.users: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, dict[int, FakeMessage]] = {}
        self.updates: list[dict[str, Any]] = []
        self.queued_at: dict[int, float] = {}  # update_id -> clock time it was queued
        self.webhook_url = ""  # set: getUpdates answers 409 until deleteWebhook
        self.next_update_id = 100000001
        self.allowed_updates: frozenset[str] | None = None  # None: all but DEFAULT_UPDATE_KINDS
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.files: dict[str, StoredFile] = {}
        self.commands: list[Mapping[str, Any]] = []
        self._next_message_id: dict[int, int] = {}
        self._file_counter = 0

    def date(self, now: float) -> int:
        return int(self.epoch + now)

    # --- chats and messages ------------------------------------------------------------------------------

    def ensure_chat(self, chat_id: int, chat_type: str, *, title: str | None = None) -> Chat:
        """The chat ``chat_id``, created on first use (a user opening the bot, a group adding it)."""
        chat = self.chats.get(chat_id)
        if chat is None:
            if chat_type == "private":
                chat = Chat(id=chat_id, type="private", first_name=f"User{chat_id}")
            else:
                chat = Chat(id=chat_id, type=chat_type, title=title or f"{chat_type.title()} {abs(chat_id)}")
            self.chats[chat_id] = chat
            self.messages[chat_id] = {}
        self.left_chats.discard(chat_id)
        return chat

    def add_message(self, message: FakeMessage) -> FakeMessage:
        self.messages[message.chat_id][message.message_id] = message
        return message

    def new_message_id(self, chat_id: int) -> int:
        next_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = next_id + 1
        return next_id

    def replace_message(self, old: FakeMessage, now: float, **changes: Any) -> FakeMessage:
        """Edit ``old``: keep its current version in ``history`` and store the new one."""
        revision = Revision(
            text=old.text, entities=old.entities, reply_markup=old.reply_markup, replaced_at=now
        )
        new = attrs.evolve(old, history=(*old.history, revision), edit_date=self.date(now), **changes)
        return self.add_message(new)

    def message_json(self, message: FakeMessage) -> dict[str, Any]:
        """The Bot API ``Message`` for ``message`` (as getUpdates and sendMessage return it)."""
        chat = self.chats[message.chat_id]
        out: dict[str, Any] = {"message_id": message.message_id}
        if message.from_bot:
            out["from"] = dict(self.bot_user)
        elif message.sender_id is not None:
            out["from"] = self.users.get(message.sender_id) or user_json(message.sender_id)
        elif chat.type == "channel":
            out["sender_chat"] = chat.to_json()
        out["date"] = message.date
        out["chat"] = chat.to_json()
        replied = self.messages[message.chat_id].get(message.reply_to) if message.reply_to else None
        if replied is not None and not replied.deleted:
            # Telegram nests the replied-to message one level deep, without its own reply_to_message.
            out["reply_to_message"] = self.message_json(attrs.evolve(replied, reply_to=None))
        if message.edit_date is not None:
            out["edit_date"] = message.edit_date
        if message.text is not None:
            out["text"] = message.text
            if message.entities:
                out["entities"] = [dict(e) for e in message.entities]
        if message.document is not None:
            out["document"] = dict(message.document)
        if message.photo:
            out["photo"] = [dict(p) for p in message.photo]
        if message.caption is not None:
            out["caption"] = message.caption
            if message.entities and message.text is None:
                out["caption_entities"] = [dict(e) for e in message.entities]
        if message.reply_markup:
            out["reply_markup"] = dict(message.reply_markup)
        return out

    # --- updates -----------------------------------------------------------------------------------------

    def wants(self, kind: str) -> bool:
        if self.allowed_updates is None:
            return kind not in DEFAULT_UPDATE_KINDS
        return kind in self.allowed_updates

    def push_update(self, kind: str, payload: Mapping[str, Any], *, now: float) -> dict[str, Any] | None:
        """Queue an update of ``kind`` unless the bot's ``allowed_updates`` excludes it (then None)."""
        if not self.wants(kind):
            return None
        update = {"update_id": self.next_update_id, kind: dict(payload)}
        self.queued_at[self.next_update_id] = now
        self.next_update_id += 1
        self.updates.append(update)
        return update

    def expire(self, now: float) -> None:
        """Forget updates older than a day, as Telegram does."""
        self.updates = [u for u in self.updates if now - self.queued_at[u["update_id"]] <= UPDATE_LIFETIME]

    def confirm(self, offset: int) -> None:
        """getUpdates ``offset``: >0 confirms all earlier updates; <0 keeps the last ``-offset``."""
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset < 0:
            self.updates = self.updates[offset:]

    # --- files -------------------------------------------------------------------------------------------

    def store_file(
        self, data: bytes, *, folder: str, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        self._file_counter += 1
        suffix = ""
        if file_name and "." in file_name:
            suffix = "." + "".join(c for c in file_name.rsplit(".", 1)[1] if c.isalnum())[:8]
        stored = StoredFile(
            file_id=f"F{self._file_counter}_{secrets.token_urlsafe(24)}",
            file_unique_id=f"U{self._file_counter}{secrets.token_hex(4)}",
            file_path=f"{folder}/file_{self._file_counter}{suffix}",
            data=data,
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        return stored

    def file_by_path(self, file_path: str) -> StoredFile | None:
        return next((f for f in self.files.values() if f.file_path == file_path), None)
