"""``codexgram replay FILE``: the command's options; the work is in :mod:`codexgram.cli.replay_run`, imported
when the command runs, so that ``codexgram --help`` and every other command start without the replay
harness and the test tooling it needs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def replay_command(
    file: Annotated[
        Path, typer.Argument(help="A transcript (.jsonl) recorded by scripts/record-transcripts.")
    ],
    real_time: Annotated[
        bool, typer.Option("--real-time", help="Keep the recorded pacing on the wall clock.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Give up after this many (virtual) seconds.")
    ] = 120.0,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show the link's own log (warnings).")] = False,
    bot: Annotated[
        bool,
        typer.Option(
            "--bot",
            help="Play it through the ThreadActor instead and print the chat (what a golden file holds).",
        ),
    ] = False,
) -> None:
    """Replay a transcript through the Codex link and print the events a thread sees."""
    from codexgram.cli.replay_run import run_replay

    run_replay(file, real_time=real_time, timeout=timeout, verbose=verbose, bot=bot)


def register(app: typer.Typer) -> None:
    """Add the ``replay`` command to the ``codexgram`` CLI (called by ``codexgram.cli.main``)."""
    app.command("replay")(replay_command)
