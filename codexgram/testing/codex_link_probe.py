"""Test helpers that drive a :class:`~codexgram.actors.codex_link.CodexLink` like a thread actor would.

:func:`open_link` runs the link actor for the length of an ``async with``; :class:`ThreadProbe` owns one
thread's mailbox, starts turns and collects what the link routes to it until ``turn/completed``;
:class:`SeverableConnector` lets a test cut the link's connection. Used by the integration tests against the
real codex binary, by the transcript recorder and by benchmarks; no assertions live here.

Resource handling: everything runs in the nursery of :func:`open_link`, cancelled on exit. Error handling:
waiting helpers raise ``trio.TooSlowError`` after ``within`` seconds, naming what they saw.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import trio

from codexgram.actors.codex_link import CodexLink, FrameRecorder, LinkSettings, codex_link_actor
from codexgram.codex.items import AgentMessageItem, TextInput
from codexgram.codex.notifications import AgentMessageDelta, ItemCompleted, ItemStarted, TurnCompleted
from codexgram.codex.requests import (
    ApprovalPolicy,
    SandboxMode,
    ThreadSessionResult,
    ThreadStartParams,
    TurnStartParams,
    TurnStartResult,
)
from codexgram.codex.transport import StreamConnector, unix_socket_connector
from codexgram.messages import CodexEvent, CodexServerRequestEvent, ThreadEvent

CONNECT_TIMEOUT = 15.0
TURN_TIMEOUT = 30.0


@asynccontextmanager
async def open_link(
    connector: StreamConnector,
    *,
    settings: LinkSettings | None = None,
    recorder: FrameRecorder | None = None,
    connected_within: float = CONNECT_TIMEOUT,
) -> AsyncIterator[CodexLink]:
    """Run the link actor; yield its handle once connected; stop it on exit."""
    async with trio.open_nursery() as nursery:
        link: CodexLink = await nursery.start(
            partial(codex_link_actor, connector, settings=settings, recorder=recorder)
        )
        await link.wait_connected(connected_within)
        try:
            yield link
        finally:
            nursery.cancel_scope.cancel()


@attrs.define
class TurnRecord:
    """What a thread saw of one turn, in order."""

    events: list[ThreadEvent] = attrs.field(factory=list)

    @property
    def notifications(self) -> list[Any]:
        return [e.notification for e in self.events if isinstance(e, CodexEvent)]

    @property
    def requests(self) -> list[CodexServerRequestEvent]:
        return [e for e in self.events if isinstance(e, CodexServerRequestEvent)]

    @property
    def deltas_text(self) -> str:
        return "".join(n.delta for n in self.notifications if isinstance(n, AgentMessageDelta))

    @property
    def completed_items(self) -> list[Any]:
        return [n.item for n in self.notifications if isinstance(n, ItemCompleted)]

    @property
    def started_items(self) -> list[Any]:
        return [n.item for n in self.notifications if isinstance(n, ItemStarted)]

    @property
    def final_text(self) -> str | None:
        texts = [i.text for i in self.completed_items if isinstance(i, AgentMessageItem)]
        return texts[-1] if texts else None

    @property
    def completed(self) -> TurnCompleted | None:
        done = [n for n in self.notifications if isinstance(n, TurnCompleted)]
        return done[-1] if done else None


RequestHandler = Callable[[CodexServerRequestEvent], Awaitable[None]]


@attrs.define
class ThreadProbe:
    """Plays the thread actor for one Codex thread: its mailbox, its turns, what it received."""

    link: CodexLink
    thread_id: str
    mailbox: trio.MemoryReceiveChannel[ThreadEvent]
    received: list[ThreadEvent] = attrs.field(factory=list)

    @classmethod
    async def start(
        cls,
        link: CodexLink,
        *,
        cwd: str,
        approval_policy: ApprovalPolicy | None = None,
        sandbox: SandboxMode | None = None,
        mailbox_size: int = 4096,
    ) -> ThreadProbe:
        """``thread/start`` in ``cwd`` and subscribe a fresh mailbox to the new thread."""
        result = await link.call_typed(
            ThreadStartParams(cwd=cwd, approval_policy=approval_policy, sandbox=sandbox), ThreadSessionResult
        )
        return cls.attach(link, result.thread.id, mailbox_size=mailbox_size)

    @classmethod
    def attach(cls, link: CodexLink, thread_id: str, *, mailbox_size: int = 4096) -> ThreadProbe:
        send, receive = trio.open_memory_channel[ThreadEvent](mailbox_size)
        link.subscribe(thread_id, send)
        return cls(link=link, thread_id=thread_id, mailbox=receive)

    async def start_turn(self, text: str) -> str:
        """``turn/start`` with one text input; returns the turn id."""
        result = await self.link.call_typed(
            TurnStartParams(thread_id=self.thread_id, input=(TextInput(text=text),)), TurnStartResult
        )
        return result.turn.id

    async def next_event(self, *, within: float = TURN_TIMEOUT) -> ThreadEvent:
        with trio.fail_after(within):
            event = await self.mailbox.receive()
        self.received.append(event)
        return event

    async def until(
        self, matches: Callable[[ThreadEvent], bool], *, within: float = TURN_TIMEOUT
    ) -> TurnRecord:
        """Collect events up to and including the first one that ``matches``."""
        record = TurnRecord()
        try:
            with trio.fail_after(within):
                while True:
                    event = await self.next_event(within=within)
                    record.events.append(event)
                    if matches(event):
                        return record
        except trio.TooSlowError:
            seen = [type(getattr(e, "notification", e)).__name__ for e in record.events]
            raise trio.TooSlowError(f"not seen within {within} s; saw {seen}") from None

    async def until_turn_completed(
        self, *, on_request: RequestHandler | None = None, within: float = TURN_TIMEOUT
    ) -> TurnRecord:
        """Collect the turn's events until ``turn/completed``; ``on_request`` answers server requests."""
        record = TurnRecord()
        with trio.fail_after(within):
            while True:
                part = await self.until(
                    lambda e: isinstance(e, CodexServerRequestEvent) or is_turn_completed(e), within=within
                )
                record.events.extend(part.events)
                last = part.events[-1]
                if isinstance(last, CodexServerRequestEvent):
                    if on_request is not None:
                        await on_request(last)
                    continue
                return record


def is_turn_completed(event: ThreadEvent) -> bool:
    return isinstance(event, CodexEvent) and isinstance(event.notification, TurnCompleted)


class SeverableConnector:
    """Connects to the app-server's unix socket and can cut the current connection (a dropped network).
    ``streams`` holds every connection made, oldest first."""

    def __init__(self, path: Path) -> None:
        self._connect = unix_socket_connector(path)
        self.streams: list[trio.abc.Stream] = []

    async def __call__(self) -> trio.abc.Stream:
        stream = await self._connect()
        self.streams.append(stream)
        return stream

    async def sever(self) -> None:
        await self.streams[-1].aclose()
