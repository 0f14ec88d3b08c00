"""In-process stand-ins for the outbox's two ports, for unit tests and the outbox benchmark.

``RecordingBotApi`` answers every call at once (no network), records when it was called (trio time) and can
be told to fail the next calls with given errors. ``MemoryOutboxStore`` keeps outbox rows in a dict. Tests
that need real HTTP and SQLite use the fake Telegram server and the repository actor instead.
"""

# The stub mirrors the client's signatures, ``timeout`` included.
# ruff: noqa: ASYNC109

from __future__ import annotations

import time
from collections import deque
from typing import Any

import attrs
import trio

from codexgram.store.rows import OutboxRow
from codexgram.telegram.types import Chat, InlineKeyboardMarkup, Message


@attrs.frozen(kw_only=True)
class StubCall:
    method: str
    chat_id: int | None
    at: float
    params: dict[str, Any]


class RecordingBotApi:
    """Answers like Telegram would on success; ``fail_next(method, error)`` makes the next call raise."""

    def __init__(self) -> None:
        self.calls: list[StubCall] = []
        self._failures: deque[tuple[str | None, Exception]] = deque()
        self._next_message_id = 100
        self.latency = 0.0  # seconds each call takes (trio time)

    def fail_next(self, method: str | None, error: Exception, *, count: int = 1) -> None:
        for _ in range(count):
            self._failures.append((method, error))

    def calls_of(self, method: str) -> list[StubCall]:
        return [call for call in self.calls if call.method == method]

    async def _record(self, method: str, chat_id: int | None, **params: Any) -> None:
        self.calls.append(StubCall(method=method, chat_id=chat_id, at=trio.current_time(), params=params))
        if self.latency:
            await trio.sleep(self.latency)
        else:
            await trio.lowlevel.checkpoint()
        if self._failures and self._failures[0][0] in (None, method):
            _, error = self._failures.popleft()
            raise error

    def _message(self, chat_id: int, text: str | None) -> Message:
        self._next_message_id += 1
        return Message(
            message_id=self._next_message_id,
            date=int(time.time()),
            chat=Chat(id=chat_id, type="private"),
            text=text,
        )

    async def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        parse_mode: str | None = "HTML",
        reply_markup: InlineKeyboardMarkup | None = None,
        reply_to_message_id: int | None = None,
        disable_notification: bool | None = None,
        timeout: float | None = None,
    ) -> Message:
        await self._record(
            "sendMessage", chat_id, text=text, parse_mode=parse_mode, reply_markup=reply_markup
        )
        return self._message(chat_id, text)

    async def edit_message_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        parse_mode: str | None = "HTML",
        reply_markup: InlineKeyboardMarkup | None = None,
        timeout: float | None = None,
    ) -> Message | bool:
        await self._record(
            "editMessageText", chat_id, message_id=message_id, text=text, parse_mode=parse_mode
        )
        return True

    async def edit_message_reply_markup(
        self,
        chat_id: int,
        message_id: int,
        reply_markup: InlineKeyboardMarkup | None = None,
        *,
        timeout: float | None = None,
    ) -> Message | bool:
        await self._record(
            "editMessageReplyMarkup", chat_id, message_id=message_id, reply_markup=reply_markup
        )
        return True

    async def delete_message(self, chat_id: int, message_id: int, *, timeout: float | None = None) -> bool:
        await self._record("deleteMessage", chat_id, message_id=message_id)
        return True

    async def answer_callback_query(
        self,
        callback_query_id: str,
        *,
        text: str | None = None,
        show_alert: bool = False,
        timeout: float | None = None,
    ) -> bool:
        await self._record("answerCallbackQuery", None, callback_query_id=callback_query_id, text=text)
        return True

    async def send_chat_action(
        self, chat_id: int, action: str = "typing", *, timeout: float | None = None
    ) -> bool:
        await self._record("sendChatAction", chat_id, action=action)
        return True

    async def send_document(
        self,
        chat_id: int,
        filename: str,
        data: bytes,
        *,
        caption: str | None = None,
        parse_mode: str | None = None,
        timeout: float | None = None,
    ) -> Message:
        await self._record("sendDocument", chat_id, filename=filename, data=data, caption=caption)
        return self._message(chat_id, None)


class MemoryOutboxStore:
    """The outbox table in a dict (ids grow like AUTOINCREMENT)."""

    def __init__(self) -> None:
        self.rows: dict[int, OutboxRow] = {}
        self._next_id = 0
        self.added: list[int] = []
        self.removed: list[int] = []

    async def outbox_add(
        self, *, chat_id: int, kind: str, payload: str, created_at: float | None = None
    ) -> int:
        await trio.lowlevel.checkpoint()
        self._next_id += 1
        self.rows[self._next_id] = OutboxRow(
            id=self._next_id,
            chat_id=chat_id,
            kind=kind,
            payload=payload,
            created_at=time.time() if created_at is None else created_at,
            attempts=0,
        )
        self.added.append(self._next_id)
        return self._next_id

    async def outbox_remove(self, outbox_id: int) -> None:
        await trio.lowlevel.checkpoint()
        self.rows.pop(outbox_id, None)
        self.removed.append(outbox_id)

    async def outbox_pending(self) -> list[OutboxRow]:
        await trio.lowlevel.checkpoint()
        return [self.rows[key] for key in sorted(self.rows)]

    async def outbox_bump_attempts(self, outbox_id: int) -> None:
        await trio.lowlevel.checkpoint()
        row = self.rows.get(outbox_id)
        if row is not None:
            self.rows[outbox_id] = attrs.evolve(row, attempts=row.attempts + 1)
