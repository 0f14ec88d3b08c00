"""How fast a transcript replays through the real CodexLink (fake app-server, memory stream, virtual clock).

For each committed transcript: wall-clock milliseconds per replay (best of ``--repeat``) and frames/s through
the whole stack (server WebSocket -> link WebSocket -> peer -> converter -> routing -> thread mailbox, and the
link's calls back). The recorded pacing runs on trio's MockClock, so this measures CPU cost, not the gaps.

Run: ``uv run python bench/replay_transcripts.py [--repeat N] [FILE ...]``
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from functools import partial
from pathlib import Path

import trio
import trio.testing

from codexgram.replay.harness import replay_transcript
from codexgram.replay.transcript import Transcript, load_transcript

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "tests" / "replay" / "transcripts"


def replay_once(transcript: Transcript) -> float:
    """Seconds of wall-clock time for one replay (raises if the replay is not green)."""
    started = time.perf_counter()
    result = trio.run(
        partial(replay_transcript, transcript, timeout=120),
        clock=trio.testing.MockClock(autojump_threshold=0),
    )
    elapsed = time.perf_counter() - started
    result.check()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    files = args.files or sorted(DEFAULT_DIR.glob("*.jsonl"))
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    total_frames = 0
    total_seconds = 0.0
    for path in files:
        transcript = load_transcript(path)
        best = min(replay_once(transcript) for _ in range(args.repeat))
        frames = len(transcript.frames)
        total_frames += frames
        total_seconds += best
        print(report_line(path.name, frames, best))
    print(report_line("all", total_frames, total_seconds))


def report_line(name: str, frames: int, seconds: float) -> str:
    return f"{name:34} {frames:4d} frames  {seconds * 1000:7.1f} ms  {frames / seconds:8.0f} frames/s"


if __name__ == "__main__":
    main()
