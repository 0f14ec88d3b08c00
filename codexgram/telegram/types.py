"""Bot API types for the parts of the API codexgram uses (Bot API 10.1 field names).

Frozen, keyword-only attrs classes; sequences are tuples so values are hashable and cannot change under a
reader. Only the fields the bot reads are declared: the converter (:mod:`~codexgram.telegram.converter`)
ignores the rest, so fields Telegram adds later never break decoding. Field ``from`` is a Python keyword and
is called ``from_user`` here (the converter renames it on the wire).

Updates of a kind the bot does not know (polls, reactions, business messages, ...) decode to an
:class:`Update` whose ``unknown`` holds the kind and the raw payload instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import field, frozen


@frozen(kw_only=True)
class User:
    id: int
    is_bot: bool
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


@frozen(kw_only=True)
class Chat:
    """``type`` is ``private``, ``group``, ``supergroup`` or ``channel``."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None

    @property
    def is_private(self) -> bool:
        return self.type == "private"


@frozen(kw_only=True)
class MessageEntity:
    """``offset`` and ``length`` count UTF-16 code units, as Telegram does."""

    type: str
    offset: int
    length: int
    url: str | None = None
    user: User | None = None
    language: str | None = None
    custom_emoji_id: str | None = None


@frozen(kw_only=True)
class PhotoSize:
    file_id: str
    file_unique_id: str
    width: int
    height: int
    file_size: int | None = None


@frozen(kw_only=True)
class Document:
    file_id: str
    file_unique_id: str
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = None


@frozen(kw_only=True)
class File:
    """``file_path`` is what :meth:`BotApiClient.download_file` needs; missing when the file is too big."""

    file_id: str
    file_unique_id: str
    file_size: int | None = None
    file_path: str | None = None


@frozen(kw_only=True)
class InlineKeyboardButton:
    """One button. Exactly one of ``callback_data`` (1-64 UTF-8 bytes) or ``url`` is set by codexgram."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@frozen(kw_only=True)
class InlineKeyboardMarkup:
    inline_keyboard: tuple[tuple[InlineKeyboardButton, ...], ...] = ()


@frozen(kw_only=True)
class BotCommand:
    """``command``: 1-32 characters of ``a-z0-9_``; ``description``: 1-256 characters."""

    command: str
    description: str


@frozen(kw_only=True)
class Message:
    message_id: int
    date: int
    chat: Chat
    from_user: User | None = None
    sender_chat: Chat | None = None
    message_thread_id: int | None = None
    edit_date: int | None = None
    media_group_id: str | None = None
    text: str | None = None
    entities: tuple[MessageEntity, ...] = ()
    caption: str | None = None
    caption_entities: tuple[MessageEntity, ...] = ()
    photo: tuple[PhotoSize, ...] = ()
    document: Document | None = None
    reply_to_message: Message | None = None
    reply_markup: InlineKeyboardMarkup | None = None
    migrate_to_chat_id: int | None = None


@frozen(kw_only=True)
class InaccessibleMessage:
    """A message the bot can no longer see (Telegram sends it with ``date`` 0)."""

    chat: Chat
    message_id: int
    date: int


@frozen(kw_only=True)
class CallbackQuery:
    """A button press. ``message`` may be missing (inline mode) or inaccessible; ``data`` may be absent."""

    id: str
    from_user: User
    chat_instance: str
    message: Message | InaccessibleMessage | None = None
    inline_message_id: str | None = None
    data: str | None = None


@frozen(kw_only=True)
class ChatMember:
    """The part of every ChatMember variant the bot reads. ``status``: creator, administrator, member,
    restricted, left or kicked."""

    status: str
    user: User


@frozen(kw_only=True)
class ChatMemberUpdated:
    """The bot's own membership changed (added to a group, blocked by the user, ...)."""

    chat: Chat
    from_user: User
    date: int
    old_chat_member: ChatMember
    new_chat_member: ChatMember


@frozen(kw_only=True)
class UnknownUpdate:
    """An update the bot does not decode: its kind (the payload key, e.g. ``poll``) and the raw payload.

    Also used when a known kind failed to decode (``error`` says why), so one odd update never stops polling.
    """

    kind: str
    payload: Mapping[str, Any] = field(factory=dict)
    error: str | None = None


#: The update kinds the bot decodes; pass as ``allowed_updates`` to getUpdates.
KNOWN_UPDATE_KINDS: tuple[str, ...] = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "callback_query",
    "my_chat_member",
)


@frozen(kw_only=True)
class Update:
    """One update. At most one of the payload fields is set; ``unknown`` holds any other kind."""

    update_id: int
    message: Message | None = None
    edited_message: Message | None = None
    channel_post: Message | None = None
    edited_channel_post: Message | None = None
    callback_query: CallbackQuery | None = None
    my_chat_member: ChatMemberUpdated | None = None
    unknown: UnknownUpdate | None = None

    @property
    def kind(self) -> str:
        """The payload key of this update (``message``, ``callback_query``, ...), ``unknown`` if none."""
        for name in KNOWN_UPDATE_KINDS:
            if getattr(self, name) is not None:
                return name
        return self.unknown.kind if self.unknown is not None else "unknown"

    @property
    def chat(self) -> Chat | None:
        """The chat this update belongs to, when it has one."""
        msg = self.message or self.edited_message or self.channel_post or self.edited_channel_post
        if msg is not None:
            return msg.chat
        if self.callback_query is not None and self.callback_query.message is not None:
            return self.callback_query.message.chat
        if self.my_chat_member is not None:
            return self.my_chat_member.chat
        return None
