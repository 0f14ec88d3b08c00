"""What every CLI command shares: loading the settings, and turning our errors into one line and an exit code.

Exit codes: 0 done, 1 refused (bad input, a row that exists or is missing, a store error), 2 configuration
problem (a bad setting, or no token for ``run``). Click's own usage errors also exit 2.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import attrs
import typer

from codexgram.config import Settings, load_settings
from codexgram.errors import CodexgramError, ConfigError

EXIT_REFUSED = 1
EXIT_CONFIG = 2


@attrs.frozen(kw_only=True)
class CliContext:
    """Where the settings come from, as given to the root command (``--config``, ``--env-file``)."""

    config_file: Path | None
    env_file: Path


def fail(message: str, *, code: int = EXIT_REFUSED) -> NoReturn:
    """Print ``error: <message>`` (one line) on stderr and exit with ``code``."""
    first_line = message.splitlines()[0] if message else "failed"
    typer.echo(f"error: {first_line}", err=True)
    raise typer.Exit(code)


def settings_from(ctx: typer.Context) -> Settings:
    """Load the settings for this invocation; a ``ConfigError`` becomes one line and exit code 2."""
    cli = ctx.find_object(CliContext)
    if cli is None:  # a command invoked without the root callback (only in unusual embeddings)
        cli = CliContext(config_file=None, env_file=Path(".env"))
    try:
        return load_settings(os.environ, config_file=cli.config_file, dotenv=cli.env_file)
    except ConfigError as exc:
        fail(str(exc), code=EXIT_CONFIG)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn any ``CodexgramError`` raised inside into ``error: <message>`` and a non-zero exit."""
    try:
        yield
    except ConfigError as exc:
        fail(str(exc), code=EXIT_CONFIG)
    except CodexgramError as exc:
        fail(str(exc))
