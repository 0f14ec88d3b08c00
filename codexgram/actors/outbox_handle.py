"""A typed handle on the outbox actor's mailbox, for the actors that talk to chats.

``await outbox.send_text(...)`` waits for the message id; ``outbox.post(...)`` hands a request over without
waiting (what a ThreadActor streaming progress edits wants). Waiting has a bound (``timeout``, default 120 s:
a 429 can hold a chat for a minute or more); when it runs out the caller gets ``trio.TooSlowError`` but the
request stays queued and is still delivered.

Error handling: ``ActorGone`` when the outbox has stopped; ``MailboxFull`` from ``post`` when the mailbox is
full (the caller decides: drop a progress edit, or ``await`` a send instead); the Telegram error that ended a
request (``TelegramBadRequest``, ``TelegramForbidden``...) from the awaiting methods.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

import attrs
import trio

from codexgram.actors.runtime import Reply, ask, tell_nowait
from codexgram.errors import ActorGone, MailboxFull
from codexgram.messages import (
    AnswerCallback,
    DeleteMessage,
    EditMessageMarkup,
    EditMessageText,
    OutboxRequest,
    SendChatAction,
    SendDocument,
    SendMessage,
)
from codexgram.telegram.types import InlineKeyboardMarkup

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_WAIT = 120.0


class OutboxHandle:
    """Cheap to copy; share one. See the module docstring for the waiting and error contracts."""

    def __init__(self, mailbox: trio.MemorySendChannel[OutboxRequest], *, default_wait: float = DEFAULT_WAIT):
        self._mailbox = mailbox
        self._default_wait = default_wait

    def __repr__(self) -> str:
        return "<OutboxHandle>"

    def post(self, request: OutboxRequest) -> None:
        """Hand ``request`` over without waiting (its ``reply``, if any, is answered later)."""
        tell_nowait(self._mailbox, request, what=type(request).__name__)

    async def submit(self, request: OutboxRequest) -> None:
        """Hand ``request`` over, waiting for room in the mailbox (for requests that must not be dropped,
        such as a ``StoredRequest`` whose row is already written)."""
        try:
            await self._mailbox.send(request)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise ActorGone("the outbox has stopped") from None

    async def submit_all(self, requests: Sequence[OutboxRequest]) -> None:
        """:meth:`submit` each of ``requests``, in order."""
        for request in requests:
            await self.submit(request)

    def post_or_drop(self, request: OutboxRequest) -> bool:
        """Best effort (a progress edit, a card edit): a full mailbox drops ``request`` (the next one will
        do); False if it was dropped."""
        try:
            self.post(request)
        except MailboxFull:
            log.debug("outbox full: dropped %s", type(request).__name__)
            return False
        return True

    async def _ask(self, make: Callable[[Reply[T]], OutboxRequest], wait: float | None) -> T:
        bound = self._default_wait if wait is None else wait
        return await ask(self._mailbox, make, timeout=bound, what="outbox request")

    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        parse_mode: str | None = "HTML",
        reply_markup: InlineKeyboardMarkup | None = None,
        reply_to_message_id: int | None = None,
        durable: bool = False,
        wait: float | None = None,
    ) -> int:
        """Send a message and return its id."""

        def make(reply: Reply[int]) -> SendMessage:
            return SendMessage(
                chat_id=chat_id,
                text=text,
                parse_mode=parse_mode,
                reply_markup=reply_markup,
                reply_to_message_id=reply_to_message_id,
                durable=durable,
                reply=reply,
            )

        return await self._ask(make, wait)

    async def deliver(self, request: SendMessage | SendDocument, *, wait: float | None = None) -> int:
        """Send a prepared request (its own ``reply`` is replaced) and return the new message's id."""

        def make(reply: Reply[int]) -> SendMessage | SendDocument:
            return attrs.evolve(request, reply=reply)

        return await self._ask(make, wait)

    async def edit_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        parse_mode: str | None = "HTML",
        reply_markup: InlineKeyboardMarkup | None = None,
        durable: bool = False,
        wait: float | None = None,
    ) -> None:
        """Edit a message and wait until the edit (or a newer one that replaced it) is done."""

        def make(reply: Reply[None]) -> EditMessageText:
            return EditMessageText(
                chat_id=chat_id,
                message_id=message_id,
                text=text,
                parse_mode=parse_mode,
                reply_markup=reply_markup,
                durable=durable,
                reply=reply,
            )

        await self._ask(make, wait)

    async def edit_markup(
        self,
        chat_id: int,
        message_id: int,
        reply_markup: InlineKeyboardMarkup | None,
        *,
        durable: bool = False,
        wait: float | None = None,
    ) -> None:
        def make(reply: Reply[None]) -> EditMessageMarkup:
            return EditMessageMarkup(
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=reply_markup,
                durable=durable,
                reply=reply,
            )

        await self._ask(make, wait)

    async def delete(self, chat_id: int, message_id: int, *, wait: float | None = None) -> None:
        def make(reply: Reply[None]) -> DeleteMessage:
            return DeleteMessage(chat_id=chat_id, message_id=message_id, reply=reply)

        await self._ask(make, wait)

    async def send_document(
        self,
        chat_id: int,
        filename: str,
        data: bytes,
        *,
        caption: str | None = None,
        parse_mode: str | None = None,
        durable: bool = False,
        wait: float | None = None,
    ) -> int:
        def make(reply: Reply[int]) -> SendDocument:
            return SendDocument(
                chat_id=chat_id,
                filename=filename,
                data=data,
                caption=caption,
                parse_mode=parse_mode,
                durable=durable,
                reply=reply,
            )

        return await self._ask(make, wait)

    def answer_callback(
        self, callback_query_id: str, *, text: str | None = None, show_alert: bool = False
    ) -> None:
        """Answer a button press without waiting (it jumps the queue anyway)."""
        self.post(AnswerCallback(callback_query_id=callback_query_id, text=text, show_alert=show_alert))

    def chat_action(self, chat_id: int, action: str = "typing") -> None:
        """Show "typing"; best effort: a full mailbox drops it silently (the next one will do)."""
        try:
            self.post(SendChatAction(chat_id=chat_id, action=action))
        except (
            Exception
        ):  # MailboxFull: a lost "typing" is harmless; ActorGone surfaces on the next real call
            return
