"""The Bot API methods the bot uses, with Telegram's semantics. Pure: parameters arrive decoded and checked
against the reference (:mod:`.spec`); ``now`` is the server's clock.

Each method returns its ``result`` or raises :class:`~.answers.ApiError`. An ApiError with ``violation``
set is a request Telegram refuses because the *bot* is wrong (bad HTML, a text too long after parsing, an
invalid command...): the server records those in ``validation_errors``. Without ``violation`` it is an
ordinary answer a correct bot meets (message not modified, query too old, flood control, chat not found).

getUpdates is split: :meth:`BotMethods.take_updates` answers from the queue at once; the waiting part of long
polling lives in the server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .answers import ApiError, bad_request
from .flood import FloodControl
from .formatting import formatted_text, inline_markup
from .spec import UploadedFile
from .state import FakeMessage, TelegramState

CALLBACK_ANSWER_WINDOW = 15.0  # seconds; Telegram's clients give up on the spinner about then
DELETE_WINDOW = 48 * 3600.0
MAX_UPLOAD = 50 * 2**20
MAX_DOWNLOAD = 20 * 2**20
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


class BotMethods:
    """The methods, over one :class:`TelegramState` and one :class:`FloodControl`."""

    def __init__(
        self, state: TelegramState, flood: FloodControl, *, update_kinds: frozenset[str] = frozenset()
    ) -> None:
        self.state = state
        self.flood = flood
        # The kinds an Update can carry (its fields but update_id), from the reference; empty: any.
        self.update_kinds = update_kinds
        self.chat_actions: list[tuple[int, str, float]] = []
        self.handlers: dict[str, Callable[[dict[str, Any], float], Any]] = {
            "getme": self.get_me,
            "sendmessage": self.send_message,
            "editmessagetext": self.edit_message_text,
            "editmessagereplymarkup": self.edit_message_reply_markup,
            "deletemessage": self.delete_message,
            "answercallbackquery": self.answer_callback_query,
            "sendchataction": self.send_chat_action,
            "senddocument": self.send_document,
            "getfile": self.get_file,
            "setmycommands": self.set_my_commands,
            "getmycommands": self.get_my_commands,
            "leavechat": self.leave_chat,
            "deletemycommands": self.delete_my_commands,
            "setmydescription": self.set_my_description,
            "setmyshortdescription": self.set_my_description,
            "deletewebhook": self.delete_webhook,
            "getwebhookinfo": self.get_webhook_info,
        }

    def implements(self, method: str) -> bool:
        return method.lower() in self.handlers or method.lower() == "getupdates"

    def call(self, method: str, params: dict[str, Any], now: float) -> Any:
        return self.handlers[method.lower()](params, now)

    # --- helpers -----------------------------------------------------------------------------------------

    def _chat(self, params: Mapping[str, Any]) -> int:
        chat_id = params["chat_id"]
        if isinstance(chat_id, str):
            found = next((c.id for c in self.state.chats.values() if f"@{c.username}" == chat_id), None)
            if found is None:
                raise bad_request("chat not found")
            chat_id = found
        if chat_id not in self.state.chats:
            raise bad_request("chat not found")
        if chat_id in self.state.blocked_by:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.state.left_chats:
            kind = self.state.chats[chat_id].type
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")
        return int(chat_id)

    def _admit(self, chat_id: int, now: float) -> None:
        retry_after = self.flood.admit(chat_id, is_group=self.state.chats[chat_id].type != "private", now=now)
        if retry_after is not None:
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", parameters={"retry_after": retry_after}
            )

    def _reply_to(self, chat_id: int, params: Mapping[str, Any]) -> int | None:
        """The message a send replies to (``reply_parameters``), if it is there."""
        reply = params.get("reply_parameters")
        if not reply:
            return None
        if reply.get("chat_id", chat_id) != chat_id:
            raise bad_request("the fake implements replies within the same chat only", violation=True)
        target = self.state.messages[chat_id].get(reply["message_id"])
        if target is None or target.deleted:
            if reply.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return int(reply["message_id"])

    def _post_bot_message(self, chat_id: int, now: float, **content: Any) -> Any:
        """Store a new message from the bot in ``chat_id`` (``content``: the FakeMessage fields a send
        sets: text or caption, entities, reply_markup...) and return it as the Bot API's Message JSON."""
        message = FakeMessage(
            chat_id=chat_id,
            message_id=self.state.new_message_id(chat_id),
            from_bot=True,
            sender_id=None,
            date=self.state.date(now),
            sent_at=now,
            **content,
        )
        return self.state.message_json(self.state.add_message(message))

    def _bot_message(self, params: Mapping[str, Any], *, action: str) -> FakeMessage:
        chat_id = self._chat(params)
        message = self.state.messages[chat_id].get(int(params["message_id"]))
        if message is None or message.deleted:
            raise bad_request(f"message to {action} not found")
        if not message.from_bot:
            raise bad_request(f"message can't be {action}ed")
        return message

    # --- methods -----------------------------------------------------------------------------------------

    def get_me(self, params: dict[str, Any], now: float) -> Any:
        return dict(self.state.bot_user)

    def send_message(self, params: dict[str, Any], now: float) -> Any:
        chat_id = self._chat(params)
        text, entities = formatted_text(
            params["text"], params, entities_key="entities", limit=4096, minimum=1, what="message text"
        )
        markup = inline_markup(params)
        reply_to = self._reply_to(chat_id, params)
        self._admit(chat_id, now)
        return self._post_bot_message(
            chat_id, now, text=text, entities=entities, reply_markup=markup, reply_to=reply_to
        )

    def edit_message_text(self, params: dict[str, Any], now: float) -> Any:
        if "inline_message_id" in params or "chat_id" not in params or "message_id" not in params:
            raise bad_request("the fake implements edits by chat_id and message_id only", violation=True)
        if "text" not in params:
            raise bad_request("message text is empty", violation=True)
        message = self._bot_message(params, action="edit")
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        text, entities = formatted_text(
            params["text"], params, entities_key="entities", limit=4096, minimum=1, what="message text"
        )
        markup = inline_markup(params)
        if (
            text == message.text
            and list(entities) == list(message.entities)
            and markup == message.reply_markup
        ):
            raise ApiError(400, NOT_MODIFIED)
        self._admit(message.chat_id, now)
        edited = self.state.replace_message(message, now, text=text, entities=entities, reply_markup=markup)
        return self.state.message_json(edited)

    def edit_message_reply_markup(self, params: dict[str, Any], now: float) -> Any:
        if "inline_message_id" in params or "chat_id" not in params or "message_id" not in params:
            raise bad_request("the fake implements edits by chat_id and message_id only", violation=True)
        message = self._bot_message(params, action="edit")
        markup = inline_markup(params)
        if markup == message.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        self._admit(message.chat_id, now)
        return self.state.message_json(self.state.replace_message(message, now, reply_markup=markup))

    def delete_message(self, params: dict[str, Any], now: float) -> Any:
        chat_id = self._chat(params)
        message = self.state.messages[chat_id].get(int(params["message_id"]))
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        own_or_private = message.from_bot or self.state.chats[chat_id].type == "private"
        if not own_or_private or now - message.sent_at > DELETE_WINDOW:
            raise bad_request("message can't be deleted for everyone")
        self.state.add_message(attrs.evolve(message, deleted=True))
        return True

    def answer_callback_query(self, params: dict[str, Any], now: float) -> Any:
        query = self.state.callback_queries.get(params["callback_query_id"])
        if query is None or query.answered or now - query.created_at > CALLBACK_ANSWER_WINDOW:
            raise ApiError(400, QUERY_TOO_OLD)
        query.answered = True
        query.answer = {k: v for k, v in params.items() if k != "callback_query_id"}
        return True

    def send_chat_action(self, params: dict[str, Any], now: float) -> Any:
        chat_id = self._chat(params)
        if params["action"] not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request", violation=True)
        self.chat_actions.append((chat_id, params["action"], now))
        return True

    def send_document(self, params: dict[str, Any], now: float) -> Any:
        chat_id = self._chat(params)
        document = params["document"]
        if isinstance(document, UploadedFile):
            if len(document.data) > MAX_UPLOAD:
                raise ApiError(413, "Request Entity Too Large")
            if not document.data:
                raise bad_request("file must be non-empty", violation=True)
        elif str(document) not in self.state.files:
            raise bad_request("wrong file identifier/HTTP URL specified")
        caption: str | None = None
        entities: tuple[Mapping[str, Any], ...] = ()
        if params.get("caption"):
            caption, entities = formatted_text(
                params["caption"],
                params,
                entities_key="caption_entities",
                limit=1024,
                minimum=0,
                what="message caption",
            )
        markup = inline_markup(params)
        self._admit(chat_id, now)
        if isinstance(document, UploadedFile):
            stored = self.state.store_file(
                document.data,
                folder="documents",
                file_name=document.filename,
                mime_type=document.content_type,
            )
        else:
            stored = self.state.files[str(document)]
        doc: dict[str, Any] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.file_name:
            doc["file_name"] = stored.file_name
        if stored.mime_type:
            doc["mime_type"] = stored.mime_type
        doc["file_size"] = len(stored.data)
        return self._post_bot_message(
            chat_id, now, caption=caption, entities=entities, document=doc, reply_markup=markup
        )

    def get_file(self, params: dict[str, Any], now: float) -> Any:
        stored = self.state.files.get(params["file_id"])
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return stored.to_json()

    def set_my_commands(self, params: dict[str, Any], now: float) -> Any:
        commands = params["commands"]
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH", violation=True)
        for command in commands:
            if not _COMMAND_RE.fullmatch(command["command"]):
                raise bad_request("BOT_COMMAND_INVALID", violation=True)
            if not command["description"].strip():
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID", violation=True)
        self.state.commands = [dict(c) for c in commands]
        return True

    def get_my_commands(self, params: dict[str, Any], now: float) -> Any:
        return [dict(c) for c in self.state.commands]

    def delete_my_commands(self, params: dict[str, Any], now: float) -> Any:
        self.state.commands = []
        return True

    def set_my_description(self, params: dict[str, Any], now: float) -> Any:
        """setMyDescription and setMyShortDescription: lengths are checked by the reference; kept nowhere."""
        return True

    def leave_chat(self, params: dict[str, Any], now: float) -> Any:
        chat_id = self._chat(params)
        if self.state.chats[chat_id].type == "private":
            raise bad_request("chat member status can't be changed in private chats")
        self.state.left_chats.add(chat_id)
        return True

    def delete_webhook(self, params: dict[str, Any], now: float) -> Any:
        self.state.webhook_url = ""
        if params.get("drop_pending_updates"):
            self.state.updates = []
        return True

    def get_webhook_info(self, params: dict[str, Any], now: float) -> Any:
        info: dict[str, Any] = {"url": self.state.webhook_url, "has_custom_certificate": False}
        info["pending_update_count"] = len(self.state.updates)
        return info

    # --- getUpdates (the immediate part) -----------------------------------------------------------------

    def take_updates(self, params: Mapping[str, Any], now: float) -> list[dict[str, Any]]:
        """Confirm by ``offset``, remember ``allowed_updates``, and return up to ``limit`` queued updates."""
        if self.state.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self.state.expire(now)
        if "allowed_updates" in params:
            kinds = params["allowed_updates"]
            if self.update_kinds and (unknown := sorted(set(kinds) - self.update_kinds)):
                raise bad_request(f"allowed_updates names unknown update types {unknown}", violation=True)
            self.state.allowed_updates = frozenset(kinds) if kinds else None
        if "offset" in params:
            self.state.confirm(int(params["offset"]))
        limit = int(params.get("limit", 100))
        return [dict(u) for u in self.state.updates[:limit]]
