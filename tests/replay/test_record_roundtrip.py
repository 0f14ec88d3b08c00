"""Record every scenario from the real codex binary now, then replay the fresh transcript through the link.

This keeps the recording driver honest in CI (it is what produced the committed transcripts), checks the
scenarios still behave as documented with the pinned binary, and that a fresh recording replays green: through
the link, and (a scenario the bot drove) through the bot, in virtual time, with every invariant kept.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing

from codexgram.replay.bot_replay import BotReplayResult, replay_bot
from codexgram.replay.harness import replay_transcript
from codexgram.replay.record import SCENARIOS, Scenario, record_scenario
from codexgram.replay.transcript import Transcript, load_transcript
from codexgram.testing.codex_server import AppServerError, find_codex_binary

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def codex_binary() -> Path:
    try:
        return find_codex_binary()
    except AppServerError as exc:
        pytest.fail(str(exc), pytrace=False)


def turn_statuses(transcript: Transcript) -> list[str]:
    completed = [f for f in transcript.received() if f.method == "turn/completed"]
    return [str(f.msg["params"]["turn"]["status"]) for f in completed]


def completed_items(transcript: Transcript, item_type: str) -> list[dict[str, object]]:
    return [
        f.msg["params"]["item"]
        for f in transcript.received()
        if f.method == "item/completed" and f.msg["params"]["item"]["type"] == item_type
    ]


EXPECTED_STATUSES = {
    "plain-turn": ["completed"],
    "command-approved": ["completed"],
    "command-declined": ["completed"],
    "file-change-approved": ["completed"],
    "interrupt-slow-stream": ["interrupted"],
    "interrupt-pending-approval": ["interrupted"],
    "reconnect-mid-turn": ["completed"],
    "server-restart-new-turn": ["completed", "completed"],
    "upstream-failure": ["failed"],
}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_record_then_replay(scenario: Scenario, codex_binary: Path, tmp_path: Path) -> None:
    path = await record_scenario(
        scenario, codex_bin=codex_binary, out_dir=tmp_path, sandbox_root=tmp_path / "sandbox"
    )
    transcript = load_transcript(path)
    assert turn_statuses(transcript) == EXPECTED_STATUSES[scenario.name]
    workspace = tmp_path / "sandbox" / "workspace"
    if scenario.name == "command-approved":
        [command] = completed_items(transcript, "commandExecution")
        assert command["status"] == "completed"
        assert "approved-run" in str(command["aggregatedOutput"])
    if scenario.name == "command-declined":
        [command] = completed_items(transcript, "commandExecution")
        assert command["status"] == "declined"
    if scenario.name in ("reconnect-mid-turn", "server-restart-new-turn"):
        assert len(transcript.connections()) == 2
    if scenario.name == "file-change-approved":
        assert (workspace / "notes.txt").read_text() == "hello from codex\n"
    result = await replay_transcript(transcript, time_scale=0.0, timeout=30)
    result.check()
    if scenario.driver == "bot":
        bot = await trio.to_thread.run_sync(replay_through_the_bot, transcript)
        bot.check()


def replay_through_the_bot(transcript: Transcript) -> BotReplayResult:
    """The bot replay wants a virtual clock, this test a real one (for the real codex): its own trio run."""
    return trio.run(replay_bot, transcript, clock=trio.testing.MockClock(autojump_threshold=0))
