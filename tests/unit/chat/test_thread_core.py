"""ThreadCore, driven one input at a time: Codex's notifications (decoded from wire-shaped params with the
project's decoder), the results of earlier effects, the chat's commands and clock ticks. Every test asserts
the effects exactly, in order.

Time is passed in (``T0`` plus seconds); the core's tokens come from a counter, so ``token(1)`` is the first
token the core asked for (the first turn's Cancel button), ``token(2)`` the second, and so on.
"""

from __future__ import annotations

import itertools
from typing import Any

import attrs

from codexgram.chat import chat_views as views
from codexgram.chat.outgoing import Outgoing
from codexgram.chat.thread_core import ThreadCore
from codexgram.chat.thread_effects import (
    AnswerRequest,
    Deliver,
    EditCard,
    EditProgress,
    Effect,
    FinishTurn,
    Interrupt,
    LoadPrompts,
    MarkHandled,
    Prompt,
    ReadThread,
    RecordTurn,
    RemoveMessage,
    Requeue,
    Resume,
    Say,
    ShowCard,
    ShowProgress,
    StartTurn,
    SteerTurn,
    ThreadLost,
    Typing,
    client_message_id,
)
from codexgram.chat.thread_settings import ThreadConfig
from codexgram.chat.turn_view import format_duration
from codexgram.chat.watched_turn import UnfinishedTurn
from codexgram.codex import notifications as n
from codexgram.codex.converter import decode_notification, decode_result, decode_server_request
from codexgram.codex.lifecycle import PendingApproval
from codexgram.codex.requests import Thread, ThreadReadResult
from codexgram.store.turn_queries import TURN_LOST
from codexgram.telegram.keyboards import cancel_keyboard

THREAD = "01a24691-cb64-7581-89db-d431ca385fc8"
TURN = "turn-1"
CHAT = 1001
ADA = 1001
CWD = "/home/ada/demo"
T0 = 1_000.0
CONFIG = ThreadConfig(
    max_chunks=5, progress_delay=0.6, progress_interval=1.0, clock_refresh=5.0, typing_interval=4.0
)
OLD_TOKEN = "old-000000000001"  # the Cancel token an earlier process gave an unfinished turn


# --- the core and its inputs --------------------------------------------------------------------------------


def token(number: int) -> str:
    """The ``number``-th token the core asks for (16 URL-safe characters, as callback data needs)."""
    return f"tok-{number:012d}"


def new_core(config: ThreadConfig = CONFIG) -> ThreadCore:
    counter = itertools.count(1)
    return ThreadCore(
        thread_id=THREAD, chat_id=CHAT, cwd=CWD, config=config, new_token=lambda: token(next(counter))
    )


def prompt(update_id: int, text: str | None = None, **fields: Any) -> Prompt:
    return Prompt(update_id=update_id, user_id=ADA, text=text or f"message {update_id}", **fields)


def note(method: str, **params: Any) -> n.CodexNotification:
    return decode_notification(method, {"threadId": THREAD, **params})


def wire_turn(
    turn_id: str, *items: dict[str, Any], status: str = "inProgress", **extra: Any
) -> dict[str, Any]:
    return {"id": turn_id, "items": list(items), "status": status, **extra}


def agent(item_id: str, text: str = "") -> dict[str, Any]:
    return {"type": "agentMessage", "id": item_id, "text": text}


def command(
    item_id: str, status: str = "completed", *, output: str | None = "3 passed\n", exit_code: int | None = 0
) -> dict[str, Any]:
    return {
        "type": "commandExecution",
        "id": item_id,
        "command": "pytest -q",
        "cwd": CWD,
        "status": status,
        "aggregatedOutput": output,
        "exitCode": exit_code,
    }


def running_command(item_id: str) -> dict[str, Any]:
    return command(item_id, "inProgress", output=None, exit_code=None)


def user_message(update_id: int) -> dict[str, Any]:
    """The user's message as Codex records it, with our ``clientUserMessageId``."""
    return {
        "type": "userMessage",
        "id": f"user-{update_id}",
        "clientId": client_message_id(update_id),
        "content": [{"type": "text", "text": f"message {update_id}", "text_elements": []}],
    }


def turn_started(turn_id: str = TURN) -> n.CodexNotification:
    return note("turn/started", turn=wire_turn(turn_id))


def item_started(item: dict[str, Any], turn_id: str = TURN) -> n.CodexNotification:
    return note("item/started", turnId=turn_id, item=item)


def item_completed(item: dict[str, Any], turn_id: str = TURN) -> n.CodexNotification:
    return note("item/completed", turnId=turn_id, item=item)


def agent_delta(item_id: str, delta: str, turn_id: str = TURN) -> n.CodexNotification:
    return note("item/agentMessage/delta", turnId=turn_id, itemId=item_id, delta=delta)


def turn_completed(*items: dict[str, Any], turn_id: str = TURN, **extra: Any) -> n.CodexNotification:
    extra.setdefault("status", "completed")
    return note("turn/completed", turn=wire_turn(turn_id, *items, **extra))


def token_usage(tokens: int, turn_id: str = TURN) -> n.CodexNotification:
    usage = {
        "totalTokens": tokens,
        "inputTokens": tokens,
        "cachedInputTokens": 0,
        "outputTokens": 0,
        "reasoningOutputTokens": 0,
    }
    return note("thread/tokenUsage/updated", turnId=turn_id, tokenUsage={"total": usage, "last": usage})


def status_changed(*flags: str) -> n.CodexNotification:
    return note("thread/status/changed", status={"type": "active", "activeFlags": list(flags)})


def codex_thread(*turns: dict[str, Any]) -> Thread:
    """What ``thread/read`` (with turns) returns for the thread."""
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


def unfinished(
    turn_id: str = TURN, *, update_id: int | None = 10, sent: tuple[str, ...] = (), progress: int | None = 400
) -> UnfinishedTurn:
    """A turn an earlier process recorded and did not deliver."""
    return UnfinishedTurn(
        turn_id=turn_id,
        update_id=update_id,
        user_id=ADA,
        cancel_token=OLD_TOKEN,
        progress_message_id=progress,
        sent_items=sent,
        started_at=T0,
    )


# --- what the chat is shown ---------------------------------------------------------------------------------

TESTS_PASSED = "💻 <code>pytest -q</code>\n✅ exit 0\n<pre>3 passed</pre>"  # a finished command's message


def step(text: str) -> Outgoing:
    """A finished step sent while the turn runs: silent, no footer."""
    return Outgoing(text=text)


def last(text: str, seconds: int, tokens: str | None = None) -> Outgoing:
    """The turn's last message: the footer (time, tokens) below it, and it rings."""
    footer = format_duration(seconds) if tokens is None else f"{format_duration(seconds)} · {tokens}"
    return Outgoing(text=f"{text}\n\n<i>⏱ {footer}</i>", notify=True)


def progress(text: str, cancel_token: str | None = None) -> Outgoing:
    """The progress message, with its Cancel button (none once the turn is stopping)."""
    return Outgoing(text=text, reply_markup=None if cancel_token is None else cancel_keyboard(cancel_token))


