"""Playing a transcript as the server: which recorded frame goes out next, and when it may (pure, no I/O).

The fake app-server (:mod:`codexgram.replay.fake_server`) feeds every frame the client sends into
:meth:`Playback.client_frame` and asks :meth:`Playback.next_server_frame` what to send. The rules:

- **Client frames are matched to recorded ones by kind and method**, not by position: a request is matched to
  the earliest unmatched recorded request of the same method (params are not compared: a bridge's thread ids
  and paths differ from the recording's); a notification likewise; an answer to a server request is matched
  by the server request's id and its ``result``/``error`` must equal the recorded one.
- **A recorded server frame goes out only when every client frame recorded before it has been matched**
  (causality: ``turn/started`` never precedes the ``turn/start`` that caused it), and then after the recorded
  gap to the frame before it (:attr:`ServerFrame.delay`).
- **Ids are rewritten**: the answer to a recorded request carries the id the client used for the matching
  request. Server requests keep their recorded ids (the server owns those).
- **Anything unexpected is a** :class:`ReplayMismatch`: a request the transcript has no (more) use for gets a
  JSON-RPC error reply (:data:`UNEXPECTED_CODE`), so the client fails fast instead of hanging; an answer or a
  notification that does not fit is only recorded. The harness turns mismatches into a failed replay.
- **One opt-in allowance** (``allow_unrecorded_answers``, for the bot replay of a transcript whose client left
  a server request unanswered, e.g. interrupted the turn instead): an answer to a server request the
  recording never answered is a *note* (:attr:`Playback.notes`), not a mismatch. An answer that differs from
  a recorded one stays a mismatch, and a second answer to an answered request too.

The requests the client sent are kept (:attr:`Playback.received_requests`, by the recorded frame they
matched), so a caller can compare their params with the recording's where they must be equal.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

import attrs

from codexgram.replay.transcript import Frame, Transcript

UNEXPECTED_CODE = -32600  # what codex itself answers to a request it cannot take


@attrs.frozen(kw_only=True)
class ReplayMismatch:
    """The client did something the transcript does not expect. ``frame`` is the recorded frame concerned."""

    message: str
    received: Mapping[str, Any]
    frame: int | None = None

    def __str__(self) -> str:
        where = f" (recorded frame {self.frame})" if self.frame is not None else ""
        return f"{self.message}{where}"


@attrs.frozen(kw_only=True)
class ServerFrame:
    """The next recorded server frame: ``index`` in the transcript, whether it may go out (``ready``), and
    the recorded gap in seconds to the frame before it."""

    index: int
    ready: bool
    delay: float


class Playback:
    """The server side of one transcript, for one client connection. Not thread-safe; one owner."""

    def __init__(
        self, transcript: Transcript, frames: range | None = None, *, allow_unrecorded_answers: bool = False
    ) -> None:
        """Play ``frames`` (a range of transcript indices: one connection) or the whole transcript."""
        self.transcript = transcript
        self.frames = transcript.frames
        self.range = frames if frames is not None else range(len(self.frames))
        self.allow_unrecorded_answers = allow_unrecorded_answers
        self.mismatches: list[ReplayMismatch] = []
        self.notes: list[str] = []  # what the allowance let through
        self.received_requests: dict[int, Mapping[str, Any]] = {}  # recorded request index -> client's msg
        self._recorded_server_requests: set[Any] = set()  # ids of the server requests of this range
        self._let_through: set[Any] = set()  # server requests answered under the allowance
        self._unmatched: set[int] = set()
        self._requests: dict[str, deque[int]] = {}
        self._notifications: dict[str, deque[int]] = {}
        self._answers: dict[Any, deque[int]] = {}
        self._client_ids: dict[int, Any] = {}  # recorded request index -> the id the client used
        self._answers_request: dict[int, int] = {}  # recorded response index -> recorded request index
        self._server_order = [i for i in self.range if self.frames[i].dir == "recv"]
        self._next_server = 0
        self._index_frames()

    def _index_frames(self) -> None:
        open_requests: dict[Any, int] = {}  # recorded id -> index of the request still waiting for its answer
        for index in self.range:
            frame = self.frames[index]
            kind = frame.kind
            if frame.dir == "send":
                if kind == "raw":
                    continue  # cannot be matched meaningfully; not waited for
                self._unmatched.add(index)
                if kind == "request":
                    self._requests.setdefault(frame.method or "", deque()).append(index)
                    open_requests[id_key(frame.id)] = index
                elif kind == "notification":
                    self._notifications.setdefault(frame.method or "", deque()).append(index)
                else:
                    self._answers.setdefault(id_key(frame.id), deque()).append(index)
            elif kind in ("response", "error"):
                request = open_requests.pop(id_key(frame.id), None)
                if request is not None:
                    self._answers_request[index] = request
            elif kind == "request":
                self._recorded_server_requests.add(id_key(frame.id))

    # --- client side ---------------------------------------------------------------------------------------

    def client_frame(self, msg: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Account for one frame from the client; returns the replies to send at once (errors only)."""
        if "_raw" in msg:
            self._mismatch("the client sent a frame that is not a JSON object", msg)
            return []
        method = msg.get("method")
        if isinstance(method, str) and "id" in msg:
            return self._client_request(method, msg)
        if isinstance(method, str):
            queue = self._notifications.get(method)
            if queue:
                self._unmatched.discard(queue.popleft())
            else:
                self._mismatch(f"unexpected notification {method}", msg)
            return []
        self._client_answer(msg)
        return []

    def _client_request(self, method: str, msg: Mapping[str, Any]) -> list[dict[str, Any]]:
        queue = self._requests.get(method)
        if queue:
            index = queue.popleft()
            self._unmatched.discard(index)
            self._client_ids[index] = msg["id"]
            self.received_requests[index] = dict(msg)
            return []
        text = f"unexpected request {method}: {self.transcript.name} has no (more) {method} calls"
        self._mismatch(text, msg)
        error = {"code": UNEXPECTED_CODE, "message": f"replay mismatch: {text}"}
        return [{"id": msg["id"], "error": error}]

    def _client_answer(self, msg: Mapping[str, Any]) -> None:
        key = id_key(msg.get("id"))
        queue = self._answers.get(key)
        if not queue:
            recorded_unanswered = key in self._recorded_server_requests and key not in self._answers
            if self.allow_unrecorded_answers and recorded_unanswered and key not in self._let_through:
                self._let_through.add(key)
                what = msg.get("result", msg.get("error"))
                self.notes.append(
                    f"answer to server request {msg.get('id')!r} ({what!r}) let through: the recording "
                    "left that request unanswered"
                )
                return
            self._mismatch(f"unexpected answer to server request {msg.get('id')!r}", msg)
            return
        index = queue.popleft()
        self._unmatched.discard(index)
        recorded = self.frames[index].msg
        for member in ("result", "error"):
            if recorded.get(member) != msg.get(member):
                self._mismatch(
                    f"answer to server request {msg.get('id')!r} differs: recorded {member} "
                    f"{recorded.get(member)!r}, got {msg.get(member)!r}",
                    msg,
                    index,
                )
                return

    def _mismatch(self, message: str, msg: Mapping[str, Any], frame: int | None = None) -> None:
        self.mismatches.append(ReplayMismatch(message=message, received=dict(msg), frame=frame))

    # --- server side ---------------------------------------------------------------------------------------

    def next_server_frame(self) -> ServerFrame | None:
        """The next recorded server frame, or None when all have been sent."""
        if self._next_server >= len(self._server_order):
            return None
        index = self._server_order[self._next_server]
        ready = not any(i < index for i in self._unmatched)
        delay = self.frames[index].t - self.frames[index - 1].t if index > 0 else self.frames[index].t
        return ServerFrame(index=index, ready=ready, delay=max(0.0, delay))

    def take_server_frame(self) -> dict[str, Any]:
        """The next server frame's message, with its id rewritten when it answers a client request.

        Call only when :meth:`next_server_frame` says it is ready.
        """
        pending = self.next_server_frame()
        if pending is None or not pending.ready:
            raise RuntimeError("no server frame is ready")
        self._next_server += 1
        msg = dict(self.frames[pending.index].msg)
        request = self._answers_request.get(pending.index)
        if request is not None:
            msg["id"] = self._client_ids[request]
        return msg

    @property
    def server_frames_sent(self) -> int:
        return self._next_server

    @property
    def sent_all(self) -> bool:
        return self._next_server >= len(self._server_order)

    def sent_all_before(self, index: int) -> bool:
        """Whether every recorded server frame (of this range) before transcript ``index`` has gone out."""
        return self._next_server >= len(self._server_order) or self._server_order[self._next_server] >= index

    @property
    def finished(self) -> bool:
        """Every server frame sent and every recorded client frame matched."""
        return self.next_server_frame() is None and not self._unmatched

    def waiting_for(self) -> list[str]:
        """What the playback still waits for from the client (for a stalled replay's error message)."""
        return [_describe(self.frames[i], i) for i in sorted(self._unmatched)]


