"""The CodexLink actor: one connection to ``codex app-server``, kept alive, shared by every thread.

What it guarantees (see also ``docs/codex-link.md``):

- **Calls**: :meth:`CodexLink.call` sends a JSON-RPC request and waits for its answer, at most ``timeout``
  seconds (default ``LinkSettings.call_timeout``). A JSON-RPC error raises ``CodexRefused``
  (``CodexOverloaded`` for -32001). A call made while disconnected, a call whose connection drops, and a call
  that times out raise ``CodexUnavailable`` at once: calls are never queued silently for a later connection.
- **Routing**: notifications and server requests go to the mailbox of the thread that subscribed to their
  ``threadId``. Notifications nobody subscribed to are dropped (debug log); server requests nobody handles
  (unknown thread, or a method we do not support) are declined at once, in the request's own terms where the
  protocol has a "no" (``{"decision": "decline"}``) and with a JSON-RPC error otherwise.
- **Backpressure**: the socket reader never awaits a thread's mailbox (the decision is documented in
  :mod:`codexgram.actors.codex_routing`: deltas may be dropped for a slow thread, structural events queue in
  a small per-thread overflow, and beyond it the thread is told ``CodexEventsLost`` so it re-reads).
  trio-websocket's message queue is drained as fast as frames arrive, so its pings are answered.
- **Reconnect**: when the connection drops (or a keepalive ping gets no pong in time), every pending call
  fails at once with ``CodexUnavailable``, each subscribed thread gets ``CodexDisconnected``, and the link
  reconnects with capped exponential backoff and jitter, redoes the handshake, re-resumes every subscribed
  thread (``thread/resume``, ``excludeTurns: true``) so a turn that kept running on the server streams on,
  and tells each thread ``CodexReconnected(resumed)``.

Resource handling: :func:`codex_link_actor` owns its nursery, the WebSocket and the per-thread forwarding
tasks; cancelling it closes the connection (shielded, with its own deadline) and fails every pending call.
Mailboxes given to :meth:`CodexLink.subscribe` stay owned by their threads; the link never closes them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs
import outcome
import trio
from trio_websocket import ConnectionClosed, HandshakeError, WebSocketConnection

from codexgram.actors.codex_connection import (
    Connection,
    FrameRecorder,
    LinkSettings,
    describe_close,
    first_error,
)
from codexgram.actors.codex_routing import (
    HANDLED_SERVER_REQUESTS,
    Delivery,
    ThreadRoute,
    urgency_of_notification,
)
from codexgram.backoff import exponential_backoff
from codexgram.codex.converter import decode_notification, decode_result, decode_server_request, encode_params
from codexgram.codex.notifications import UnknownNotification
from codexgram.codex.server_requests import UnknownServerRequest
from codexgram.codex.thread_ids import thread_id_of
from codexgram.codex.transport import StreamConnector, open_websocket
from codexgram.errors import CodexOverloaded, CodexRefused, CodexUnavailable, RemoteProtocolError
from codexgram.messages import (
    CodexDisconnected,
    CodexEvent,
    CodexReconnected,
    CodexServerRequestEvent,
    ThreadEvent,
)
from codexgram.outage_log import OutageLog
from codexgram.rpc.peer import (
    ErrorResponse,
    Notification,
    ProtocolViolation,
    RequestId,
    Response,
    ServerRequest,
)

__all__ = ["CodexLink", "FrameRecorder", "LinkSettings", "codex_link_actor"]

log = logging.getLogger(__name__)

# The close reason when the link itself closes the connection (it is being stopped).
CLOSED_BY_LINK = "the link closed the connection"

R = TypeVar("R")

OVERLOADED_CODE = -32001


class CodexLink:
    """The handle other actors hold: calls, responses to server requests, subscriptions. Safe from any task.

    Created and driven by :func:`codex_link_actor`; do not construct it yourself.
    """

    def __init__(self, nursery: trio.Nursery, settings: LinkSettings, recorder: FrameRecorder | None) -> None:
        self._nursery = nursery
        self.settings = settings
        self._recorder = recorder
        self._connection: Connection | None = None
        self._connected_event = trio.Event()
        self._routes: dict[str, ThreadRoute] = {}
        self.server_version: str | None = None
        self.last_disconnect_reason = "not connected yet"
        self.connections_made = 0
        self._outage = OutageLog()  # how loudly a run of failed connection attempts is logged

    def __repr__(self) -> str:
        state = "connected" if self.connected else f"disconnected ({self.last_disconnect_reason})"
        return f"<CodexLink {state} server={self.server_version} threads={len(self._routes)}>"

    # --- public API ----------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.closed.is_set()

    async def wait_connected(self, timeout: float) -> None:  # noqa: ASYNC109  (a contract API: bounded wait)
        """Wait until the link is connected (handshake done); ``CodexUnavailable`` after ``timeout`` s."""
        with trio.move_on_after(timeout):
            while not self.connected:
                await self._connected_event.wait()
            return
        raise CodexUnavailable(
            f"Codex unavailable: not connected within {timeout:g} s ({self.last_disconnect_reason})"
        )

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109  (applied with trio inside, per call)
    ) -> Any:
        """Call ``method`` and return its raw ``result``.

        Error handling: ``CodexRefused`` (``CodexOverloaded``) for a JSON-RPC error answer;
        ``CodexUnavailable`` when not connected, when the connection drops before the answer, or after
        ``timeout`` seconds.
        """
        connection = self._connection
        if connection is None or connection.closed.is_set():
            raise CodexUnavailable(f"Codex unavailable: not connected ({self.last_disconnect_reason})")
        return await connection.call(
            method, params, self.settings.call_timeout if timeout is None else timeout
        )

    async def call_typed(
        self,
        params: Any,
        result_type: type[R],
        *,
        timeout: float | None = None,  # noqa: ASYNC109  (applied with trio inside, per call)
    ) -> R:
        """Call with a typed params object (``type(params).METHOD`` names the method); decode the result.

        Error handling: as :meth:`call`, plus ``RemoteProtocolError`` when the result does not fit.
        """
        method: str = type(params).METHOD
        raw = await self.call(method, encode_params(params), timeout=timeout)
        return decode_result(result_type, raw)

    async def respond(self, request_id: RequestId, result: Any) -> None:
        """Answer a server request that was routed to a thread (``CodexServerRequestEvent``). ``result`` is
        the raw result dict or a protocol object (e.g. ``ApprovalResponse``), encoded by the converter.

        Error handling: ``CodexUnavailable`` if the connection that asked is gone (its requests died with it),
        the request was already answered, or the answer could not be written within ``call_timeout`` seconds
        (a server that stops reading; the request is then forgotten).
        """
        connection = self._connection
        if connection is None or connection.closed.is_set():
            raise CodexUnavailable(f"Codex unavailable: cannot answer request {request_id}: not connected")
        if attrs.has(type(result)):
            result = encode_params(result)
        await connection.answer(request_id, result, self.settings.call_timeout)

    def subscribe(self, thread_id: str, mailbox: trio.MemorySendChannel[ThreadEvent]) -> None:
        """Route events of ``thread_id`` to ``mailbox``. Replacing an earlier subscription of the thread
        unsubscribes it first (declining approvals the old mailbox was asked and could not pass on).

        After a reconnect the link re-resumes every subscribed thread. The mailbox stays the caller's.
        """
        self.unsubscribe(thread_id)
        route = ThreadRoute(
            thread_id, mailbox, overflow_limit=self.settings.overflow_limit, on_gone=self._route_gone
        )
        try:
            self._nursery.start_soon(route.forward, name=f"codex-link forward {thread_id}")
        except RuntimeError:  # the link's nursery is closed: the link actor has stopped
            raise CodexUnavailable("Codex unavailable: the Codex link has stopped") from None
        self._routes[thread_id] = route

    def unsubscribe(self, thread_id: str) -> None:
        """Stop routing ``thread_id``: its later notifications are dropped, and its server requests (pending
        or later) are declined, so no turn waits for an answer that cannot come."""
        route = self._routes.pop(thread_id, None)
        if route is not None:
            route.close()
            self._decline_pending_of(thread_id, why="its thread unsubscribed")

    def subscribed(self) -> list[str]:
        return list(self._routes)

    # --- routing (runs in the reader task; never awaits) --------------------------------------------------

    def _route_gone(self, route: ThreadRoute, undelivered: list[ThreadEvent]) -> None:
        """The thread closed its mailbox: forget it, and decline what it can no longer answer."""
        del undelivered  # its server requests are among the pending ones declined below
        log.info("thread %s stopped reading; unsubscribing it", route.thread_id)
        if self._routes.get(route.thread_id) is route:
            del self._routes[route.thread_id]
            route.close()
        self._decline_pending_of(route.thread_id, why="its thread stopped")

    def _decline_pending_of(self, thread_id: str, *, why: str) -> None:
        connection = self._connection
        if connection is None or connection.closed.is_set():
            return
        for request_id, (method, owner) in list(connection.server_requests.items()):
            if owner == thread_id:
                del connection.server_requests[request_id]
                connection.decline(request_id, method, why=why)

    def _handle_text(self, connection: Connection, text: str) -> None:
        connection.record("recv", text)
        for event in connection.peer.receive_text(text):
            if isinstance(event, Notification):
                self._route_notification(event)
            elif isinstance(event, ServerRequest):
                self._route_server_request(connection, event)
            elif isinstance(event, Response):
                connection.settle(event.id, outcome.Value(event.result))
            elif isinstance(event, ErrorResponse):
                error_type = CodexOverloaded if event.code == OVERLOADED_CODE else CodexRefused
                error = error_type(event.method, event.code, event.message, event.data)
                connection.settle(event.id, outcome.Error(error))
            elif isinstance(event, ProtocolViolation):
                log.warning("codex protocol violation: %s: %.200s", event.reason, event.text)

    def _route_notification(self, event: Notification) -> None:
        thread_id = thread_id_of(event)
        route = self._routes.get(thread_id) if thread_id is not None else None
        if route is None:
            log.debug("dropping %s for unsubscribed thread %s", event.method, thread_id)
            return
        notification: Any
        try:
            notification = decode_notification(event.method, event.params)
        except RemoteProtocolError as exc:
            # Still deliver it: a malformed turn/completed must not leave the thread waiting forever.
            log.warning("%s; delivering it undecoded", exc)
            notification = UnknownNotification(method=event.method, params=event.params)
        delivery = route.offer(
            CodexEvent(thread_id=route.thread_id, notification=notification),
            urgency_of_notification(event.method),
        )
        if delivery is Delivery.GONE:
            self._route_gone(route, [])

    def _route_server_request(self, connection: Connection, event: ServerRequest) -> None:
        thread_id = thread_id_of(event)
        route = self._routes.get(thread_id) if thread_id is not None else None
        if event.method not in HANDLED_SERVER_REQUESTS:
            connection.decline(event.id, event.method, why="not supported")
            return
        if route is None:
            connection.decline(event.id, event.method, why=f"no subscriber for thread {thread_id}")
            return
        request: Any
        try:
            request = decode_server_request(event.method, event.params)
        except RemoteProtocolError as exc:
            log.warning("%s; delivering it undecoded", exc)
            request = UnknownServerRequest(method=event.method, params=event.params)
        connection.server_requests[event.id] = (event.method, route.thread_id)
        delivery = route.offer(
            CodexServerRequestEvent(thread_id=route.thread_id, request_id=event.id, request=request)
        )
        if delivery is Delivery.GONE:
            self._route_gone(route, [])

    # --- the connection loop ------------------------------------------------------------------------------

    async def _run(self, connector: StreamConnector) -> None:
        """Connect, serve, and reconnect with backoff, until cancelled."""
        # Connections ended in a row, this one included; one that lived ``stable_after`` starts again at 1.
        failures = 0
        while True:
            started = trio.current_time()
            was_up = await self._serve_one_connection(connector)
            if was_up and trio.current_time() - started >= self.settings.stable_after:
                failures = 0
            failures += 1
            delay = exponential_backoff(
                failures,
                base=self.settings.backoff_initial,
                cap=self.settings.backoff_max,
                jitter=self.settings.rng,
            )
            level = logging.INFO if self._outage.attempts <= 1 else logging.DEBUG  # once per outage
            log.log(level, "codex link: reconnecting in %.2f s (%s)", delay, self.last_disconnect_reason)
            await trio.sleep(delay)

    async def _serve_one_connection(self, connector: StreamConnector) -> bool:
        """One connection from connect to close; returns whether the handshake completed. Raises only
        ``trio.Cancelled`` (every failure of this attempt is logged and ends it)."""
        connection: Connection | None = None
        was_up = False
        try:
            async with trio.open_nursery() as nursery:
                stream: trio.abc.Stream | None = None
                ws: WebSocketConnection | None = None
                try:
                    with trio.fail_after(self.settings.connect_timeout):
                        stream = await connector()
                        ws = await open_websocket(nursery, stream)
                    connection = Connection(ws, self._recorder)
                    nursery.start_soon(self._read_frames, connection, name="codex-link reader")
                    nursery.start_soon(connection.write_frames, name="codex-link writer")
                    self.server_version = await connection.handshake(self.settings)
                    was_up = True
                    back = self._outage.recovered(trio.current_time())
                    if back is not None:
                        log.info("codex link: connected to codex %s, %s", self.server_version, back)
                    self._connection = connection
                    self.connections_made += 1
                    self._connected_event.set()
                    if self.settings.ping_interval is not None:
                        nursery.start_soon(
                            connection.keepalive,
                            self.settings.ping_interval,
                            self.settings.ping_timeout,
                            name="codex-link keepalive",
                        )
                    await self._resume_subscribed(connection)
                    await connection.closed.wait()
                finally:
                    if connection is not None:
                        connection.mark_closed(CLOSED_BY_LINK)
                    with trio.CancelScope(shield=True), trio.move_on_after(self.settings.close_timeout):
                        if ws is not None:
                            await ws.aclose()
                        if stream is not None:
                            await stream.aclose()
                    nursery.cancel_scope.cancel()
        except* (OSError, HandshakeError, trio.TooSlowError) as group:
            self.last_disconnect_reason = f"cannot connect: {first_error(group)}"
            self._log_failure()
        except* (CodexUnavailable, CodexRefused, RemoteProtocolError) as group:
            self.last_disconnect_reason = f"handshake failed: {first_error(group)}"
            self._log_failure()
        except* Exception as group:
            self.last_disconnect_reason = f"link error: {first_error(group)}"
            log.exception("codex link: connection failed unexpectedly")
        finally:
            if connection is not None and was_up:
                self.last_disconnect_reason = connection.close_reason
                self._on_disconnected(connection)
        return was_up

    def _log_failure(self) -> None:
        """A failed attempt, logged as loudly as the outage warrants (:class:`OutageLog`)."""
        now = trio.current_time()
        level = self._outage.failed(now)
        log.log(level, "codex link: %s (%s)", self.last_disconnect_reason, self._outage.describe(now))

    def _on_disconnected(self, connection: Connection) -> None:
        if self._connection is connection:
            self._connection = None
            self._connected_event = trio.Event()
        reason = f"Codex unavailable: {self.last_disconnect_reason}"
        # Our own close (shutdown, or the actor stopped) is expected; anything else is worth a warning.
        level = logging.INFO if self.last_disconnect_reason == CLOSED_BY_LINK else logging.WARNING
        log.log(level, "codex link: disconnected (%s)", self.last_disconnect_reason)
        for route in list(self._routes.values()):
            if not route.disconnected:
                self._offer(route, CodexDisconnected(reason=reason))

    def _offer(self, route: ThreadRoute, event: ThreadEvent) -> None:
        if route.offer(event) is Delivery.GONE:
            self._route_gone(route, [])

    async def _resume_subscribed(self, connection: Connection) -> None:
        """Re-attach every subscribed thread, so a turn that ran on while we were away streams on."""
        for thread_id, route in list(self._routes.items()):
            try:
                await connection.call(
                    "thread/resume",
                    {"threadId": thread_id, "excludeTurns": True},
                    self.settings.resume_timeout,
                )
            except CodexRefused as exc:
                log.warning("codex link: cannot resume thread %s: %s", thread_id, exc)
                resumed = False
            except CodexUnavailable:
                if connection.closed.is_set():
                    return  # the next disconnect is announced instead
                log.warning("codex link: resuming thread %s timed out", thread_id)
                resumed = False
            else:
                resumed = True
            if self._routes.get(thread_id) is route:
                self._offer(route, CodexReconnected(resumed=resumed))

    async def _read_frames(self, connection: Connection) -> None:
        """The only reader of the WebSocket; never awaits anything but the next frame."""
        try:
            while True:
                message = await connection.ws.get_message()
                if isinstance(message, bytes):
                    log.warning("codex protocol violation: a binary frame of %d bytes", len(message))
                    continue
                self._handle_text(connection, message)
        except ConnectionClosed as exc:
            connection.mark_closed(describe_close(exc))


async def codex_link_actor(
    connector: StreamConnector,
    *,
    settings: LinkSettings | None = None,
    recorder: FrameRecorder | None = None,
    task_status: trio.TaskStatus[CodexLink] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the link until cancelled; reports its :class:`CodexLink` handle at once (not yet connected: use
    ``await link.wait_connected(timeout)``).

    Resource handling: owns the connection, the reader/writer tasks and one forwarding task per subscribed
    thread, all in its own nursery. On cancellation the WebSocket is closed (shielded, ``close_timeout``) and
    every pending call fails with ``CodexUnavailable``. Error handling: connection failures never escape; they
    are logged and retried with backoff.
    """
    async with trio.open_nursery() as nursery:
        link = CodexLink(nursery, settings or LinkSettings(), recorder)
        task_status.started(link)
        try:
            await link._run(connector)
        finally:
            for thread_id in link.subscribed():
                link.unsubscribe(thread_id)
