"""The turn lifecycle table and the transcript it assembles, including every quirk of codex 0.169.0."""

from __future__ import annotations

from typing import Any

import pytest

from codexgram.codex.converter import decode_notification, decode_server_request
from codexgram.codex.lifecycle import (
    ACTIVE_STATES,
    FINAL_STATES,
    LOCAL_EVENTS,
    TRANSITIONS,
    ApprovalClosed,
    ApprovalNeeded,
    Change,
    Ignored,
    Progress,
    StatusChanged,
    ThreadLifecycle,
    TurnBegan,
    TurnEvent,
    TurnFinished,
    TurnState,
)
from codexgram.codex.turn_transcript import AgentText, CommandRun, FileEdit, TurnTranscript
from codexgram.errors import LocalProtocolError

T = "thr_a"


def state(lc: ThreadLifecycle) -> TurnState:
    """The state, through a call so that mypy does not narrow it between two steps."""
    return lc.state


def is_busy(lc: ThreadLifecycle) -> bool:
    return lc.busy


def note(lc: ThreadLifecycle, method: str, **params: Any) -> list[Change]:
    return lc.on_notification(decode_notification(method, {"threadId": T, **params}))


def turn(turn_id: str, status: str = "inProgress", **extra: Any) -> dict[str, Any]:
    return {"id": turn_id, "items": [], "status": status, **extra}


def agent(item_id: str, text: str = "") -> dict[str, Any]:
    return {"type": "agentMessage", "id": item_id, "text": text}


def finished(changes: list[Change]) -> TurnTranscript:
    [done] = [c for c in changes if isinstance(c, TurnFinished)]
    return done.transcript


def started(turn_id: str = "u1") -> ThreadLifecycle:
    lc = ThreadLifecycle(T)
    assert lc.start_sent() is False
    assert lc.start_accepted(turn_id) == [TurnBegan(turn_id=turn_id)]
    return lc


def test_a_plain_turn_streams_and_finalises_on_turn_completed() -> None:
    lc = ThreadLifecycle(T)
    assert state(lc) is TurnState.IDLE
    lc.start_sent()
    assert state(lc) is TurnState.STARTING
    assert is_busy(lc)
    assert lc.start_accepted("u1") == [TurnBegan(turn_id="u1")]
    assert note(lc, "turn/started", turn=turn("u1")) == []
    [status] = note(
        lc, "thread/status/changed", status={"type": "active", "activeFlags": ["waitingOnApproval"]}
    )
    assert isinstance(status, StatusChanged)
    assert status.status.active_flags == ("waitingOnApproval",)
    user = {
        "type": "userMessage",
        "id": "m0",
        "content": [{"type": "text", "text": "hi", "text_elements": []}],
    }
    note(lc, "item/started", turnId="u1", item=user)
    note(lc, "item/completed", turnId="u1", item=user)
    assert note(lc, "item/started", turnId="u1", item=agent("m1")) == [Progress(item_id="m1")]
    for piece in ("You ", "said", ": hi"):
        assert note(lc, "item/agentMessage/delta", turnId="u1", itemId="m1", delta=piece) == [
            Progress(item_id="m1")
        ]
    assert lc.agent_text("m1") == "You said: hi"
    note(lc, "item/completed", turnId="u1", item=agent("m1", "You said: hi"))
    usage = {
        "totalTokens": 3,
        "inputTokens": 1,
        "cachedInputTokens": 0,
        "outputTokens": 2,
        "reasoningOutputTokens": 0,
    }
    assert (
        note(lc, "thread/tokenUsage/updated", turnId="u1", tokenUsage={"total": usage, "last": usage}) == []
    )
    assert state(lc) is TurnState.RUNNING
    transcript = finished(
        note(lc, "turn/completed", turn=turn("u1", "completed", items=[agent("m1", "You said: hi")]))
    )
    assert state(lc) is TurnState.COMPLETED
    assert not is_busy(lc)
    assert transcript.status == "completed"
    assert transcript.final_text == "You said: hi"
    assert transcript.entries == (AgentText(item_id="m1", text="You said: hi", completed=True),)


def test_turn_started_before_the_answer_adopts_the_turn() -> None:
    lc = ThreadLifecycle(T)
    lc.start_sent()
    assert note(lc, "turn/started", turn=turn("u7")) == [TurnBegan(turn_id="u7")]
    assert state(lc) is TurnState.RUNNING
    assert lc.start_accepted("u7") == []
    assert lc.turn_id == "u7"
    assert state(lc) is TurnState.RUNNING


def test_items_before_the_answer_are_kept() -> None:
    lc = ThreadLifecycle(T)
    lc.start_sent()
    note(lc, "item/agentMessage/delta", turnId="u1", itemId="m1", delta="early")
    lc.start_accepted("u1")
    assert lc.transcript().final_text == "early"


