"""The ChatActor: one per Telegram chat, in the ``chats`` group; created on the chat's first update, stopped
after ``chat_idle`` seconds without one, and back on the next (so a thousand quiet chats cost nothing).

The inbox is its queue: the poller's consumer records each update and wakes the chat, which then handles its
``new`` rows in update order, each in ONE transaction (:func:`handle_in_transaction`): the gate, the context
the chat core needs, the plan, and everything the plan changes, down to the replies' outbox rows and the
row's ``handled`` mark. Only after the commit does it answer the button press, hand the replies to the
outbox, wake a thread's actor, tell one to cancel or steer, or leave a group. It never calls Codex, so a chat
is never held up by one; a slow chat (a busy store) holds up only itself.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import Awaitable, Callable

import apsw
import attrs
import trio

from codexgram.actors import conversation_store as store
from codexgram.actors.services import Services
from codexgram.chat import chat_views
from codexgram.chat.chat_core import Audit, ChatContext, ChatPlan, CodexInfo, plan_update
from codexgram.chat.gate import Admit, Ignore, LeaveChat, Refuse, gate, sender_of
from codexgram.chat.outgoing import Outgoing
from codexgram.chat.thread_effects import Prompt
from codexgram.errors import ActorGone, MailboxFull
from codexgram.messages import (
    AnswerCallback,
    PromptsQueued,
    SendMessage,
    StoredRequest,
    ThreadCommand,
    UpdatesRecorded,
)
from codexgram.store import queries
from codexgram.store.inbox_queries import NEW, QUEUED, WAITING
from codexgram.store.rows import InboxRow
from codexgram.store.turn_queries import THREAD_CREATING, THREAD_LOST
from codexgram.telegram.converter import structure
from codexgram.telegram.keyboards import CancelAction, QueuedAction, decode
from codexgram.telegram.types import Update

log = logging.getLogger(__name__)

BATCH = 50  # rows read per transaction


class ChatHandle:
    """Wakes a chat's actor: new rows are in the inbox. Wakes coalesce (a mailbox of one)."""

    def __init__(self, chat_id: int, wake: trio.MemorySendChannel[UpdatesRecorded]) -> None:
        self.chat_id = chat_id
        self._wake = wake

    def __repr__(self) -> str:
        return f"<ChatHandle {self.chat_id}>"

    def wake(self) -> None:
        try:
            self._wake.send_nowait(UpdatesRecorded())
        except trio.WouldBlock:
            pass  # already woken: it reads every new row anyway
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise ActorGone(f"chat {self.chat_id} has stopped") from None


@attrs.frozen(kw_only=True)
class AfterCommit:
    """What handling an update does once its transaction committed."""

    stored: tuple[StoredRequest, ...] = ()
    answer_button: bool = False  # the update is a button press handled now: answer it (the spinner waits)
    callback_answer: str | None = None
    leave_chat: int | None = None
    poke: str | None = None
    prompts: tuple[Prompt, ...] = ()  # the poked thread's queued prompts, as this transaction left them
    command: tuple[str, ThreadCommand] | None = None


def chat_actor_factory(services: Services) -> Callable[[int], Callable[..., Awaitable[None]]]:
    def make(chat_id: int) -> Callable[..., Awaitable[None]]:
        return functools.partial(chat_actor, chat_id, services)

    return make


async def chat_actor(
    chat_id: int, services: Services, *, task_status: trio.TaskStatus[ChatHandle] = trio.TASK_STATUS_IGNORED
) -> None:
    send, wakes = trio.open_memory_channel[UpdatesRecorded](1)
    handle = ChatHandle(chat_id, send)
    task_status.started(handle)
    async with wakes:
        await _handle_new(chat_id, services)  # what an earlier process left, or what woke us
        while True:
            with trio.move_on_after(services.settings.chat_idle):
                await wakes.receive()
                await _handle_new(chat_id, services)
                continue
            if wakes.statistics().current_buffer_used == 0 and services.chats.retire(chat_id, handle):
                return


async def _handle_new(chat_id: int, services: Services) -> None:
    """Handle the chat's ``new`` rows, in update order: up to ``BATCH`` of them read and handled in ONE
    transaction (one hop to the store, not two per update), then what each one does after the commit."""
    while True:
        work = functools.partial(
            handle_new_in_transaction,
            chat_id=chat_id,
            now=services.clock(),
            codex=_codex_info(services),
            bot_username=services.settings.bot_username,
            limit=BATCH,
        )
        try:
            handled = await services.repository.run(work, what="handle updates")
        except Exception:  # the store failed the batch: each update on its own, so one bad row stays alone
            log.exception("chat %d: handling a batch failed; one update at a time", chat_id)
            handled = await _handle_one_by_one(chat_id, services)
        for row, after in handled:
            await _after_commit(row, after, services)
        if len(handled) < BATCH:
            return


def _codex_info(services: Services) -> CodexInfo:
    link = services.link
    return CodexInfo(
        connected=link.connected,
        version=link.server_version,
        problem=None if link.connected else link.last_disconnect_reason,
    )


