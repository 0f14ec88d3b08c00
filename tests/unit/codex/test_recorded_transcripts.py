"""Every transcript recorded from the real codex 0.169.0 (tests/replay/transcripts/) through the pure stack:
peer -> routing -> converter -> lifecycle, driven by the frames we sent as recorded. No I/O but reading files.

This pins the protocol classes and the lifecycle to what the binary really sends, quirks included (e.g.
``serverRequest/resolved`` after ``turn/completed`` when a pending approval is interrupted).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from codexgram.codex.converter import decode_notification, decode_result, decode_server_request
from codexgram.codex.lifecycle import (
    ApprovalNeeded,
    Change,
    Ignored,
    ThreadLifecycle,
    TurnFinished,
)
from codexgram.codex.requests import ThreadSessionResult, TurnStartResult
from codexgram.codex.thread_ids import thread_id_of
from codexgram.codex.turn_transcript import AgentText, CommandRun, FileEdit, TurnTranscript
from codexgram.rpc.peer import (
    ErrorResponse,
    JsonRpcPeer,
    Notification,
    ProtocolViolation,
    Response,
    ServerRequest,
)

TRANSCRIPTS = Path(__file__).resolve().parents[2] / "replay" / "transcripts"
PATHS = sorted(TRANSCRIPTS.glob("*.jsonl"))


@attrs.define
class Replayed:
    lifecycle: ThreadLifecycle | None = None
    finished: list[TurnTranscript] = attrs.Factory(list)
    approvals: list[ApprovalNeeded] = attrs.Factory(list)
    ignored: list[str] = attrs.Factory(list)
    deltas: dict[str, str] = attrs.Factory(dict)


def replay(path: Path) -> Replayed:
    peer = JsonRpcPeer()
    seen_initialize = False
    out = Replayed()

    def collect(changes: list[Change]) -> None:
        for change in changes:
            if isinstance(change, TurnFinished):
                out.finished.append(change.transcript)
            elif isinstance(change, ApprovalNeeded):
                out.approvals.append(change)
            elif isinstance(change, Ignored):
                out.ignored.append(change.reason)

    for line in path.read_text().splitlines():
        record: dict[str, Any] = json.loads(line)
        msg = record["msg"]
        lc = out.lifecycle
        if record["dir"] == "send":
            if msg.get("method") == "initialize" and seen_initialize:
                # A new connection (the link reconnected): ids restart with a new peer, and approvals asked on
                # the old connection can no longer be answered. The turn itself goes on on the server.
                peer = JsonRpcPeer()
                if lc is not None:
                    collect(lc.connection_lost())
            seen_initialize = seen_initialize or msg.get("method") == "initialize"
            if "method" in msg and "id" in msg:
                request_id, _ = peer.send_request(msg["method"], msg.get("params"))
                assert request_id == msg["id"], "the recording client numbers its requests like our peer"
                if msg["method"] == "turn/start" and lc is not None:
                    lc.start_sent()
                if msg["method"] == "turn/interrupt" and lc is not None:
                    assert lc.interrupt_sent() == msg["params"]["turnId"]
            elif "result" in msg and lc is not None:
                collect(lc.approval_answered(msg["id"]))
            continue
        for event in peer.receive_text(json.dumps(msg)):
            assert not isinstance(event, ProtocolViolation), event
            assert not isinstance(event, ErrorResponse), event
            if isinstance(event, Response):
                if event.method in ("thread/start", "thread/resume"):
                    thread = decode_result(ThreadSessionResult, event.result).thread
                    out.lifecycle = out.lifecycle or ThreadLifecycle(thread.id)
                elif event.method == "turn/start" and lc is not None:
                    collect(lc.start_accepted(decode_result(TurnStartResult, event.result).turn.id))
            elif isinstance(event, Notification):
                note = decode_notification(event.method, event.params)  # raises on a mismatch: the test fails
                if event.method == "item/agentMessage/delta":
                    item_id = event.params["itemId"]
                    out.deltas[item_id] = out.deltas.get(item_id, "") + event.params["delta"]
                if lc is not None:
                    assert thread_id_of(event) in (None, lc.thread_id) or event.method == "thread/closed"
                    collect(lc.on_notification(note))
            elif isinstance(event, ServerRequest):
                assert lc is not None
                assert thread_id_of(event) == lc.thread_id
                collect(lc.on_server_request(event.id, decode_server_request(event.method, event.params)))
    return out


def test_there_are_transcripts() -> None:
    assert len(PATHS) >= 5, f"expected the recorded transcripts in {TRANSCRIPTS}"


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_every_transcript_decodes_and_finishes_its_turn(path: Path) -> None:
    out = replay(path)
    assert out.lifecycle is not None
    assert len(out.finished) >= 1
    assert not out.lifecycle.busy
    assert out.lifecycle.pending_approvals() == ()
    for transcript in out.finished:
        for entry in transcript.entries:
            if isinstance(entry, AgentText) and entry.completed and entry.item_id in out.deltas:
                assert entry.text == out.deltas[entry.item_id], "the deltas assemble to the completed text"


def by_name(name: str) -> Replayed:
    path = TRANSCRIPTS / f"{name}.jsonl"
    if not path.exists():
        pytest.fail(f"transcript {path} is missing")
    return replay(path)


def test_plain_turn() -> None:
    [transcript] = by_name("plain-turn").finished
    assert transcript.status == "completed"
    assert transcript.final_text.startswith("You said:")


def test_command_approved_ran_the_command() -> None:
    out = by_name("command-approved")
    [approval] = out.approvals
    assert approval.approval.kind == "command"
    [transcript] = out.finished
    [run] = [e for e in transcript.entries if isinstance(e, CommandRun)]
    assert run.status == "completed"
    assert run.exit_code == 0


def test_command_declined_did_not_run() -> None:
    [transcript] = by_name("command-declined").finished
    [run] = [e for e in transcript.entries if isinstance(e, CommandRun)]
    assert run.status == "declined"


def test_file_change_approval_carries_the_diff_of_its_item() -> None:
    out = by_name("file-change-approved")
    [approval] = out.approvals
    assert approval.approval.kind == "fileChange"
    assert approval.approval.changes, "the diff comes from the earlier fileChange item"
    assert all(change.diff for change in approval.approval.changes)
    [transcript] = out.finished
    assert any(isinstance(e, FileEdit) for e in transcript.entries)
    assert transcript.diff


def test_interrupt_during_approval_sees_resolved_after_completed() -> None:
    out = by_name("interrupt-pending-approval")
    [transcript] = out.finished
    assert transcript.status == "interrupted"
    assert any("serverRequest/resolved" in reason for reason in out.ignored)


def test_interrupted_stream_keeps_the_partial_reply() -> None:
    [transcript] = by_name("interrupt-slow-stream").finished
    assert transcript.status == "interrupted"
    [text] = [e for e in transcript.entries if isinstance(e, AgentText)]
    assert not text.completed
    assert text.text


def test_upstream_failure_fails_the_turn_with_an_error() -> None:
    [transcript] = by_name("upstream-failure").finished
    assert transcript.status == "failed"
    assert transcript.error is not None
