"""Every committed transcript replays green through the real CodexLink; a replay that strays fails."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing
import trio_websocket

from codexgram.codex.items import AgentMessageItem, CommandExecutionItem, FileChangeItem
from codexgram.codex.notifications import (
    AgentMessageDelta,
    ErrorNotification,
    ItemCompleted,
    TurnCompleted,
    TurnDiffUpdated,
)
from codexgram.codex.server_requests import CommandApprovalRequest, FileChangeApprovalRequest
from codexgram.codex.transport import open_websocket
from codexgram.errors import CodexRefused
from codexgram.messages import CodexEvent, CodexReconnected, CodexServerRequestEvent, ThreadEvent
from codexgram.replay.fake_server import FakeAppServer, memory_connector
from codexgram.replay.harness import ReplayFailed, ReplayResult, open_replay, replay_transcript
from codexgram.replay.transcript import load_transcript

TRANSCRIPT_DIR = Path(__file__).parent / "transcripts"
TRANSCRIPTS = sorted(TRANSCRIPT_DIR.glob("*.jsonl"))


def notifications(result: ReplayResult) -> list[object]:
    return [event.notification for _, event in result.events if isinstance(event, CodexEvent)]


def final_status(result: ReplayResult) -> str:
    completed = [n for n in notifications(result) if isinstance(n, TurnCompleted)]
    assert completed
    return completed[-1].turn.status


def completed_items(result: ReplayResult, kind: type) -> list[object]:
    return [
        n.item for n in notifications(result) if isinstance(n, ItemCompleted) and isinstance(n.item, kind)
    ]


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
async def test_every_transcript_replays_green(path: Path, autojump_clock: trio.testing.MockClock) -> None:
    transcript = load_transcript(path)
    result = await replay_transcript(transcript, timeout=120)
    result.check()
    assert result.ok
    assert any(isinstance(n, TurnCompleted) for n in notifications(result))
    # Virtual time: the replay keeps the recorded pacing of the server's frames (each after its recorded gap;
    # the client's own pauses, such as a user's think time, are not the server's to replay), but takes no
    # real time.
    frames = transcript.frames
    server_paced = sum(
        frames[i].t - frames[i - 1].t for i in range(1, len(frames)) if frames[i].dir == "recv"
    )
    assert result.events[-1][0] >= server_paced - 0.5


async def test_plain_turn_deltas_add_up_to_the_final_text(autojump_clock: trio.testing.MockClock) -> None:
    result = await replay_transcript(load_transcript(TRANSCRIPT_DIR / "plain-turn.jsonl"))
    result.check()
    deltas = "".join(n.delta for n in notifications(result) if isinstance(n, AgentMessageDelta))
    [message] = completed_items(result, AgentMessageItem)
    assert isinstance(message, AgentMessageItem)
    assert deltas == message.text == "You said: Hello, Codex!"
    assert final_status(result) == "completed"


async def test_command_approved_runs_the_command(autojump_clock: trio.testing.MockClock) -> None:
    result = await replay_transcript(load_transcript(TRANSCRIPT_DIR / "command-approved.jsonl"))
    result.check()
    requests = [e.request for _, e in result.events if isinstance(e, CodexServerRequestEvent)]
    assert len(requests) == 1
    assert isinstance(requests[0], CommandApprovalRequest)
    [command] = completed_items(result, CommandExecutionItem)
    assert isinstance(command, CommandExecutionItem)
    assert command.status == "completed"
    assert command.exit_code == 0
    assert "approved-run" in (command.aggregated_output or "")


async def test_command_declined_does_not_run(autojump_clock: trio.testing.MockClock) -> None:
    result = await replay_transcript(load_transcript(TRANSCRIPT_DIR / "command-declined.jsonl"))
    result.check()
    [command] = completed_items(result, CommandExecutionItem)
    assert isinstance(command, CommandExecutionItem)
    assert command.status == "declined"
    assert final_status(result) == "completed"


async def test_file_change_has_its_diff_in_the_item(autojump_clock: trio.testing.MockClock) -> None:
    result = await replay_transcript(load_transcript(TRANSCRIPT_DIR / "file-change-approved.jsonl"))
    result.check()
    [request] = [e.request for _, e in result.events if isinstance(e, CodexServerRequestEvent)]
    assert isinstance(request, FileChangeApprovalRequest)
    [change] = completed_items(result, FileChangeItem)
    assert isinstance(change, FileChangeItem)
    assert change.id == request.item_id
    assert change.changes[0].path.endswith("notes.txt")
    assert "hello from codex" in change.changes[0].diff
    diffs = [n.diff for n in notifications(result) if isinstance(n, TurnDiffUpdated)]
    assert diffs
    assert "+hello from codex" in diffs[-1]


@pytest.mark.parametrize("name", ["interrupt-slow-stream", "interrupt-pending-approval"])
async def test_interrupted_turns_end_interrupted(name: str, autojump_clock: trio.testing.MockClock) -> None:
    result = await replay_transcript(load_transcript(TRANSCRIPT_DIR / f"{name}.jsonl"))
    result.check()
    assert final_status(result) == "interrupted"


async def test_upstream_failure_fails_the_turn(autojump_clock: trio.testing.MockClock) -> None:
    result = await replay_transcript(load_transcript(TRANSCRIPT_DIR / "upstream-failure.jsonl"))
    result.check()
    assert any(isinstance(n, ErrorNotification) for n in notifications(result))
    assert final_status(result) == "failed"


async def test_a_dropped_connection_is_resumed_and_the_turn_completes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    result = await replay_transcript(load_transcript(TRANSCRIPT_DIR / "reconnect-mid-turn.jsonl"))
    result.check()
    kinds = [type(event).__name__ for _, event in result.events]
    disconnected = kinds.index("CodexDisconnected")
    reconnected = kinds.index("CodexReconnected")
    assert disconnected < reconnected
    resumed = result.events[reconnected][1]
    assert isinstance(resumed, CodexReconnected)
    assert resumed.resumed
    after = [e.notification for _, e in result.events[reconnected:] if isinstance(e, CodexEvent)]
    deltas_after = [n for n in after if isinstance(n, AgentMessageDelta)]
    assert deltas_after  # the rest of the turn streamed over the new connection
    deltas = "".join(n.delta for n in notifications(result) if isinstance(n, AgentMessageDelta))
    [message] = completed_items(result, AgentMessageItem)
    assert isinstance(message, AgentMessageItem)
    assert deltas == message.text
    assert final_status(result) == "completed"


async def test_after_a_server_restart_the_resumed_thread_takes_a_new_turn(
    autojump_clock: trio.testing.MockClock,
) -> None:
    result = await replay_transcript(load_transcript(TRANSCRIPT_DIR / "server-restart-new-turn.jsonl"))
    result.check()
    reconnected = [e for _, e in result.events if isinstance(e, CodexReconnected)]
    assert [e.resumed for e in reconnected] == [True]
    completed = [n for n in notifications(result) if isinstance(n, TurnCompleted)]
    assert [c.turn.status for c in completed] == ["completed", "completed"]
    texts = [m.text for m in completed_items(result, AgentMessageItem) if isinstance(m, AgentMessageItem)]
    assert texts == ["You said: Remember me", "You said: Still there after the restart?"]


async def test_a_connection_beyond_the_recorded_ones_is_refused(nursery: trio.Nursery) -> None:
    server = FakeAppServer(load_transcript(TRANSCRIPT_DIR / "plain-turn.jsonl"))
    connect = memory_connector(server, nursery)
    first = await open_websocket(nursery, await connect())
    statuses: list[int] = []
    try:
        async with trio.open_nursery() as handshake:
            await open_websocket(handshake, await connect())
    except* trio_websocket.ConnectionRejected as group:
        statuses = [
            e.status_code for e in group.exceptions if isinstance(e, trio_websocket.ConnectionRejected)
        ]
    assert statuses == [503]
    assert "unexpected connection #2" in str(server.mismatches[-1])
    await first.aclose()


async def test_replay_over_a_real_unix_socket() -> None:
    result = await replay_transcript(
        load_transcript(TRANSCRIPT_DIR / "plain-turn.jsonl"), unix_socket=True, time_scale=0.0, timeout=30
    )
    result.check()
    assert final_status(result) == "completed"


async def test_an_unexpected_request_fails_the_replay(autojump_clock: trio.testing.MockClock) -> None:
    transcript = load_transcript(TRANSCRIPT_DIR / "plain-turn.jsonl")
    async with open_replay(transcript) as session:
        with pytest.raises(CodexRefused, match="replay mismatch: unexpected request thread/archive"):
            await session.link.call("thread/archive", {"threadId": "not-in-the-transcript"})
        result = await session.play()
    assert result.finished  # the recorded conversation itself still played out
    assert not result.ok
    with pytest.raises(ReplayFailed, match="unexpected request thread/archive"):
        result.check()


async def test_a_different_approval_answer_fails_the_replay(autojump_clock: trio.testing.MockClock) -> None:
    transcript = load_transcript(TRANSCRIPT_DIR / "command-approved.jsonl")
    async with open_replay(transcript) as session:
        session.answer = lambda event, frame: {"decision": "decline"}
        result = await session.play()
    with pytest.raises(ReplayFailed, match="answer to server request 0 differs"):
        result.check()


async def test_a_missing_answer_stalls_and_says_what_it_waits_for(
    autojump_clock: trio.testing.MockClock,
) -> None:
    transcript = load_transcript(TRANSCRIPT_DIR / "command-approved.jsonl")
    seen: list[ThreadEvent] = []
    async with open_replay(transcript) as session:
        session.answer = lambda event, frame: None
        session.on_event = lambda at, event: seen.append(event)
        result = await session.play(timeout=30)
    assert not result.finished
    with pytest.raises(ReplayFailed, match=r"stalled .* waiting for: frame \d+: answer to server request 0"):
        result.check()
    assert any(isinstance(e, CodexServerRequestEvent) for e in seen)