async def _handle_one_by_one(chat_id: int, services: Services) -> list[tuple[InboxRow, AfterCommit]]:
    rows = await services.repository.run(
        functools.partial(queries.inbox_of_chat, chat_id=chat_id, state=NEW, limit=BATCH),
        what="inbox_of_chat",
    )
    handled = []
    for row in rows:
        work = functools.partial(
            handle_in_transaction,
            row=row,
            now=services.clock(),
            codex=_codex_info(services),
            bot_username=services.settings.bot_username,
        )
        try:
            after = await services.repository.run(work, what="handle update")
        except Exception as exc:  # contained to this update, which is answered and marked
            log.exception("chat %d: update %d failed", row.chat_id, row.update_id)
            after = await _give_up(row, services, exc)
        handled.append((row, after))
    return handled


async def _give_up(row: InboxRow, services: Services, error: BaseException) -> AfterCommit:
    work = functools.partial(give_up_in_transaction, row=row, error=error, now=services.clock())
    return await services.repository.run(work, what="give up on update")


def give_up_in_transaction(
    conn: apsw.Connection, *, row: InboxRow, error: BaseException, now: float
) -> AfterCommit:
    """Handling ``row`` failed (a bug): mark it handled as failed and tell the user, so it is never retried
    forever nor silently dropped."""
    current = queries.inbox_get(conn, row.update_id)
    if current is None or current.state != NEW:
        return AfterCommit()
    queries.inbox_handled(conn, row.update_id, outcome=f"failed: {type(error).__name__}", at=now)
    stored = store.store_messages(conn, row.chat_id, [Outgoing(text=chat_views.failed_to_handle())], now)
    return AfterCommit(stored=tuple(stored), answer_button=row.kind == "callback_query")


async def _after_commit(row: InboxRow, after: AfterCommit, services: Services) -> None:
    if after.answer_button:
        update = _decode(row)
        if update.callback_query is not None:
            text = after.callback_answer[:200] if after.callback_answer else None
            try:
                services.outbox.post(AnswerCallback(callback_query_id=update.callback_query.id, text=text))
            except MailboxFull:
                log.warning("chat %d: outbox full, a button press goes unanswered", row.chat_id)
    for request in after.stored:
        await services.outbox.submit(request)
    if after.poke is not None:
        await _tell(services, after.poke, PromptsQueued(prompts=after.prompts), row.chat_id)
    if after.command is not None:
        await _tell(services, after.command[0], after.command[1], row.chat_id)
    if after.leave_chat is not None:
        try:
            await services.bot.leave_chat(after.leave_chat, timeout=services.settings.leave_timeout)
        except Exception as exc:  # the chat is gone already, or Telegram is away: logged, nothing to undo
            log.warning("could not leave chat %d: %s", after.leave_chat, exc)
        else:
            log.info("left chat %d (only private chats are served)", after.leave_chat)


async def _tell(services: Services, key: str, command: ThreadCommand, chat_id: int) -> None:
    try:
        (await services.threads.get(key)).tell(command)
    except MailboxFull:  # (never for PromptsQueued: the thread then reads the store, see ThreadHandle)
        log.warning("thread %s is swamped; %s from chat %d not passed on", key, command, chat_id)
        with contextlib.suppress(MailboxFull):
            services.outbox.post(SendMessage(chat_id=chat_id, text=chat_views.busy()))
    except ActorGone:
        log.warning("thread %s is gone (shutting down?); %s not passed on", key, command)


def _decode(row: InboxRow) -> Update:
    return structure(json.loads(row.payload), Update)


# --- the transaction ----------------------------------------------------------------------------------------


def handle_new_in_transaction(
    conn: apsw.Connection,
    *,
    chat_id: int,
    now: float,
    codex: CodexInfo,
    bot_username: str | None,
    limit: int,
) -> list[tuple[InboxRow, AfterCommit]]:
    """Read the chat's ``new`` rows (at most ``limit``) and handle each, in the caller's transaction.

    Each update runs in a savepoint of its own: one that raises (a bug) is rolled back alone and given up
    (:func:`give_up_in_transaction`); the others commit with it. A store error fails the whole batch.
    """
    handled = []
    for row in queries.inbox_of_chat(conn, chat_id, state=NEW, limit=limit):
        try:
            with conn:  # a savepoint inside the caller's transaction
                after = handle_in_transaction(conn, row=row, now=now, codex=codex, bot_username=bot_username)
        except apsw.Error:
            raise
        except Exception as exc:
            log.exception("chat %d: update %d failed", row.chat_id, row.update_id)
            after = give_up_in_transaction(conn, row=row, error=exc, now=now)
        handled.append((row, after))
    return handled