def card(update_id: int, number: int, text: str | None = None) -> ShowCard:
    """The queued card of prompt ``update_id``, made with the core's ``number``-th token."""
    shown = prompt(update_id, text).text
    return ShowCard(update_id=update_id, token=token(number), message=views.queued_card(shown, token(number)))


def finish(
    status: str = "completed", *, tokens: int | None = None, progress_id: int | None = None
) -> FinishTurn:
    return FinishTurn(status=status, tokens=tokens, progress_message_id=progress_id)


def away() -> Say:
    return Say(message=Outgoing(text=views.codex_away_kept(), notify=True), durable=False)


# --- getting a core into a state ----------------------------------------------------------------------------


def start_turn(core: ThreadCore, update_id: int = 10, turn_id: str = TURN, now: float = T0) -> None:
    """Prompt ``update_id`` is sent, Codex answers with ``turn_id`` and announces it; the turn runs."""
    assert core.begin(prompts=[prompt(update_id)], unfinished=[], attached=True, now=now) == [
        StartTurn(prompt=prompt(update_id), cancel_token=token(1))
    ]
    assert core.on_turn_started(update_id, turn_id, now) == [
        RecordTurn(turn_id=turn_id, cancel_token=token(1), update_id=update_id, user_id=ADA)
    ]
    assert core.on_notification(turn_started(turn_id), now) == []


def queue(core: ThreadCore, update_id: int, *, card_id: int, now: float) -> Prompt:
    """Prompt ``update_id`` arrives while a turn runs; its queued card is shown as message ``card_id``.
    Returns the prompt as the core now holds it (with its card)."""
    [shown] = core.on_prompts([prompt(update_id)], now)
    assert isinstance(shown, ShowCard)
    assert shown.update_id == update_id
    assert core.on_card_shown(update_id, card_id) == []
    return attrs.evolve(prompt(update_id), card_token=shown.token, card_message_id=card_id)


def show_progress(core: ThreadCore, message_id: int = 500, at: float = T0 + 0.7) -> None:
    """The turn is older than progress_delay: the progress message is sent and gets ``message_id``."""
    effects = [e for e in core.tick(at) if not isinstance(e, Typing)]
    assert [type(e) for e in effects] == [ShowProgress]
    assert core.on_progress_shown(TURN, message_id) == []


# --- one turn -----------------------------------------------------------------------------------------------


def test_a_prompt_starts_a_turn_recorded_once_codex_answers() -> None:
    core = new_core()
    assert core.begin(prompts=[prompt(10)], unfinished=[], attached=True, now=T0) == [
        StartTurn(prompt=prompt(10), cancel_token=token(1))
    ]
    assert not core.idle
    assert core.wants_ticks
    assert core.on_turn_started(10, TURN, T0 + 0.1) == [
        RecordTurn(turn_id=TURN, cancel_token=token(1), update_id=10, user_id=ADA)
    ]
    assert core.on_notification(turn_started(), T0 + 0.1) == []
    assert core.on_turn_started(10, TURN, T0 + 0.2) == []  # a duplicate answer changes nothing


def test_a_thread_not_attached_yet_is_resumed_before_its_prompt_is_sent() -> None:
    core = new_core()
    assert core.begin(prompts=[prompt(10)], unfinished=[], attached=False, now=T0) == [Resume()]
    assert core.on_resumed(ok=True, gone=False, now=T0 + 1) == [
        StartTurn(prompt=prompt(10), cancel_token=token(1))
    ]


def test_finished_steps_go_out_in_order_and_the_answer_waits_for_what_comes_next() -> None:
    core = new_core()
    start_turn(core)
    assert core.on_notification(item_started(user_message(10)), T0) == []  # the user's own words: not echoed
    assert core.on_notification(item_completed(user_message(10)), T0) == []
    assert core.on_notification(item_started(running_command("c1")), T0 + 0.1) == []
    assert core.on_notification(item_completed(command("c1")), T0 + 0.5) == [
        Deliver(turn_id=TURN, messages=(step(TESTS_PASSED),), item_ids=("c1",))
    ]
    assert core.on_notification(item_started(agent("m1")), T0 + 0.6) == []
    assert core.on_notification(agent_delta("m1", "Running the "), T0 + 0.7) == []
    assert core.on_notification(agent_delta("m1", "tests again."), T0 + 0.8) == []
    # Finished, but it may be the turn's last message (the one with the footer): held.
    assert core.on_notification(item_completed(agent("m1", "Running the tests again.")), T0 + 0.9) == []
    # The next step starts: the answer was not the last one, so it goes out as it is.
    assert core.on_notification(item_started(running_command("c2")), T0 + 1.0) == [
        Deliver(turn_id=TURN, messages=(step("Running the tests again."),), item_ids=("m1",))
    ]
    assert core.on_notification(item_completed(command("c2")), T0 + 2.0) == [
        Deliver(turn_id=TURN, messages=(step(TESTS_PASSED),), item_ids=("c2",))
    ]
    assert core.on_notification(item_started(agent("m2")), T0 + 2.1) == []
    assert core.on_notification(agent_delta("m2", "All green."), T0 + 2.2) == []
    assert core.on_notification(item_completed(agent("m2", "All green.")), T0 + 2.3) == []
    assert core.on_notification(turn_completed(agent("m2", "All green.")), T0 + 3.2) == [
        Deliver(turn_id=TURN, messages=(last("All green.", 3),), item_ids=("m2",), finish=finish())
    ]
    assert core.idle
    assert not core.wants_ticks


def test_a_step_still_running_holds_back_the_steps_after_it() -> None:
    core = new_core()
    start_turn(core)
    assert core.on_notification(item_started(running_command("c1")), T0 + 0.1) == []
    assert core.on_notification(item_started(running_command("c2")), T0 + 0.2) == []
    assert core.on_notification(item_completed(command("c2")), T0 + 0.3) == []
    assert core.on_notification(item_completed(command("c1")), T0 + 0.4) == [
        Deliver(turn_id=TURN, messages=(step(TESTS_PASSED), step(TESTS_PASSED)), item_ids=("c1", "c2"))
    ]


def test_the_last_message_carries_the_time_and_the_tokens_the_turn_used() -> None:
    core = new_core()
    start_turn(core)
    assert core.on_notification(token_usage(1000), T0 + 1) == []
    assert core.on_notification(token_usage(234), T0 + 2) == []
    assert core.on_notification(token_usage(99, turn_id="another-turn"), T0 + 2) == []  # not ours
    assert core.on_notification(turn_completed(agent("m1", "Done.")), T0 + 12) == [
        Deliver(
            turn_id=TURN,
            messages=(last("Done.", 12, "1,234 tokens"),),
            item_ids=("m1",),
            finish=finish(tokens=1234),
        )
    ]


