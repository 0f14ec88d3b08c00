"""The work of ``codexgram replay FILE`` (imported only when the command runs: it needs the replay harness
and ``trio.testing``, which imports pytest, too slow for every ``codexgram`` start).

``codexgram replay FILE``: play a recorded transcript through the real Codex link and print what a thread
sees, one line per event (relative time, thread id, event kind, short summary).

The transcript is played by the fake app-server over an in-memory stream; the link re-issues the recorded
calls and answers approvals as recorded. By default it runs on a virtual clock, so the printed times follow
the recording but the command returns at once; ``--real-time`` keeps the recorded pacing on the wall clock.

Exit codes: 0 the replay went as recorded, 1 it did not (the mismatches are printed on stderr), 2 the file
is missing or is not a transcript. With ``--bot`` it plays the transcript through the ThreadActor instead
(``codexgram.replay.bot_replay``) and prints the chat the way a golden file under ``tests/golden/replay``
holds it; exit code 1 then means an invariant of the bot replay is broken.
"""

from __future__ import annotations

import logging
import os
import sys
from functools import partial
from pathlib import Path

import trio
import trio.testing
import typer

from codexgram.messages import CodexEvent, CodexServerRequestEvent, ThreadEvent
from codexgram.replay.bot_replay import BotReplayUnsupported, replay_bot
from codexgram.replay.events import describe_event
from codexgram.replay.harness import ReplayResult, replay_transcript
from codexgram.replay.transcript import Transcript, TranscriptError, load_transcript

EXIT_MISMATCH = 1
EXIT_BAD_FILE = 2


def format_event_line(at: float, event: ThreadEvent) -> str:
    """``   0.123s  <thread id>  <kind>  <summary>`` (``-`` for events that name no thread)."""
    thread_id = event.thread_id if isinstance(event, CodexEvent | CodexServerRequestEvent) else "-"
    kind, summary = describe_event(event)
    return f"{at:8.3f}s  {thread_id}  {kind:<38}  {summary}".rstrip()


def run_replay(file: Path, *, real_time: bool, timeout: float, verbose: bool, bot: bool) -> None:
    """See ``codexgram.cli.replay.replay_command``."""
    try:
        transcript = load_transcript(file)
    except (OSError, TranscriptError) as exc:
        typer.echo(f"error: cannot read transcript {file}: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_FILE) from None

    stdout = _Stdout()
    if bot:
        _replay_through_the_bot(transcript, stdout, timeout=timeout, verbose=verbose)
        return

    def on_event(at: float, event: ThreadEvent) -> None:
        stdout.echo(format_event_line(at, event))

    play = partial(replay_transcript, transcript, timeout=timeout, on_event=on_event)
    clock = None if real_time else trio.testing.MockClock(autojump_threshold=0)
    # The link logs its disconnect when the replay ends: noise here, unless asked for.
    link_log = logging.getLogger("codexgram.actors")
    previous_level = link_log.level
    if not verbose:
        link_log.setLevel(logging.ERROR)
    try:
        result: ReplayResult = trio.run(play, clock=clock)
    finally:
        link_log.setLevel(previous_level)
    if not result.ok:
        for mismatch in result.mismatches:
            typer.echo(f"mismatch: {mismatch}", err=True)
        for problem in result.problems:
            typer.echo(f"problem: {problem}", err=True)
        typer.echo(f"replay of {transcript.name} FAILED", err=True)
        raise typer.Exit(EXIT_MISMATCH)
    stdout.echo(
        f"replay of {transcript.name} OK: {len(transcript.frames)} frames, {len(result.events)} thread events"
    )
    stdout.finish()


def _replay_through_the_bot(
    transcript: Transcript, stdout: _Stdout, *, timeout: float, verbose: bool
) -> None:
    """``--bot``: the chat as the golden file shows it; exit 1 when an invariant is broken."""
    quiet = [] if verbose else [logging.getLogger("codexgram.actors")]
    levels = [log.level for log in quiet]
    for log in quiet:
        log.setLevel(logging.CRITICAL)  # a thread actor's crash is in the verdict anyway
    try:
        result = trio.run(
            partial(replay_bot, transcript, timeout=timeout),
            clock=trio.testing.MockClock(autojump_threshold=0),
        )
    except BotReplayUnsupported as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_FILE) from None
    finally:
        for log, level in zip(quiet, levels, strict=True):
            log.setLevel(level)
    for line in result.render().splitlines():
        stdout.echo(line)
    stdout.finish()
    violations = result.violations()
    if violations:
        for violation in violations:
            typer.echo(f"violation: {violation}", err=True)
        typer.echo(f"bot replay of {transcript.name} FAILED", err=True)
        raise typer.Exit(EXIT_MISMATCH)


class _Stdout:
    """Standard output that may go away: ``codexgram replay FILE | head`` closes the pipe early. Then the
    replay still runs to its verdict (the exit code), silently, instead of dying with a traceback."""

    def __init__(self) -> None:
        self.gone = False

    def echo(self, line: str) -> None:
        if self.gone:
            return
        try:
            typer.echo(line)
        except BrokenPipeError:
            self.gone = True

    def finish(self) -> None:
        if self.gone:
            # Python flushes stdout again at exit, which would fail on the closed pipe once more.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
