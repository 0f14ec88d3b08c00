"""The test's side of the fake: playing the user (and the world around the bot). A mixin of
:class:`~.server.FakeTelegram`; each method turns an action into state and updates through :mod:`.user_api`
and wakes a waiting long poll.

Call these from inside the trio loop that runs the fake (they read ``trio.current_time()``).
"""

from __future__ import annotations

import copy
from typing import Any

import trio

from . import user_api
from .state import TelegramState


class UserSide:
    """Playing the user. Expects ``state`` and ``_changed`` from the class it is mixed into."""

    state: TelegramState
    _changed: trio.Event

    def _wake(self) -> None:
        """Wake a waiting getUpdates (it re-reads the queue)."""
        self._changed.set()
        self._changed = trio.Event()

    def _queued(self, update: dict[str, Any] | None) -> dict[str, Any] | None:
        self._wake()
        return copy.deepcopy(update)  # the test's copy: changing it must not change what the bot receives

    def user_sends_text(
        self, chat_id: int, text: str, *, user_id: int | None = None, chat_type: str = "private"
    ) -> dict[str, Any] | None:
        """A user (or a channel) sends ``text``; ``/commands`` get ``bot_command`` entities.

        Returns the queued Update (JSON), or None when ``allowed_updates`` filters it out."""
        now = trio.current_time()
        return self._queued(
            user_api.user_message(
                self.state, chat_id, now=now, user_id=user_id, chat_type=chat_type, text=text
            )
        )

    def user_sends_photo(
        self,
        chat_id: int,
        data: bytes,
        *,
        width: int = 640,
        height: int = 480,
        caption: str | None = None,
        user_id: int | None = None,
        chat_type: str = "private",
    ) -> dict[str, Any] | None:
        return self._queued(
            user_api.user_photo(
                self.state,
                chat_id,
                data,
                now=trio.current_time(),
                width=width,
                height=height,
                caption=caption,
                user_id=user_id,
                chat_type=chat_type,
            )
        )

    def user_sends_document(
        self,
        chat_id: int,
        data: bytes,
        *,
        file_name: str = "file.txt",
        mime_type: str = "text/plain",
        caption: str | None = None,
        user_id: int | None = None,
        chat_type: str = "private",
    ) -> dict[str, Any] | None:
        return self._queued(
            user_api.user_document(
                self.state,
                chat_id,
                data,
                now=trio.current_time(),
                file_name=file_name,
                mime_type=mime_type,
                caption=caption,
                user_id=user_id,
                chat_type=chat_type,
            )
        )

    def user_presses_button(
        self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None, strict: bool = True
    ) -> dict[str, Any] | None:
        return self._queued(
            user_api.user_presses_button(
                self.state, chat_id, message_id, data, now=trio.current_time(), user_id=user_id, strict=strict
            )
        )

    def user_edits_text(self, chat_id: int, message_id: int, text: str) -> dict[str, Any] | None:
        """The user edits their message ``message_id``: an ``edited_message`` update."""
        return self._queued(
            user_api.user_edits_text(self.state, chat_id, message_id, text, now=trio.current_time())
        )

    def bot_added_to_group(
        self, chat_id: int, *, by_user_id: int = user_api.DEFAULT_GROUP_MEMBER, chat_type: str = "group"
    ) -> dict[str, Any] | None:
        """Someone adds the bot to a group: a ``my_chat_member`` update."""
        return self._queued(
            user_api.bot_added_to_group(
                self.state, chat_id, now=trio.current_time(), by_user_id=by_user_id, chat_type=chat_type
            )
        )

    def user_blocks_bot(self, chat_id: int, *, blocked: bool = True) -> None:
        """The user of a private chat blocks (or unblocks) the bot: sends get 403 ``bot was blocked``."""
        if blocked:
            self.state.blocked_by.add(chat_id)
        else:
            self.state.blocked_by.discard(chat_id)

    def set_webhook(self, url: str) -> None:
        """Pretend a webhook is set (another deployment): getUpdates answers 409 until deleteWebhook."""
        self.state.webhook_url = url

    def ensure_chat(self, chat_id: int, chat_type: str = "private") -> None:
        """Make ``chat_id`` known without a message (as if the user had opened the bot earlier)."""
        self.state.ensure_chat(chat_id, chat_type)
