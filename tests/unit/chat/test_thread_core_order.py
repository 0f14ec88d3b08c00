"""ThreadCore: the order in which a turn's notifications and the (failed) answer to ``turn/start`` arrive.

The thread actor feeds the core from three pumps, so the result of its own ``turn/start`` call and Codex's
notifications of the turn that call started may reach the core in either order. When the call fails with
``uncertain`` (it timed out, or the connection dropped after the request was written) Codex may well have
started the turn; its notifications can then arrive AFTER the failure. Those notifications are of OUR turn,
started by the prompt that was being sent: it must be recorded with that prompt's update id, and the prompt
must never be sent a second time (a prompt never starts two turns).

Today the core forgets the turn on the failure (``self.turn = None``, lifecycle back to IDLE), so the next
``turn/started`` looks like "a turn we did not start": ``RecordTurn`` without update id (the NULL rows seen in
bench/conversation.py), and, if ``thread/read`` does not list the turn (the bench's fake app-server always
answers ``turns: []``), the prompt is requeued and started again as a second turn.
"""

from __future__ import annotations

import itertools
from typing import Any

from codexgram.chat.thread_core import ThreadCore
from codexgram.chat.thread_effects import (
    Deliver,
    Effect,
    MarkHandled,
    Prompt,
    ReadThread,
    RecordTurn,
    Requeue,
    StartTurn,
    client_message_id,
)
from codexgram.chat.thread_settings import ThreadConfig
from codexgram.codex import notifications as n
from codexgram.codex.converter import decode_notification, decode_result
from codexgram.codex.requests import Thread, ThreadReadResult

THREAD = "01a24691-cb64-7581-89db-d431ca385fc8"
TURN = "turn-a"
CHAT = 1001
ADA = 1001
CWD = "/home/ada/demo"
T0 = 1_000.0
CONFIG = ThreadConfig(
    max_chunks=5, progress_delay=0.6, progress_interval=1.0, clock_refresh=5.0, typing_interval=4.0
)
TIMED_OUT = "Codex unavailable: turn/start got no answer within 30 s"


def token(number: int) -> str:
    return f"tok-{number:012d}"


def new_core() -> ThreadCore:
    counter = itertools.count(1)
    return ThreadCore(
        thread_id=THREAD, chat_id=CHAT, cwd=CWD, config=CONFIG, new_token=lambda: token(next(counter))
    )


def prompt(update_id: int) -> Prompt:
    return Prompt(update_id=update_id, user_id=ADA, text=f"message {update_id}")


def note(method: str, **params: Any) -> n.CodexNotification:
    return decode_notification(method, {"threadId": THREAD, **params})


def user_message(update_id: int) -> dict[str, Any]:
    return {
        "type": "userMessage",
        "id": f"user-{update_id}",
        "clientId": client_message_id(update_id),
        "content": [{"type": "text", "text": f"message {update_id}", "text_elements": []}],
    }


def agent(text: str = "") -> dict[str, Any]:
    return {"type": "agentMessage", "id": "msg-1", "text": text}


def wire_turn(*items: dict[str, Any], status: str = "inProgress") -> dict[str, Any]:
    return {"id": TURN, "items": list(items), "status": status}


def turn_a_stream(update_id: int) -> list[n.CodexNotification]:
    """Turn A as the fake app-server (and codex 0.169.0) streams it, from turn/started to turn/completed."""
    return [
        note("thread/status/changed", status={"type": "active", "activeFlags": []}),
        note("turn/started", turn=wire_turn()),
        note("item/started", turnId=TURN, item=user_message(update_id)),
        note("item/completed", turnId=TURN, item=user_message(update_id)),
        note("item/started", turnId=TURN, item=agent()),
        note("item/agentMessage/delta", turnId=TURN, itemId="msg-1", delta="Hello"),
        note("item/completed", turnId=TURN, item=agent("Hello")),
        note("thread/status/changed", status={"type": "idle"}),
        note("turn/completed", turn=wire_turn(agent("Hello"), status="completed")),
    ]


