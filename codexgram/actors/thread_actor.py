"""The ThreadActor: one per Codex thread that is running or was used recently, in the ``threads`` group.

A thin shell around :class:`~codexgram.chat.thread_core.ThreadCore`. It has three inboxes, each read by a task
of its own, so that none waits behind another: the Codex events the link routes to the thread, the commands
of the chat (a prompt was queued, cancel, steer, drop: a button press never waits behind a turn's deltas),
and the results of its own tasks. Handling any of them is synchronous: the core decides, and the effects it
returns go into one queue that a single *runner* task carries out in order (transactions, outbox posts);
effects that take time (a Codex call, a message whose id is needed) run as tasks of their own and report
back as results. So the actor never waits on Codex while it could be reading, and what it shows in the chat
keeps the order the core decided.

A thread that is being created has a pending key (``new:<update id>``): its actor first creates it
(:mod:`codexgram.actors.thread_creation`), renames itself in the group, and goes on as that thread's actor.
Its calls to Codex are in :mod:`codexgram.actors.thread_calls`.

It stops when it has been idle (no turn, no queued prompt, nothing in flight) for ``thread_idle`` seconds, or
when Codex lost the thread (its prompts move to a new thread, whose actor it starts).
"""

from __future__ import annotations

import functools
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import apsw
import trio

from codexgram.actors import conversation_store as store
from codexgram.actors import thread_calls as calls
from codexgram.actors.runtime import tell_nowait
from codexgram.actors.services import Services
from codexgram.actors.thread_creation import create_thread
from codexgram.chat import chat_views
from codexgram.chat.outgoing import Outgoing, to_request
from codexgram.chat.thread_core import ThreadCore
from codexgram.chat.thread_effects import (
    AnswerRequest,
    CardShown,
    Deliver,
    EditCard,
    EditProgress,
    Effect,
    Interrupt,
    Interrupted,
    LoadPrompts,
    MarkHandled,
    ProgressShown,
    ReadThread,
    RecordTurn,
    RemoveMessage,
    Requeue,
    Result,
    Resume,
    Resumed,
    Say,
    ShowCard,
    ShowProgress,
    StartTurn,
    Steered,
    SteerTurn,
    ThreadLost,
    ThreadRead,
    TurnStarted,
    TurnStartFailed,
    Typing,
)
from codexgram.errors import MailboxFull, TelegramError
from codexgram.messages import (
    CancelTurn,
    CodexDisconnected,
    CodexEvent,
    CodexReconnected,
    CodexServerRequestEvent,
    DeleteMessage,
    EditMessageText,
    PromptsQueued,
    SendMessage,
    SteerPrompt,
    ThreadCommand,
    ThreadEvent,
)
from codexgram.store.rows import ThreadRow
from codexgram.store.turn_queries import THREAD_CREATING, is_pending_key

log = logging.getLogger(__name__)

T = TypeVar("T")

COMMAND_MAILBOX = 64
EVENT_MAILBOX = 512
RESULT_MAILBOX = 64


class ThreadHandle:
    """What a chat holds to talk to a thread's actor. ``tell`` never waits: ``MailboxFull`` means the
    actor is swamped (the caller tells the user), ``ActorGone`` that it stopped (ask the group again)."""

    def __init__(self, key: str, commands: trio.MemorySendChannel[ThreadCommand]) -> None:
        self.key = key
        self._commands = commands
        # A PromptsQueued that did not fit: the actor reads its prompts from the store on its next tick.
        self.prompts_missed = False

    def __repr__(self) -> str:
        return f"<ThreadHandle {self.key}>"

    def tell(self, command: ThreadCommand) -> None:
        try:
            tell_nowait(self._commands, command, what=type(command).__name__)
        except MailboxFull:
            if not isinstance(command, PromptsQueued):
                raise
            self.prompts_missed = True  # the prompts are in the store: never lost, read a tick later


def thread_actor_factory(services: Services) -> Callable[[str], Callable[..., Awaitable[None]]]:
    """What the ``threads`` group starts for a key."""

    def make(key: str) -> Callable[..., Awaitable[None]]:
        return functools.partial(thread_actor, key, services)

    return make


