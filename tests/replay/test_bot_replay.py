"""Layer 3: every transcript played through the real ThreadActor, its Telegram output compared with a golden
file (``tests/golden/replay/<name>.txt``), and what must hold for every conversation checked; and proof that
a wrong decision of the bot, or a call the recording does not hold, makes the replay fail."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from codexgram.actors import thread_actor
from codexgram.chat.thread_core import ThreadCore
from codexgram.chat.thread_effects import Deliver, Effect
from codexgram.messages import DeleteMessage, EditMessageText, SendMessage
from codexgram.replay.bot_replay import (
    BotReplayFailed,
    BotReplayResult,
    BotReplayUnsupported,
    OutboxEntry,
    StoreFacts,
    bot_recorded,
    bot_script,
    replay_bot,
)
from codexgram.replay.transcript import Frame, Transcript, load_transcript
from codexgram.telegram.keyboards import cancel_keyboard
from codexgram.testing.golden import UPDATE_ENV, GoldenMismatch, assert_golden

TRANSCRIPT_DIR = Path(__file__).parent / "transcripts"
TRANSCRIPTS = sorted(TRANSCRIPT_DIR.glob("*.jsonl"))


def golden_name(path: Path) -> str:
    return f"replay/{path.stem}"


def transcript(name: str) -> Transcript:
    return load_transcript(TRANSCRIPT_DIR / f"{name}.jsonl")


def sends(result: BotReplayResult) -> list[SendMessage]:
    return [e.request for e in result.outbox if isinstance(e.request, SendMessage)]


# --- every transcript ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
async def test_every_transcript_through_the_thread_actor(
    path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    result = await replay_bot(load_transcript(path))
    result.check()  # played green, and every invariant of bot_replay.INVARIANTS holds
    turns = result.store.turns
    assert turns
    assert all(turn.delivered for turn in turns)
    finals = [m for m in sends(result) if not m.disable_notification]
    assert len(finals) == len(turns)  # each turn's final message exactly once
    assert_golden(golden_name(path), result.render())


async def test_a_bot_recorded_transcript_has_the_bots_own_calls() -> None:
    """Why the committed transcripts were recorded through the bot: after the reconnect the bot reads the
    thread back (thread/read), which a scripted client never did; the replay answers it as recorded."""
    reconnect = transcript("reconnect-mid-turn")
    assert bot_recorded(reconnect)
    assert "thread/read" in [f.method for f in reconnect.sent()]
    assert not bot_recorded(transcript("interrupt-pending-approval"))  # the one scripted client


async def test_the_users_actions_come_from_the_recording() -> None:
    restart = bot_script(transcript("server-restart-new-turn"))
    assert [(a.kind, a.text, a.update_id) for a in restart.actions] == [
        ("message", "Remember me", 1000),
        ("message", "Still there after the restart?", 1001),
    ]
    assert restart.session.sandbox == "workspace-write"
    interrupt = bot_script(transcript("interrupt-slow-stream"))
    assert [a.kind for a in interrupt.actions] == ["message", "cancel"]
    untrusted = bot_script(transcript("file-change-approved"))
    assert untrusted.session.approval_policy == "untrusted"
    scripted = bot_script(transcript("interrupt-pending-approval"))
    assert [(a.kind, a.update_id) for a in scripted.actions] == [("message", None), ("cancel", None)]


async def test_a_steer_is_not_replayed_yet() -> None:
    frames = [*transcript("plain-turn").frames]
    steer = Frame(dir="send", t=9.0, msg={"id": 99, "method": "turn/steer", "params": {"input": []}})
    with pytest.raises(BotReplayUnsupported, match="turn/steer"):
        bot_script(Transcript(name="steer", frames=(*frames, steer)))


# --- a wrong decision fails ---------------------------------------------------------------------------------


def sabotage(monkeypatch: pytest.MonkeyPatch, change: Callable[[list[Effect]], list[Effect]]) -> None:
    """Make the thread actor run a core whose decisions on Codex notifications go through ``change``."""

    class Sabotaged(ThreadCore):
        def on_notification(self, note: Any, now: float) -> list[Effect]:
            return change(super().on_notification(note, now))

    monkeypatch.setattr(thread_actor, "ThreadCore", Sabotaged)


def deliver_final_twice(effects: list[Effect]) -> list[Effect]:
    """The turn's last messages go out once more, before the delivery that ends the turn (the store's
    guard against a second delivery of an ended turn does not see this one)."""
    out: list[Effect] = []
    for effect in effects:
        if isinstance(effect, Deliver) and effect.finish is not None:
            out.append(attrs.evolve(effect, finish=None, item_ids=()))
        out.append(effect)
    return out


def drop_final(effects: list[Effect]) -> list[Effect]:
    return [e for e in effects if not (isinstance(e, Deliver) and e.finish is not None)]


@pytest.mark.parametrize(
    ("change", "broken"),
    [
        (deliver_final_twice, "2 notifying message(s) for 1 turn(s)"),
        (drop_final, "is not delivered"),
    ],
    ids=["final-delivered-twice", "final-missing"],
)
async def test_a_wrong_decision_fails_the_golden_and_the_invariants(
    change: Callable[[list[Effect]], list[Effect]],
    broken: str,
    monkeypatch: pytest.MonkeyPatch,
    autojump_clock: trio.testing.MockClock,
) -> None:
    sabotage(monkeypatch, change)
    monkeypatch.delenv(UPDATE_ENV, raising=False)  # never write a golden from a sabotaged bot
    path = TRANSCRIPT_DIR / "plain-turn.jsonl"
    result = await replay_bot(load_transcript(path))
    assert not result.ok
    assert any(broken in v for v in result.violations())
    with pytest.raises(BotReplayFailed, match="each turn's final message"):
        result.check()
    with pytest.raises(GoldenMismatch):
        assert_golden(golden_name(path), result.render())


async def test_a_call_the_recording_does_not_hold_fails(autojump_clock: trio.testing.MockClock) -> None:
    """Without the recorded thread/read, the bot's read after the reconnect is refused and a mismatch."""
    recorded = transcript("reconnect-mid-turn")
    read = next(i for i, f in enumerate(recorded.frames) if f.method == "thread/read")
    answer = next(
        i
        for i, f in enumerate(recorded.frames)
        if i > read
        and f.dir == "recv"
        and f.kind in ("response", "error")
        and f.id == recorded.frames[read].id
    )
    frames = tuple(f for i, f in enumerate(recorded.frames) if i not in (read, answer))
    result = await replay_bot(Transcript(name="no-read", frames=frames))
    assert not result.ok
    assert any("unexpected request thread/read" in str(m) for m in result.mismatches)