def test_a_turn_that_says_nothing_ends_with_done_and_a_failed_one_says_why() -> None:
    core = new_core()
    start_turn(core)
    assert core.on_notification(item_completed(command("c1")), T0 + 1) == [
        Deliver(turn_id=TURN, messages=(step(TESTS_PASSED),), item_ids=("c1",))
    ]
    assert core.on_notification(turn_completed(command("c1")), T0 + 2) == [
        Deliver(turn_id=TURN, messages=(last("✅ Done.", 2),), item_ids=(), finish=finish())
    ]

    core = new_core()
    start_turn(core)
    failed = turn_completed(status="failed", error={"message": "the model is overloaded"})
    assert core.on_notification(failed, T0 + 5) == [
        Deliver(
            turn_id=TURN,
            messages=(last("❌ <b>The turn failed:</b> the model is overloaded", 5),),
            item_ids=(),
            finish=finish("failed"),
        )
    ]


def test_notifications_before_codex_answers_turn_start_are_delivered_once_the_turn_is_recorded() -> None:
    core = new_core()
    assert core.begin(prompts=[prompt(10)], unfinished=[], attached=True, now=T0) == [
        StartTurn(prompt=prompt(10), cancel_token=token(1))
    ]
    # Codex is quick: the whole turn streams in before the answer to turn/start.
    assert core.on_notification(turn_started(), T0 + 0.1) == []
    assert core.on_notification(item_completed(command("c1")), T0 + 0.2) == []  # not recorded yet
    assert core.on_notification(turn_completed(command("c1"), agent("m1", "Hi.")), T0 + 0.3) == []
    assert core.on_turn_started(10, TURN, T0 + 0.4) == [
        RecordTurn(turn_id=TURN, cancel_token=token(1), update_id=10, user_id=ADA),
        Deliver(
            turn_id=TURN,
            messages=(step(TESTS_PASSED), last("Hi.", 0)),
            item_ids=("c1", "m1"),
            finish=finish(),
        ),
    ]
    assert core.idle


def test_notifications_of_other_threads_and_turns_are_ignored() -> None:
    core = new_core()
    start_turn(core)
    other_thread = decode_notification(
        "item/completed", {"threadId": "another-thread", "turnId": TURN, "item": command("c9")}
    )
    assert core.on_notification(other_thread, T0 + 1) == []
    assert core.on_notification(item_completed(command("c9"), turn_id="turn-0"), T0 + 1) == []
    assert core.on_notification(turn_completed(turn_id="turn-0"), T0 + 1) == []
    assert core.turn is not None


# --- the progress message and "typing" ----------------------------------------------------------------------


def test_a_turn_shorter_than_progress_delay_shows_no_progress_message() -> None:
    core = new_core()
    start_turn(core)
    assert core.tick(T0 + 0.2) == [Typing()]
    assert core.tick(T0 + 0.5) == []
    assert core.on_notification(turn_completed(agent("m1", "Quick one.")), T0 + 0.55) == [
        Deliver(turn_id=TURN, messages=(last("Quick one.", 0),), item_ids=("m1",), finish=finish())
    ]
    assert core.tick(T0 + 1.0) == []  # no turn: nothing to show


def test_a_longer_turn_gets_one_progress_message_edited_at_most_every_interval() -> None:
    core = new_core()
    start_turn(core)
    assert core.on_notification(item_started(running_command("c1")), T0 + 0.1) == []
    assert core.tick(T0 + 0.5) == [Typing()]
    assert core.tick(T0 + 0.7) == [
        ShowProgress(
            turn_id=TURN,
            message=progress("⏳ <b>Working</b> · 0s\n\n💻 Running <code>pytest -q</code>", token(1)),
        )
    ]
    assert core.tick(T0 + 1.2) == []  # it is being sent: no second one, no edit without its id
    assert core.on_progress_shown(TURN, 500) == []
    assert core.on_notification(item_completed(command("c1")), T0 + 1.3) == [
        Deliver(turn_id=TURN, messages=(step(TESTS_PASSED),), item_ids=("c1",))
    ]
    assert core.on_notification(item_started(agent("m1")), T0 + 1.3) == []
    assert core.on_notification(agent_delta("m1", "Reading the code"), T0 + 1.4) == []
    assert core.tick(T0 + 1.6) == []  # changed, but the last edit (the show) was 0.9 s ago
    assert core.tick(T0 + 1.7) == [
        EditProgress(message_id=500, message=progress("⏳ <b>Working</b> · 1s\n\nReading the code", token(1)))
    ]
    assert core.tick(T0 + 3.0) == []  # nothing changed
    assert core.tick(T0 + 4.5) == [Typing()]
    assert core.tick(T0 + 6.7) == [  # nothing changed, but the clock is refreshed every clock_refresh
        EditProgress(message_id=500, message=progress("⏳ <b>Working</b> · 6s\n\nReading the code", token(1)))
    ]
    assert core.on_notification(turn_completed(agent("m1", "Reading the code.")), T0 + 7) == [
        Deliver(
            turn_id=TURN,
            messages=(last("Reading the code.", 7),),
            item_ids=("m1",),
            finish=finish(progress_id=500),  # removed with the delivery
        )
    ]


def test_the_progress_message_is_edited_only_when_what_it_shows_changed() -> None:
    core = new_core(attrs.evolve(CONFIG, progress_interval=0.25))
    start_turn(core)
    show_progress(core, 500, at=T0 + 0.7)
    assert core.on_notification(status_changed(), T0 + 0.8) == []  # news, but nothing the message shows
    assert core.tick(T0 + 0.96) == []  # rendered again: the same text, so no edit
    assert core.on_notification(status_changed("waitingOnApproval"), T0 + 1.0) == []
    assert core.tick(T0 + 1.25) == [
        EditProgress(message_id=500, message=progress("✋ <b>Waiting for an approval</b> · 1s", token(1)))
    ]
    assert core.tick(T0 + 1.6) == []


def test_a_progress_message_sent_as_the_turn_ends_is_removed_when_it_arrives() -> None:
    core = new_core()
    start_turn(core)
    assert [type(e) for e in core.tick(T0 + 0.7)] == [Typing, ShowProgress]
    assert core.on_notification(turn_completed(agent("m1", "Done.")), T0 + 0.9) == [
        Deliver(turn_id=TURN, messages=(last("Done.", 0),), item_ids=("m1",), finish=finish(progress_id=None))
    ]
    assert core.on_progress_shown(TURN, 501) == [RemoveMessage(message_id=501)]
    assert core.on_progress_shown(TURN, 501) == []  # once


def test_typing_is_renewed_every_typing_interval_while_a_turn_runs() -> None:
    core = new_core()
    assert core.tick(T0) == []  # no turn
    assert not core.wants_ticks
    start_turn(core)
    typing = {at: core.tick(T0 + at) for at in (0.0, 0.3, 3.9, 4.0, 7.9, 8.1)}
    assert [at for at, effects in typing.items() if Typing() in effects] == [0.0, 4.0, 8.1]


def test_a_plan_update_shows_in_the_progress_message() -> None:
    core = new_core()
    start_turn(core)
    show_progress(core, 500)
    plan = note(
        "turn/plan/updated",
        turnId=TURN,
        plan=[
            {"step": "Read the code", "status": "completed"},
            {"step": "Fix `parse`", "status": "inProgress"},
        ],
    )
    assert core.on_notification(plan, T0 + 1.0) == []
    assert core.tick(T0 + 1.7) == [
        EditProgress(
            message_id=500,
            message=progress(
                "⏳ <b>Working</b> · 1s\n\n<b>Plan</b>\n✅ Read the code\n▶️ Fix <code>parse</code>", token(1)
            ),
        )
    ]