def id_key(value: Any) -> Any:
    """A JSON-RPC id as a dict key: ids are ints or strings, and 1 and "1" are different ids."""
    return (type(value).__name__, value)


def recorded_answers(transcript: Transcript) -> dict[tuple[int, Any], Frame]:
    """The client's recorded answer to each (connection, server request id): the first after the request.
    Keyed by connection because server request ids restart with each server process."""
    answers: dict[tuple[int, Any], Frame] = {}
    for connection, frames in enumerate(transcript.connections()):
        asked: set[Any] = set()
        for index in frames:
            frame = transcript.frames[index]
            key = id_key(frame.id)
            if frame.dir == "recv" and frame.kind == "request":
                asked.add(key)
            elif frame.dir == "send" and frame.kind in ("response", "error") and key in asked:
                answers.setdefault((connection, key), frame)
    return answers


def recorded_result(frame: Frame | None) -> Mapping[str, Any] | None:
    """The ``result`` of a recorded answer (None: no answer, or an error)."""
    result = frame.msg.get("result") if frame is not None else None
    return result if isinstance(result, Mapping) else None


def _describe(frame: Frame, index: int) -> str:
    if frame.kind == "request":
        return f"frame {index}: request {frame.method}"
    if frame.kind == "notification":
        return f"frame {index}: notification {frame.method}"
    return f"frame {index}: answer to server request {frame.id!r}"
