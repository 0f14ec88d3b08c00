"""The transcript format: writing, reading back, validation, and the committed recordings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codexgram.replay.transcript import (
    JsonlRecorder,
    MemoryRecorder,
    TranscriptError,
    frame_kind,
    frames_from,
    load_transcript,
    parse_transcript,
)

TRANSCRIPTS = sorted((Path(__file__).parent / "transcripts").glob("*.jsonl"))


def test_recorder_writes_one_line_per_frame_and_reads_back(tmp_path: Path) -> None:
    ticks = iter([10.0, 10.5, 11.25])
    path = tmp_path / "t.jsonl"
    with JsonlRecorder(path, clock=lambda: next(ticks)) as recorder:
        recorder.record("send", {"id": 1, "method": "initialize", "params": {}})
        recorder.record("recv", {"id": 1, "result": {"userAgent": "x/0.169.0"}})
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [
        {"dir": "send", "t": 0.5, "msg": {"id": 1, "method": "initialize", "params": {}}},
        {"dir": "recv", "t": 1.25, "msg": {"id": 1, "result": {"userAgent": "x/0.169.0"}}},
    ]
    transcript = load_transcript(path)
    assert transcript.name == "t.jsonl"
    assert [f.kind for f in transcript.frames] == ["request", "response"]
    assert transcript.to_jsonl() == path.read_text()


def test_closed_recorder_refuses_frames(tmp_path: Path) -> None:
    recorder = JsonlRecorder(tmp_path / "t.jsonl")
    recorder.close()
    with pytest.raises(ValueError, match="closed"):
        recorder.record("send", {"method": "initialized"})


def test_memory_recorder_counts_from_its_first_frame() -> None:
    ticks = iter([5.0, 5.25])
    recorder = MemoryRecorder(clock=lambda: next(ticks))
    recorder.record("send", {"method": "initialized"})
    recorder.record("recv", {"_raw": "not json"})
    assert [(f.dir, f.t, f.kind) for f in recorder.transcript().frames] == [
        ("send", 0.0, "notification"),
        ("recv", 0.25, "raw"),
    ]


def test_frame_kinds_follow_json_rpc() -> None:
    assert frame_kind({"id": 0, "method": "item/commandExecution/requestApproval", "params": {}}) == "request"
    assert frame_kind({"method": "turn/started", "params": {}}) == "notification"
    assert frame_kind({"id": 0, "result": {}}) == "response"
    assert frame_kind({"id": 0, "error": {"code": -32600, "message": "no"}}) == "error"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "a frame must be a JSON object"),
        ('{"dir": "sideways", "t": 0, "msg": {}}', "dir must be"),
        ('{"dir": "send", "t": -1, "msg": {}}', "t must be"),
        ('{"dir": "send", "t": true, "msg": {}}', "t must be"),
        ('{"dir": "send", "t": 0, "msg": "text"}', "msg must be"),
    ],
)
def test_malformed_lines_are_reported_with_their_place(line: str, problem: str) -> None:
    text = '{"dir": "send", "t": 0, "msg": {"method": "initialized"}}\n\n' + line + "\n"
    with pytest.raises(TranscriptError, match=f"x.jsonl:3: {problem}"):
        parse_transcript(text, name="x.jsonl")


def test_the_recorded_transcripts_are_there_and_well_formed() -> None:
    names = {path.stem for path in TRANSCRIPTS}
    assert {
        "plain-turn",
        "command-approved",
        "command-declined",
        "file-change-approved",
        "interrupt-slow-stream",
        "interrupt-pending-approval",
        "reconnect-mid-turn",
        "server-restart-new-turn",
        "upstream-failure",
    } <= names
    for path in TRANSCRIPTS:
        transcript = load_transcript(path)
        times = [f.t for f in transcript.frames]
        assert times == sorted(times), path.name
        assert transcript.frames[0].method == "initialize", path.name
        completed = [f for f in transcript.received() if f.method == "turn/completed"]
        turns = 2 if path.stem == "server-restart-new-turn" else 1
        assert len(completed) == turns, path.name
        connections = 2 if path.stem in ("reconnect-mid-turn", "server-restart-new-turn") else 1
        assert len(transcript.connections()) == connections, path.name


def test_connections_start_at_each_initialize() -> None:
    transcript = frames_from(
        [
            ("send", {"id": 1, "method": "initialize", "params": {}}),
            ("recv", {"id": 1, "result": {}}),
            ("recv", {"method": "turn/started", "params": {}}),
            ("send", {"id": 1, "method": "initialize", "params": {}}),
            ("recv", {"id": 1, "result": {}}),
        ]
    )
    assert transcript.connections() == [range(0, 3), range(3, 5)]
    assert [transcript.connection_of(i) for i in range(5)] == [0, 0, 0, 1, 1]