def test_an_approval_request_is_declined_and_the_chat_told() -> None:
    core = new_core()
    start_turn(core)
    request = decode_server_request(
        "item/commandExecution/requestApproval",
        {
            "threadId": THREAD,
            "turnId": TURN,
            "itemId": "c1",
            "command": "rm -rf build",
            "cwd": CWD,
            "reason": "clean the build",
        },
    )
    approval = PendingApproval(
        request_id=0,
        kind="command",
        turn_id=TURN,
        item_id="c1",
        reason="clean the build",
        command="rm -rf build",
        cwd=CWD,
    )
    assert core.on_server_request(0, request, T0 + 1) == [
        AnswerRequest(request_id=0, result={"decision": "decline"}),
        Say(message=Outgoing(text=views.approval_declined(approval, cwd=CWD))),
    ]


# --- the queue: a prompt during a turn ----------------------------------------------------------------------


def test_a_prompt_during_a_turn_waits_with_a_card_and_starts_when_the_turn_ends() -> None:
    core = new_core()
    start_turn(core)
    assert core.on_prompts([prompt(11)], T0 + 1) == [card(11, 2)]
    assert core.on_card_shown(11, 601) == []
    queued = attrs.evolve(prompt(11), card_token=token(2), card_message_id=601)
    assert core.on_notification(turn_completed(agent("m1", "First.")), T0 + 3) == [
        Deliver(turn_id=TURN, messages=(last("First.", 3),), item_ids=("m1",), finish=finish()),
        StartTurn(prompt=queued, cancel_token=token(3)),
        EditCard(message_id=601, text=views.card_started("message 11")),
    ]
    assert core.on_turn_started(11, "turn-2", T0 + 3.1) == [
        RecordTurn(turn_id="turn-2", cancel_token=token(3), update_id=11, user_id=ADA)
    ]


def test_queued_prompts_wait_in_update_order_and_start_one_turn_at_a_time() -> None:
    core = new_core()
    start_turn(core)
    assert core.on_prompts([prompt(13), prompt(12)], T0 + 1) == [card(12, 2), card(13, 3)]
    [_, start] = core.on_notification(turn_completed(), T0 + 2)
    assert start == StartTurn(prompt=prompt(12, card_token=token(2)), cancel_token=token(4))
    assert core.on_turn_started(12, "turn-2", T0 + 2.1) == [
        RecordTurn(turn_id="turn-2", cancel_token=token(4), update_id=12, user_id=ADA)
    ]
    [_, start] = core.on_notification(turn_completed(turn_id="turn-2"), T0 + 3)
    assert start == StartTurn(prompt=prompt(13, card_token=token(3)), cancel_token=token(5))


def test_a_prompt_handed_over_twice_starts_one_turn() -> None:
    core = new_core()
    # The store's queue at start, and the chat's hand-over of the same prompt, race.
    assert core.begin(prompts=[prompt(10)], unfinished=[], attached=True, now=T0) == [
        StartTurn(prompt=prompt(10), cancel_token=token(1))
    ]
    assert core.on_prompts([prompt(10)], T0) == []
    assert core.on_prompts([prompt(10), prompt(11)], T0 + 0.1) == [card(11, 2)]  # only the new one
    assert core.on_turn_started(10, TURN, T0 + 0.2) == [
        RecordTurn(turn_id=TURN, cancel_token=token(1), update_id=10, user_id=ADA)
    ]
    assert core.on_prompts([prompt(10), prompt(11)], T0 + 0.3) == []  # a reload of the store: nothing new
    assert core.reload() == [LoadPrompts()]


def test_steer_sends_a_queued_prompt_into_the_running_turn() -> None:
    core = new_core()
    start_turn(core)
    queued = queue(core, 11, card_id=601, now=T0 + 1)
    assert core.steer(11, T0 + 2) == [
        SteerTurn(prompt=queued, turn_id=TURN),
        EditCard(message_id=601, text=views.card_steering("message 11")),
    ]
    assert core.steer(11, T0 + 2.1) == []  # pressed twice
    assert core.drop(11, T0 + 2.1) == []  # too late to cancel it: it is on its way
    assert core.on_steered(11, ok=True, error=None, now=T0 + 2.5) == [
        MarkHandled(update_id=11, outcome=f"steered into {TURN}"),
        EditCard(message_id=601, text=views.card_steered("message 11")),
    ]
    assert core.on_notification(turn_completed(agent("m1", "Both done.")), T0 + 4) == [
        Deliver(turn_id=TURN, messages=(last("Both done.", 4),), item_ids=("m1",), finish=finish())
    ]  # and no second turn
    assert core.idle


def test_a_refused_steer_puts_the_prompt_back_and_it_starts_the_next_turn() -> None:
    core = new_core()
    start_turn(core)
    queued = queue(core, 11, card_id=601, now=T0 + 1)
    assert [type(e) for e in core.steer(11, T0 + 2)] == [SteerTurn, EditCard]
    assert core.on_steered(11, ok=False, error="the turn is ending", now=T0 + 2.5) == [
        Requeue(update_id=11),
        EditCard(message_id=601, text=views.card_steer_refused("message 11", "the turn is ending")),
    ]
    assert core.on_notification(turn_completed(), T0 + 3) == [
        Deliver(turn_id=TURN, messages=(last("✅ Done.", 3),), item_ids=(), finish=finish()),
        StartTurn(prompt=queued, cancel_token=token(3)),
        EditCard(message_id=601, text=views.card_started("message 11")),
    ]


def test_steer_with_no_turn_to_steer_into_leaves_the_prompt_queued() -> None:
    core = new_core()
    assert [type(e) for e in core.begin(prompts=[prompt(10)], unfinished=[], attached=True, now=T0)] == [
        StartTurn
    ]
    assert core.on_prompts([prompt(11)], T0 + 0.1) == [card(11, 2)]
    assert core.steer(11, T0 + 0.2) == []  # turn/start not answered yet: nothing to steer into
    assert core.steer(99, T0 + 0.2) == []  # unknown prompt
    assert core.steer(10, T0 + 0.2) == []  # the one being started
    assert core.on_turn_started(10, TURN, T0 + 0.3) == [
        RecordTurn(turn_id=TURN, cancel_token=token(1), update_id=10, user_id=ADA)
    ]
    assert [type(e) for e in core.on_notification(turn_completed(), T0 + 1)] == [Deliver, StartTurn]


def test_drop_takes_a_queued_prompt_off_the_queue() -> None:
    core = new_core()
    start_turn(core)
    queue(core, 11, card_id=601, now=T0 + 1)
    assert core.drop(11, T0 + 2) == [
        MarkHandled(update_id=11, outcome="cancelled by the user"),
        EditCard(message_id=601, text=views.card_dropped("message 11")),
    ]
    assert core.drop(11, T0 + 2.1) == []  # pressed twice
    assert core.on_notification(turn_completed(), T0 + 3) == [
        Deliver(turn_id=TURN, messages=(last("✅ Done.", 3),), item_ids=(), finish=finish())
    ]
    assert core.idle


