"""What every CLI command shares: loading the settings, and turning our errors into one line and an exit code.

Exit codes: 0 done, 1 refused (bad input, a row that exists or is missing, a store error), 2 configuration
problem (a bad setting, or no token for ``run``) or a usage error (a missing argument, an unknown option or
command, a value of the wrong type), which is one line too: :class:`OneLineUsageGroup`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NoReturn, cast

import attrs
import typer
from typer.core import TyperGroup

from codexgram.config import Settings, load_settings
from codexgram.errors import CodexgramError, ConfigError

EXIT_REFUSED = 1
EXIT_CONFIG = 2


DEFAULT_ENV_FILE = Path(".env")  # read if it exists


@attrs.frozen(kw_only=True)
class CliContext:
    """Where the settings come from, as given to the root command (``--config``, ``--env-file``)."""

    config_file: Path | None
    env_file: Path | None  # --env-file as given; None: ./.env, if there is one


def fail(message: str, *, code: int = EXIT_REFUSED) -> NoReturn:
    """Print ``error: <message>`` (one line) on stderr and exit with ``code``."""
    first_line = message.splitlines()[0] if message else "failed"
    typer.echo(f"error: {first_line}", err=True)
    raise typer.Exit(code)


def settings_from(ctx: typer.Context) -> Settings:
    """Load the settings for this invocation; a ``ConfigError`` becomes one line and exit code 2."""
    cli = ctx.find_object(CliContext)
    if cli is None:  # a command invoked without the root callback (only in unusual embeddings)
        cli = CliContext(config_file=None, env_file=None)
    if cli.env_file is not None and not cli.env_file.is_file():
        fail(f"--env-file {cli.env_file}: no such file", code=EXIT_CONFIG)  # named, so it must be there
    dotenv = cli.env_file if cli.env_file is not None else DEFAULT_ENV_FILE
    try:
        return load_settings(os.environ, config_file=cli.config_file, dotenv=dotenv)
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


# typer vendors click privately (``typer._click``, not to be imported); its usage-error class, the base of
# every parsing error (missing argument, unknown option or command, bad value), is reached through the public
# ``typer.BadParameter``, which derives from it. The check makes an incompatible typer upgrade fail loudly.
_UsageError = cast("type[typer.TyperException]", typer.BadParameter.__mro__[1])
if _UsageError.__name__ != "UsageError":  # pragma: no cover - only on an incompatible typer
    raise ImportError(f"typer.BadParameter no longer derives from UsageError: {typer.BadParameter.__mro__}")


class OneLineUsageError(typer.BadParameter):
    """A usage error shown as ``error: <what> (see '<command> --help')``: one line, exit code 2."""

    def __init__(self, message: str, *, command_path: str) -> None:
        super().__init__(message)
        self.command_path = command_path

    def format_message(self) -> str:
        return f"{self.message} (see '{self.command_path} --help')"

    def show(self, file: IO[Any] | None = None) -> None:
        typer.echo(f"error: {self.format_message()}", err=True)


@contextmanager
def _usage_errors_on_one_line(fallback_path: str) -> Iterator[None]:
    try:
        yield
    except OneLineUsageError:
        raise
    except _UsageError as exc:
        # NoArgsIsHelpError (a bare group, e.g. `codexgram admin`) is a usage error whose message is the help.
        if type(exc).__name__ == "NoArgsIsHelpError":
            raise
        # A few parser errors (e.g. an option missing its value) carry no context: point at the root's help.
        ctx = getattr(exc, "ctx", None)
        command_path = ctx.command_path if ctx is not None else fallback_path
        one_line = " ".join(exc.format_message().split())  # one line even if the parser's message wraps
        raise OneLineUsageError(one_line, command_path=command_path) from None


class OneLineUsageGroup(TyperGroup):
    """The root command group: click's usage errors, anywhere below it, print one line instead of a panel.

    Typer prints a ``ClickException`` with its ``show()`` when ``rich_markup_mode`` is None (a rich panel
    otherwise), so the root app sets ``rich_markup_mode=None`` and this group turns each usage error raised
    while parsing its own arguments (``make_context``) or a subcommand's (``invoke``) into a
    :class:`OneLineUsageError`. Works the same for the console script and ``CliRunner``.
    """

    # The context types are typer's vendored click ones (private): hence Any.
    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        with _usage_errors_on_one_line(info_name or "codexgram"):
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        with _usage_errors_on_one_line(ctx.command_path):
            return super().invoke(ctx)
