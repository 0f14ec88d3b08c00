"""The bot's side of one chat around a Codex link, with the user's actions as calls: :func:`open_bot`.

Used by the bot replay (a link to the fake app-server, virtual time) and by the recording of scenarios
through the bot (a link to the real ``codex app-server``, real time). The thread actors, the repository's
queries and the services are the real ones; the outbox records instead of calling Telegram, and the chat
actor is played by :class:`BotRig`, which does what the chat actor does for a plain message or a press on
Cancel (see :mod:`codexgram.replay.bot_services` for the stand-ins and why).

Resource handling: everything lives in the nurseries of :func:`open_bot`; leaving its block stops the
thread actors, then the outbox, then the repository.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from codexgram.actors.actor_group import ActorGroup, open_actor_group
from codexgram.actors.codex_link import CodexLink
from codexgram.actors.outbox_handle import OutboxHandle
from codexgram.actors.repository import Repository
from codexgram.actors.services import ConversationSettings, Services
from codexgram.actors.thread_actor import ThreadHandle, thread_actor_factory
from codexgram.chat.thread_settings import Approver, ThreadConfig
from codexgram.messages import CancelTurn, PromptsQueued
from codexgram.replay.bot_services import NoBotApi, RecordingOutbox, counting_tokens, open_inline_repository
from codexgram.replay.chat_log import LogEntry, UserEntry
from codexgram.replay.chat_transactions import (
    StoreFacts,
    queue_message,
    running_turn,
    set_up_chat,
    store_facts,
)
from codexgram.replay.user_script import BotSession, UserAction

FIRST_UPDATE_ID = 1000
# Short, so a replay ends soon after its last frame; the thread actor stopping on its own is the proof that
# it had nothing left to do or wait for.
THREAD_IDLE = 30.0


class BotRig:
    """The bot's side of one chat around a link (see :func:`open_bot`): the user's actions go in,
    :attr:`log` records them and everything the outbox got."""

    def __init__(
        self,
        *,
        repository: Repository,
        group: ActorGroup[str, Any],
        session: BotSession,
        log: list[LogEntry],
        start: float,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self.repository = repository
        self.group = group
        self.session = session
        self.log = log
        self.start = start
        self.clock = clock  # the bot's clock (what the rows say); the log counts trio time since ``start``
        self._next_update = FIRST_UPDATE_ID

    async def send_message(self, text: str, *, update_id: int | None = None, frame: int = -1) -> None:
        """The user sends ``text``: what the chat actor does with a plain message (the inbox row queued on
        the chat's thread, a pending one if there is none, in one transaction), then the thread is poked."""
        if update_id is None:
            update_id = self._next_update
        self._next_update = max(self._next_update, update_id + 1)
        action = UserAction(kind="message", frame=frame, text=text, update_id=update_id)
        self.log.append(UserEntry(at=trio.current_time() - self.start, action=action))
        work = functools.partial(
            queue_message, session=self.session, update_id=update_id, text=text, now=self.clock()
        )
        key = await self.repository.run(work, what="queue message")
        handle: ThreadHandle = await self.group.get(key)
        handle.tell(PromptsQueued())

    async def press_cancel(self, *, frame: int = -1) -> bool:
        """The user presses Cancel on the running turn (False: the chat has no thread to tell)."""
        action = UserAction(kind="cancel", frame=frame)
        self.log.append(UserEntry(at=trio.current_time() - self.start, action=action))
        key, turn_id = await self.repository.run(running_turn, what="running turn")
        if key is None:
            return False
        handle: ThreadHandle = await self.group.get(key)
        handle.tell(CancelTurn(turn_id=turn_id))
        return True

    async def facts(self) -> StoreFacts:
        return await self.repository.run(store_facts, what="facts")


@asynccontextmanager
async def open_bot(
    link: CodexLink,
    session: BotSession,
    *,
    approver: Approver,
    db_path: Path,
    clock: Callable[[], float] = trio.current_time,
    thread_idle: float = THREAD_IDLE,
    start: float | None = None,
) -> AsyncIterator[BotRig]:
    """The bot's side of one chat around ``link``, for the length of the block: a repository on
    ``db_path`` (the chat's user allowed, ``session`` saved), a :class:`RecordingOutbox`, and the thread
    actors' group. ``start``: the trio time the log counts from (default: now). Leaving the block stops the
    thread actors, then the outbox, then the repository."""
    log: list[LogEntry] = []
    start = trio.current_time() if start is None else start
    async with open_inline_repository(db_path) as repository:
        await repository.run(functools.partial(set_up_chat, session=session, now=clock()), what="set up")
        async with trio.open_nursery() as nursery:
            outbox = RecordingOutbox(repository, log, start=start)
            mailbox = await nursery.start(outbox.serve)
            services = Services(
                repository=repository,
                outbox=OutboxHandle(mailbox),
                link=link,
                bot=NoBotApi(),
                settings=ConversationSettings(thread=ThreadConfig(), thread_idle=thread_idle),
                clock=clock,
                new_token=counting_tokens(),
                approver=approver,
            )
            async with open_actor_group("threads", thread_actor_factory(services)) as group:
                services.threads = group
                yield BotRig(
                    repository=repository, group=group, session=session, log=log, start=start, clock=clock
                )
            nursery.cancel_scope.cancel()