def test_drop_of_the_prompt_being_started_stops_its_turn() -> None:
    core = new_core()
    start_turn(core)
    queued = queue(core, 11, card_id=601, now=T0 + 1)
    assert core.on_notification(turn_completed(), T0 + 2) == [
        Deliver(turn_id=TURN, messages=(last("✅ Done.", 2),), item_ids=(), finish=finish()),
        StartTurn(prompt=queued, cancel_token=token(3)),
        EditCard(message_id=601, text=views.card_started("message 11")),
    ]
    # The user presses Cancel on the card just as the prompt is being sent.
    assert core.drop(11, T0 + 2.1) == []
    assert core.on_turn_started(11, "turn-2", T0 + 2.5) == [
        RecordTurn(turn_id="turn-2", cancel_token=token(3), update_id=11, user_id=ADA),
        Interrupt(turn_id="turn-2"),
    ]


def test_a_card_shown_after_its_prompt_started_is_edited_when_its_id_arrives() -> None:
    core = new_core()
    start_turn(core)
    assert core.on_prompts([prompt(11)], T0 + 0.1) == [card(11, 2)]  # the card is on its way
    assert [type(e) for e in core.on_notification(turn_completed(), T0 + 0.2)] == [Deliver, StartTurn]
    assert core.on_card_shown(11, 601) == [EditCard(message_id=601, text=views.card_started("message 11"))]


# --- cancel -------------------------------------------------------------------------------------------------


def test_cancel_interrupts_the_running_turn() -> None:
    core = new_core()
    start_turn(core)
    show_progress(core, 500)
    assert core.cancel("turn-0", T0 + 1) == []  # a Cancel button of an older turn
    assert core.cancel(None, T0 + 2) == [
        Interrupt(turn_id=TURN),
        EditProgress(message_id=500, message=progress("⏹ <b>Stopping…</b> · 2s")),  # no Cancel button
    ]
    assert core.cancel(TURN, T0 + 2.5) == []  # once
    assert core.on_interrupted(TURN, ok=True, error=None, now=T0 + 2.6) == []
    assert core.on_notification(turn_completed(status="interrupted"), T0 + 3) == [
        Deliver(
            turn_id=TURN,
            messages=(last("⏹ <b>Stopped.</b>", 3),),
            item_ids=(),
            finish=finish("interrupted", progress_id=500),
        )
    ]


def test_a_turn_codex_interrupts_by_itself_says_so() -> None:
    core = new_core()
    start_turn(core)
    assert core.on_notification(turn_completed(status="interrupted"), T0 + 3) == [
        Deliver(
            turn_id=TURN,
            messages=(last(f"⏹ <b>Stopped.</b> {views.stopped_by_codex()}", 3),),
            item_ids=(),
            finish=finish("interrupted"),
        )
    ]


def test_an_interrupt_codex_refuses_is_said_and_cancel_works_again() -> None:
    core = new_core()
    start_turn(core)
    assert core.cancel(None, T0 + 0.1) == [Interrupt(turn_id=TURN)]  # too young for a progress message
    assert core.on_interrupted(TURN, ok=False, error="no running turn", now=T0 + 0.2) == [
        Say(message=Outgoing(text=views.cannot_stop("no running turn")), durable=False)
    ]
    assert core.cancel(None, T0 + 0.3) == [Interrupt(turn_id=TURN)]


def test_cancel_before_turn_start_is_answered_interrupts_the_turn_as_soon_as_its_id_is_known() -> None:
    core = new_core()
    assert [type(e) for e in core.begin(prompts=[prompt(10)], unfinished=[], attached=True, now=T0)] == [
        StartTurn
    ]
    assert core.cancel(None, T0 + 0.1) == []
    assert core.on_turn_started(10, TURN, T0 + 0.2) == [
        RecordTurn(turn_id=TURN, cancel_token=token(1), update_id=10, user_id=ADA),
        Interrupt(turn_id=TURN),
    ]
    assert core.cancel(None, T0 + 0.3) == []


def test_cancel_after_turn_started_but_before_the_answer_interrupts_once_answered() -> None:
    core = new_core()
    core.begin(prompts=[prompt(10)], unfinished=[], attached=True, now=T0)
    assert core.on_notification(turn_started(), T0 + 0.1) == []  # the id is known, the turn not recorded
    assert core.cancel(TURN, T0 + 0.2) == []
    assert core.on_turn_started(10, TURN, T0 + 0.3) == [
        RecordTurn(turn_id=TURN, cancel_token=token(1), update_id=10, user_id=ADA),
        Interrupt(turn_id=TURN),
    ]


def test_cancel_with_no_turn_keeps_the_prompt_waiting_for_codex_from_being_sent() -> None:
    core = new_core()
    assert core.begin(prompts=[], unfinished=[], attached=True, now=T0) == []
    assert core.cancel(None, T0) == []  # nothing at all: nothing to do
    assert core.on_disconnected(T0 + 1) == []
    assert core.on_prompts([prompt(10)], T0 + 2) == [away()]
    assert core.on_prompts([prompt(11)], T0 + 3) == []  # told once
    assert core.cancel(None, T0 + 4) == []
    assert core.on_reconnected(resumed=True, now=T0 + 5) == [
        MarkHandled(
            update_id=10,
            outcome="cancelled by the user before it started",
            message=Outgoing(text=views.cancelled_before_start()),
        ),
        StartTurn(prompt=prompt(11), cancel_token=token(1)),
    ]


def test_cancel_with_no_turn_is_forgotten_when_the_prompt_it_stopped_is_gone() -> None:
    core = new_core()
    core.begin(prompts=[], unfinished=[], attached=True, now=T0)
    core.on_disconnected(T0 + 1)
    assert core.on_prompts([prompt(10)], T0 + 2) == [away()]
    assert core.cancel(None, T0 + 3) == []
    assert core.drop(10, T0 + 4) == [MarkHandled(update_id=10, outcome="cancelled by the user")]
    assert core.on_reconnected(resumed=True, now=T0 + 5) == []
    assert core.on_prompts([prompt(11)], T0 + 100) == [StartTurn(prompt=prompt(11), cancel_token=token(1))]


def test_cancel_during_a_start_that_finds_codex_away_keeps_that_prompt_from_being_sent() -> None:
    core = new_core()
    core.begin(prompts=[prompt(10)], unfinished=[], attached=True, now=T0)
    assert core.cancel(None, T0 + 0.1) == []
    assert core.on_turn_start_failed(10, failure="unavailable", error="not connected", now=T0 + 0.2) == [
        Requeue(update_id=10),
        away(),
    ]
    effects = core.on_reconnected(resumed=True, now=T0 + 5)
    assert not [e for e in effects if isinstance(e, StartTurn)]


def test_cancel_during_an_uncertain_start_that_did_not_land_keeps_that_prompt_from_being_sent() -> None:
    core = new_core()
    core.begin(prompts=[prompt(10)], unfinished=[], attached=True, now=T0)
    assert core.cancel(None, T0 + 0.1) == []
    assert core.on_turn_start_failed(10, failure="uncertain", error="timed out", now=T0 + 0.2) == [
        ReadThread()
    ]
    effects = core.on_read(codex_thread(), None, T0 + 1)
    assert not [e for e in effects if isinstance(e, StartTurn)]


