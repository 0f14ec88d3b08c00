"""A small HTTP/1.1 server on trio + h11, for the test servers (mock model, fake Bot API).

Why our own: the test servers must run inside the test's trio loop (virtual clocks aside, they share its
nursery and are torn down with it), must hold requests open for long polling, stream SSE, and let a test
*break* a connection on purpose. A few dozen lines of h11 do all of that without a framework.

Resource handling: :func:`serve_http` binds, reports the bound port through ``task_status``, and serves until
cancelled; each connection is a task in the server's own nursery and is closed when its handler finishes.
Error handling: a handler that raises :class:`DropConnection` closes the socket without an answer (a test's
"dropped connection"); any other exception becomes a 500 and is logged.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import parse_qsl, urlsplit

import attrs
import h11
import trio

log = logging.getLogger(__name__)

MAX_BODY = 64 * 2**20
READ_SIZE = 65536


class DropConnection(Exception):  # named as an instruction, not an error: a handler raises it to hang up
    """Raised by a handler to close the connection without answering."""


@attrs.frozen(kw_only=True)
class Request:
    method: str
    target: str
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ", "
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.target).query, keep_blank_values=True))


@attrs.frozen(kw_only=True)
class Response:
    status: int = 200
    headers: dict[str, str] = attrs.field(factory=dict)
    body: bytes = b""
    # When set, the body is streamed chunk by chunk (chunked transfer encoding) and ``body`` is ignored.
    stream: Callable[[], AsyncIterator[bytes]] | None = None


Handler = Callable[[Request], Awaitable[Response]]


async def serve_http(
    handler: Handler,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``handler`` on ``host:port`` until cancelled; reports the bound port when listening."""
    listeners = await trio.open_tcp_listeners(port, host=host)
    bound_port = listeners[0].socket.getsockname()[1]
    async with trio.open_nursery() as nursery:
        for listener in listeners:
            nursery.start_soon(_accept_loop, listener, handler, nursery)
        task_status.started(bound_port)


async def _accept_loop(listener: trio.SocketListener, handler: Handler, nursery: trio.Nursery) -> None:
    async with listener:
        while True:
            stream = await listener.accept()
            nursery.start_soon(_serve_connection, stream, handler)


async def _serve_connection(stream: trio.SocketStream, handler: Handler) -> None:
    conn = h11.Connection(h11.SERVER)
    try:
        async with stream:
            while True:
                request = await _read_request(stream, conn)
                if request is None:
                    return
                try:
                    response = await handler(request)
                except DropConnection:
                    return
                except Exception:
                    log.exception("handler failed for %s %s", request.method, request.path)
                    response = Response(status=500, body=b"internal error")
                await _write_response(stream, conn, response)
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    return
                try:
                    conn.start_next_cycle()
                except h11.LocalProtocolError:
                    return
    except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
        return  # the client went away or spoke nonsense; nothing to answer


async def _read_request(stream: trio.SocketStream, conn: h11.Connection) -> Request | None:
    method = target = ""
    headers: dict[str, str] = {}
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await stream.receive_some(READ_SIZE)
            conn.receive_data(data)  # b"" means the client closed
            continue
        if isinstance(event, h11.Request):
            method = event.method.decode("ascii")
            target = event.target.decode("utf-8", "replace")
            for name, value in event.headers:
                key = name.decode("latin-1").lower()
                text = value.decode("latin-1")
                headers[key] = f"{headers[key]}, {text}" if key in headers else text
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY:
                return None
        elif isinstance(event, h11.EndOfMessage):
            return Request(method=method, target=target, headers=headers, body=bytes(body))
        elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
            return None


async def _write_response(stream: trio.SocketStream, conn: h11.Connection, response: Response) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    if response.stream is None:
        headers.append((b"content-length", str(len(response.body)).encode()))
        await stream.send_all(conn.send(h11.Response(status_code=response.status, headers=headers)) or b"")
        if response.body:
            await stream.send_all(conn.send(h11.Data(data=response.body)) or b"")
    else:
        headers.append((b"transfer-encoding", b"chunked"))
        await stream.send_all(conn.send(h11.Response(status_code=response.status, headers=headers)) or b"")
        async for chunk in response.stream():
            if chunk:
                await stream.send_all(conn.send(h11.Data(data=chunk)) or b"")
    await stream.send_all(conn.send(h11.EndOfMessage()) or b"")
