"""A fake ``codex app-server`` that plays a transcript to one client, over any trio byte stream.

It speaks the real transport (a WebSocket opened with an HTTP/1.1 Upgrade, one JSON-RPC message per text
frame) on either end of ``trio.testing.memory_stream_pair()`` (:meth:`FakeAppServer.serve_stream`) or a real
AF_UNIX listener (:func:`serve_unix`). What it sends and when is decided by
:class:`~codexgram.replay.playback.Playback`: recorded answers by method with ids rewritten, notifications and
server requests in recorded order once the client frames recorded before them have arrived, spaced by the
recorded gaps with ``trio.sleep`` (so under ``autojump_clock`` a replay takes no real time).

Resource handling: :meth:`FakeAppServer.serve_stream` owns the stream it is given and closes it when it
returns; it returns when the client closes the connection, and is otherwise cancelled by its caller. The
reader and player tasks live in its own nursery. Error handling: mismatches never raise here; they are
collected in :attr:`FakeAppServer.mismatches` (and unexpected requests answered with a JSON-RPC error).
"""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path
from typing import Any

import trio
import trio.testing
from trio_websocket import ConnectionClosed, WebSocketConnection, wrap_server_stream

from codexgram.codex.transport import StreamConnector
from codexgram.replay.playback import Playback, ReplayMismatch
from codexgram.replay.transcript import Transcript

log = logging.getLogger(__name__)

MAX_MESSAGE_SIZE = 16 * 2**20  # what codex announces; a replay must not be stricter than the real server


class FakeAppServer:
    """Plays one transcript to the first client that connects (a second connection is refused)."""

    def __init__(self, transcript: Transcript, *, time_scale: float = 1.0) -> None:
        self.transcript = transcript
        self.playback = Playback(transcript)
        self.time_scale = time_scale  # 0 plays without the recorded gaps
        self.finished = trio.Event()
        self.connected = trio.Event()
        self.connections = 0
        self._changed = trio.Event()  # set (and replaced) whenever the playback state moves

    @property
    def mismatches(self) -> list[ReplayMismatch]:
        return self.playback.mismatches

    def waiting_for(self) -> list[str]:
        return self.playback.waiting_for()

    async def wait_sent_before(self, index: int) -> None:
        """Wait until every recorded server frame before transcript ``index`` has been sent."""
        while not self.playback.sent_all_before(index):
            await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()
        if self.playback.finished:
            self.finished.set()

    async def serve_stream(self, stream: trio.abc.Stream) -> None:
        """Accept a WebSocket on ``stream`` and play the transcript until the client closes."""
        self.connections += 1
        async with stream, trio.open_nursery() as nursery:
            request = await wrap_server_stream(
                nursery,
                stream,
                max_message_size=MAX_MESSAGE_SIZE,
            )
            if self.connections > 1:
                await request.reject(503, body=b"replay: the transcript has a single connection")
                nursery.cancel_scope.cancel()
                return
            ws = await request.accept()
            self.connected.set()
            nursery.start_soon(self._play, ws)
            await self._read(ws)
            nursery.cancel_scope.cancel()

    async def _read(self, ws: WebSocketConnection) -> None:
        try:
            while True:
                msg = _parse(await ws.get_message())
                for reply in self.playback.client_frame(msg):
                    await ws.send_message(json.dumps(reply))
                self._notify()
        except ConnectionClosed:
            pass  # the client hung up: the replay is over for this connection

    async def _play(self, ws: WebSocketConnection) -> None:
        try:
            while (pending := self.playback.next_server_frame()) is not None:
                if not pending.ready:
                    await self._changed.wait()
                    continue
                if pending.delay and self.time_scale:
                    await trio.sleep(pending.delay * self.time_scale)
                msg = self.playback.take_server_frame()
                await ws.send_message(msg["_raw"] if "_raw" in msg else json.dumps(msg))
                self._notify()
        except ConnectionClosed:
            return
        self._notify()


def _parse(text: str | bytes) -> dict[str, Any]:
    if isinstance(text, bytes):
        return {"_raw": text.decode("utf-8", "replace")}
    try:
        msg = json.loads(text)
    except ValueError:
        return {"_raw": text}
    return msg if isinstance(msg, dict) else {"_raw": text}


def memory_connector(server: FakeAppServer, nursery: trio.Nursery) -> StreamConnector:
    """A link connector that joins the link to ``server`` over a fresh ``memory_stream_pair`` per call.

    The server side of each connection runs in ``nursery``. Use it to put any client (the bot's own link)
    in front of a transcript: ``codex_link_actor(memory_connector(FakeAppServer(t), nursery))``.
    """

    async def connect() -> trio.abc.Stream:
        client, server_end = trio.testing.memory_stream_pair()
        nursery.start_soon(server.serve_stream, server_end)
        return client

    return connect


async def serve_unix(
    server: FakeAppServer,
    path: str | Path,
    *,
    task_status: trio.TaskStatus[Path] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Listen on a unix socket at ``path`` and serve connections to ``server`` until cancelled.

    Reports the path once listening. The socket file is removed when this returns.
    """
    path = Path(path)
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        await sock.bind(str(path))
        sock.listen(8)
        listener = trio.SocketListener(sock)
    except BaseException:
        sock.close()
        raise
    try:
        async with listener, trio.open_nursery() as nursery:
            task_status.started(path)
            while True:
                stream = await listener.accept()
                nursery.start_soon(server.serve_stream, stream)
    finally:
        path.unlink(missing_ok=True)
