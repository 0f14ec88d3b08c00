"""The outbox actor: every Bot API call that sends, edits, deletes or answers, paced under the flood limits.

The scheduler (:mod:`codexgram.telegram.outbox_queue`) decides what goes next and when; this module only does
the I/O: it takes requests from the mailbox (``codexgram.messages.OutboxRequest``), persists durable ones,
runs the calls in its own nursery with at most ``max_in_flight`` at once, and settles each outcome:

- success, or "message is not modified" (an edit that changes nothing): done, replies answered;
- 429 ``retry_after``: the chat (everything, for a call without a chat) pauses that long, the call is queued
  again in front of its chat; a 429 is bound to the chat of the call that got it, because Telegram's counters
  are per chat plus a global one whose overflow shows up on whichever call crosses it, and the global ceiling
  of the scheduler keeps us below that one;
- 5xx and network errors: queued again after a capped exponential backoff (durable requests forever,
  others at most ``max_attempts`` times);
- "can't parse entities": the same content is queued again as plain text;
- any other Telegram error (bad request, forbidden): the request is given up and its reply fails.

Durable requests are written to the ``outbox`` table before the first attempt and removed after success (or
after a failure that retrying cannot fix). On start the actor loads the table, oldest first, before it
reports ready, so what an earlier process left is delivered before anything new. A durable call cut off by a
crash after Telegram did it but before the row was removed is sent again after the restart: at least once,
exactly once unless the process dies in that window.

Resource handling: the calls run in the actor's nursery; cancelling the actor cancels them. Non-durable
requests still queued are dropped and their replies fail with ``ActorGone``; durable ones stay in the table.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import attrs
import trio

from codexgram.actors.runtime import DEFAULT_MAILBOX_SIZE, Reply
from codexgram.errors import (
    ActorGone,
    TelegramCantParseEntities,
    TelegramError,
    TelegramNetworkError,
    TelegramNotModified,
    TelegramQueryTooOld,
    TelegramRetryAfter,
    TelegramServerError,
)
from codexgram.messages import (
    AnswerCallback,
    DeleteMessage,
    EditMessageMarkup,
    EditMessageText,
    OutboxRequest,
    SendChatAction,
    SendDocument,
    SendMessage,
    StoredRequest,
)
from codexgram.telegram import outbox_requests as requests
from codexgram.telegram.outbox_ports import OutboxBotApi, OutboxStore
from codexgram.telegram.outbox_queue import OutboxQueue, Pacing, QueuedItem
from codexgram.telegram.outbox_requests import OutboxCall

log = logging.getLogger(__name__)


@attrs.define(kw_only=True)
class _Job:
    """A request in the queue, with the table row that keeps it if it is durable."""

    request: OutboxCall
    row_id: int | None = None
    finished: bool = False  # answered and done with (sent, given up, or dropped)


@attrs.frozen(kw_only=True)
class OutboxSettings:
    pacing: Pacing = attrs.field(factory=Pacing)
    max_in_flight: int = 8
    call_timeout: float = 20.0  # seconds per Bot API call; uploads get more from the client itself
    max_attempts: int = 6  # for non-durable requests failing with 5xx / network errors
    max_pending: int = 2000  # queued requests; beyond, the mailbox is not read, so it fills and pushes back
    store_timeout: float = 10.0


class _Outbox:
    def __init__(self, client: OutboxBotApi, store: OutboxStore | None, settings: OutboxSettings) -> None:
        self._client = client
        self._store = store
        self._settings = settings
        self._queue: OutboxQueue[_Job] = OutboxQueue(settings.pacing)
        self._changed = trio.Event()
        self._room = trio.Event()  # set whenever a call settles (the queue may have room again)
        self._in_flight = 0
        self._mailbox_open = True
        self.dispatch_rounds = 0  # how often the dispatcher woke up (tests check that it does not spin)

    # --- intake --------------------------------------------------------------------------------------------

    async def load_durable(self) -> int:
        """Queue what an earlier process left in the table. Rows this code cannot read are logged and left."""
        if self._store is None:
            return 0
        with trio.fail_after(self._settings.store_timeout):
            rows = await self._store.outbox_pending()
        loaded = 0
        for row in rows:
            try:
                request = requests.from_record(row.kind, row.payload)
            except requests.UnknownRecord as exc:
                log.error("outbox row %d left in the table: %s", row.id, exc)  # noqa: TRY400 - no traceback needed
                continue
            self._enqueue(_Job(request=request, row_id=row.id))
            loaded += 1
        if loaded:
            log.info("outbox: %d durable request(s) from before the restart queued", loaded)
        return loaded

    def accept(self, request: OutboxRequest, nursery: trio.Nursery) -> None:
        """Queue ``request``. A durable one is held in its place (its chat waits, nothing else does) while a
        task writes its row, so a slow disk delays that chat only, never a callback answer. A
        :class:`StoredRequest` has its row already: it is queued at once, like a row loaded at start."""
        call, row_id = (
            (request.request, request.row_id) if isinstance(request, StoredRequest) else (request, None)
        )
        job = _Job(request=call, row_id=row_id)
        if isinstance(call, DeleteMessage):
            keys = requests.edit_keys(call.chat_id, call.message_id)
            for dropped in self._queue.remove_pending(keys):
                nursery.start_soon(self._finish, dropped, None)
        if row_id is None and requests.is_durable(call) and self._store is not None:
            item = self._enqueue(job, hold=True)
            nursery.start_soon(self._persist, job, item)
        else:
            self._enqueue(job)

    async def _persist(self, job: _Job, item: QueuedItem[_Job]) -> None:
        assert self._store is not None
        assert isinstance(job.request, requests.DurableRequest)
        kind, payload = requests.to_record(job.request)
        try:
            with trio.fail_after(self._settings.store_timeout):
                job.row_id = await self._store.outbox_add(
                    chat_id=job.request.chat_id, kind=kind, payload=payload
                )
        except Exception:  # trio.TooSlowError included
            # Better delivered without the safety net than not at all; the log says it was at risk.
            log.exception("outbox could not persist %s, sending it anyway", requests.describe(job.request))
        else:
            if job.finished:  # dropped (its message was deleted) while the row was being written
                await self._store_quietly("remove", self._store.outbox_remove, job.row_id)
        finally:
            self._queue.release(item)
            self._changed.set()

    def _enqueue(self, job: _Job, *, hold: bool = False) -> QueuedItem[_Job]:
        lane, chat_id, key = requests.placement(job.request)
        item = self._queue.add(job, lane=lane, chat_id=chat_id, coalesce_key=key, hold=hold)
        self._changed.set()
        return item

    async def receive(self, mailbox: trio.MemoryReceiveChannel[OutboxRequest], nursery: trio.Nursery) -> None:
        async with mailbox:
            async for request in mailbox:
                await self._wait_for_room()
                self.accept(request, nursery)
                # Then everything else already waiting, without a checkpoint each: ``receive`` takes one
                # message per scheduler pass, which many streaming chats outpace; the mailbox then stays full
                # and a callback answer waits behind hundreds of progress edits (bench/telegram_outbox.py).
                # (Counting each as one more pending request: a coalesced edit adds none, so this is safe,
                # and ``pending_count`` walks the chats, too slow to ask per message.)
                for _ in range(self._settings.max_pending - self._queue.pending_count):
                    try:
                        request = mailbox.receive_nowait()
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break  # (a closed mailbox ends the ``async for`` on its next round)
                    self.accept(request, nursery)
        self._mailbox_open = False
        self._changed.set()

    async def _wait_for_room(self) -> None:
        while self._queue.pending_count >= self._settings.max_pending:
            # Back pressure: leave the bounded mailbox to fill up, so senders wait or get MailboxFull.
            self._room = trio.Event()
            await self._room.wait()

    # --- dispatch ------------------------------------------------------------------------------------------

    async def dispatch(self, nursery: trio.Nursery) -> None:
        """Start every call the scheduler allows, then sleep until the next wakeup or change."""
        while self._mailbox_open or len(self._queue):
            self._changed = trio.Event()
            now = trio.current_time()
            while self._in_flight < self._settings.max_in_flight:
                item = self._queue.next_ready(now)
                if item is None:
                    break
                self._in_flight += 1
                nursery.start_soon(self._perform, item)
            wakeup = None
            if self._in_flight < self._settings.max_in_flight:
                # At the limit only a finishing call can let the next one start: no timer then, or a ready
                # item's past wakeup would spin this loop.
                wakeup = self._queue.next_wakeup(now)
            self.dispatch_rounds += 1
            with trio.move_on_at(math.inf if wakeup is None else wakeup):
                await self._changed.wait()

    async def _perform(self, item: QueuedItem[_Job]) -> None:
        job = item.payload
        try:
            result = await self._call_with_deadline(job.request)
        except TelegramRetryAfter as exc:
            log.warning("outbox: %s got 429, pausing %.0fs", requests.describe(job.request), exc.retry_after)
            self._queue.retry_after(item, now=trio.current_time(), seconds=exc.retry_after)
        except TelegramNotModified:
            self._queue.done(item)
            await self._finish(item, None)
        except TelegramCantParseEntities as exc:
            plain = requests.as_plain_text(job.request)
            if plain is None:
                self._queue.done(item)
                await self._finish(item, exc)
            else:
                log.warning("outbox: %s rejected as HTML, resending as plain text", requests.describe(plain))
                job.request = plain
                self._queue.retry_after(item, now=trio.current_time(), seconds=0)
        except (TelegramServerError, TelegramNetworkError) as exc:
            await self._retry_or_give_up(item, exc)
        except TelegramQueryTooOld:
            self._queue.done(item)  # the button press expired; nothing left to answer
            await self._finish(item, None)
        except TelegramError as exc:
            log.warning("outbox: %s failed for good: %s", requests.describe(job.request), exc)
            self._queue.done(item)
            await self._finish(item, exc)
        except Exception as exc:
            log.exception("outbox: %s failed unexpectedly", requests.describe(job.request))
            self._queue.done(item)
            await self._finish(item, exc)
        else:
            self._queue.done(item)
            await self._finish(item, result)
        finally:
            self._in_flight -= 1
            self._changed.set()
            self._room.set()

    async def _retry_or_give_up(self, item: QueuedItem[_Job], exc: TelegramError) -> None:
        job = item.payload
        durable = job.row_id is not None
        if isinstance(job.request, SendChatAction) or (
            not durable and item.attempts + 1 >= self._settings.max_attempts
        ):
            log.warning(
                "outbox: %s given up after %d attempts: %s",
                requests.describe(job.request),
                item.attempts + 1,
                exc,
            )
            self._queue.done(item)
            await self._finish(item, exc)
            return
        delay = self._queue.retry_with_backoff(item, now=trio.current_time())
        log.info("outbox: %s failed (%s), retry in %.1fs", requests.describe(job.request), exc, delay)
        if job.row_id is not None and self._store is not None:
            await self._store_quietly("bump attempts", self._store.outbox_bump_attempts, job.row_id)

    async def _call_with_deadline(self, request: OutboxCall) -> Any:
        # The client bounds each call itself; this outer bound (generous: uploads get more time from the
        # client) makes sure no call can hold its chat forever, whatever happens below.
        with trio.move_on_after(self._settings.call_timeout * 3 + 60) as bound:
            return await self._call(request)
        assert bound.cancelled_caught
        raise TelegramNetworkError(requests.describe(request), "no answer within the outbox's deadline")

    async def _call(self, request: OutboxCall) -> Any:
        """One Bot API call; returns the message id for sends, None otherwise."""
        timeout = self._settings.call_timeout
        client = self._client
        if isinstance(request, SendMessage):
            sent = await client.send_message(
                request.chat_id,
                request.text,
                parse_mode=request.parse_mode,
                reply_markup=request.reply_markup,
                reply_to_message_id=request.reply_to_message_id,
                disable_notification=request.disable_notification or None,
                timeout=timeout,
            )
            return sent.message_id
        if isinstance(request, EditMessageText):
            await client.edit_message_text(
                request.chat_id,
                request.message_id,
                request.text,
                parse_mode=request.parse_mode,
                reply_markup=request.reply_markup,
                timeout=timeout,
            )
            return None
        if isinstance(request, EditMessageMarkup):
            await client.edit_message_reply_markup(
                request.chat_id, request.message_id, request.reply_markup, timeout=timeout
            )
            return None
        if isinstance(request, DeleteMessage):
            await client.delete_message(request.chat_id, request.message_id, timeout=timeout)
            return None
        if isinstance(request, AnswerCallback):
            await client.answer_callback_query(
                request.callback_query_id, text=request.text, show_alert=request.show_alert, timeout=timeout
            )
            return None
        if isinstance(request, SendDocument):
            sent = await client.send_document(
                request.chat_id,
                request.filename,
                request.data,
                caption=request.caption,
                parse_mode=request.parse_mode,
            )
            return sent.message_id
        await client.send_chat_action(request.chat_id, request.action, timeout=timeout)
        return None

    # --- settling ------------------------------------------------------------------------------------------

    async def _finish(self, item: QueuedItem[_Job], outcome: Any) -> None:
        """Answer every request the item stands for and drop their table rows.

        ``outcome`` is the result (message id or None) or the exception that ended the item. A coalesced
        request shares the outcome of the newest one; only the newest gets a message id."""
        jobs = item.all_payloads
        for job in jobs:
            job.finished = True
        rows = [job.row_id for job in jobs if job.row_id is not None]
        if rows and self._store is not None:
            # Shielded: a row left behind after success would be sent again after a restart.
            with trio.CancelScope(shield=True):
                for row_id in rows:
                    await self._store_quietly("remove", self._store.outbox_remove, row_id)
        for job in jobs:
            reply: Reply[Any] | None = getattr(job.request, "reply", None)
            if reply is None or reply.answered:
                continue
            if isinstance(outcome, BaseException):
                reply.fail(outcome)
            else:
                reply.send(outcome)

    async def _store_quietly(self, what: str, operation: Any, row_id: int) -> None:
        assert self._store is not None
        try:
            with trio.fail_after(self._settings.store_timeout):
                await operation(row_id)
        except Exception:  # trio.TooSlowError included
            log.exception("outbox could not %s row %d", what, row_id)

    def fail_everything_pending(self) -> None:
        gone = ActorGone("the outbox stopped before this request was sent")
        dropped = 0
        for item in list(self._queue.pending_items()):
            for job in item.all_payloads:
                reply: Reply[Any] | None = getattr(job.request, "reply", None)
                if reply is not None and not reply.answered:
                    reply.fail(gone)
                dropped += job.row_id is None
        if dropped:
            log.warning("outbox stopped with %d unsent non-durable request(s)", dropped)


async def outbox_actor(
    *,
    client: OutboxBotApi,
    store: OutboxStore | None,
    settings: OutboxSettings | None = None,
    mailbox_size: int = DEFAULT_MAILBOX_SIZE,
    task_status: trio.TaskStatus[trio.MemorySendChannel[OutboxRequest]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the outbox until cancelled, or until its mailbox ends and everything queued is settled.

    Reports its mailbox (``trio.MemorySendChannel[OutboxRequest]``) once the durable rows of an earlier run
    are queued. ``store`` None runs without durability (durable requests are then sent like the others).
    Error handling: a failure to read the table raises before readiness; per-call failures go to replies.
    """
    outbox = _Outbox(client, store, settings or OutboxSettings())
    await outbox.load_durable()
    send, receive = trio.open_memory_channel[OutboxRequest](mailbox_size)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(outbox.receive, receive, nursery)
            task_status.started(send)
            async with trio.open_nursery() as calls:
                await outbox.dispatch(calls)
    finally:
        outbox.fail_everything_pending()