async def thread_actor(
    key: str, services: Services, *, task_status: trio.TaskStatus[ThreadHandle] = trio.TASK_STATUS_IGNORED
) -> None:
    """Run the thread ``key`` (see the module docstring) until it is idle, lost, or cancelled."""
    send, commands = trio.open_memory_channel[ThreadCommand](COMMAND_MAILBOX)
    handle = ThreadHandle(key, send)
    task_status.started(handle)
    async with commands:
        attached = False
        if is_pending_key(key):
            thread = await create_thread(key, services)
            if thread is None:
                return
            if not services.threads.rename(key, thread.thread_id, handle):
                log.error("thread %s: cannot take over the key of the created thread", thread.thread_id)
                await _poke(services, thread.thread_id)
                return
            handle.key = thread.thread_id
            attached = True
        state = await services.repository.run(
            functools.partial(store.load_thread, thread_key=handle.key), what="load_thread"
        )
        if state.thread is None or state.thread.status == THREAD_CREATING:
            return  # nothing known under this key (a poke for a thread renamed or lost meanwhile)
        run = _ThreadRun(services, state.thread, handle, commands)
        await run.serve(state, attached=attached)


async def _poke(services: Services, key: str) -> None:
    try:
        (await services.threads.get(key)).tell(PromptsQueued())
    except (
        Exception
    ):  # the group stopping, or the new actor swamped: it reads the inbox when it starts anyway
        log.warning("could not wake thread %s", key, exc_info=True)


# --- the running thread -------------------------------------------------------------------------------------


