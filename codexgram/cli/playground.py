"""``codexgram playground``: the whole bot in this terminal, with no Telegram token and no OpenAI account.

What runs, all on 127.0.0.1 and in one trio run:

1. the mock model (:mod:`codexgram.testing.mock_model`), which stands in for OpenAI;
2. the real ``codex app-server`` of the pinned version
   (:func:`~codexgram.testing.codex_server.find_codex_binary`: ``CODEXGRAM_CODEX_BIN``, else the npm install
   in ``<repo>/.cache/codex`` the tests use, installed on first use), with a ``CODEX_HOME`` whose only model
   is the mock;
3. the fake Bot API server (:mod:`codexgram.testing.fake_telegram`), which stands in for Telegram;
4. the bot itself (:func:`codexgram.app.run_bot`), pointed at the fake, the app-server's socket and a data
   directory of its own; its log goes to ``playground.log`` in the playground directory, not the terminal.

Before the bot starts, user :data:`PLAYGROUND_USER_ID` and a scratch workspace (:data:`WORKSPACE_NAME`, the
``workspace/`` folder of the playground directory) are allowlisted in the bot's database the way ``codexgram
admin allow-user`` / ``add-workspace`` do it (each change and its audit row in one transaction). Then the
terminal is that user's chat (:func:`codexgram.testing.fake_telegram.console.run_console`).

Nothing of the user's own setup is read or written: no settings, no ``.env``, no ``~/.codex``, no data
directory. Everything lives in the playground directory: a temporary one, removed at the end unless
``--keep``; or the one given with ``--dir``, which is created if needed and always left in place (it may be
yours), so a later run can reuse it.

Structured concurrency: :func:`run_playground` owns one nursery per layer (servers, then the chat: bot and
console). The end comes from end of input (Ctrl-D), SIGINT/SIGTERM (Ctrl-C; while the bot runs, its own
signal handling stops it in order, and the playground follows), or an error. At end of input the playground
sets the bot's ``stop`` event (:class:`~codexgram.cli.playground_bot.PlaygroundBot`) and waits for its
orderly shutdown, the one a signal gives it; only a bot that overruns that is cancelled. Then the app-server
is stopped (SIGTERM, SIGKILL after a deadline, shielded; its socket removed), the servers are cancelled, the
log file is closed and the temporary directory removed.

Split: :mod:`codexgram.cli.playground_setup` (directory, log file, settings, allowlist),
:mod:`codexgram.cli.playground_bot` (the bot's run, start and stop); this module orchestrates the layers and
is the ``playground`` command.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path
from typing import Any, Final

import attrs
import trio
import typer

from codexgram.actors.runtime import unwrapping_single_errors
from codexgram.cli.common import EXIT_REFUSED, fail
from codexgram.cli.playground_bot import START_WAIT, STOP_WAIT, PlaygroundBot, bot_username
from codexgram.cli.playground_setup import (
    AUDIT_ACTOR,
    LOG_FILE,
    PLAYGROUND_USER_ID,
    WORKSPACE_NAME,
    PlaygroundError,
    allowlist,
    fake_token,
    logging_to,
    make_directory,
    playground_settings,
)
from codexgram.codex.version import TESTED_CODEX_VERSION
from codexgram.config import Settings
from codexgram.errors import CodexgramError
from codexgram.testing.codex_server import (
    BIN_ENV,
    AppServer,
    AppServerError,
    default_cache_dir,
    find_codex_binary,
    open_codex_sandbox,
    tail,
)
from codexgram.testing.fake_telegram import FakeTelegram, run_fake_telegram
from codexgram.testing.fake_telegram.console import run_console
from codexgram.testing.mock_model import MockModel, run_mock_model

__all__ = [
    "AUDIT_ACTOR",
    "PLAYGROUND_USER_ID",
    "WORKSPACE_NAME",
    "Playground",
    "PlaygroundError",
    "run_playground",
]

log = logging.getLogger(__name__)

EXIT_INTERRUPTED: Final = 130


@attrs.frozen(kw_only=True)
class Playground:
    """What :func:`run_playground` reports once everything runs (through ``task_status``)."""

    directory: Path
    log_path: Path
    db_path: Path
    workspace: Path
    user_id: int
    settings: Settings
    model: MockModel
    fake: FakeTelegram
    app_server: AppServer

    @property
    def socket_path(self) -> Path:
        return self.app_server.socket_path


Write = Callable[[str], None]


async def run_playground(
    *,
    directory: Path | None = None,
    keep: bool = False,
    stdin: trio.abc.ReceiveStream | None = None,
    write: Write = print,
    codex_bin: Path | None = None,
    task_status: trio.TaskStatus[Playground] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the playground until end of input, SIGINT/SIGTERM or an error; clean up; return.

    ``directory``: where everything lives (created if missing, left in place); None: a fresh temporary
    directory, removed at the end unless ``keep``. ``stdin``: the user's typed lines (default: a duplicate
    of file descriptor 0). ``write``: prints one line of the chat or of the playground's own messages.
    ``codex_bin``: the codex to run (default: :func:`find_codex_binary`, which may npm-install it).
    ``task_status``: reports a :class:`Playground` once the bot runs (every actor started, or
    :data:`~codexgram.cli.playground_bot.START_WAIT` passed) and the banner is printed.

    Error handling: a :class:`~codexgram.errors.CodexgramError` whose message is one line (the app-server
    did not start, npm is missing, a port could not be bound, the bot failed); a single error escapes
    unwrapped from its exception groups. SIGINT/SIGTERM end it normally (it returns).
    """
    root, temporary = make_directory(directory)
    token = fake_token()
    try:
        with (
            unwrapping_single_errors(),
            logging_to(root / LOG_FILE, redact=[token]),
            trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals,
        ):
            async with trio.open_nursery() as nursery:
                # While the bot runs, its own signal receiver takes SIGINT/SIGTERM instead (and stops the bot
                # in order, which ends the playground too); this one covers start-up and the final cleanup.
                nursery.start_soon(_watch_signals, signals, nursery.cancel_scope, write)
                await _run(
                    root,
                    token=token,
                    removed_at_end=temporary and not keep,
                    stdin=stdin,
                    write=write,
                    codex_bin=codex_bin,
                    task_status=task_status,
                )
                nursery.cancel_scope.cancel()
    finally:
        if temporary and not keep:
            shutil.rmtree(root, ignore_errors=True)
            write(f"playground stopped; removed {root}")
        else:
            write(f"playground stopped; its files are in {root} (the log: {root / LOG_FILE})")