def handle_in_transaction(
    conn: apsw.Connection, *, row: InboxRow, now: float, codex: CodexInfo, bot_username: str | None
) -> AfterCommit:
    """Gate, decide and apply one update, in the caller's transaction (see the module docstring)."""
    current = queries.inbox_get(conn, row.update_id)
    if current is None or current.state != NEW:
        return AfterCommit()  # handled already (a duplicate wake)
    update = _decode(row)
    sender = sender_of(update)
    allowed = sender is not None and queries.is_user_allowed(conn, sender.id)
    last = queries.last_refusal(conn, sender.id) if sender is not None and not allowed else None
    decision = gate(update, allowed=allowed, last_refusal=last, now=now)
    is_button = update.callback_query is not None
    if isinstance(decision, Ignore):
        queries.inbox_handled(conn, row.update_id, outcome=f"ignored: {decision.reason}", at=now)
        return AfterCommit(answer_button=is_button, callback_answer=chat_views.stale_button())
    if isinstance(decision, LeaveChat):
        actor = f"telegram:{decision.user_id}" if decision.user_id is not None else "telegram"
        detail = {"chat_id": decision.chat.id, "chat_type": decision.chat.type, "update_id": row.update_id}
        queries.write_audit(
            conn, actor=actor, action="leave-chat" if decision.leave else "left-chat", detail=detail, at=now
        )
        queries.inbox_handled(
            conn, row.update_id, outcome="left the chat" if decision.leave else "not a member", at=now
        )
        return AfterCommit(
            leave_chat=decision.chat.id if decision.leave else None,
            answer_button=is_button,
            callback_answer="This bot works in private chats only.",
        )
    if isinstance(decision, Refuse):
        detail = {"chat_id": decision.chat.id, "update_id": row.update_id, "kind": update.kind}
        queries.write_audit(
            conn, actor=f"telegram:{decision.user.id}", action="refused", detail=detail, at=now
        )
        queries.inbox_handled(conn, row.update_id, outcome="refused: not allowlisted", at=now)
        stored: list[StoredRequest] = []
        if decision.tell:
            queries.set_refusal(conn, decision.user.id, at=now)
            refusal = Outgoing(text=chat_views.refusal_text(decision.user.id))
            stored = store.store_messages(conn, decision.chat.id, [refusal], now)
        return AfterCommit(stored=tuple(stored), answer_button=is_button, callback_answer="Not allowed.")
    assert isinstance(decision, Admit)
    context = _context(conn, update, decision, now=now, codex=codex, bot_username=bot_username)
    plan = plan_update(update, context)
    return _apply(conn, row, plan, context, is_button=is_button)


def _context(
    conn: apsw.Connection,
    update: Update,
    admitted: Admit,
    *,
    now: float,
    codex: CodexInfo,
    bot_username: str | None,
) -> ChatContext:
    chat_id = admitted.chat.id
    session = queries.get_session(conn, chat_id)
    thread = queries.get_thread(conn, session.thread_id) if session and session.thread_id else None
    running = None
    queued = 0
    if thread is not None and thread.status not in (THREAD_CREATING, THREAD_LOST):
        running = queries.running_turn_of(conn, thread.thread_id)
    if thread is not None:
        queued = len(queries.inbox_prompts_of(conn, thread.thread_id))
    card = button_turn = None
    if update.callback_query is not None:
        action = decode(update.callback_query.data)
        if isinstance(action, QueuedAction):
            card = queries.inbox_by_card_token(conn, action.token)
        elif isinstance(action, CancelAction):
            button_turn = queries.turn_by_cancel_token(conn, action.token)
    return ChatContext(
        now=now,
        chat_id=chat_id,
        user=admitted.user,
        bot_username=bot_username,
        session=session,
        workspaces=tuple(queries.list_workspaces(conn)),
        thread=thread,
        running_turn=running,
        queued=queued,
        waiting=tuple(r.update_id for r in queries.inbox_of_chat(conn, chat_id, state=WAITING, limit=1000)),
        codex=codex,
        card=card,
        button_turn=button_turn,
    )


def _apply(
    conn: apsw.Connection, row: InboxRow, plan: ChatPlan, context: ChatContext, *, is_button: bool
) -> AfterCommit:
    now = context.now
    if plan.new_thread is not None:
        queries.save_thread(conn, plan.new_thread)
    if plan.session is not None:
        queries.save_session(conn, plan.session)
    if plan.release_waiting_to is not None:
        for update_id in context.waiting:
            queries.inbox_set_state(conn, update_id, QUEUED, thread_key=plan.release_waiting_to)
    if plan.prompt_state is not None:
        queries.inbox_set_state(conn, row.update_id, plan.prompt_state, thread_key=plan.thread_key)
    else:
        queries.inbox_handled(conn, row.update_id, outcome=plan.outcome, at=now)
    for entry in plan.audit:
        _audit(conn, context, entry)
    stored = store.store_messages(conn, context.chat_id, plan.replies, now)
    return AfterCommit(
        stored=tuple(stored),
        answer_button=is_button,
        callback_answer=plan.callback_answer,
        poke=plan.poke,
        prompts=tuple(store.load_prompts(conn, plan.poke)) if plan.poke is not None else (),
        command=plan.command,
    )


def _audit(conn: apsw.Connection, context: ChatContext, entry: Audit) -> None:
    queries.write_audit(
        conn, actor=f"telegram:{context.user.id}", action=entry.action, detail=entry.detail, at=context.now
    )
