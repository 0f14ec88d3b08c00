"""``codexgram replay FILE`` through typer's CliRunner, on committed transcripts."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from codexgram.cli.main import app
from codexgram.replay.transcript import load_transcript

TRANSCRIPT_DIR = Path(__file__).parent / "transcripts"
LINE = re.compile(r"^\s*(\d+\.\d{3})s  (\S+)  (\S+)\s*(.*)$")


def test_replay_prints_one_line_per_event_in_time_order() -> None:
    result = CliRunner().invoke(app, ["replay", str(TRANSCRIPT_DIR / "command-approved.jsonl")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("replay of command-approved.jsonl OK:")
    events = [LINE.match(line) for line in lines[:-1]]
    assert all(events), lines
    parsed = [m.groups() for m in events if m]
    times = [float(t) for t, _, _, _ in parsed]
    assert times == sorted(times)
    assert times[-1] > 0.1  # the recorded pacing, on the virtual clock
    kinds = [kind for _, _, kind, _ in parsed]
    assert "item/commandExecution/requestApproval" in kinds
    assert kinds[-1] == "turn/completed" or "turn/completed" in kinds
    thread_ids = {thread for _, thread, _, _ in parsed}
    assert len(thread_ids) == 1  # every event belongs to the one recorded thread
    completed = next(summary for _, _, kind, summary in parsed if kind == "turn/completed")
    assert completed.endswith("completed")
    assert any("approved-run" in summary for _, _, kind, summary in parsed if kind == "item/completed")


def test_replay_of_a_missing_file_exits_2() -> None:
    result = CliRunner().invoke(app, ["replay", str(TRANSCRIPT_DIR / "no-such.jsonl")])
    assert result.exit_code == 2
    assert "cannot read transcript" in result.stderr


def test_replay_of_a_broken_transcript_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"dir": "send", "t": 0, "msg": {"method": "initialized"}}\nnot json\n')
    result = CliRunner().invoke(app, ["replay", str(broken)])
    assert result.exit_code == 2
    assert "broken.jsonl:2: not JSON" in result.stderr


def test_replay_where_the_link_strays_exits_1(tmp_path: Path) -> None:
    # Pretend the recorded client sent "initialised": the link sends "initialized", which the transcript
    # does not expect, and the server keeps waiting for the recorded notification.
    source = (TRANSCRIPT_DIR / "plain-turn.jsonl").read_text()
    assert source.count('"method": "initialized"') == 1
    edited = tmp_path / "edited.jsonl"
    edited.write_text(source.replace('"method": "initialized"', '"method": "initialised"'))
    result = CliRunner().invoke(app, ["replay", "--timeout", "30", str(edited)])
    assert result.exit_code == 1
    assert "mismatch: unexpected notification initialized" in result.stderr
    assert re.search(r"waiting for: frame \d+: notification initialised", result.stderr)
    assert "replay of edited.jsonl FAILED" in result.stderr


def test_real_time_replay_keeps_the_recorded_pacing() -> None:
    path = TRANSCRIPT_DIR / "upstream-failure.jsonl"
    recorded = load_transcript(path)
    started = time.monotonic()
    result = CliRunner().invoke(app, ["replay", "--real-time", str(path)])
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert elapsed >= recorded.frames[-1].t - recorded.frames[1].t  # the gaps after the handshake, for real


def test_a_reader_that_goes_away_early_is_no_crash() -> None:
    """``codexgram replay FILE | head -1``: the closed pipe ends the printing, not the replay (exit 0)."""
    command = [sys.executable, "-c", "from codexgram.cli.main import main; main()", "replay"]
    process = subprocess.Popen(
        [*command, str(TRANSCRIPT_DIR / "command-approved.jsonl")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.close()  # before the child has imported anything: its first line hits a closed pipe
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr


def test_replay_bot_prints_the_chat_its_golden_file_holds() -> None:
    path = TRANSCRIPT_DIR / "plain-turn.jsonl"
    result = CliRunner().invoke(app, ["replay", "--bot", str(path)])
    assert result.exit_code == 0, result.output
    golden = Path(__file__).parents[1] / "golden" / "replay" / "plain-turn.txt"
    assert result.stdout == golden.read_text(encoding="utf-8")


def test_replay_bot_fails_when_the_bot_strays(tmp_path: Path) -> None:
    recorded = load_transcript(TRANSCRIPT_DIR / "reconnect-mid-turn.jsonl")
    read = next(i for i, frame in enumerate(recorded.frames) if frame.method == "thread/read")
    answer = next(
        i
        for i, frame in enumerate(recorded.frames)
        if i > read
        and frame.dir == "recv"
        and frame.kind == "response"
        and frame.id == recorded.frames[read].id
    )
    kept = [frame for i, frame in enumerate(recorded.frames) if i not in (read, answer)]
    path = tmp_path / "no-read.jsonl"
    path.write_text("".join(f"{frame.to_json()}\n" for frame in kept), encoding="utf-8")
    result = CliRunner().invoke(app, ["replay", "--bot", str(path)])
    assert result.exit_code == 1
    assert "unexpected request thread/read" in result.stderr
    assert "FAILED" in result.stderr