async def _watch_signals(signals: AsyncIterator[int], scope: trio.CancelScope, write: Write) -> None:
    """The first SIGINT/SIGTERM ends the playground (an orderly cleanup, each step with its own deadline);
    later ones are ignored, since that cleanup is bounded anyway."""
    async for signum in signals:
        if not scope.cancel_called:
            log.info("playground: received %s", signal.Signals(signum).name)
            write("stopping the playground...")
            scope.cancel()


async def _run(
    root: Path,
    *,
    token: str,
    removed_at_end: bool,
    stdin: trio.abc.ReceiveStream | None,
    write: Write,
    codex_bin: Path | None,
    task_status: trio.TaskStatus[Playground],
) -> None:
    write(f"starting the codexgram playground in {root} ...")
    binary = codex_bin if codex_bin is not None else await _codex_binary(write)
    async with trio.open_nursery() as servers:
        model: MockModel = await _start_server(servers, run_mock_model, "the mock model")
        fake: FakeTelegram = await _start_server(
            servers, partial(run_fake_telegram, token=token), "the fake Telegram server"
        )
        async with AsyncExitStack() as stack:
            app_server = await _start_app_server(stack, binary, model_base_url=model.base_url, root=root)
            settings = playground_settings(
                root, fake=fake, socket_path=app_server.socket_path, codex_bin=binary
            )
            await trio.to_thread.run_sync(
                partial(
                    allowlist,
                    settings.db_path,
                    user_id=PLAYGROUND_USER_ID,
                    workspace_name=WORKSPACE_NAME,
                    workspace=app_server.workspace,
                )
            )
            playground = Playground(
                directory=root,
                log_path=root / LOG_FILE,
                db_path=settings.db_path,
                workspace=app_server.workspace,
                user_id=PLAYGROUND_USER_ID,
                settings=settings,
                model=model,
                fake=fake,
                app_server=app_server,
            )
            await _chat(
                playground, removed_at_end=removed_at_end, stdin=stdin, write=write, task_status=task_status
            )
            # Leaving the stack stops the app-server (shielded, with its own deadline) and removes its socket.
        servers.cancel_scope.cancel()


async def _chat(
    playground: Playground,
    *,
    removed_at_end: bool,
    stdin: trio.abc.ReceiveStream | None,
    write: Write,
    task_status: trio.TaskStatus[Playground],
) -> None:
    """The chat layer: the bot, and the terminal as the user's chat once it runs; until end of input (then
    the bot's orderly shutdown, through its ``stop`` event) or until the bot stops on its own (a signal)."""
    bot = PlaygroundBot(playground.settings)
    async with trio.open_nursery() as chat:
        chat.start_soon(_bot, bot, chat.cancel_scope, write)
        if not await bot.wait_running(START_WAIT):
            write(f"the bot has not started after {START_WAIT:.0f} s; see the log")
        lines = banner(playground, bot_name=bot_username(playground.fake), removed_at_end=removed_at_end)
        for line in lines:
            write(line)
        log.info(
            "playground: mock model %s, fake Telegram %s, codex app-server pid %s at %s, "
            "user %d, workspace %s",
            playground.model.base_url,
            playground.fake.base_url,
            playground.app_server.pid,
            playground.socket_path,
            playground.user_id,
            playground.workspace,
        )
        task_status.started(playground)
        await run_console(playground.fake, playground.user_id, stdin=stdin, write=write)
        log.info("playground: end of input")
        write("end of input: stopping the playground...")
        if not await bot.stop(STOP_WAIT):
            log.warning("playground: the bot did not stop within %.0f s; cancelling it", STOP_WAIT)
        chat.cancel_scope.cancel()  # only a bot that did not stop in time is left to cancel


