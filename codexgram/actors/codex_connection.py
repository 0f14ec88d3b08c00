"""One live connection of the Codex link, and the link's settings.

A :class:`Connection` pairs one WebSocket with its own :class:`JsonRpcPeer` (ids restart per connection) and
the table of calls waiting for an answer. It is driven by ``codexgram.actors.codex_link``.

Resource handling: a connection does not own its WebSocket's lifetime (the link's connection nursery does); it
owns the pending calls and fails them all at once in :meth:`Connection.mark_closed`. Error handling: sending
on a closed connection raises ``CodexUnavailable``; a call that gets no answer in time raises
``CodexUnavailable`` naming the method and the timeout, and its id is forgotten in the peer so a late answer
is only logged.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import random
from collections.abc import Mapping
from typing import Any, Literal, Protocol

import attrs
import outcome
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection

from codexgram.actors.codex_routing import UNSUPPORTED_REQUEST_CODE, decline_for
from codexgram.codex.version import TESTED_CODEX_VERSION, server_version_from
from codexgram.errors import CodexUnavailable
from codexgram.rpc.peer import JsonRpcPeer, RequestId

log = logging.getLogger(__name__)

OUTGOING_QUEUE_SIZE = 64  # the link's own answers (declines) waiting for the writer task


class FrameRecorder(Protocol):
    """Receives every frame in both directions (see ``codexgram.replay.transcript``)."""

    def record(self, direction: Literal["send", "recv"], msg: Mapping[str, Any]) -> None: ...


def _package_version() -> str:
    try:
        return importlib.metadata.version("codexgram")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


@attrs.frozen(kw_only=True)
class LinkSettings:
    """Timeouts, backoff and queue sizes of the link. ``rng`` drives the backoff jitter (inject for tests)."""

    call_timeout: float = 30.0
    connect_timeout: float = 10.0  # connector + WebSocket upgrade + initialize, each attempt
    resume_timeout: float = 15.0  # each thread/resume after a reconnect
    backoff_initial: float = 0.2
    backoff_max: float = 10.0
    stable_after: float = 5.0  # a connection that lived this long resets the backoff
    # Keepalive: a WebSocket ping every ping_interval s; no pong within ping_timeout s means the server hangs
    # (a closed socket is noticed at once anyway): the connection is dropped and the link reconnects.
    ping_interval: float | None = 15.0
    ping_timeout: float = 10.0
    overflow_limit: int = 64  # structural events queued per slow thread before CodexEventsLost
    # Shielded WebSocket close on shutdown. The close frame goes out at once; the reply cannot arrive once the
    # reader task is cancelled, so this bounds the wait for nothing useful: keep it short.
    close_timeout: float = 0.5
    client_name: str = "codexgram"
    client_version: str = attrs.field(factory=_package_version)
    rng: random.Random = attrs.field(factory=random.Random, eq=False, repr=False)


@attrs.define
class _PendingCall:
    method: str
    done: trio.Event = attrs.field(factory=trio.Event)
    result: outcome.Outcome[Any] | None = None

    def settle(self, result: outcome.Outcome[Any]) -> None:
        if self.result is None:
            self.result = result
            self.done.set()


class Connection:
    """One live WebSocket with its own JSON-RPC peer (ids restart per connection) and pending calls."""

    def __init__(self, ws: WebSocketConnection, recorder: FrameRecorder | None) -> None:
        self.ws = ws
        self.peer = JsonRpcPeer()
        self.calls: dict[int, _PendingCall] = {}
        # id -> (method, thread id) of server requests handed to a thread and not yet answered
        self.server_requests: dict[RequestId, tuple[str, str]] = {}
        self.outgoing_send, self.outgoing_receive = trio.open_memory_channel[str](OUTGOING_QUEUE_SIZE)
        self.closed = trio.Event()
        self.close_reason = ""
        self._recorder = recorder

    def record(self, direction: Literal["send", "recv"], text: str) -> None:
        if self._recorder is None:
            return
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        self._recorder.record(direction, msg if isinstance(msg, dict) else {"_raw": text})

    async def send_text(self, text: str, *, what: str) -> None:
        if self.closed.is_set():
            raise CodexUnavailable(f"Codex unavailable: cannot send {what}: {self.close_reason}")
        self.record("send", text)
        try:
            await self.ws.send_message(text)
        except ConnectionClosed as exc:
            self.mark_closed(describe_close(exc))
            raise CodexUnavailable(f"Codex unavailable: cannot send {what}: {self.close_reason}") from None

    async def call(self, method: str, params: Mapping[str, Any] | None, seconds: float) -> Any:
        """Send a request and wait at most ``seconds`` for its answer (see ``CodexLink.call``)."""
        request_id, text = self.peer.send_request(method, params)
        pending = _PendingCall(method)
        self.calls[request_id] = pending
        try:
            with trio.move_on_after(seconds):
                await self.send_text(text, what=method)
                await pending.done.wait()
        finally:
            if self.calls.pop(request_id, None) is not None and pending.result is None:
                self.peer.forget(request_id)  # timed out or cancelled: a late answer is just logged
        if pending.result is None:
            raise CodexUnavailable(f"Codex unavailable: {method} got no answer within {seconds:g} s")
        return pending.result.unwrap()

    async def handshake(self, settings: LinkSettings) -> str | None:
        """``initialize`` then ``initialized``; returns the server's codex version (warns if untested).

        Error handling: ``CodexRefused`` if codex refuses, ``CodexUnavailable`` on close or timeout.
        """
        params = {
            "clientInfo": {
                "name": settings.client_name,
                "title": settings.client_name,
                "version": settings.client_version,
            }
        }
        result = await self.call("initialize", params, settings.connect_timeout)
        user_agent = result.get("userAgent") if isinstance(result, Mapping) else None
        version = server_version_from(user_agent)
        if version != TESTED_CODEX_VERSION:
            log.warning(
                "codex app-server version %s (userAgent %r) is not the tested %s; the protocol may differ",
                version,
                user_agent,
                TESTED_CODEX_VERSION,
            )
        await self.send_within(
            self.peer.send_notification("initialized"), "initialized", settings.connect_timeout
        )
        return version

    async def answer(self, request_id: RequestId, result: Any, seconds: float) -> None:
        """Send our ``result`` for a server request pending on this connection (see ``CodexLink.respond``).

        Error handling: ``CodexUnavailable`` if the request is not pending here (already answered, or asked
        on an earlier connection), or the answer could not be written within ``seconds`` (then it is lost).
        """
        pending = self.server_requests.pop(request_id, None)
        if pending is None:
            raise CodexUnavailable(
                f"Codex unavailable: server request {request_id} is not pending on this connection"
            )
        await self.send_within(self.peer.send_result(request_id, result), f"answer to {pending[0]}", seconds)

    async def send_within(self, text: str, what: str, seconds: float) -> None:
        """:meth:`send_text` bounded by ``seconds``: a server that stops reading would block it forever."""
        with trio.move_on_after(seconds) as bound:
            await self.send_text(text, what=what)
        if bound.cancelled_caught:
            raise CodexUnavailable(f"Codex unavailable: could not send {what} within {seconds:g} s")

    async def write_frames(self) -> None:
        """The writer task: sends the link's own answers (declines); the reader never waits for the socket."""
        async with self.outgoing_receive:
            async for text in self.outgoing_receive:
                try:
                    await self.send_text(text, what="answer to a server request")
                except CodexUnavailable:
                    return

    async def keepalive(self, interval: float, deadline: float) -> None:
        """The keepalive task: ping every ``interval`` s; close the connection when a pong takes longer than
        ``deadline`` s (a hung server does not close its socket, so nothing else would notice)."""
        while not self.closed.is_set():
            await trio.sleep(interval)
            with trio.move_on_after(deadline) as waited:
                try:
                    await self.ws.ping()
                except ConnectionClosed:
                    return  # the reader notices and closes
            if waited.cancelled_caught:
                log.warning("codex did not answer a ping within %g s; dropping the connection", deadline)
                self.mark_closed(f"no pong from codex within {deadline:g} s")
                return

    def settle(self, request_id: RequestId, result: outcome.Outcome[Any]) -> None:
        """An answer arrived for one of our calls (ids we gave up on are no longer in the table)."""
        pending = self.calls.pop(request_id, None) if isinstance(request_id, int) else None
        if pending is not None:
            pending.settle(result)

    def decline(self, request_id: RequestId, method: str, *, why: str) -> None:
        """Answer a server request "no" in its own terms (see ``decline_for``), without waiting: the frame
        goes through the writer task, so the reader that calls this never blocks on the socket."""
        result, message = decline_for(method)
        if result is not None:
            text = self.peer.send_result(request_id, result)
        else:
            text = self.peer.send_error(request_id, UNSUPPORTED_REQUEST_CODE, message)
        log.info("declining server request %s %s: %s (%s)", request_id, method, message, why)
        try:
            self.outgoing_send.send_nowait(text)
        except trio.WouldBlock:
            log.error("outgoing queue full: could not decline server request %s %s", request_id, method)  # noqa: TRY400
        except trio.ClosedResourceError:
            pass  # the connection is closing; the request dies with it

    def mark_closed(self, reason: str) -> None:
        """The connection is gone: fail every pending call at once and stop the writer."""
        if self.closed.is_set():
            return
        self.close_reason = reason
        self.closed.set()
        self.outgoing_send.close()
        error = f"Codex unavailable: the connection closed ({reason})"
        for request_id, method in self.peer.fail_all():
            pending = self.calls.pop(request_id, None)
            if pending is not None:
                pending.settle(outcome.Error(CodexUnavailable(f"{error} during {method}")))
        self.server_requests.clear()


def describe_close(exc: ConnectionClosed) -> str:
    reason = exc.reason
    if reason is None:
        return "connection closed"
    text = f"WebSocket closed with code {reason.code}"
    return f"{text}: {reason.reason}" if reason.reason else text


def first_error(group: BaseExceptionGroup[Exception]) -> str:
    errors = group.exceptions
    while errors and isinstance(errors[0], BaseExceptionGroup):
        errors = errors[0].exceptions
    first = errors[0] if errors else group
    return f"{type(first).__name__}: {first}" if str(first) else type(first).__name__