def test_a_turn_start_while_running_is_a_steer_of_the_same_turn() -> None:
    lc = started()
    note(lc, "item/started", turnId="u1", item=agent("m1"))
    note(lc, "item/agentMessage/delta", turnId="u1", itemId="m1", delta="partial")
    assert lc.start_sent() is True
    assert lc.start_accepted("u1") == []
    assert state(lc) is TurnState.RUNNING
    # The steered reply never completes; a new one does.
    note(lc, "item/started", turnId="u1", item=agent("m2"))
    note(lc, "item/completed", turnId="u1", item=agent("m2", "after steer"))
    transcript = finished(note(lc, "turn/completed", turn=turn("u1", "completed")))
    assert transcript.entries == (
        AgentText(item_id="m1", text="partial", completed=False),
        AgentText(item_id="m2", text="after steer", completed=True),
    )
    assert transcript.final_text == "after steer"


def test_a_refused_steer_keeps_the_turn_running_and_a_refused_start_goes_idle() -> None:
    lc = started()
    lc.start_sent()
    lc.start_refused()
    assert state(lc) is TurnState.RUNNING
    fresh = ThreadLifecycle(T)
    fresh.start_sent()
    fresh.start_refused()
    assert state(fresh) is TurnState.IDLE


def test_interrupt_of_a_streaming_reply() -> None:
    lc = started()
    note(lc, "item/started", turnId="u1", item=agent("m1"))
    note(lc, "item/agentMessage/delta", turnId="u1", itemId="m1", delta="slow ")
    assert lc.interrupt_sent() == "u1"
    assert state(lc) is TurnState.INTERRUPTING
    with pytest.raises(LocalProtocolError, match="start_sent while interrupting"):
        lc.start_sent()
    note(lc, "item/agentMessage/delta", turnId="u1", itemId="m1", delta="stream")
    transcript = finished(note(lc, "turn/completed", turn=turn("u1", "interrupted")))
    assert state(lc) is TurnState.INTERRUPTED
    assert transcript.status == "interrupted"
    assert transcript.entries == (AgentText(item_id="m1", text="slow stream", completed=False),)
    # A new turn may start after it.
    assert lc.start_sent() is False
    assert lc.transcript().entries == ()


def test_interrupt_needs_a_turn_id() -> None:
    lc = ThreadLifecycle(T)
    with pytest.raises(LocalProtocolError, match="interrupt_sent while idle"):
        lc.interrupt_sent()
    lc.start_sent()
    with pytest.raises(LocalProtocolError, match="interrupt_sent while starting"):
        lc.interrupt_sent()


def test_notifications_of_other_threads_are_ignored() -> None:
    lc = started()
    other = decode_notification(
        "item/agentMessage/delta", {"threadId": "zzz", "turnId": "u1", "itemId": "m", "delta": "x"}
    )
    [ignored] = lc.on_notification(other)
    assert isinstance(ignored, Ignored)
    assert "another thread" in ignored.reason
    [closed] = lc.on_notification(decode_notification("thread/closed", {"threadId": "zzz"}))
    assert isinstance(closed, Ignored)
    assert lc.transcript().entries == ()
    assert state(lc) is TurnState.RUNNING


def test_thread_started_after_the_response_is_harmless() -> None:
    lc = started()
    thread = {"id": T, "preview": "", "cwd": "/w", "status": {"type": "idle"}, "createdAt": 1, "updatedAt": 1}
    assert lc.on_notification(decode_notification("thread/started", {"thread": thread})) == []
    assert lc.on_notification(decode_notification("account/rateLimits/updated", {"x": 1})) == []
    assert lc.on_notification(decode_notification("configWarning", {"summary": "s"})) == []
    assert state(lc) is TurnState.RUNNING


def command_item(status: str = "inProgress", **extra: Any) -> dict[str, Any]:
    return {
        "type": "commandExecution",
        "id": "c1",
        "command": "echo hi",
        "cwd": "/w",
        "status": status,
        **extra,
    }


def approval_params(item_id: str = "c1", **extra: Any) -> dict[str, Any]:
    return {"threadId": T, "turnId": "u1", "itemId": item_id, "startedAtMs": 1, **extra}


