"""The ``codexgram`` command: ``run`` the bot, ``admin ...`` its allowlist and workspaces, ``doctor``.

``main()`` is the console script (``[project.scripts] codexgram = "codexgram.cli.main:main"``).
"""

from __future__ import annotations

import importlib
import stat
from pathlib import Path
from typing import Annotated

import trio
import typer

from codexgram.cli import admin
from codexgram.cli.common import (
    EXIT_CONFIG,
    CliContext,
    OneLineUsageGroup,
    one_line_errors,
    settings_from,
)
from codexgram.config import describe_settings
from codexgram.logging_setup import configure_logging
from codexgram.store.db import open_database, schema_version
from codexgram.store.migrations import SCHEMA_VERSION

app = typer.Typer(
    name="codexgram",
    help="Drive the Codex coding agent on your own machine from a one-to-one Telegram chat.",
    no_args_is_help=True,
    cls=OneLineUsageGroup,  # usage errors (missing argument, unknown option...) print one line
    rich_markup_mode=None,  # plain help and errors: a rich error panel is many lines
    pretty_exceptions_enable=False,  # a traceback, if one ever escapes, must not print local variables
    add_completion=False,
)
app.add_typer(admin.app, name="admin")

# What `run` prints when no bot token is configured.
BOTFATHER_STEPS = """\
codexgram needs a Telegram bot token, and none is configured.

  1. In Telegram, open a chat with @BotFather and send /newbot; follow the questions.
  2. BotFather answers with a token like 123456789:AAH...; keep it secret.
  3. Make it available to codexgram, e.g.:
       export CODEXGRAM_TELEGRAM_TOKEN='123456789:AAH...'
     or put CODEXGRAM_TELEGRAM_TOKEN=... in a .env file in this directory (chmod 600 .env).
  4. Allow yourself: uv run codexgram admin allow-user YOUR_TELEGRAM_USER_ID
  5. Run again: uv run codexgram run
"""


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="A TOML file with settings (the environment wins).")
    ] = None,
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file", help="A .env file with CODEXGRAM_* lines (it must exist). Default: ./.env, if any."
        ),
    ] = None,
) -> None:
    """Settings come from CODEXGRAM_* variables, then --env-file, then --config."""
    ctx.obj = CliContext(config_file=config, env_file=env_file)


@app.command()
def run(ctx: typer.Context) -> None:
    """Run the bot (until Ctrl-C or SIGTERM)."""
    settings = settings_from(ctx)
    if settings.telegram_token is None:
        typer.echo(BOTFATHER_STEPS, err=True, nl=False)
        raise typer.Exit(EXIT_CONFIG)
    configure_logging(settings.log_level, secrets=[settings.telegram_token.reveal()])
    from codexgram.app import run_bot

    with one_line_errors():
        trio.run(run_bot, settings)


@app.command()
def doctor(ctx: typer.Context) -> None:
    """Show the settings in effect (never the token) and check the database and the Codex socket."""
    settings = settings_from(ctx)
    for key, value in describe_settings(settings):
        typer.echo(f"{key:32} {value}")
    with one_line_errors():
        conn = open_database(settings.db_path)
        try:
            version = schema_version(conn)
        finally:
            conn.close()
    typer.echo(f"database schema version {version} (this codexgram: {SCHEMA_VERSION})")
    mode = stat.S_IMODE(settings.db_path.stat().st_mode)
    if mode & 0o077:
        typer.echo(f"warning: {settings.db_path} is mode {mode:o}, readable by others: chmod 600 it")
    if settings.codex_socket.exists():
        typer.echo(f"codex socket {settings.codex_socket}: present")
    else:
        typer.echo(f"codex socket {settings.codex_socket}: missing (start scripts/start-codex-app-server)")
    if settings.telegram_token is None:
        typer.echo("telegram token: not set (see `codexgram run` for how to get one)")


# Commands that live in modules of their own, each exposing `register(app: typer.Typer)`: `codexgram replay
# FILE` (codexgram/cli/replay.py) and `codexgram playground` (codexgram/cli/playground_command.py). Each
# imports its work only when it runs, so that `codexgram --help` and the other commands start fast.
OPTIONAL_COMMAND_MODULES = ("codexgram.cli.replay", "codexgram.cli.playground_command")


def _register_optional_commands() -> None:
    # Importing them by name here means that work never edits this file, and the CLI still works before it
    # lands. Only a missing module is tolerated: an import error *inside* it is a bug and must show.
    for name in OPTIONAL_COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(app)


_register_optional_commands()


def main() -> None:
    """Console script entry point."""
    app()