async def _bot(bot: PlaygroundBot, chat: trio.CancelScope, write: Write) -> None:
    """Run the bot. Returning without the playground having asked (a signal: the bot's own orderly
    shutdown) ends the playground too."""
    await bot.run()
    if not bot.stop_requested:
        write("the bot stopped: stopping the playground...")
        chat.cancel()


async def _codex_binary(write: Write) -> Path:
    """The pinned codex; npm-installs it (in a worker thread, a few seconds) the first time."""
    try:
        return find_codex_binary(install=False)
    except AppServerError:
        if os.environ.get(BIN_ENV):
            raise  # the configured binary is not there: installing would not help
    if shutil.which("npm") is not None:  # else find_codex_binary says how to get it
        write(f"installing codex {TESTED_CODEX_VERSION} with npm into {default_cache_dir()} (first run only)")
    return await trio.to_thread.run_sync(find_codex_binary, abandon_on_cancel=True)


async def _start_server(
    nursery: trio.Nursery, serve: Callable[..., Awaitable[object]], what: str
) -> Any:  # what the server reports ready: a MockModel or a FakeTelegram
    """Start a loopback server in ``nursery``; a failure to listen becomes one line."""
    try:
        return await nursery.start(serve)
    except OSError as exc:
        raise PlaygroundError(
            f"cannot start {what} on 127.0.0.1: {exc.strerror or exc} (is the loopback interface up?)"
        ) from None


async def _start_app_server(
    stack: AsyncExitStack, codex_bin: Path, *, model_base_url: str, root: Path
) -> AppServer:
    """Start ``codex app-server`` with the playground's CODEX_HOME, workspace and stderr file, owned by
    ``stack``. A start failure becomes one line, with codex's last words when it said any."""
    try:
        return await stack.enter_async_context(
            open_codex_sandbox(codex_bin, model_base_url=model_base_url, root=root)
        )
    except AppServerError as exc:
        first = str(exc).splitlines()[0].removesuffix("; stderr:") if str(exc) else "failed"
        last_words = tail(root / "app-server.stderr", 1).strip()
        said = f" (codex said: {last_words})" if last_words else ""
        raise PlaygroundError(f"codex app-server ({codex_bin}) did not start: {first}{said}") from None


def banner(playground: Playground, *, bot_name: str | None, removed_at_end: bool) -> list[str]:
    """What is running, where things are, how to chat, how to stop."""
    root = playground.directory
    ending = f"removes {root}" if removed_at_end else f"leaves {root} in place"
    bot = f"@{bot_name}" if bot_name else "the bot"
    return [
        "",
        "codexgram playground: the whole bot on this machine; no Telegram token or OpenAI account needed.",
        f"  mock model        {playground.model.base_url}  (stands in for OpenAI)",
        f"  codex app-server  pid {playground.app_server.pid}, socket {playground.socket_path}",
        f"  fake Telegram     {playground.fake.base_url}  (test API under /_test/)",
        f"  the bot           {bot}, logging to {playground.log_path}",
        f"You are Telegram user {playground.user_id} (allowlisted); workspace {WORKSPACE_NAME!r} is "
        f"{playground.workspace}",
        "Type a line and press Enter to send it. The bot's messages show as [bot #<id>] <text>, with its",
        "buttons as (1), (2), ...; press one with: !press <message id> <button number>",
        "The mock model answers 'You said: ...'; in a message, [[run:CMD]] makes it run CMD, [[slow:5]]",
        "stream for 5 s, [[long:12000]] write a long answer, [[fail]] fail; [[shell:CMD]] and",
        "[[patch:NAME:TEXT]] ask for an approval (declined for now: approvals come in a later version).",
        f"Ctrl-C or Ctrl-D (end of input) stops everything and {ending}.",
        "",
    ]


def main(directory: Path | None, keep: bool) -> None:
    """The ``playground`` command's work (its options are in :mod:`codexgram.cli.playground_command`)."""

    def write(line: str) -> None:
        print(line, flush=True)

    try:
        trio.run(partial(run_playground, directory=directory, keep=keep, write=write))
    except KeyboardInterrupt:  # only in the instants before the playground's signal handling is in place
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except CodexgramError as exc:
        fail(str(exc), code=EXIT_REFUSED)
