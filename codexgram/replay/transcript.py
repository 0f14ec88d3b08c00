"""Transcripts: every JSON-RPC frame between the bridge and codex app-server, as JSON Lines.

One line per frame, in the order the client saw them::

    {"dir": "send", "t": 0.0012, "msg": {"id": 1, "method": "initialize", "params": {...}}}
    {"dir": "recv", "t": 0.0153, "msg": {"id": 1, "result": {...}}}

``dir`` is from the client's side (``send``: client to server, ``recv``: server to client), ``t`` is seconds
since the recorder started, ``msg`` is the parsed JSON object; a frame that is not a JSON object is kept as
``{"_raw": text}``.

:class:`JsonlRecorder` writes them (it satisfies the link's ``FrameRecorder`` protocol);
:func:`load_transcript` and :func:`parse_transcript` read them back as a :class:`Transcript` of frozen
:class:`Frame` values. :func:`frame_kind` classifies a message the way the JSON-RPC peer does (an ``id``
with a ``method`` is a request, an ``id`` without one is an answer).

Resource handling: :class:`JsonlRecorder` owns an open file, flushed after every line (a crash keeps what was
recorded); close it, or use it as a context manager. No trio here: recording is a synchronous file write.
Error handling: :class:`TranscriptError` (a ``ValueError``) names the file and line of a malformed transcript.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol, TextIO

import attrs

Direction = Literal["send", "recv"]
FrameKind = Literal["request", "notification", "response", "error", "raw"]
DIRECTIONS: tuple[Direction, ...] = ("send", "recv")


class TranscriptError(ValueError):
    """A transcript line is not a valid frame."""


class FrameRecorder(Protocol):
    """Receives every frame in both directions, with the parsed JSON (``{"_raw": text}`` if it is not)."""

    def record(self, direction: Direction, msg: Mapping[str, Any]) -> None: ...


@attrs.frozen(kw_only=True)
class Frame:
    """One recorded frame. ``msg`` must not be mutated (it is shared with the transcript)."""

    dir: Direction
    t: float
    msg: Mapping[str, Any]

    @property
    def kind(self) -> FrameKind:
        return frame_kind(self.msg)

    @property
    def method(self) -> str | None:
        method = self.msg.get("method")
        return method if isinstance(method, str) else None

    @property
    def id(self) -> Any:
        return self.msg.get("id")

    def to_json(self) -> str:
        return json.dumps({"dir": self.dir, "t": round(self.t, 6), "msg": self.msg}, ensure_ascii=False)


@attrs.frozen(kw_only=True)
class Transcript:
    """A whole recording. ``name`` is where it came from (a file name), for messages."""

    name: str
    frames: tuple[Frame, ...]

    def sent(self) -> list[Frame]:
        return [f for f in self.frames if f.dir == "send"]

    def received(self) -> list[Frame]:
        return [f for f in self.frames if f.dir == "recv"]

    def methods(self, direction: Direction, kind: FrameKind) -> list[str]:
        """The methods of the frames of ``kind`` in ``direction``, in order (e.g. the client's requests)."""
        return [f.method or "" for f in self.frames if f.dir == direction and f.kind == kind]

    def to_jsonl(self) -> str:
        return "".join(f"{frame.to_json()}\n" for frame in self.frames)

    def connections(self) -> list[range]:
        """The frame index ranges of each connection: a new one starts at every ``initialize`` the client
        sends (a reconnecting link always begins with it). Ids restart per connection."""
        starts = [i for i, f in enumerate(self.frames) if f.dir == "send" and f.method == "initialize"]
        if not starts or starts[0] != 0:
            starts.insert(0, 0)
        ends = [*starts[1:], len(self.frames)]
        return [range(start, end) for start, end in zip(starts, ends, strict=True)]

    def connection_of(self, index: int) -> int:
        """Which connection (0-based) frame ``index`` belongs to."""
        for number, frames in enumerate(self.connections()):
            if index in frames:
                return number
        raise IndexError(index)


def frame_kind(msg: Mapping[str, Any]) -> FrameKind:
    """Classify a JSON-RPC message: request (id + method), notification, response, error, or raw."""
    if "_raw" in msg:
        return "raw"
    if "method" in msg:
        return "request" if "id" in msg else "notification"
    if "error" in msg:
        return "error"
    return "response"


def parse_transcript(text: str, *, name: str = "<transcript>") -> Transcript:
    """Parse JSON Lines text (blank lines are skipped). Raises :class:`TranscriptError` naming the line."""
    frames = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        frames.append(_parse_line(line, where=f"{name}:{number}"))
    return Transcript(name=name, frames=tuple(frames))


def load_transcript(path: str | Path) -> Transcript:
    """Read a transcript file (UTF-8 JSON Lines)."""
    path = Path(path)
    return parse_transcript(path.read_text(encoding="utf-8"), name=path.name)


def _parse_line(line: str, *, where: str) -> Frame:
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise TranscriptError(f"{where}: not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise TranscriptError(f"{where}: a frame must be a JSON object")
    direction, t, msg = data.get("dir"), data.get("t"), data.get("msg")
    if direction not in DIRECTIONS:
        raise TranscriptError(f"{where}: dir must be 'send' or 'recv', not {direction!r}")
    if not isinstance(t, int | float) or isinstance(t, bool) or t < 0:
        raise TranscriptError(f"{where}: t must be a number of seconds >= 0, not {t!r}")
    if not isinstance(msg, dict):
        raise TranscriptError(f"{where}: msg must be a JSON object")
    return Frame(dir=direction, t=float(t), msg=msg)


class JsonlRecorder:
    """Appends frames to ``path`` as JSON Lines, ``t`` counted from when the recorder was made.

    ``clock`` (default ``time.monotonic``) is injectable so tests can record in virtual time
    (e.g. ``trio.current_time``).
    """

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path)
        self._clock = clock
        self._start = clock()
        self._file: TextIO | None = self.path.open("w", encoding="utf-8")
        self.count = 0

    def record(self, direction: Direction, msg: Mapping[str, Any]) -> None:
        if self._file is None:
            raise ValueError(f"recorder for {self.path} is closed")
        frame = Frame(dir=direction, t=max(0.0, self._clock() - self._start), msg=dict(msg))
        self._file.write(frame.to_json() + "\n")
        self._file.flush()
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> JsonlRecorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@attrs.define
class MemoryRecorder:
    """Keeps frames in a list (for tests and for turning a live session into a :class:`Transcript`)."""

    clock: Callable[[], float] = time.monotonic
    frames: list[Frame] = attrs.field(factory=list)
    _start: float | None = None

    def record(self, direction: Direction, msg: Mapping[str, Any]) -> None:
        now = self.clock()
        if self._start is None:
            self._start = now
        self.frames.append(Frame(dir=direction, t=now - self._start, msg=dict(msg)))

    def transcript(self, name: str = "<memory>") -> Transcript:
        return Transcript(name=name, frames=tuple(self.frames))


def frames_from(pairs: Iterable[tuple[Direction, Mapping[str, Any]]], *, step: float = 0.01) -> Transcript:
    """A transcript from (direction, msg) pairs, ``step`` seconds apart: for hand-written test scripts."""
    frames = tuple(Frame(dir=d, t=i * step, msg=dict(m)) for i, (d, m) in enumerate(pairs))
    return Transcript(name="<hand-written>", frames=frames)