async def test_params_that_differ_from_a_bot_recording_fail(autojump_clock: trio.testing.MockClock) -> None:
    recorded = transcript("interrupt-slow-stream")
    frames = list(recorded.frames)
    index = next(i for i, f in enumerate(frames) if f.method == "turn/interrupt")
    msg = json.loads(json.dumps(frames[index].msg))
    msg["params"]["turnId"] = "not-the-running-turn"
    frames[index] = attrs.evolve(frames[index], msg=msg)
    result = await replay_bot(Transcript(name="other-params", frames=tuple(frames)))
    assert not result.ok
    [problem] = [v for v in result.violations() if "params differ" in v]
    assert "turn/interrupt" in problem
    assert "not-the-running-turn" in problem


async def test_the_one_allowance_is_shown_in_the_golden(autojump_clock: trio.testing.MockClock) -> None:
    """The scripted client interrupted with the approval pending; the bot declined it at once. The answer
    is let through (the recording has none to compare with), and the golden file says so."""
    result = await replay_bot(transcript("interrupt-pending-approval"))
    result.check()
    [note] = result.notes
    assert "'decision': 'decline'" in note
    assert "replay notes" in result.render()
    assert "Declined" in sends(result)[0].text  # the bot's own line for a decline, not a replayed one


# --- the invariants themselves ------------------------------------------------------------------------------


def result_of(entries: Sequence[OutboxEntry]) -> BotReplayResult:
    return BotReplayResult(
        transcript=Transcript(name="made-up", frames=()),
        log=tuple(entries),
        mismatches=(),
        notes=(),
        problems=(),
        finished=True,
        store=StoreFacts(turns=(), unhandled_inbox=(), outbox_rows=0),
    )


def test_a_progress_message_left_with_its_cancel_button_is_a_violation() -> None:
    progress = SendMessage(
        chat_id=1,
        text="⏳ Working",
        reply_markup=cancel_keyboard("replaytoken00001"),
        disable_notification=True,
    )
    left = [OutboxEntry(at=0.0, request=progress, message_id=7)]
    assert result_of(left).violations() == ["message #7 is left with a Cancel button"]
    deleted = [*left, OutboxEntry(at=1.0, request=DeleteMessage(chat_id=1, message_id=7))]
    assert result_of(deleted).violations() == []
    folded = [*left, OutboxEntry(at=1.0, request=EditMessageText(chat_id=1, message_id=7, text="done"))]
    assert result_of(folded).violations() == []


def test_html_telegram_refuses_is_a_violation() -> None:
    broken = [OutboxEntry(at=0.0, request=SendMessage(chat_id=1, text="<b>open", disable_notification=True))]
    [problem] = result_of(broken).violations()
    assert "Telegram would refuse this HTML" in problem
