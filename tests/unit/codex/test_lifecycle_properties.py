"""Property tests of the lifecycle: any sequence of codex messages (right or wrong thread, current, stale or
foreign turn, approvals resolved in any order) never raises, and the state agrees with what was reported."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from codexgram.codex.converter import decode_notification, decode_server_request
from codexgram.codex.lifecycle import (
    FINAL_STATES,
    ApprovalClosed,
    ApprovalNeeded,
    ThreadLifecycle,
    TurnFinished,
    TurnState,
)
from codexgram.errors import LocalProtocolError

T = "thr"
THREADS = st.sampled_from([T, T, T, "other"])
TURNS = st.sampled_from(["u1", "u1", "u2"])
ITEMS = st.sampled_from(["m1", "m2", "c1"])
REQUEST_IDS = st.integers(0, 3)


def item(item_id: str) -> dict[str, Any]:
    if item_id == "c1":
        return {"type": "commandExecution", "id": "c1", "command": "ls", "cwd": "/", "status": "inProgress"}
    return {"type": "agentMessage", "id": item_id, "text": "t"}


STEPS = st.one_of(
    st.tuples(
        st.just("local"),
        st.sampled_from(["start", "accept", "refuse", "interrupt", "answer", "lost"]),
        TURNS,
        REQUEST_IDS,
    ),
    st.tuples(st.just("started"), THREADS, TURNS),
    st.tuples(st.just("item"), THREADS, TURNS, ITEMS, st.booleans()),
    st.tuples(st.just("delta"), THREADS, TURNS, ITEMS),
    st.tuples(st.just("completed"), THREADS, TURNS, st.sampled_from(["completed", "interrupted", "failed"])),
    st.tuples(st.just("approval"), THREADS, TURNS, REQUEST_IDS),
    st.tuples(st.just("resolved"), THREADS, REQUEST_IDS),
)


def apply(lc: ThreadLifecycle, step: tuple[Any, ...]) -> list[Any]:
    kind = step[0]
    if kind == "local":
        _, action, turn_id, request_id = step
        try:
            if action == "start":
                lc.start_sent()
            elif action == "accept":
                return lc.start_accepted(turn_id)
            elif action == "refuse":
                return lc.start_refused()
            elif action == "interrupt":
                lc.interrupt_sent()
            elif action == "answer":
                return lc.approval_answered(request_id)
            else:
                return lc.connection_lost()
        except LocalProtocolError:
            pass  # our own mistake, refused before anything changed
        return []
    if kind == "started":
        _, thread, turn_id = step
        return lc.on_notification(
            decode_notification(
                "turn/started", {"threadId": thread, "turn": {"id": turn_id, "status": "inProgress"}}
            )
        )
    if kind == "item":
        _, thread, turn_id, item_id, done = step
        method = "item/completed" if done else "item/started"
        return lc.on_notification(
            decode_notification(method, {"threadId": thread, "turnId": turn_id, "item": item(item_id)})
        )
    if kind == "delta":
        _, thread, turn_id, item_id = step
        params = {"threadId": thread, "turnId": turn_id, "itemId": item_id, "delta": "x"}
        return lc.on_notification(decode_notification("item/agentMessage/delta", params))
    if kind == "completed":
        _, thread, turn_id, status = step
        turn = {"id": turn_id, "status": status, "items": []}
        return lc.on_notification(decode_notification("turn/completed", {"threadId": thread, "turn": turn}))
    if kind == "approval":
        _, thread, turn_id, request_id = step
        params = {"threadId": thread, "turnId": turn_id, "itemId": "c1", "command": "ls"}
        return lc.on_server_request(
            request_id, decode_server_request("item/commandExecution/requestApproval", params)
        )
    _, thread, request_id = step
    return lc.on_notification(
        decode_notification("serverRequest/resolved", {"threadId": thread, "requestId": request_id})
    )


@settings(max_examples=400)
@given(st.lists(STEPS, max_size=30))
def test_any_sequence_keeps_state_and_reports_consistent(steps: list[tuple[Any, ...]]) -> None:
    lc = ThreadLifecycle(T)
    open_approvals: set[int | str] = set()
    for step in steps:
        before = lc.state
        changes = apply(lc, step)
        for change in changes:
            if isinstance(change, ApprovalNeeded):
                open_approvals.add(change.approval.request_id)
            elif isinstance(change, ApprovalClosed):
                open_approvals.discard(change.request_id)
        finished = [c for c in changes if isinstance(c, TurnFinished)]
        # A final state is entered exactly when a TurnFinished is reported.
        entered_final = lc.state in FINAL_STATES and (before not in FINAL_STATES or bool(finished))
        assert bool(finished) == entered_final, (step, before, lc.state)
        # What was reported open is exactly what is pending.
        assert open_approvals == {a.request_id for a in lc.pending_approvals()}
        if lc.state is TurnState.WAITING_ON_APPROVAL:
            assert open_approvals
        if lc.state in (TurnState.RUNNING, TurnState.IDLE, *FINAL_STATES):
            assert not open_approvals, lc.state
        if not lc.busy:
            assert lc.pending_approvals() == ()