def test_cancel_during_an_uncertain_start_that_landed_interrupts_its_turn() -> None:
    core = new_core()
    core.begin(prompts=[prompt(10)], unfinished=[], attached=True, now=T0)
    assert core.cancel(None, T0 + 0.1) == []
    assert core.on_turn_start_failed(10, failure="uncertain", error="timed out", now=T0 + 0.2) == [
        ReadThread()
    ]
    effects = core.on_read(codex_thread(wire_turn(TURN, user_message(10))), None, T0 + 1)
    assert Interrupt(turn_id=TURN) in effects


# --- turn/start failures ------------------------------------------------------------------------------------


def test_a_refused_prompt_is_handled_with_the_refusal_and_the_next_one_goes() -> None:
    core = new_core()
    assert core.begin(prompts=[prompt(10), prompt(11)], unfinished=[], attached=True, now=T0) == [
        StartTurn(prompt=prompt(10), cancel_token=token(1)),
        card(11, 2),
    ]
    assert core.on_card_shown(11, 601) == []
    assert core.on_turn_start_failed(10, failure="refused", error="input too long", now=T0 + 0.5) == [
        MarkHandled(
            update_id=10,
            outcome="refused by Codex: input too long",
            message=Outgoing(text=views.codex_refused("input too long"), notify=True),
        ),
        StartTurn(prompt=prompt(11, card_token=token(2), card_message_id=601), cancel_token=token(3)),
        EditCard(message_id=601, text=views.card_started("message 11")),
    ]


def test_a_prompt_codex_was_not_there_for_is_requeued_and_the_user_told_once() -> None:
    core = new_core()
    core.begin(prompts=[prompt(10)], unfinished=[], attached=True, now=T0)
    assert core.on_turn_start_failed(10, failure="unavailable", error="not connected", now=T0 + 0.1) == [
        Requeue(update_id=10),
        away(),
    ]
    assert core.on_prompts([prompt(11)], T0 + 1) == []  # told already
    assert core.on_turn_start_failed(10, failure="unavailable", error="again", now=T0 + 1) == []  # stale
    assert core.on_reconnected(resumed=True, now=T0 + 5) == [
        StartTurn(prompt=prompt(10), cancel_token=token(2)),
        card(11, 3),
    ]


def test_an_uncertain_start_found_in_the_thread_is_recorded_as_its_turn_and_delivered() -> None:
    core = new_core()
    core.begin(prompts=[prompt(10)], unfinished=[], attached=True, now=T0)
    assert core.on_turn_start_failed(10, failure="uncertain", error="timed out", now=T0 + 60) == [
        ReadThread()
    ]
    assert core.drop(10, T0 + 61) == []  # it may have landed: the read decides
    landed = wire_turn(
        TURN, user_message(10), command("c1"), agent("m1", "Done."), status="completed", durationMs=4000
    )
    assert core.on_read(codex_thread(landed), None, T0 + 62) == [
        RecordTurn(turn_id=TURN, cancel_token=token(2), update_id=10, user_id=ADA),
        Deliver(
            turn_id=TURN,
            messages=(step(TESTS_PASSED), last("Done.", 4)),
            item_ids=("c1", "m1"),
            finish=finish(),
        ),
    ]
    assert core.idle


def test_an_uncertain_start_found_running_is_adopted_and_streams_on() -> None:
    core = new_core()
    core.begin(prompts=[prompt(10), prompt(11)], unfinished=[], attached=True, now=T0)
    assert core.on_turn_start_failed(10, failure="uncertain", error="timed out", now=T0 + 60) == [
        ReadThread()
    ]
    landed = wire_turn(TURN, user_message(10), command("c1"), agent("m1", "Now"), startedAt=int(T0))
    assert core.on_read(codex_thread(landed), None, T0 + 62) == [
        RecordTurn(turn_id=TURN, cancel_token=token(3), update_id=10, user_id=ADA),
        Deliver(turn_id=TURN, messages=(step(TESTS_PASSED),), item_ids=("c1",)),
    ]
    assert core.on_notification(item_completed(agent("m1", "Now done.")), T0 + 63) == []
    assert core.on_notification(turn_completed(agent("m1", "Now done.")), T0 + 64) == [
        Deliver(turn_id=TURN, messages=(last("Now done.", 64),), item_ids=("m1",), finish=finish()),
        StartTurn(prompt=prompt(11, card_token=token(2)), cancel_token=token(4)),
    ]


def test_an_uncertain_start_not_found_in_the_thread_is_requeued_and_sent() -> None:
    core = new_core()
    core.begin(prompts=[prompt(10)], unfinished=[], attached=True, now=T0)
    assert core.on_turn_start_failed(10, failure="uncertain", error="timed out", now=T0 + 60) == [
        ReadThread()
    ]
    assert core.on_read(codex_thread(), None, T0 + 61) == [
        Requeue(update_id=10),
        StartTurn(prompt=prompt(10), cancel_token=token(2)),
    ]


def test_an_uncertain_start_whose_turn_was_announced_is_simply_started() -> None:
    core = new_core()
    core.begin(prompts=[prompt(10)], unfinished=[], attached=True, now=T0)
    assert core.on_notification(turn_started(), T0 + 0.1) == []
    assert core.on_turn_start_failed(10, failure="uncertain", error="timed out", now=T0 + 60) == [
        RecordTurn(turn_id=TURN, cancel_token=token(1), update_id=10, user_id=ADA)
    ]


def test_a_thread_codex_lost_hands_its_queued_prompts_over() -> None:
    core = new_core()
    core.begin(prompts=[prompt(10), prompt(11)], unfinished=[], attached=True, now=T0)
    assert core.on_turn_start_failed(10, failure="gone", error="thread not found", now=T0 + 0.1) == [
        ThreadLost(prompts=(10, 11))
    ]
    assert core.on_prompts([prompt(12)], T0 + 1) == []  # nothing more starts on a lost thread


def test_a_thread_gone_at_resume_delivers_its_unfinished_turn_as_lost() -> None:
    core = new_core()
    assert core.begin(prompts=[prompt(11)], unfinished=[unfinished()], attached=False, now=T0 + 30) == [
        Resume()
    ]
    assert core.on_resumed(ok=False, gone=True, now=T0 + 31) == [
        Deliver(
            turn_id=TURN,
            messages=(last(views.turn_lost(), 31),),
            item_ids=(),
            finish=finish(TURN_LOST, progress_id=400),
        ),
        ThreadLost(prompts=(11,)),
    ]


# --- restart: turns an earlier process left unfinished ------------------------------------------------------


