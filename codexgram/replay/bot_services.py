"""The stand-ins around the real thread actors in a bot replay: what is fake and why.

- :class:`RecordingOutbox` takes the outbox mailbox and records every request instead of calling Telegram;
- :func:`open_inline_repository` is the real repository without its worker thread, so virtual time stays
  exact;
- :class:`NoBotApi` refuses the direct Bot API calls a thread actor never makes;
- :func:`counting_tokens` makes callback tokens that are the same in every run.

Everything else the thread actors use is real: the repository's queries and transactions on a SQLite file,
the Codex link, the services and the actor group.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import apsw
import trio

from codexgram.actors.repository import Repository
from codexgram.actors.runtime import open_mailbox
from codexgram.errors import StoreError
from codexgram.messages import (
    OutboxRequest,
    RepositoryRequest,
    SendDocument,
    SendMessage,
    StoredRequest,
    Transaction,
)
from codexgram.replay.chat_log import LogEntry, OutboxEntry
from codexgram.store.db import immediate_transaction, open_database
from codexgram.telegram.outbox_requests import OutboxCall

FIRST_MESSAGE_ID = 1
MAILBOX_SIZE = 4096


class RecordingOutbox:
    """Reads the outbox mailbox and records every request in the order it arrives.

    It answers at once, as a Telegram that never fails would: a send gets the next message id, anything
    else ``None``; a ``StoredRequest``'s row is removed from the ``outbox`` table, as the real outbox does
    after delivery. It neither paces nor coalesces, so the log is the bot's decisions one for one (an edit
    the real outbox would fold into a newer one still shows): a golden file shows what the bot asked for, not
    what the outbox's scheduling made of it; that layer has tests of its own (``tests/unit/outbox``). It also
    keeps the replay exact: the real outbox paces by the clock, which would tie the log to its pacing rules.
    """

    def __init__(
        self, repository: Repository, log: list[LogEntry], *, start: float, first_id: int = FIRST_MESSAGE_ID
    ) -> None:
        self._repository = repository
        self._log = log
        self._next_id = first_id
        self._start = start

    async def serve(
        self,
        *,
        task_status: trio.TaskStatus[trio.MemorySendChannel[OutboxRequest]] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Report the mailbox, then record what arrives until the mailbox ends or this is cancelled."""
        send, receive = trio.open_memory_channel[OutboxRequest](MAILBOX_SIZE)
        task_status.started(send)
        async with receive:
            async for request in receive:
                await self._take(request)

    async def _take(self, request: OutboxRequest) -> None:
        call: OutboxCall
        if isinstance(request, StoredRequest):
            call = request.request
            await self._repository.outbox_remove(request.row_id)
        else:
            call = request
        message_id = None
        if isinstance(call, SendMessage | SendDocument):
            message_id = self._next_id
            self._next_id += 1
        at = trio.current_time() - self._start
        stored = isinstance(request, StoredRequest)
        self._log.append(OutboxEntry(at=at, request=call, message_id=message_id, stored=stored))
        reply = getattr(call, "reply", None)
        if reply is not None and not reply.answered:
            reply.send(message_id)


@asynccontextmanager
async def open_inline_repository(db_path: Path) -> AsyncIterator[Repository]:
    """A :class:`Repository` whose transactions run on the event loop instead of a worker thread.

    The same file, migrations, transactions (each ``BEGIN IMMEDIATE``) and handle as ``open_repository``;
    only the thread hop is gone. Under ``autojump_clock`` a task waiting for a worker thread counts as
    blocked, so the virtual clock would jump to the next deadline while SQLite works, and the bot's timing
    (progress edits, footers) would depend on the disk. Inline, virtual time moves only when the bot waits.
    """
    conn = open_database(db_path)
    send, receive = open_mailbox(Transaction, MAILBOX_SIZE)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_serve_inline, conn, receive)
            try:
                yield Repository(send)
            finally:
                nursery.cancel_scope.cancel()
    finally:
        conn.close()


async def _serve_inline(conn: apsw.Connection, receive: trio.MemoryReceiveChannel[RepositoryRequest]) -> None:
    # Errors as the real repository gives them: apsw's as StoreError, any other to its asker as it is.
    async for request in receive:
        try:
            with immediate_transaction(conn):
                result = request.work(conn)
        except apsw.Error as exc:
            request.reply.fail(StoreError(f"{request.what} failed: {exc}"))
        except Exception as exc:
            request.reply.fail(exc)
        else:
            request.reply.send(result)


class NoBotApi:
    """The chat's direct Bot API calls (``Services.bot``): a thread actor makes none, so each one is a bug."""

    async def leave_chat(self, chat_id: int, *, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        raise AssertionError("a thread actor does not leave chats")

    async def set_my_commands(
        self,
        commands: Sequence[Any],
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> bool:
        raise AssertionError("a thread actor does not set commands")


def counting_tokens() -> Callable[[], str]:
    """Callback tokens ``replaytoken00001``, ``...02``: the same in every run (the real ones are random), so
    a golden file does not change with them."""
    count = 0

    def new_token() -> str:
        nonlocal count
        count += 1
        return f"replaytoken{count:05d}"

    return new_token