def codex_thread(*turns: dict[str, Any]) -> Thread:
    raw = {
        "id": THREAD,
        "preview": "",
        "cwd": CWD,
        "status": {"type": "idle"},
        "createdAt": 1,
        "updatedAt": 1,
        "turns": list(turns),
    }
    return decode_result(ThreadReadResult, {"thread": raw}).thread


def started_and_timed_out(core: ThreadCore) -> None:
    """Prompt 10 is sent; the call's answer never comes back in time (the turn did start on Codex)."""
    assert core.begin(prompts=[prompt(10)], unfinished=[], attached=True, now=T0) == [
        StartTurn(prompt=prompt(10), cancel_token=token(1))
    ]
    effects = core.on_turn_start_failed(10, failure="uncertain", error=TIMED_OUT, now=T0 + 30)
    assert effects == [ReadThread()]  # did it land? (the same today and after the fix)


def of_type(effects: list[Effect], kind: type[Any]) -> list[Any]:
    return [e for e in effects if isinstance(e, kind)]


def test_turn_started_after_an_uncertain_start_is_the_prompts_turn() -> None:
    """failure(uncertain) -> turn/started(A): A is prompt 10's turn, recorded with its update id.

    Today: ``RecordTurn(turn-a, tok-2)`` with update_id None ("a turn we did not start")."""
    core = new_core()
    started_and_timed_out(core)
    effects = core.on_notification(note("turn/started", turn=wire_turn()), T0 + 30.1)
    assert of_type(effects, RecordTurn) == [
        RecordTurn(turn_id=TURN, cancel_token=token(1), update_id=10, user_id=ADA)
    ]


def test_uncertain_start_never_starts_the_prompt_twice_when_read_is_late() -> None:
    """failure(uncertain) -> the whole of turn A -> thread/read answers (the bench's fake lists no turns).

    The notifications proved that turn/start landed: A is delivered as prompt 10's turn, no turn is recorded
    without an update id, and prompt 10 is neither requeued nor sent again. Today: RecordTurn without update
    id, then Requeue(10) and a second StartTurn of prompt 10 (the extra row of bench/conversation.py)."""
    core = new_core()
    started_and_timed_out(core)
    effects: list[Effect] = []
    for notification in turn_a_stream(10):
        effects += core.on_notification(notification, T0 + 30.1)
    effects += core.on_read(codex_thread(), None, T0 + 30.2)
    assert of_type(effects, RecordTurn) == [
        RecordTurn(turn_id=TURN, cancel_token=token(1), update_id=10, user_id=ADA)
    ]
    assert [d.turn_id for d in of_type(effects, Deliver) if d.finish is not None] == [TURN]
    assert of_type(effects, Requeue) == []
    assert of_type(effects, StartTurn) == []
    assert core.idle


def test_uncertain_start_found_by_read_is_not_a_steer() -> None:
    """failure(uncertain) -> turn/started(A) -> thread/read lists A with prompt 10's client id (what codex
    0.169.0 answers). Prompt 10 started turn A; it was not "steered into" it, and A's row has its update id.

    Today: RecordTurn without update id, then MarkHandled(10, 'steered into turn-a')."""
    core = new_core()
    started_and_timed_out(core)
    effects = core.on_notification(note("turn/started", turn=wire_turn()), T0 + 30.1)
    effects += core.on_read(codex_thread(wire_turn(user_message(10))), None, T0 + 30.2)
    assert of_type(effects, RecordTurn) == [
        RecordTurn(turn_id=TURN, cancel_token=token(1), update_id=10, user_id=ADA)
    ]
    assert [m.outcome for m in of_type(effects, MarkHandled)] == []
    assert of_type(effects, StartTurn) == []


def test_uncertain_start_that_did_not_land_is_sent_again_once() -> None:
    """failure(uncertain) -> thread/read without the prompt and no notification: it did not land, so it is
    requeued and sent again (once). Passes today; guards the fix against keeping the thread busy forever."""
    core = new_core()
    started_and_timed_out(core)
    effects = core.on_read(codex_thread(), None, T0 + 30.2)
    assert of_type(effects, Requeue) == [Requeue(update_id=10)]
    assert [s.prompt.update_id for s in of_type(effects, StartTurn)] == [10]
    assert of_type(effects, RecordTurn) == []