class _ThreadRun:
    def __init__(
        self,
        services: Services,
        thread: ThreadRow,
        handle: ThreadHandle,
        commands: trio.MemoryReceiveChannel[ThreadCommand],
    ) -> None:
        self.services = services
        self.thread = thread
        self.chat_id = thread.chat_id
        self.handle = handle
        self.commands = commands
        self.core = ThreadCore(
            thread_id=thread.thread_id,
            chat_id=thread.chat_id,
            cwd=thread.cwd,
            config=services.settings.thread,
            new_token=services.new_token,
            approver=services.approver,
        )
        self.events_send, self.events = trio.open_memory_channel[ThreadEvent](EVENT_MAILBOX)
        self.results_send, self.results = trio.open_memory_channel[Result](RESULT_MAILBOX)
        self._effects: deque[Effect] = deque()
        self._effects_added = trio.Event()
        self._running_effect = False
        self._in_flight = 0
        self._stop = trio.Event()
        self._last_busy = trio.current_time()
        self._nursery: trio.Nursery | None = None

    def __repr__(self) -> str:
        return f"<ThreadRun {self.core!r}>"

    async def serve(self, state: store.ThreadState, *, attached: bool) -> None:
        link = self.services.link
        link.subscribe(self.thread.thread_id, self.events_send)  # before any resume: no event is missed
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._pump, self.events, self._on_event)
                nursery.start_soon(self._pump, self.commands, self._on_command)
                nursery.start_soon(self._pump, self.results, self._on_result)
                nursery.start_soon(self._runner)
                nursery.start_soon(self._ticker)
                self._apply(
                    self.core.begin(
                        prompts=state.prompts, unfinished=state.unfinished, attached=attached, now=self._now()
                    )
                )
                await self._stop.wait()
                nursery.cancel_scope.cancel()
        finally:
            link.unsubscribe(self.thread.thread_id)
            self.events_send.close()

    def _now(self) -> float:
        return self.services.clock()

    # --- inputs (synchronous: decide, queue the effects) ----------------------------------------------------

    async def _pump(
        self, channel: trio.MemoryReceiveChannel[Any], handler: Callable[[Any], list[Effect]]
    ) -> None:
        async for message in channel:
            self._apply(handler(message))

    def _apply(self, effects: list[Effect]) -> None:
        if effects:
            self._effects.extend(effects)
            self._effects_added.set()
            self._last_busy = trio.current_time()

    def _on_event(self, event: ThreadEvent) -> list[Effect]:
        core, now = self.core, self._now()
        if isinstance(event, CodexEvent):
            return core.on_notification(event.notification, now)
        if isinstance(event, CodexServerRequestEvent):
            return core.on_server_request(event.request_id, event.request, now)
        if isinstance(event, CodexDisconnected):
            return core.on_disconnected(now)
        if isinstance(event, CodexReconnected):
            return core.on_reconnected(resumed=event.resumed, now=now)
        return core.on_events_lost(now)

    def _on_command(self, command: ThreadCommand) -> list[Effect]:
        core, now = self.core, self._now()
        self._last_busy = trio.current_time()
        if isinstance(command, PromptsQueued):
            return core.on_prompts(command.prompts, now) if command.prompts else core.reload()
        if isinstance(command, CancelTurn):
            return core.cancel(command.turn_id, now)
        if isinstance(command, SteerPrompt):
            return core.steer(command.update_id, now)
        return core.drop(command.update_id, now)

    def _on_result(self, result: Result) -> list[Effect]:
        core, now = self.core, self._now()
        log.debug("thread %s: %r", self.thread.thread_id, result)
        if isinstance(result, Resumed):
            return core.on_resumed(ok=result.ok, gone=result.failure == "gone", now=now)
        if isinstance(result, ThreadRead):
            return core.on_read(result.thread, result.error, now, gone=result.gone)
        if isinstance(result, TurnStarted):
            return core.on_turn_started(result.update_id, result.turn_id, now)
        if isinstance(result, TurnStartFailed):
            return core.on_turn_start_failed(
                result.update_id, failure=result.failure, error=result.error, now=now
            )
        if isinstance(result, Steered):
            return core.on_steered(result.update_id, ok=result.ok, error=result.error, now=now)
        if isinstance(result, Interrupted):
            return core.on_interrupted(result.turn_id, ok=result.ok, error=result.error, now=now)
        if isinstance(result, CardShown):
            return core.on_card_shown(result.update_id, result.message_id)
        return core.on_progress_shown(result.turn_id, result.message_id)

    async def _ticker(self) -> None:
        settings = self.services.settings
        while True:
            await trio.sleep(settings.tick)
            if self.handle.prompts_missed:
                self.handle.prompts_missed = False
                self._apply(self.core.reload())
            if self.core.wants_ticks:
                self._apply(self.core.tick(self._now()))
            elif (
                self._idle()
                and trio.current_time() - self._last_busy >= settings.thread_idle
                and self.services.threads.retire(self.handle.key, self.handle)
            ):
                log.debug("thread %s: idle, stopping", self.handle.key)
                self._stop.set()
                return

    def _idle(self) -> bool:
        return (
            self.core.idle
            and not self.handle.prompts_missed
            and not self._effects
            and not self._running_effect
            and self._in_flight == 0
            and self.commands.statistics().current_buffer_used == 0
        )

    # --- the runner (effects in order) ----------------------------------------------------------------------

    async def _runner(self) -> None:
        while True:
            while not self._effects:
                self._effects_added = trio.Event()
                await self._effects_added.wait()
            effect = self._effects.popleft()
            self._running_effect = True
            try:
                await self._execute(effect)
            finally:
                self._running_effect = False

    def _spawn(self, job: Callable[[], Awaitable[Result | None]]) -> None:
        async def run() -> None:
            self._in_flight += 1
            try:
                result = await job()
                if result is not None:
                    await self.results_send.send(result)
            finally:
                self._in_flight -= 1
                self._last_busy = trio.current_time()

        assert self._nursery is not None
        self._nursery.start_soon(run)

    async def _tx(self, work: Callable[[apsw.Connection], T], what: str) -> T:
        return await self.services.repository.run(work, what=what)

    async def _execute(self, effect: Effect) -> None:
        services, chat_id, thread_id = self.services, self.chat_id, self.thread.thread_id
        if not isinstance(effect, Typing | EditProgress):
            log.debug("thread %s: %.300r", thread_id, effect)
        at = self._now()
        link = services.link
        if isinstance(effect, Resume):
            self._spawn(functools.partial(calls.resume, link, thread_id))
        elif isinstance(effect, ReadThread):
            self._spawn(functools.partial(calls.read, link, thread_id))
        elif isinstance(effect, StartTurn):
            await self._tx(
                functools.partial(store.mark_starting, update_id=effect.prompt.update_id), "mark_starting"
            )
            self._spawn(functools.partial(calls.start_turn, link, thread_id, effect))
        elif isinstance(effect, SteerTurn):
            await self._tx(
                functools.partial(store.mark_starting, update_id=effect.prompt.update_id), "mark_starting"
            )
            self._spawn(functools.partial(calls.steer, link, thread_id, effect))
        elif isinstance(effect, Interrupt):
            self._spawn(functools.partial(calls.interrupt, link, thread_id, effect.turn_id))
        elif isinstance(effect, AnswerRequest):
            self._spawn(functools.partial(calls.answer_request, link, thread_id, effect))
        elif isinstance(effect, Deliver):
            stored = await self._tx(
                functools.partial(
                    store.deliver,
                    thread_id=thread_id,
                    chat_id=chat_id,
                    turn_id=effect.turn_id,
                    messages=effect.messages,
                    item_ids=effect.item_ids,
                    finish=effect.finish,
                    at=at,
                ),
                "deliver",
            )
            await services.outbox.submit_all(stored)
        elif isinstance(effect, RecordTurn):
            await self._tx(
                functools.partial(
                    store.record_turn,
                    thread_id=thread_id,
                    chat_id=chat_id,
                    turn_id=effect.turn_id,
                    cancel_token=effect.cancel_token,
                    update_id=effect.update_id,
                    user_id=effect.user_id,
                    at=at,
                ),
                "record_turn",
            )
        elif isinstance(effect, MarkHandled):
            stored = await self._tx(
                functools.partial(
                    store.mark_handled,
                    chat_id=chat_id,
                    update_id=effect.update_id,
                    outcome=effect.outcome,
                    message=effect.message,
                    at=at,
                ),
                "mark_handled",
            )
            await services.outbox.submit_all(stored)
        elif isinstance(effect, Requeue):
            await self._tx(functools.partial(store.requeue, update_id=effect.update_id), "requeue")
        elif isinstance(effect, Say):
            if effect.durable:
                stored = await self._tx(
                    functools.partial(
                        store.store_messages, chat_id=chat_id, messages=[effect.message], at=at
                    ),
                    "say",
                )
                await services.outbox.submit_all(stored)
            else:
                services.outbox.post_or_drop(to_request(effect.message, chat_id, durable=False))
        elif isinstance(effect, ShowCard):
            await self._tx(
                functools.partial(
                    store.set_card, update_id=effect.update_id, token=effect.token, message_id=None
                ),
                "set_card",
            )
            self._spawn(functools.partial(self._show_card, effect))
        elif isinstance(effect, EditCard):
            services.outbox.post_or_drop(
                EditMessageText(chat_id=chat_id, message_id=effect.message_id, text=effect.text)
            )
        elif isinstance(effect, ShowProgress):
            self._spawn(functools.partial(self._show_progress, effect))
        elif isinstance(effect, EditProgress):
            message = effect.message
            assert message.text is not None
            services.outbox.post_or_drop(
                EditMessageText(
                    chat_id=chat_id,
                    message_id=effect.message_id,
                    text=message.text,
                    reply_markup=message.reply_markup,
                ),
            )
        elif isinstance(effect, Typing):
            services.outbox.chat_action(chat_id)
        elif isinstance(effect, RemoveMessage):
            services.outbox.post_or_drop(DeleteMessage(chat_id=chat_id, message_id=effect.message_id))
        elif isinstance(effect, LoadPrompts):
            prompts = await self._tx(
                functools.partial(store.load_prompts, thread_key=thread_id), "load_prompts"
            )
            self._apply(self.core.on_prompts(prompts, self._now()))
        elif isinstance(effect, ThreadLost):
            await self._lost(effect)

    # --- messages whose id matters --------------------------------------------------------------------------

    async def _show_progress(self, effect: ShowProgress) -> Result | None:
        request = to_request(effect.message, self.chat_id, durable=False)
        assert isinstance(request, SendMessage)
        try:
            message_id = await self.services.outbox.deliver(request)
        except (TelegramError, trio.TooSlowError) as exc:
            log.warning("thread %s: progress message not sent: %s", self.thread.thread_id, exc)
            return None
        kept = await self._tx(
            functools.partial(store.set_progress_message, turn_id=effect.turn_id, message_id=message_id),
            "set_progress_message",
        )
        if not kept:
            self.services.outbox.post_or_drop(DeleteMessage(chat_id=self.chat_id, message_id=message_id))
            return None
        return ProgressShown(turn_id=effect.turn_id, message_id=message_id)

    async def _show_card(self, effect: ShowCard) -> Result | None:
        request = to_request(effect.message, self.chat_id, durable=False)
        assert isinstance(request, SendMessage)
        try:
            message_id = await self.services.outbox.deliver(request)
        except (TelegramError, trio.TooSlowError) as exc:
            log.warning("thread %s: queued card not sent: %s", self.thread.thread_id, exc)
            return None
        await self._tx(
            functools.partial(
                store.set_card, update_id=effect.update_id, token=effect.token, message_id=message_id
            ),
            "set_card",
        )
        return CardShown(update_id=effect.update_id, message_id=message_id)

    # --- losing the thread ----------------------------------------------------------------------------------

    async def _lost(self, effect: ThreadLost) -> None:
        message = Outgoing(text=chat_views.thread_lost()) if effect.prompts else None
        key, stored = await self._tx(
            functools.partial(
                store.thread_lost,
                thread_id=self.thread.thread_id,
                prompts=effect.prompts,
                message=message,
                at=self._now(),
            ),
            "thread_lost",
        )
        await self.services.outbox.submit_all(stored)
        log.warning("thread %s: Codex no longer knows it; %s", self.thread.thread_id, key or "nothing queued")
        self.services.threads.retire(self.handle.key, self.handle)
        if key is not None:
            await _poke(self.services, key)
        self._stop.set()