def test_a_turn_that_completed_while_the_bot_was_away_is_delivered_once_from_codex_record() -> None:
    core = new_core()
    assert core.begin(prompts=[], unfinished=[unfinished(sent=("c1",))], attached=False, now=T0 + 100) == [
        Resume()
    ]
    assert core.on_resumed(ok=True, gone=False, now=T0 + 101) == [ReadThread()]
    done = wire_turn(
        TURN,
        user_message(10),
        command("c1"),
        command("c2"),
        agent("m1", "All green."),
        status="completed",
        durationMs=42_000,
    )
    assert core.on_read(codex_thread(done), None, T0 + 102) == [
        Deliver(
            turn_id=TURN,
            messages=(step(TESTS_PASSED), last("All green.", 42)),  # c1 went out before the restart
            item_ids=("c2", "m1"),
            finish=finish(progress_id=400),
        )
    ]
    assert core.idle
    assert core.on_events_lost(T0 + 103) == [ReadThread()]
    assert core.on_read(codex_thread(done), None, T0 + 104) == []  # once
    assert core.on_notification(turn_completed(agent("m1", "All green.")), T0 + 105) == []  # late: ignored


def test_a_turn_still_running_after_a_restart_is_adopted_and_streams_on() -> None:
    core = new_core()
    waiting, left = [prompt(11)], [unfinished(sent=("c1",))]
    assert core.begin(prompts=waiting, unfinished=left, attached=False, now=T0 + 50) == [Resume()]
    assert core.on_resumed(ok=True, gone=False, now=T0 + 50) == [ReadThread()]
    running = wire_turn(TURN, user_message(10), command("c1"), command("c2"), agent("m1", "Half"))
    assert core.on_read(codex_thread(running), None, T0 + 50.2) == [
        Deliver(turn_id=TURN, messages=(step(TESTS_PASSED),), item_ids=("c2",)),
        card(11, 1),  # the prompt waiting since before the restart now waits for this turn
    ]
    # The progress message the earlier process sent is edited (with its Cancel button).
    assert core.tick(T0 + 50.5) == [
        Typing(),
        EditProgress(message_id=400, message=progress("⏳ <b>Working</b> · 50s\n\nHalf", OLD_TOKEN)),
    ]
    assert core.on_notification(item_completed(agent("m1", "Half way.")), T0 + 51) == []
    assert core.on_notification(turn_completed(agent("m1", "Half way.")), T0 + 53) == [
        Deliver(
            turn_id=TURN, messages=(last("Half way.", 53),), item_ids=("m1",), finish=finish(progress_id=400)
        ),
        StartTurn(prompt=prompt(11, card_token=token(1)), cancel_token=token(2)),
    ]


def test_a_turn_codex_has_no_trace_of_after_a_restart_is_delivered_as_lost() -> None:
    core = new_core()
    core.begin(prompts=[], unfinished=[unfinished(sent=("c1",))], attached=False, now=T0 + 20)
    assert core.on_resumed(ok=True, gone=False, now=T0 + 20) == [ReadThread()]
    assert core.on_read(codex_thread(wire_turn("turn-0", status="completed")), None, T0 + 21) == [
        Deliver(
            turn_id=TURN,
            messages=(last(views.turn_lost(), 21),),
            item_ids=(),
            finish=finish(TURN_LOST, progress_id=400),
        )
    ]
    assert core.idle


def test_a_prompt_that_may_have_been_sent_before_a_restart_is_looked_up_before_it_is_sent_again() -> None:
    core = new_core()
    core.begin(prompts=[prompt(10, starting=True), prompt(11)], unfinished=[], attached=False, now=T0)
    assert core.on_resumed(ok=True, gone=False, now=T0 + 1) == [ReadThread()]
    assert core.on_read(codex_thread(), "thread not loaded", T0 + 2) == [  # not loaded: no turns saved yet
        Requeue(update_id=10),
        StartTurn(prompt=prompt(10), cancel_token=token(1)),
        card(11, 2),
    ]


def test_news_of_a_running_turn_before_the_read_after_a_restart_does_not_lose_it() -> None:
    core = new_core()
    core.begin(prompts=[], unfinished=[unfinished()], attached=False, now=T0 + 10)
    assert core.on_resumed(ok=True, gone=False, now=T0 + 10) == [ReadThread()]
    core.on_notification(agent_delta("m1", "still "), T0 + 10.5)  # resumed: the turn streams on
    effects = core.on_read(codex_thread(wire_turn(TURN, agent("m1", "still"))), None, T0 + 11)
    assert not [e for e in effects if isinstance(e, Deliver) and e.finish is not None]


def test_a_failed_read_is_retried_before_another_turn_starts() -> None:
    core = new_core()
    core.begin(prompts=[prompt(11)], unfinished=[unfinished()], attached=False, now=T0 + 10)
    core.on_resumed(ok=True, gone=False, now=T0 + 10)
    assert core.on_read(None, "thread/read timed out after 60s", T0 + 70) == []
    assert ReadThread() in core.on_prompts([prompt(12)], T0 + 80)


def test_failed_reads_are_retried_with_a_growing_delay_then_the_thread_is_reconciled() -> None:
    core = new_core()
    core.begin(prompts=[], unfinished=[unfinished()], attached=False, now=T0 + 10)
    assert core.on_resumed(ok=True, gone=False, now=T0 + 10) == [ReadThread()]
    assert core.on_read(None, "timed out", T0 + 20) == []
    assert core.tick(T0 + 21.9) == []
    assert core.tick(T0 + 22) == [ReadThread()]  # after 2 s
    assert core.on_read(None, "timed out", T0 + 30) == []
    assert core.tick(T0 + 33.9) == []
    assert core.tick(T0 + 34) == [ReadThread()]  # after 4 s
    done = wire_turn(TURN, agent("m1", "Done."), status="completed")
    effects = core.on_read(codex_thread(done), None, T0 + 35)
    assert [type(e) for e in effects] == [Deliver]
    assert core.idle


def test_a_read_that_says_the_thread_is_gone_hands_its_prompts_over() -> None:
    core = new_core()
    core.begin(prompts=[prompt(11)], unfinished=[unfinished()], attached=False, now=T0 + 10)
    core.on_resumed(ok=True, gone=False, now=T0 + 10)
    effects = core.on_read(None, "thread not found", T0 + 11, gone=True)
    assert [type(e) for e in effects] == [Deliver, ThreadLost]
    assert effects[-1] == ThreadLost(prompts=(11,))


# --- losing Codex mid-turn ----------------------------------------------------------------------------------


def test_losing_codex_mid_turn_says_so_and_reading_the_thread_on_reconnect_delivers_the_turn() -> None:
    core = new_core()
    start_turn(core)
    show_progress(core, 500)
    assert core.on_disconnected(T0 + 2) == [
        Say(message=Outgoing(text=views.codex_lost_mid_turn()), durable=False),
        EditProgress(
            message_id=500, message=progress("⚠️ <b>Waiting for Codex to come back</b> · 2s", token(1))
        ),
    ]
    assert core.tick(T0 + 5) == []  # no "typing" while Codex is away
    assert core.on_prompts([prompt(11)], T0 + 5) == [away()]  # queued; no card while Codex is away
    assert core.on_reconnected(resumed=True, now=T0 + 6) == [ReadThread()]
    done = wire_turn(TURN, command("c1"), agent("m1", "Finished while away."), status="completed")
    assert core.on_read(codex_thread(done), None, T0 + 7) == [
        Deliver(
            turn_id=TURN,
            messages=(step(TESTS_PASSED), last("Finished while away.", 7)),
            item_ids=("c1", "m1"),
            finish=finish(progress_id=500),
        ),
        StartTurn(prompt=prompt(11), cancel_token=token(2)),
    ]


