"""The byte-level transport to ``codex app-server``: a stream, wrapped in a WebSocket.

``codex app-server --listen unix://PATH`` serves WebSocket (RFC 6455, opened with an HTTP/1.1 Upgrade) over an
AF_UNIX socket, one JSON-RPC message per text frame. The link does not open sockets itself: it is given a
:data:`StreamConnector`, so tests and the replay harness can hand it an in-memory stream
(``trio.testing.memory_stream_pair``) and production hands it :func:`unix_socket_connector`.

Resource handling: the stream a connector returns belongs to the caller until it is passed to
:func:`open_websocket`; from then on the :class:`trio_websocket.WebSocketConnection` owns it and closes it.

Error handling: a connector raises ``OSError`` when nothing listens (missing socket, refused, permission);
:func:`open_websocket` raises ``trio_websocket.HandshakeError`` (e.g. ``ConnectionRejected``) in the nursery
when the server refuses the upgrade, and never returns if the peer goes silent: call it under a timeout.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import trio
from trio_websocket import WebSocketConnection, wrap_client_stream

# codex announces frames up to 16 MiB (x-codex-websocket-max-unfragmented-message-bytes); trio-websocket's
# default of 1 MiB would close the connection with 1009 on a large thread/read result or diff.
MAX_MESSAGE_SIZE = 16 * 2**20

StreamConnector = Callable[[], Awaitable[trio.abc.Stream]]
"""Opens a fresh byte stream to the app-server; called once per (re)connection attempt."""


def unix_socket_connector(path: str | Path) -> StreamConnector:
    """A connector that opens the app-server's unix socket at ``path`` (a symlink is fine).

    Error handling: each call raises ``OSError`` (``FileNotFoundError``, ``ConnectionRefusedError``,
    ``PermissionError``) when the socket is not there or not ours.
    """
    socket_path = str(path)

    async def connect() -> trio.abc.Stream:
        return await trio.open_unix_socket(socket_path)

    return connect


async def open_websocket(nursery: trio.Nursery, stream: trio.abc.Stream) -> WebSocketConnection:
    """Do the WebSocket opening handshake over ``stream``; trio-websocket's reader task runs in ``nursery``.

    The connection lives as long as ``nursery`` (or until closed). Wrap the call in ``trio.fail_after``:
    trio-websocket waits for the server's answer without a deadline of its own.
    """
    return await wrap_client_stream(
        nursery,
        stream,  # type: ignore[arg-type]  # any trio Stream works; the annotation names only socket streams
        host="localhost",
        resource="/",
        max_message_size=MAX_MESSAGE_SIZE,
    )
