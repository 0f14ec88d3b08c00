"""The CodexLink against the real ``codex app-server`` (pinned 0.169.0) and the in-repo mock model.

Handshake, a thread in a workspace, a streamed turn, command and file-change approvals, interrupts. The
reconnect scenarios (server killed, client cut off mid-turn) are in ``test_codex_link_reconnect.py``.
"""

from __future__ import annotations

import re
import subprocess
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio

from codexgram.codex.items import CommandExecutionItem, FileChangeItem, TextInput
from codexgram.codex.notifications import (
    AgentMessageDelta,
    ServerRequestResolved,
    TurnDiffUpdated,
)
from codexgram.codex.requests import (
    ApprovalPolicy,
    EmptyResult,
    GitDiffToRemoteParams,
    GitDiffToRemoteResult,
    ModelListParams,
    ModelListResult,
    SandboxMode,
    ThreadArchiveParams,
    ThreadForkParams,
    ThreadListParams,
    ThreadListResult,
    ThreadReadParams,
    ThreadReadResult,
    ThreadResumeParams,
    ThreadSessionResult,
    ThreadSetNameParams,
    ThreadStartParams,
    ThreadUnarchiveParams,
    TurnSteerParams,
    TurnSteerResult,
)
from codexgram.codex.server_requests import CommandApprovalRequest, FileChangeApprovalRequest
from codexgram.codex.transport import unix_socket_connector
from codexgram.codex.version import TESTED_CODEX_VERSION
from codexgram.errors import CodexRefused
from codexgram.messages import CodexEvent, CodexServerRequestEvent
from codexgram.testing.codex_link_probe import ThreadProbe, open_link
from codexgram.testing.codex_server import AppServer
from codexgram.testing.mock_model import SLOW_DELTAS, MockModel

pytestmark = pytest.mark.integration


def only(items: list[Any], kind: type) -> Any:
    matching = [i for i in items if isinstance(i, kind)]
    assert len(matching) == 1, items
    return matching[0]


async def test_handshake_reports_the_pinned_server_version(app_server: AppServer) -> None:
    async with open_link(unix_socket_connector(app_server.socket_path)) as link:
        assert link.connected
        assert link.server_version == TESTED_CODEX_VERSION
        models = await link.call("model/list", {})
        assert isinstance(models["data"], list)


async def test_thread_start_uses_the_workspace_as_cwd(app_server: AppServer) -> None:
    async with open_link(unix_socket_connector(app_server.socket_path)) as link:
        result = await link.call_typed(ThreadStartParams(cwd=str(app_server.workspace)), ThreadSessionResult)
        workspace = await trio.Path(app_server.workspace).resolve()
        assert await trio.Path(result.cwd).resolve() == workspace
        assert await trio.Path(result.thread.cwd).resolve() == workspace
        assert result.thread.id


async def test_a_streamed_turn_assembles_to_the_final_text(
    app_server: AppServer, mock_model: MockModel
) -> None:
    async with open_link(unix_socket_connector(app_server.socket_path)) as link:
        thread = await ThreadProbe.start(link, cwd=str(app_server.workspace))
        turn_id = await thread.start_turn("hello from the link test")
        record = await thread.until_turn_completed()
        deltas = [n for n in record.notifications if isinstance(n, AgentMessageDelta)]
        assert len(deltas) > 3  # really streamed
        assert all(d.turn_id == turn_id for d in deltas)
        assert record.final_text == "You said: hello from the link test"
        assert record.deltas_text == record.final_text
        completed = record.completed
        assert completed is not None
        assert completed.turn.id == turn_id
        assert completed.turn.status == "completed"
        assert all(isinstance(e, CodexEvent) and e.thread_id == thread.thread_id for e in record.events)


async def approve_with(thread: ThreadProbe, decision: str) -> Any:
    async def answer(request: CodexServerRequestEvent) -> None:
        await thread.link.respond(request.request_id, {"decision": decision})

    return answer


