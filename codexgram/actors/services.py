"""The services the conversation's actors share, in one bundle built by ``app.start_actors`` (or a test).

Chat and thread actors receive a :class:`Services` instead of reaching into module globals: the repository,
the outbox, the Codex link, the few Bot API calls that do not go through the outbox, the two keyed actor
groups (so a chat finds a thread's actor by key, and a thread a chat's), the settings and the clock.
Tests build one with fakes where they need them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from codexgram.chat.thread_settings import Approver, ThreadConfig, decline_every_approval
from codexgram.telegram.keyboards import new_callback_token
from codexgram.telegram.types import BotCommand

if TYPE_CHECKING:
    from codexgram.actors.actor_group import ActorGroup
    from codexgram.actors.codex_link import CodexLink
    from codexgram.actors.outbox_handle import OutboxHandle
    from codexgram.actors.repository import Repository


class ChatBotApi(Protocol):
    """The Bot API calls the chats make directly (not messages: those go through the outbox)."""

    async def leave_chat(self, chat_id: int, *, timeout: float | None = None) -> bool: ...  # noqa: ASYNC109

    async def set_my_commands(
        self,
        commands: Sequence[BotCommand],
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> bool: ...


@attrs.frozen(kw_only=True)
class ConversationSettings:
    thread: ThreadConfig = attrs.field(factory=ThreadConfig)
    chat_idle: float = 600.0  # a chat's actor stops after this long without an update
    thread_idle: float = 600.0  # a thread's actor stops after this long with nothing to do
    tick: float = 0.2  # how often a running turn's progress and "typing" are looked at
    bot_username: str | None = None  # for /command@botname
    leave_timeout: float = 20.0


@attrs.define(kw_only=True, eq=False)
class Services:
    """See the module docstring. ``chats`` and ``threads`` are set once their groups run."""

    repository: Repository
    outbox: OutboxHandle
    link: CodexLink
    bot: ChatBotApi
    settings: ConversationSettings = attrs.field(factory=ConversationSettings)
    clock: Callable[[], float] = time.time
    new_token: Callable[[], str] = new_callback_token
    approver: Approver = decline_every_approval
    chats: ActorGroup[int, Any] = attrs.field(init=False, default=None)
    threads: ActorGroup[str, Any] = attrs.field(init=False, default=None)
