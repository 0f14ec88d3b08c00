"""The two ports of the outbox actor, as Protocols: the Bot API client and the durable store.

:class:`codexgram.telegram.client.BotApiClient` and :class:`codexgram.actors.repository.Repository` satisfy
them; ``codexgram.testing.outbox_stubs`` has in-process stand-ins for unit tests and the benchmark.
"""

# The Protocol mirrors the client's methods, whose ``timeout`` argument is part of the contract.
# ruff: noqa: ASYNC109

from __future__ import annotations

from typing import Protocol

from codexgram.store.rows import OutboxRow
from codexgram.telegram.types import InlineKeyboardMarkup, Message


class OutboxBotApi(Protocol):
    """The part of :class:`codexgram.telegram.client.BotApiClient` the outbox calls."""

    async def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        parse_mode: str | None = ...,
        reply_markup: InlineKeyboardMarkup | None = ...,
        reply_to_message_id: int | None = ...,
        disable_notification: bool | None = ...,
        timeout: float | None = ...,
    ) -> Message: ...

    async def edit_message_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        parse_mode: str | None = ...,
        reply_markup: InlineKeyboardMarkup | None = ...,
        timeout: float | None = ...,
    ) -> Message | bool: ...

    async def edit_message_reply_markup(
        self,
        chat_id: int,
        message_id: int,
        reply_markup: InlineKeyboardMarkup | None = ...,
        *,
        timeout: float | None = ...,
    ) -> Message | bool: ...

    async def delete_message(self, chat_id: int, message_id: int, *, timeout: float | None = ...) -> bool: ...

    async def answer_callback_query(
        self,
        callback_query_id: str,
        *,
        text: str | None = ...,
        show_alert: bool = ...,
        timeout: float | None = ...,
    ) -> bool: ...

    async def send_chat_action(
        self, chat_id: int, action: str = ..., *, timeout: float | None = ...
    ) -> bool: ...

    async def send_document(
        self,
        chat_id: int,
        filename: str,
        data: bytes,
        *,
        caption: str | None = ...,
        parse_mode: str | None = ...,
        timeout: float | None = ...,
    ) -> Message: ...


class OutboxStore(Protocol):
    """The part of :class:`codexgram.actors.repository.Repository` the outbox uses."""

    async def outbox_add(
        self, *, chat_id: int, kind: str, payload: str, created_at: float | None = None
    ) -> int: ...

    async def outbox_remove(self, outbox_id: int) -> None: ...

    async def outbox_pending(self) -> list[OutboxRow]: ...

    async def outbox_bump_attempts(self, outbox_id: int) -> None: ...
