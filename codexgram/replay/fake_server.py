"""A fake ``codex app-server`` that plays a transcript to a client, over any trio byte stream.

It speaks the real transport (a WebSocket opened with an HTTP/1.1 Upgrade, one JSON-RPC message per text
frame) on either end of ``trio.testing.memory_stream_pair()`` (:meth:`FakeAppServer.serve_stream`) or a real
AF_UNIX listener (:func:`serve_unix`). What it sends and when is decided by
:class:`~codexgram.replay.playback.Playback`: recorded answers by method with ids rewritten, notifications and
server requests in recorded order once the client frames recorded before them have arrived, spaced by the
recorded gaps with ``trio.sleep`` (so under ``autojump_clock`` a replay takes no real time). A transcript
with several connections (a reconnect was recorded) is played one connection at a time: the server closes
each finished part so the client reconnects for the next.

Resource handling: :meth:`FakeAppServer.serve_stream` owns the stream it is given and closes it when it
returns; it returns when either side closes the connection, and is otherwise cancelled by its caller. The
reader and player tasks live in its own nursery. Error handling: mismatches never raise here; they are
collected in :attr:`FakeAppServer.mismatches` (and unexpected requests answered with a JSON-RPC error).
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import trio
import trio.testing
from trio_websocket import ConnectionClosed, WebSocketConnection, wrap_server_stream

from codexgram.codex.transport import StreamConnector
from codexgram.replay.playback import Playback, ReplayMismatch, id_key, recorded_answers
from codexgram.replay.transcript import Frame, Transcript

log = logging.getLogger(__name__)

MAX_MESSAGE_SIZE = 16 * 2**20  # what codex announces; a replay must not be stricter than the real server


class FakeAppServer:
    """Plays one transcript; its n-th connection plays the n-th recorded connection.

    A transcript with several connections (the link reconnected while recording) is played one connection
    at a time: when the client frames and server frames of a connection are all through and a later one was
    recorded, the server closes the WebSocket, and the client's next connection plays the next part. A
    connection beyond the recorded ones is refused (HTTP 503) and counted as a mismatch.
    """

    def __init__(
        self, transcript: Transcript, *, time_scale: float = 1.0, allow_unrecorded_answers: bool = False
    ) -> None:
        """``allow_unrecorded_answers``: see :class:`~codexgram.replay.playback.Playback` (the bot replay's
        one allowance; off for the link-level replay)."""
        self.transcript = transcript
        self.playbacks = [
            Playback(transcript, frames, allow_unrecorded_answers=allow_unrecorded_answers)
            for frames in transcript.connections()
        ]
        self.time_scale = time_scale  # 0 plays without the recorded gaps
        self.finished = trio.Event()
        self.connected = trio.Event()
        self.connections = 0
        self._extra: list[ReplayMismatch] = []
        self._answers = recorded_answers(transcript)
        self._changed = trio.Event()  # set (and replaced) whenever the playback state moves

    @property
    def playback(self) -> Playback:
        """The playback of the current (latest) connection."""
        return self.playbacks[min(max(self.connections - 1, 0), len(self.playbacks) - 1)]

    @property
    def mismatches(self) -> list[ReplayMismatch]:
        return [m for playback in self.playbacks for m in playback.mismatches] + self._extra

    @property
    def notes(self) -> list[str]:
        """What the playbacks' allowance let through, in connection order."""
        return [note for playback in self.playbacks for note in playback.notes]

    @property
    def received_requests(self) -> dict[int, Mapping[str, Any]]:
        """The client's request matched to each recorded request frame (by transcript index)."""
        return {
            index: msg for playback in self.playbacks for index, msg in playback.received_requests.items()
        }

    @property
    def server_frames_sent(self) -> int:
        return sum(playback.server_frames_sent for playback in self.playbacks)

    def waiting_for(self) -> list[str]:
        return [
            item for playback in self.playbacks if not playback.finished for item in playback.waiting_for()
        ]

    def stall_report(self, timeout: float) -> str:
        """Where the playback stands, for a client that gave up waiting after ``timeout`` seconds."""
        waiting = "; ".join(self.waiting_for()) or "nothing from the client"
        return (
            f"stalled after {timeout:g} s at server frame {self.server_frames_sent} "
            f"of {len(self.transcript.received())}, waiting for: {waiting}"
        )

    def recorded_answer_to(self, request_id: Any) -> Frame | None:
        """The client's recorded answer to server request ``request_id`` of the current connection (server
        request ids restart with each server process, so an id means something only in its connection)."""
        return self._answers.get((max(self.connections - 1, 0), id_key(request_id)))

    def sent_all_before(self, index: int) -> bool:
        """Whether every recorded server frame before transcript ``index`` has gone out."""
        return all(
            playback.sent_all if playback.range.stop <= index else playback.sent_all_before(index)
            for playback in self.playbacks
            if playback.range.start < index
        )

    async def wait_sent_before(self, index: int) -> None:
        """Wait until every recorded server frame before transcript ``index`` has been sent."""
        while not self.sent_all_before(index):
            await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()
        if all(playback.finished for playback in self.playbacks):
            self.finished.set()

    async def serve_stream(self, stream: trio.abc.Stream) -> None:
        """Accept a WebSocket on ``stream`` and play the next recorded connection until either side closes."""
        self.connections += 1
        number = self.connections - 1
        async with stream, trio.open_nursery() as nursery:
            request = await wrap_server_stream(nursery, stream, max_message_size=MAX_MESSAGE_SIZE)
            if number >= len(self.playbacks):
                self._extra.append(
                    ReplayMismatch(
                        message=f"unexpected connection #{number + 1}: "
                        f"{self.transcript.name} recorded {len(self.playbacks)}",
                        received={},
                    )
                )
                await request.reject(503, body=b"replay: no more recorded connections")
                nursery.cancel_scope.cancel()
                return
            ws = await request.accept()
            self.connected.set()
            playback = self.playbacks[number]
            last = number == len(self.playbacks) - 1
            nursery.start_soon(self._play, ws, playback, last)
            await self._read(ws, playback)
            nursery.cancel_scope.cancel()

    async def _read(self, ws: WebSocketConnection, playback: Playback) -> None:
        try:
            while True:
                msg = _parse(await ws.get_message())
                for reply in playback.client_frame(msg):
                    await ws.send_message(json.dumps(reply))
                self._notify()
        except ConnectionClosed:
            pass  # either side hung up: the replay of this connection is over

    async def _play(self, ws: WebSocketConnection, playback: Playback, last: bool) -> None:
        try:
            while (pending := playback.next_server_frame()) is not None:
                if not pending.ready:
                    await self._changed.wait()
                    continue
                if pending.delay and self.time_scale:
                    await trio.sleep(pending.delay * self.time_scale)
                msg = playback.take_server_frame()
                await ws.send_message(msg["_raw"] if "_raw" in msg else json.dumps(msg))
                self._notify()
            self._notify()
            if not last:
                # The recording went on over a new connection: end this one once the client is through too.
                while not playback.finished:
                    await self._changed.wait()
                await ws.aclose()
        except ConnectionClosed:
            return


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
