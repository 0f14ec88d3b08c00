"""``codexgram playground``: the command's options; the work is in :mod:`codexgram.cli.playground`, imported
when the command runs (the bot, the fake servers and the mock model are slow to import for every start)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def playground_command(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Keep everything (logs, database, workspace, CODEX_HOME) in this directory, created if "
            "needed and left in place afterwards. Default: a temporary directory, removed at the end.",
        ),
    ] = None,
    keep: Annotated[
        bool,
        typer.Option("--keep", help="Do not remove the temporary directory at the end; print where it is."),
    ] = False,
) -> None:
    """Try the whole bot in this terminal: no Telegram token and no OpenAI account needed.

    Starts, on 127.0.0.1: a mock model, the real codex app-server (the pinned version, npm-installed into
    .cache/codex on first use, or CODEXGRAM_CODEX_BIN), a fake Telegram, and the bot, allowlisting user
    1001 and a scratch workspace. The terminal is then user 1001's chat with the bot. Your own settings,
    .env and ~/.codex are not used. Ctrl-C or Ctrl-D ends it.
    """
    from codexgram.cli.playground import main

    main(directory, keep)


def register(app: typer.Typer) -> None:
    """Add the ``playground`` command to the ``codexgram`` CLI (called by ``codexgram.cli.main``)."""
    app.command("playground")(playground_command)