@pytest.mark.parametrize("decision", ["accept", "decline"])
async def test_a_command_approval_is_routed_and_decides_whether_it_runs(
    app_server: AppServer, decision: str
) -> None:
    marker = app_server.workspace / "approved.txt"
    async with open_link(unix_socket_connector(app_server.socket_path)) as link:
        thread = await ThreadProbe.start(
            link, cwd=str(app_server.workspace), approval_policy=ApprovalPolicy.UNTRUSTED
        )
        await thread.start_turn("please run [[shell:echo ran > approved.txt && echo done-ok]]")
        record = await thread.until_turn_completed(on_request=await approve_with(thread, decision))

    request = only(record.requests, CodexServerRequestEvent)
    assert isinstance(request.request, CommandApprovalRequest)
    assert "approved.txt" in (request.request.command or "")
    command = only(record.completed_items, CommandExecutionItem)
    assert command.id == request.request.item_id
    resolved = [n for n in record.notifications if isinstance(n, ServerRequestResolved)]
    assert [r.request_id for r in resolved] == [request.request_id]
    completed = record.completed
    assert completed is not None
    assert completed.turn.status == "completed"
    if decision == "accept":
        assert command.status == "completed"
        assert "done-ok" in (command.aggregated_output or "")
        assert marker.read_text().strip() == "ran"
        assert "done-ok" in (record.final_text or "")
    else:
        assert command.status == "declined"
        assert not marker.exists()


async def test_a_file_change_approval_finds_its_diff_in_the_started_item(app_server: AppServer) -> None:
    async with open_link(unix_socket_connector(app_server.socket_path)) as link:
        thread = await ThreadProbe.start(
            link, cwd=str(app_server.workspace), approval_policy=ApprovalPolicy.UNTRUSTED
        )
        seen_diff: list[str] = []

        async def approve(request: CodexServerRequestEvent) -> None:
            assert isinstance(request.request, FileChangeApprovalRequest)
            # The diff is not in the request: it is in the earlier item/started fileChange with the same id.
            started = [
                i
                for i in thread_started_items(thread)
                if isinstance(i, FileChangeItem) and i.id == request.request.item_id
            ]
            assert len(started) == 1
            seen_diff.extend(change.diff for change in started[0].changes)
            await link.respond(request.request_id, {"decision": "accept"})

        await thread.start_turn("add a file [[patch:greeting.txt:hello from a patch]]")
        record = await thread.until_turn_completed(on_request=approve)

    request = only(record.requests, CodexServerRequestEvent)
    assert isinstance(request.request, FileChangeApprovalRequest)
    assert seen_diff
    assert "hello from a patch" in "".join(seen_diff)
    assert (app_server.workspace / "greeting.txt").read_text().strip() == "hello from a patch"
    diffs = [n for n in record.notifications if isinstance(n, TurnDiffUpdated)]
    assert diffs
    assert "greeting.txt" in diffs[-1].diff
    change = only(record.completed_items, FileChangeItem)
    assert change.status == "completed"


def thread_started_items(thread: ThreadProbe) -> list[Any]:
    from codexgram.codex.notifications import ItemStarted

    return [
        e.notification.item
        for e in thread.received
        if isinstance(e, CodexEvent) and isinstance(e.notification, ItemStarted)
    ]


async def test_interrupt_during_a_slow_stream(app_server: AppServer) -> None:
    async with open_link(unix_socket_connector(app_server.socket_path)) as link:
        thread = await ThreadProbe.start(link, cwd=str(app_server.workspace))
        turn_id = await thread.start_turn("take your time [[slow:6]]")
        first = await thread.until(
            lambda e: isinstance(e, CodexEvent) and isinstance(e.notification, AgentMessageDelta)
        )
        interrupted_at = trio.current_time()
        assert await link.call("turn/interrupt", {"threadId": thread.thread_id, "turnId": turn_id}) == {}
        rest = await thread.until_turn_completed(within=5)
        elapsed = trio.current_time() - interrupted_at
    completed = rest.completed
    assert completed is not None
    assert completed.turn.status == "interrupted"
    assert elapsed < 3.0  # the stream would have run ~6 s
    deltas = [n for n in first.notifications + rest.notifications if isinstance(n, AgentMessageDelta)]
    assert 1 <= len(deltas) < SLOW_DELTAS