def test_command_approval_accepted() -> None:
    lc = started()
    note(lc, "item/started", turnId="u1", item=command_item())
    request = decode_server_request(
        "item/commandExecution/requestApproval", approval_params(command="echo hi", cwd="/w")
    )
    [needed] = lc.on_server_request(0, request)
    assert isinstance(needed, ApprovalNeeded)
    assert (needed.approval.kind, needed.approval.command, needed.approval.request_id) == (
        "command",
        "echo hi",
        0,
    )
    assert state(lc) is TurnState.WAITING_ON_APPROVAL
    assert lc.approval_answered(0) == [ApprovalClosed(request_id=0)]
    assert state(lc) is TurnState.RUNNING
    [late] = note(lc, "serverRequest/resolved", requestId=0)
    assert isinstance(late, Ignored)
    note(lc, "item/commandExecution/outputDelta", turnId="u1", itemId="c1", delta="hi")
    assert lc.transcript().entries == (
        CommandRun(
            item_id="c1", command="echo hi", cwd="/w", status="inProgress", output="hi", exit_code=None
        ),
    )
    note(
        lc, "item/completed", turnId="u1", item=command_item("completed", aggregatedOutput="hi\n", exitCode=0)
    )
    transcript = finished(note(lc, "turn/completed", turn=turn("u1", "completed")))
    assert transcript.entries == (
        CommandRun(item_id="c1", command="echo hi", cwd="/w", status="completed", output="hi\n", exit_code=0),
    )


def test_server_resolved_closes_an_approval_and_two_approvals_settle_together() -> None:
    lc = started()
    command = decode_server_request("item/commandExecution/requestApproval", approval_params())
    lc.on_server_request(0, command)
    lc.on_server_request(
        1, decode_server_request("item/commandExecution/requestApproval", approval_params("c2"))
    )
    assert note(lc, "serverRequest/resolved", requestId=0) == [ApprovalClosed(request_id=0)]
    assert state(lc) is TurnState.WAITING_ON_APPROVAL
    assert [a.request_id for a in lc.pending_approvals()] == [1]
    assert lc.approval_answered(1) == [ApprovalClosed(request_id=1)]
    assert state(lc) is TurnState.RUNNING


def test_file_change_approval_takes_the_diff_from_the_matching_item() -> None:
    lc = started()
    changes = [{"path": "x.txt", "kind": {"type": "add"}, "diff": "+hi\n"}]
    patch_item = {"type": "fileChange", "id": "p1", "status": "inProgress", "changes": changes}
    note(lc, "item/started", turnId="u1", item=patch_item)
    [needed] = lc.on_server_request(
        5, decode_server_request("item/fileChange/requestApproval", approval_params("p1"))
    )
    assert isinstance(needed, ApprovalNeeded)
    assert needed.approval.kind == "fileChange"
    assert [(c.path, c.kind.type, c.diff) for c in needed.approval.changes] == [("x.txt", "add", "+hi\n")]
    lc.approval_answered(5)
    note(lc, "turn/diff/updated", turnId="u1", diff="diff 1")
    note(lc, "turn/diff/updated", turnId="u1", diff="diff 2")
    note(lc, "item/completed", turnId="u1", item={**patch_item, "status": "completed"})
    transcript = finished(note(lc, "turn/completed", turn=turn("u1", "completed")))
    assert transcript.diff == "diff 2"
    [edit] = transcript.entries
    assert isinstance(edit, FileEdit)
    assert edit.status == "completed"


def test_interrupt_during_a_pending_approval_expires_it_before_the_late_resolved() -> None:
    lc = started()
    lc.on_server_request(3, decode_server_request("item/commandExecution/requestApproval", approval_params()))
    lc.interrupt_sent()
    changes = note(lc, "turn/completed", turn=turn("u1", "interrupted"))
    assert changes[0] == ApprovalClosed(request_id=3)
    assert isinstance(changes[1], TurnFinished)
    assert lc.pending_approvals() == ()
    [late] = note(lc, "serverRequest/resolved", requestId=3)
    assert isinstance(late, Ignored)
    assert state(lc) is TurnState.INTERRUPTED


def test_resume_adopts_a_running_turn_from_its_messages() -> None:
    lc = ThreadLifecycle(T)
    changes = note(lc, "item/agentMessage/delta", turnId="u9", itemId="m1", delta="rest of it")
    assert changes == [TurnBegan(turn_id="u9"), Progress(item_id="m1")]
    assert state(lc) is TurnState.RUNNING
    transcript = finished(
        note(lc, "turn/completed", turn=turn("u9", "completed", items=[agent("m1", "whole text")]))
    )
    assert transcript.final_text == "whole text"  # the completed turn's item wins over the partial deltas


def test_resume_into_a_pending_approval() -> None:
    lc = ThreadLifecycle(T)
    changes = lc.on_server_request(
        0, decode_server_request("item/commandExecution/requestApproval", approval_params())
    )
    assert changes[0] == TurnBegan(turn_id="u1")
    assert state(lc) is TurnState.WAITING_ON_APPROVAL