def test_a_turn_still_running_after_a_reconnect_streams_on() -> None:
    core = new_core()
    start_turn(core)
    assert core.on_disconnected(T0 + 0.3) == [  # too young for a progress message
        Say(message=Outgoing(text=views.codex_lost_mid_turn()), durable=False)
    ]
    assert core.on_reconnected(resumed=True, now=T0 + 3) == [ReadThread()]
    assert core.on_read(None, "connection closed", T0 + 3.1) == []  # away again: the next reconnect reads
    assert core.on_reconnected(resumed=True, now=T0 + 4) == [ReadThread()]
    running = wire_turn(TURN, command("c1"), agent("m1", "More"))
    assert core.on_read(codex_thread(running), None, T0 + 4.1) == [
        Deliver(turn_id=TURN, messages=(step(TESTS_PASSED),), item_ids=("c1",))
    ]
    assert core.tick(T0 + 4.2) == [
        Typing(),
        ShowProgress(turn_id=TURN, message=progress("⏳ <b>Working</b> · 4s\n\nMore", token(1))),
    ]
    assert core.on_notification(turn_completed(agent("m1", "More done.")), T0 + 5) == [
        Deliver(turn_id=TURN, messages=(last("More done.", 5),), item_ids=("m1",), finish=finish())
    ]


def test_a_turn_codex_forgot_while_the_bot_was_disconnected_is_delivered_as_lost() -> None:
    core = new_core()
    start_turn(core)
    assert core.on_notification(item_completed(command("c1")), T0 + 0.2) == [
        Deliver(turn_id=TURN, messages=(step(TESTS_PASSED),), item_ids=("c1",))
    ]
    core.on_disconnected(T0 + 0.3)
    assert core.on_reconnected(resumed=True, now=T0 + 9) == [ReadThread()]
    assert core.on_read(codex_thread(), None, T0 + 10) == [  # Codex restarted before saving the turn
        Deliver(
            turn_id=TURN,
            messages=(last(views.turn_lost(), 10),),
            item_ids=(),
            finish=finish(TURN_LOST),
        )
    ]
    assert core.idle


def test_a_resume_codex_cannot_do_leaves_prompts_waiting_until_it_is_back() -> None:
    core = new_core()
    assert core.begin(prompts=[prompt(10)], unfinished=[], attached=False, now=T0) == [Resume()]
    assert core.on_resumed(ok=False, gone=False, now=T0 + 1) == [away()]
    assert core.on_reconnected(resumed=True, now=T0 + 9) == [
        StartTurn(prompt=prompt(10), cancel_token=token(1))
    ]


def test_a_running_turn_is_read_again_after_the_core_resumes_the_thread_itself() -> None:
    core = new_core()
    start_turn(core)
    core.on_disconnected(T0 + 1)
    assert core.on_reconnected(resumed=False, now=T0 + 5) == [Resume()]
    assert core.on_resumed(ok=True, gone=False, now=T0 + 6) == [ReadThread()]


# --- the answer to turn/start and the turn's notifications, in either order ---------------------------------
# The actor feeds the core from three pumps, so the result of its turn/start call and Codex's notifications of
# the turn it started reach the core in either order. When the call fails "uncertain" (a timeout, or the
# connection dropped after the request was written) Codex may well have started the turn, and its news can
# come after the failure: that turn is the prompt's own, and the prompt must never be sent a second time.

TIMED_OUT = "Codex unavailable: turn/start got no answer within 30 s"


def turn_stream(update_id: int) -> list[n.CodexNotification]:
    """A whole turn as codex 0.169.0 streams it, from turn/started to turn/completed."""
    return [
        note("thread/status/changed", status={"type": "active", "activeFlags": []}),
        turn_started(),
        item_started(user_message(update_id)),
        item_completed(user_message(update_id)),
        item_started(agent("m1")),
        agent_delta("m1", "Hello"),
        item_completed(agent("m1", "Hello")),
        note("thread/status/changed", status={"type": "idle"}),
        note("turn/completed", turn=wire_turn(TURN, agent("m1", "Hello"), status="completed")),
    ]


def started_and_timed_out(core: ThreadCore) -> None:
    """Prompt 10 is sent; the call's answer never comes back in time (the turn did start on Codex)."""
    assert core.begin(prompts=[prompt(10)], unfinished=[], attached=True, now=T0) == [
        StartTurn(prompt=prompt(10), cancel_token=token(1))
    ]
    assert core.on_turn_start_failed(10, failure="uncertain", error=TIMED_OUT, now=T0 + 30) == [ReadThread()]


def of_type(effects: list[Effect], kind: type[Any]) -> list[Any]:
    return [e for e in effects if isinstance(e, kind)]


def test_turn_started_after_an_uncertain_start_is_the_prompts_turn() -> None:
    # Recorded with the prompt's update id, not as "a turn we did not start".
    core = new_core()
    started_and_timed_out(core)
    effects = core.on_notification(turn_started(), T0 + 30.1)
    assert of_type(effects, RecordTurn) == [
        RecordTurn(turn_id=TURN, cancel_token=token(1), update_id=10, user_id=ADA)
    ]


def test_an_uncertain_start_never_starts_the_prompt_twice_when_the_read_is_late() -> None:
    # The notifications prove that turn/start landed: the turn is delivered as prompt 10's, and prompt 10 is
    # neither requeued nor sent again, even if the read then lists no turn.
    core = new_core()
    started_and_timed_out(core)
    effects: list[Effect] = []
    for notification in turn_stream(10):
        effects += core.on_notification(notification, T0 + 30.1)
    effects += core.on_read(codex_thread(), None, T0 + 30.2)
    assert of_type(effects, RecordTurn) == [
        RecordTurn(turn_id=TURN, cancel_token=token(1), update_id=10, user_id=ADA)
    ]
    assert [d.turn_id for d in of_type(effects, Deliver) if d.finish is not None] == [TURN]
    assert of_type(effects, Requeue) == []
    assert of_type(effects, StartTurn) == []
    assert core.idle


def test_an_uncertain_start_found_by_the_read_is_not_a_steer() -> None:
    core = new_core()
    started_and_timed_out(core)
    effects = core.on_notification(turn_started(), T0 + 30.1)
    effects += core.on_read(codex_thread(wire_turn(TURN, user_message(10))), None, T0 + 30.2)
    assert of_type(effects, RecordTurn) == [
        RecordTurn(turn_id=TURN, cancel_token=token(1), update_id=10, user_id=ADA)
    ]
    assert of_type(effects, MarkHandled) == []
    assert of_type(effects, StartTurn) == []


def test_an_uncertain_start_that_did_not_land_is_sent_again_once() -> None:
    core = new_core()
    started_and_timed_out(core)
    effects = core.on_read(codex_thread(), None, T0 + 30.2)
    assert of_type(effects, Requeue) == [Requeue(update_id=10)]
    assert [s.prompt.update_id for s in of_type(effects, StartTurn)] == [10]
    assert of_type(effects, RecordTurn) == []