async def test_interrupt_during_a_pending_approval(app_server: AppServer) -> None:
    marker = app_server.workspace / "never.txt"
    async with open_link(unix_socket_connector(app_server.socket_path)) as link:
        thread = await ThreadProbe.start(
            link, cwd=str(app_server.workspace), approval_policy=ApprovalPolicy.UNTRUSTED
        )
        turn_id = await thread.start_turn("[[shell:echo no > never.txt]]")
        await thread.until(lambda e: isinstance(e, CodexServerRequestEvent))
        await link.call("turn/interrupt", {"threadId": thread.thread_id, "turnId": turn_id})
        record = await thread.until_turn_completed(within=10)
        completed = record.completed
        assert completed is not None
        assert completed.turn.status == "interrupted"
        # serverRequest/resolved may come after turn/completed: the request is withdrawn either way.
        if not any(isinstance(n, ServerRequestResolved) for n in record.notifications):
            await thread.until(
                lambda e: isinstance(e, CodexEvent) and isinstance(e.notification, ServerRequestResolved),
                within=5,
            )
    assert not marker.exists()


async def test_sandboxed_thread_settings_are_passed(app_server: AppServer) -> None:
    async with open_link(unix_socket_connector(app_server.socket_path)) as link:
        result = await link.call_typed(
            ThreadStartParams(
                cwd=str(app_server.workspace),
                approval_policy=ApprovalPolicy.NEVER,
                sandbox=SandboxMode.READ_ONLY,
            ),
            ThreadSessionResult,
        )
    assert result.approval_policy == "never"
    assert "readOnly" in str(result.sandbox) or "read-only" in str(result.sandbox)
    assert isinstance(result.thread.id, str)


async def test_every_frame_is_recorded_in_both_directions(app_server: AppServer) -> None:
    frames: list[tuple[str, dict[str, Any]]] = []

    class ListRecorder:
        def record(self, direction: str, msg: Any) -> None:
            frames.append((direction, dict(msg)))

    async with open_link(unix_socket_connector(app_server.socket_path), recorder=ListRecorder()) as link:
        thread = await ThreadProbe.start(link, cwd=str(app_server.workspace))
        await thread.start_turn("record me")
        await thread.until_turn_completed()
    sent = [m.get("method") for d, m in frames if d == "send"]
    assert sent[:4] == ["initialize", "initialized", "thread/start", "turn/start"]
    received = [m for d, m in frames if d == "recv"]
    assert any(m.get("method") == "turn/completed" for m in received)
    assert any("userAgent" in (m.get("result") or {}) for m in received)
    # Completed items and the deltas all pass the recorder, including frames for no thread we watch.
    assert sum(1 for m in received if m.get("method") == "item/agentMessage/delta") > 3


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=30,
    )