def test_a_turn_that_completes_unseen_is_still_finished() -> None:
    lc = ThreadLifecycle(T)
    changes = note(lc, "turn/completed", turn=turn("u4", "completed", items=[agent("m", "done")]))
    assert changes[0] == TurnBegan(turn_id="u4")
    assert finished(changes).final_text == "done"
    assert state(lc) is TurnState.COMPLETED


def test_late_messages_of_a_finished_turn_and_of_other_turns_are_ignored() -> None:
    lc = started()
    finished(note(lc, "turn/completed", turn=turn("u1", "completed")))
    [late] = note(lc, "item/agentMessage/delta", turnId="u1", itemId="m", delta="x")
    assert isinstance(late, Ignored)
    [again] = note(lc, "turn/completed", turn=turn("u1", "completed"))
    assert isinstance(again, Ignored)
    running = started("u2")
    [other] = note(running, "item/started", turnId="u3", item=agent("m"))
    assert isinstance(other, Ignored)
    assert running.turn_id == "u2"


def test_a_late_message_of_an_ended_turn_is_not_taken_for_the_turn_being_started() -> None:
    # A thread/read answer can overtake a turn's last notifications: once the turn is over, its late news
    # must neither adopt it again nor be taken for the turn the next turn/start is starting.
    lc = started()
    finished(note(lc, "turn/completed", turn=turn("u1", "completed")))
    assert lc.start_sent() is False
    [late] = note(lc, "item/completed", turnId="u1", item=agent("m", "old"))
    assert isinstance(late, Ignored)
    assert (state(lc), lc.turn_id) == (TurnState.STARTING, None)
    assert lc.start_accepted("u2") == [TurnBegan(turn_id="u2")]


def test_a_turn_settled_by_the_owner_is_not_adopted_from_its_late_news() -> None:
    lc = ThreadLifecycle(T)
    lc.turn_settled("u0")  # delivered from thread/read while the bot was away
    [late] = note(lc, "item/agentMessage/delta", turnId="u0", itemId="m", delta="x")
    assert isinstance(late, Ignored)
    assert (state(lc), lc.turn_id) == (TurnState.IDLE, None)
    assert note(lc, "turn/started", turn=turn("u9")) == [TurnBegan(turn_id="u9")]  # a new turn still is


def test_a_failed_turn_keeps_the_error() -> None:
    lc = started()
    error = {"message": "upstream 500", "codexErrorInfo": None}
    note(lc, "error", turnId="u1", error={"message": "retrying"}, willRetry=True)
    assert lc.transcript().error is None
    note(lc, "error", turnId="u1", error=error, willRetry=False)
    transcript = finished(note(lc, "turn/completed", turn=turn("u1", "failed")))
    assert state(lc) is TurnState.FAILED
    assert transcript.error is not None
    assert transcript.error.message == "upstream 500"
    assert transcript.final_text == ""


def test_connection_lost_expires_approvals_but_keeps_the_turn() -> None:
    lc = started()
    lc.on_server_request(0, decode_server_request("item/commandExecution/requestApproval", approval_params()))
    assert lc.connection_lost() == [ApprovalClosed(request_id=0)]
    assert state(lc) is TurnState.RUNNING
    assert lc.turn_id == "u1"


def test_unknown_server_requests_are_not_tracked() -> None:
    lc = started()
    [ignored] = lc.on_server_request(9, decode_server_request("item/tool/requestUserInput", {"threadId": T}))
    assert isinstance(ignored, Ignored)
    assert lc.pending_approvals() == ()


# --- the table itself ---------------------------------------------------------------------------------------


def test_only_turn_completed_events_enter_a_final_state() -> None:
    endings = {TurnEvent.TURN_COMPLETED, TurnEvent.TURN_INTERRUPTED, TurnEvent.TURN_FAILED}
    for (state, event), target in TRANSITIONS.items():
        if target in FINAL_STATES and state is not target:
            assert event in endings, f"{state} --{event}--> {target}"
        if event in endings:
            assert target in FINAL_STATES


def test_every_active_state_can_end() -> None:
    for state in ACTIVE_STATES:
        for event in (TurnEvent.TURN_COMPLETED, TurnEvent.TURN_INTERRUPTED, TurnEvent.TURN_FAILED):
            assert TRANSITIONS[state, event] in FINAL_STATES


def test_local_events_outside_the_table_raise() -> None:
    for state in TurnState:
        for event in LOCAL_EVENTS:
            lc = ThreadLifecycle(T)
            lc.state = state
            lc.turn_id = "u1"
            if (state, event) in TRANSITIONS:
                continue
            action = lc.start_sent if event is TurnEvent.START_SENT else lc.interrupt_sent
            with pytest.raises(LocalProtocolError):
                action()
