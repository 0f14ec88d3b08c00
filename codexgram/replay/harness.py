"""The replay harness: a transcript played through the real CodexLink against the fake app-server.

:func:`open_replay` starts a :class:`~codexgram.replay.fake_server.FakeAppServer` for the transcript and a
real ``codex_link_actor`` connected to it (over ``trio.testing.memory_stream_pair()``, or a real unix socket
when ``unix_socket`` is given), waits for the link's handshake, and yields a :class:`ReplaySession`.
:meth:`ReplaySession.play` then re-issues the client calls of the recording through the link, each once the
server frames recorded before it have gone out, subscribes to the threads those calls start, answers server
requests with the recorded answers, and collects every event the threads see. :func:`replay_transcript` does
all of that in one call.

A replay is *green* when the fake server played every frame and matched every recorded client frame, with no
mismatch and no call failing differently than recorded: :meth:`ReplayResult.check` raises
:class:`ReplayFailed` otherwise, listing what went wrong. Tests use ``autojump_clock``: the recorded gaps are
``trio.sleep`` calls, so a replay takes no real time.

Resource handling: everything runs in the nursery of :func:`open_replay` and is cancelled when it exits.
Error handling: :meth:`ReplaySession.play` never raises for a bad replay (the result says so); it stops
waiting after ``timeout`` seconds and reports what the server was still waiting for.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import trio
import trio.testing

from codexgram.actors.codex_link import CodexLink, LinkSettings, codex_link_actor
from codexgram.codex.transport import StreamConnector, unix_socket_connector
from codexgram.errors import CodexError, CodexgramError, CodexRefused
from codexgram.messages import CodexServerRequestEvent, ThreadEvent
from codexgram.replay.fake_server import FakeAppServer, memory_connector, serve_unix
from codexgram.replay.playback import ReplayMismatch, recorded_result
from codexgram.replay.transcript import Frame, Transcript

# Calls that hand back a thread the harness must subscribe to, to see its events.
THREAD_OPENING_METHODS = frozenset({"thread/start", "thread/resume", "thread/fork"})
LINK_OWN_REQUESTS = frozenset({"initialize"})  # the link does the handshake itself
# After a reconnect the link re-resumes its subscribed threads by itself: in every recorded connection but
# the first, these calls are the link's, not the harness's to re-issue.
LINK_OWN_AFTER_RECONNECT = frozenset({"thread/resume"})
DEFAULT_TIMEOUT = 60.0
MAILBOX_SIZE = 4096

EventCallback = Callable[[float, ThreadEvent], None]
# Decides the answer to a server request, given the client's recorded answer frame (None: leave it pending).
AnswerPolicy = Callable[[CodexServerRequestEvent, Frame | None], Mapping[str, Any] | None]


class ReplayFailed(CodexgramError):
    """A replay did not go as recorded: the message lists every mismatch and what was still awaited."""


@attrs.frozen(kw_only=True)
class ReplayResult:
    """What happened in one replay. ``events``: ``(seconds since start, event)`` as the threads saw them."""

    transcript: Transcript
    events: tuple[tuple[float, ThreadEvent], ...]
    mismatches: tuple[ReplayMismatch, ...]
    problems: tuple[str, ...]  # harness-side: calls that failed unlike the recording, a stalled server
    finished: bool

    @property
    def ok(self) -> bool:
        return self.finished and not self.mismatches and not self.problems

    def check(self) -> None:
        """Raise :class:`ReplayFailed` unless the replay went exactly as recorded."""
        if self.ok:
            return
        lines = [f"replay of {self.transcript.name} failed:"]
        lines += [f"  mismatch: {m}" for m in self.mismatches]
        lines += [f"  {p}" for p in self.problems]
        raise ReplayFailed("\n".join(lines))


class ReplaySession:
    """A live replay: the link (connected), the fake server, and the events seen so far."""

    def __init__(self, transcript: Transcript, link: CodexLink, server: FakeAppServer, nursery: trio.Nursery):
        self.transcript = transcript
        self.link = link
        self.server = server
        self._nursery = nursery
        self._start = trio.current_time()
        self.events: list[tuple[float, ThreadEvent]] = []
        self.problems: list[str] = []
        self.on_event: EventCallback | None = None
        self.answer: AnswerPolicy = recorded_answer
        self._mailbox_send, self._mailbox_receive = trio.open_memory_channel[ThreadEvent](MAILBOX_SIZE)
        nursery.start_soon(self._consume_events)

    async def play(self, *, timeout: float = DEFAULT_TIMEOUT) -> ReplayResult:  # noqa: ASYNC109
        """Re-issue the recorded calls and wait (at most ``timeout`` s) for the transcript to finish."""
        with trio.move_on_after(timeout):
            async with trio.open_nursery() as calls:
                done: dict[int, trio.Event] = {}
                for index, frame in enumerate(self.transcript.frames):
                    if not self._is_harness_call(index, frame):
                        continue
                    await self.server.wait_sent_before(index)
                    for answered_before in _calls_answered_before(self.transcript, index, done):
                        await answered_before.wait()
                    done[index] = trio.Event()
                    calls.start_soon(self._call, index, frame, done[index])
            await self.server.finished.wait()
        if not self.server.finished.is_set():
            self.problems.append(self.server.stall_report(timeout))
        # Let the link route the last frames to the thread mailboxes before taking stock.
        await trio.testing.wait_all_tasks_blocked(cushion=0.01)
        return self.result()

    def _is_harness_call(self, index: int, frame: Frame) -> bool:
        if frame.dir != "send" or frame.kind != "request" or frame.method in LINK_OWN_REQUESTS:
            return False
        return not (frame.method in LINK_OWN_AFTER_RECONNECT and self.transcript.connection_of(index) > 0)

    def result(self) -> ReplayResult:
        return ReplayResult(
            transcript=self.transcript,
            events=tuple(self.events),
            mismatches=tuple(self.server.mismatches),
            problems=tuple(self.problems),
            finished=self.server.finished.is_set(),
        )

    async def _call(self, index: int, frame: Frame, done: trio.Event) -> None:
        method = frame.method or ""
        recorded_error = _recorded_answer_is_error(self.transcript, index)
        try:
            result = await self.link.call(method, frame.msg.get("params") or {})
        except CodexRefused as exc:
            if not recorded_error:
                self.problems.append(f"call {method} (frame {index}) was refused: {exc}")
        except CodexError as exc:
            self.problems.append(f"call {method} (frame {index}) failed: {exc}")
        else:
            if recorded_error:
                self.problems.append(
                    f"call {method} (frame {index}) succeeded, but was refused when recorded"
                )
            thread = result.get("thread") if isinstance(result, dict) else None
            if method in THREAD_OPENING_METHODS and isinstance(thread, dict) and "id" in thread:
                self.link.subscribe(str(thread["id"]), self._mailbox_send.clone())
        finally:
            done.set()

    async def _consume_events(self) -> None:
        async for event in self._mailbox_receive:
            at = trio.current_time() - self._start
            self.events.append((at, event))
            if self.on_event is not None:
                self.on_event(at, event)
            if isinstance(event, CodexServerRequestEvent):
                await self._answer(event)

    async def _answer(self, event: CodexServerRequestEvent) -> None:
        result = self.answer(event, self.server.recorded_answer_to(event.request_id))
        if result is None:
            return  # recorded unanswered (e.g. interrupted while pending)
        try:
            await self.link.respond(event.request_id, dict(result))
        except CodexError as exc:
            self.problems.append(f"answering server request {event.request_id!r} failed: {exc}")


def recorded_answer(event: CodexServerRequestEvent, frame: Frame | None) -> Mapping[str, Any] | None:
    """The default answer policy: the result the client gave when the transcript was recorded."""
    return recorded_result(frame)


@asynccontextmanager
async def open_replay(
    transcript: Transcript,
    *,
    settings: LinkSettings | None = None,
    unix_socket: bool = False,
    connect_timeout: float = 10.0,
    time_scale: float = 1.0,
) -> AsyncIterator[ReplaySession]:
    """Start the fake server and a real link connected to it; yields once the handshake is done.

    With ``unix_socket`` the fake server listens on a real AF_UNIX socket in a temp directory and the link
    uses the production connector; otherwise a memory stream pair joins them.
    """
    server = FakeAppServer(transcript, time_scale=time_scale)
    async with trio.open_nursery() as nursery:
        with tempfile.TemporaryDirectory(prefix="cxg-replay-") as socket_dir:
            connector: StreamConnector
            if unix_socket:
                path = await nursery.start(serve_unix, server, Path(socket_dir) / "replay.sock")
                connector = unix_socket_connector(path)
            else:
                connector = memory_connector(server, nursery)
            link: CodexLink = await nursery.start(
                partial(codex_link_actor, connector, settings=settings or LinkSettings())
            )
            await link.wait_connected(connect_timeout)
            yield ReplaySession(transcript, link, server, nursery)
            nursery.cancel_scope.cancel()


async def replay_transcript(
    transcript: Transcript,
    *,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
    on_event: EventCallback | None = None,
    unix_socket: bool = False,
    time_scale: float = 1.0,
) -> ReplayResult:
    """Replay ``transcript`` through the link and return the result (call ``.check()`` to assert green)."""
    async with open_replay(transcript, unix_socket=unix_socket, time_scale=time_scale) as session:
        session.on_event = on_event
        return await session.play(timeout=timeout)


def _response_index(transcript: Transcript, request_index: int) -> int | None:
    """The recorded answer to the request at ``request_index`` (ids restart per connection: look only in
    the request's own connection)."""
    request_id = transcript.frames[request_index].id
    connection = transcript.connections()[transcript.connection_of(request_index)]
    for index in range(request_index + 1, connection.stop):
        frame = transcript.frames[index]
        if frame.dir == "recv" and frame.kind in ("response", "error") and frame.id == request_id:
            return index
    return None


def _recorded_answer_is_error(transcript: Transcript, request_index: int) -> bool:
    index = _response_index(transcript, request_index)
    return index is not None and transcript.frames[index].kind == "error"


def _calls_answered_before(
    transcript: Transcript, index: int, done: Mapping[int, trio.Event]
) -> list[trio.Event]:
    """The calls already issued whose recorded answer came before frame ``index``: wait for those first
    (e.g. ``thread/start`` must have returned, and its thread been subscribed, before ``turn/start``)."""
    waits = []
    for request_index, event in done.items():
        response = _response_index(transcript, request_index)
        if response is not None and response < index:
            waits.append(event)
    return waits