async def test_git_diff_to_remote_and_model_list_decode_from_the_real_server(
    app_server: AppServer, tmp_path: Path
) -> None:
    """The two typed calls no other test makes: the legacy gitDiffToRemote (not in the JSON schema, so only
    the real server proves its shape) and model/list."""
    remote = tmp_path / "remote.git"
    workspace = app_server.workspace
    await trio.to_thread.run_sync(partial(git, tmp_path, "init", "-q", "--bare", str(remote)))
    for args in (
        ("init", "-q", "-b", "main"),
        ("remote", "add", "origin", str(remote)),
    ):
        await trio.to_thread.run_sync(partial(git, workspace, *args))
    (workspace / "kept.txt").write_text("one\n")
    await trio.to_thread.run_sync(partial(git, workspace, "add", "kept.txt"))
    await trio.to_thread.run_sync(partial(git, workspace, "commit", "-q", "-m", "first"))
    await trio.to_thread.run_sync(partial(git, workspace, "push", "-q", "origin", "main"))
    (workspace / "kept.txt").write_text("one\ntwo, not pushed\n")

    async with open_link(unix_socket_connector(app_server.socket_path)) as link:
        diff = await link.call_typed(GitDiffToRemoteParams(cwd=str(workspace)), GitDiffToRemoteResult)
        models = await link.call_typed(ModelListParams(), ModelListResult)
        with pytest.raises(CodexRefused):  # no remote here: codex refuses, the link raises it
            await link.call_typed(GitDiffToRemoteParams(cwd=str(tmp_path)), GitDiffToRemoteResult)
    assert re.fullmatch(r"[0-9a-f]{40}", diff.sha)
    assert "+two, not pushed" in diff.diff
    assert "kept.txt" in diff.diff
    assert models.data
    assert all(model.id for model in models.data)


async def test_thread_management_calls_round_trip_typed(app_server: AppServer) -> None:
    """name/set, read, list, fork, archive, unarchive and resume, each encoded and decoded by our classes."""
    async with open_link(unix_socket_connector(app_server.socket_path)) as link:
        thread = await ThreadProbe.start(link, cwd=str(app_server.workspace))
        await thread.start_turn("a turn so the thread is listed")
        await thread.until_turn_completed()
        tid = thread.thread_id

        await link.call_typed(ThreadSetNameParams(thread_id=tid, name="audit thread"), EmptyResult)
        read = await link.call_typed(ThreadReadParams(thread_id=tid, include_turns=True), ThreadReadResult)
        assert read.thread.id == tid
        assert read.thread.name == "audit thread"
        assert [turn.status for turn in read.thread.turns] == ["completed"]

        listed = await link.call_typed(ThreadListParams(limit=10), ThreadListResult)
        assert tid in [t.id for t in listed.data]

        forked = await link.call_typed(ThreadForkParams(thread_id=tid), ThreadSessionResult)
        assert forked.thread.id != tid
        assert forked.thread.forked_from_id == tid

        await link.call_typed(ThreadArchiveParams(thread_id=tid), EmptyResult)
        archived = await link.call_typed(ThreadListParams(archived=True), ThreadListResult)
        assert tid in [t.id for t in archived.data]
        active = await link.call_typed(ThreadListParams(), ThreadListResult)
        assert tid not in [t.id for t in active.data]
        await link.call_typed(ThreadUnarchiveParams(thread_id=tid), EmptyResult)

        resumed = await link.call_typed(ThreadResumeParams(thread_id=tid), ThreadSessionResult)
        assert resumed.thread.id == tid
        with pytest.raises(CodexRefused):
            await link.call_typed(ThreadReadParams(thread_id="no-such-thread"), ThreadReadResult)


async def test_steer_adds_input_to_the_running_turn(app_server: AppServer, mock_model: MockModel) -> None:
    async with open_link(unix_socket_connector(app_server.socket_path)) as link:
        thread = await ThreadProbe.start(link, cwd=str(app_server.workspace))
        turn_id = await thread.start_turn("stream slowly [[slow:2]]")
        await thread.until(
            lambda e: isinstance(e, CodexEvent) and isinstance(e.notification, AgentMessageDelta)
        )
        steered = await link.call_typed(
            TurnSteerParams(
                thread_id=thread.thread_id,
                input=(TextInput(text="and one more thing"),),
                expected_turn_id=turn_id,
            ),
            TurnSteerResult,
        )
        assert steered.turn_id == turn_id
        record = await thread.until_turn_completed()
    completed = record.completed
    assert completed is not None
    assert completed.turn.id == turn_id
    assert completed.turn.status == "completed"
    assert any("and one more thing" in text for text in mock_model.user_texts())
