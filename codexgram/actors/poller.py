"""The poller actor: long-polls getUpdates and hands each update, exactly once, to a consumer.

The exactly-once argument (see also docs/outbox-and-polling.md):

1. The offset is the only state, persisted in the repository (``telegram_state.update_offset``). It is read
   at start and sent with every getUpdates, so Telegram only returns updates at or above it.
2. Each update is handed to ``consumer(update)``; the consumer's return is its *acknowledgement*: from then
   on the update is the consumer's responsibility. Only then is ``update_id + 1`` persisted, and the offset
   write is shielded from cancellation, so killing the poller between the acknowledgement and the write cannot
   happen: an acknowledged update is always recorded.
3. Killing the poller while the consumer has not acknowledged (the hand-off is a cancellable ``await``, e.g. a
   mailbox ``send``, which either delivers or raises ``Cancelled`` without delivering) leaves the offset below
   that update, so the next process gets it again from Telegram: not lost.
4. Updates below the persisted offset that Telegram returns again (our offset was written but the next
   getUpdates that would have confirmed it never reached Telegram) are dropped by the ledger
   (:class:`codexgram.telegram.updates.UpdateLedger`): not repeated.

The one window left is a hard crash of the whole process (SIGKILL, power) between the acknowledgement and
the commit of the offset: that update is delivered again after the restart. Consumers that cannot tolerate it
can compare ``update_id`` with what they recorded. And an update acknowledged into an in-memory mailbox is
lost if the process dies before the consumer processes it; acknowledge after processing where that matters.

Failures: 409 Conflict (another poller or a webhook on this token) is logged as an error naming the cause and
retried with backoff; 5xx, network errors and 429 back off and retry; 401 Unauthorized (a revoked token) ends
the actor with the error, because no retry can fix it. A consumer that raises is logged and its update is
skipped (acknowledged), so one bad update cannot wedge the bot.
"""

# ruff: noqa: ASYNC109  (the Protocol mirrors the client, whose calls take a timeout)

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import trio

from codexgram.backoff import exponential_backoff
from codexgram.errors import (
    TelegramConflict,
    TelegramError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorized,
)
from codexgram.telegram.types import Update
from codexgram.telegram.updates import UpdateLedger

log = logging.getLogger(__name__)

#: The update kinds the bot handles. Channel posts and membership changes are requested so the bot can
#: notice being added to a group or channel and leave it; the chat actors refuse everything but private chats.
ALLOWED_UPDATES: tuple[str, ...] = (
    "message",
    "edited_message",
    "callback_query",
    "channel_post",
    "my_chat_member",
)

#: Waits after failed getUpdates calls in a row (:func:`codexgram.backoff.exponential_backoff`):
#: 1, 2, 4 ... 60 s; answers the poller does not expect start at 5 s instead, as they are likely to repeat.
POLL_BACKOFF_BASE = 1.0
POLL_BACKOFF_CAP = 60.0
UNEXPECTED_FAILURE_BACKOFF_BASE = 5.0

UpdateConsumer = Callable[[Update], Awaitable[None]]


class PollerBotApi(Protocol):
    async def get_updates(
        self, *, offset: int | None, timeout: int, limit: int = 100, allowed_updates: Sequence[str]
    ) -> list[Update]: ...


class OffsetStore(Protocol):
    async def get_update_offset(self) -> int | None: ...

    async def set_update_offset(self, offset: int) -> None: ...


async def poller_actor(
    *,
    client: PollerBotApi,
    store: OffsetStore,
    consumer: UpdateConsumer,
    poll_timeout: int = 30,
    allowed_updates: Sequence[str] = ALLOWED_UPDATES,
    store_timeout: float = 10.0,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Poll until cancelled, handing every update to ``consumer`` once (see the module docstring).

    ``consumer`` is awaited for each update in turn and should return promptly (hand the update over, e.g.
    to a chat actor's mailbox, rather than process it): while it runs, no other update is delivered.
    Reports readiness (``None``: the poller has no mailbox) after reading the stored offset.
    Error handling: a failure to read the offset raises before readiness; ``TelegramUnauthorized`` ends the
    actor; every other failure is logged and retried with backoff.
    """
    with trio.fail_after(store_timeout):
        stored = await store.get_update_offset()
    ledger = UpdateLedger(stored)
    log.info("poller starting from offset %s", stored)
    task_status.started()
    failures = 0
    while True:
        try:
            updates = await _poll_once(client, ledger.offset, poll_timeout, allowed_updates)
        except TelegramUnauthorized:
            log.error("the bot token was refused (401 Unauthorized): check CODEXGRAM_TELEGRAM_TOKEN")  # noqa: TRY400
            raise
        except TelegramError as exc:
            failures += 1
            delay = _delay_after(exc, failures)
            if isinstance(exc, TelegramConflict):
                log.error(  # noqa: TRY400 - a traceback would bury the one line that matters
                    "another instance is polling with this token (409 Conflict: %s); "
                    "stop the other bot or delete its webhook - retrying in %.0fs",
                    exc.description,
                    delay,
                )
            else:
                log.warning("getUpdates failed (%s), retrying in %.0fs", exc, delay)
            await trio.sleep(delay)
            continue
        failures = 0
        for update in ledger.fresh(updates, _update_id):
            await _hand_over(update, consumer, store, ledger, store_timeout)


async def _poll_once(
    client: PollerBotApi, offset: int | None, poll_timeout: int, allowed_updates: Sequence[str]
) -> list[Update]:
    # The client bounds the request (poll_timeout + a margin); this bound is the backstop.
    with trio.move_on_after(poll_timeout + 60):
        return await client.get_updates(offset=offset, timeout=poll_timeout, allowed_updates=allowed_updates)
    raise TelegramNetworkError("getUpdates", "no answer within the poller's deadline")


def _update_id(update: Update) -> int:
    return update.update_id


def _delay_after(exc: TelegramError, failures: int) -> float:
    """Seconds to wait after ``failures`` failed getUpdates calls in a row, the last one with ``exc``."""
    backoff = exponential_backoff(failures, base=POLL_BACKOFF_BASE, cap=POLL_BACKOFF_CAP)
    if isinstance(exc, TelegramRetryAfter):
        return max(exc.retry_after, backoff)
    if isinstance(exc, TelegramConflict | TelegramServerError | TelegramNetworkError):
        return backoff
    # unexpected answers: slower, they are likely to repeat
    return exponential_backoff(failures, base=UNEXPECTED_FAILURE_BACKOFF_BASE, cap=POLL_BACKOFF_CAP)


async def _hand_over(
    update: Update, consumer: UpdateConsumer, store: OffsetStore, ledger: UpdateLedger, store_timeout: float
) -> None:
    try:
        await consumer(update)
    except Exception:
        log.exception("the consumer failed on update %d; skipping it", update.update_id)
    # Acknowledged: record it even if we are being cancelled right now (see the module docstring, point 2).
    offset = ledger.handed_over(update.update_id)
    with trio.CancelScope(shield=True):
        try:
            with trio.fail_after(store_timeout):
                await store.set_update_offset(offset)
        except Exception:
            # The next update's write covers this one; until then a restart would see it again.
            log.exception("could not persist the update offset %d", offset)
