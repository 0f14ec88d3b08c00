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
signal handling stops it in order, and the playground follows), or an error. Then the bot is cancelled (it
cleans up on cancellation), the app-server is stopped (SIGTERM, SIGKILL after a deadline, shielded; its
socket removed), the servers are cancelled, the log file is closed and the temporary directory removed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Final

import attrs
import trio
import typer

from codexgram.actors.runtime import unwrapping_single_errors
from codexgram.app import run_bot
from codexgram.cli.common import EXIT_REFUSED, fail
from codexgram.codex.version import TESTED_CODEX_VERSION
from codexgram.config import Secret, Settings
from codexgram.errors import CodexgramError
from codexgram.logging_setup import configure_logging
from codexgram.store import queries
from codexgram.store.db import immediate_transaction, open_database
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
from codexgram.workspace_paths import validate_workspace_name, validate_workspace_path

log = logging.getLogger(__name__)

PLAYGROUND_USER_ID: Final = 1001
PLAYGROUND_USER_NAME: Final = "playground"
WORKSPACE_NAME: Final = "playground"
AUDIT_ACTOR: Final = "playground"
LOG_FILE: Final = "playground.log"
LOG_LEVEL: Final = "INFO"
TEMP_PREFIX: Final = "codexgram-playground-"
# How long the banner waits for the bot to log in to the fake before it says so and goes on anyway.
LOGIN_WAIT: Final = 30.0
EXIT_INTERRUPTED: Final = 130


class PlaygroundError(CodexgramError):
    """The playground could not be set up (a port, the directory, the app-server); the message is one line."""


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
    ``task_status``: reports a :class:`Playground` once the bot logged in and the banner is printed.

    Error handling: a :class:`~codexgram.errors.CodexgramError` whose message is one line (the app-server
    did not start, npm is missing, a port could not be bound, the bot failed); a single error escapes
    unwrapped from its exception groups. SIGINT/SIGTERM end it normally (it returns).
    """
    root, temporary = _make_directory(directory)
    token = _fake_token()
    try:
        with (
            unwrapping_single_errors(),
            _logging_to(root / LOG_FILE, redact=[token]),
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


def _make_directory(directory: Path | None) -> tuple[Path, bool]:
    """The playground directory and whether it is a temporary one (ours to remove)."""
    if directory is None:
        return Path(tempfile.mkdtemp(prefix=TEMP_PREFIX)), True
    root = Path(os.path.abspath(directory))
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise PlaygroundError(f"cannot create the playground directory {root}: {exc.strerror}") from None
    if not os.access(root, os.W_OK):
        raise PlaygroundError(f"cannot write in the playground directory {root}")
    return root, False


def _fake_token() -> str:
    """A token for the fake, made here so the log's redacting filter knows it before anything logs."""
    return f"{secrets.randbelow(9 * 10**9) + 10**9}:FAKE{secrets.token_urlsafe(24)}"


@contextlib.contextmanager
def _logging_to(path: Path, *, redact: list[str]) -> Iterator[None]:
    """Send every log record (redacted) to ``path`` instead of the terminal, for as long as this lasts.

    Uses :func:`codexgram.logging_setup.configure_logging` with the file as its stream; afterwards the root
    logger gets back its level and any codexgram handler that function replaced.
    """
    root_logger = logging.getLogger()
    previous_level = root_logger.level
    replaced = [h for h in root_logger.handlers if getattr(h, "_codexgram", False)]
    with path.open("a", encoding="utf-8") as stream:
        handler = configure_logging(LOG_LEVEL, secrets=redact, stream=stream)
        try:
            yield
        finally:
            root_logger.removeHandler(handler)
            handler.close()
            root_logger.setLevel(previous_level)
            for old in replaced:
                root_logger.addHandler(old)


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
            async with trio.open_nursery() as chat:
                chat.start_soon(_bot, settings, chat.cancel_scope, write)
                bot_name = await _wait_for_login(fake, write)
                for line in banner(playground, bot_name=bot_name, removed_at_end=removed_at_end):
                    write(line)
                log.info(
                    "playground: mock model %s, fake Telegram %s, codex app-server pid %s at %s, "
                    "user %d, workspace %s",
                    model.base_url,
                    fake.base_url,
                    app_server.pid,
                    app_server.socket_path,
                    PLAYGROUND_USER_ID,
                    app_server.workspace,
                )
                task_status.started(playground)
                await run_console(fake, PLAYGROUND_USER_ID, stdin=stdin, write=write)
                log.info("playground: end of input")
                write("end of input: stopping the playground...")
                chat.cancel_scope.cancel()  # stops the bot
            # Leaving the stack stops the app-server (shielded, with its own deadline) and removes its socket.
        servers.cancel_scope.cancel()


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


def playground_settings(root: Path, *, fake: FakeTelegram, socket_path: Path, codex_bin: Path) -> Settings:
    """The bot's settings: the fake Telegram, the app-server's socket, a data directory under ``root``."""
    data = root / "data"
    return Settings(
        telegram_token=Secret(fake.token),
        telegram_api_url=fake.base_url,
        data_dir=data,
        db_path=data / "codexgram.sqlite3",
        upload_dir=data / "uploads",
        codex_socket=socket_path,
        codex_bin=codex_bin,
        log_level=LOG_LEVEL,
    )


def allowlist(db_path: Path, *, user_id: int, workspace_name: str, workspace: Path) -> None:
    """Allow ``user_id`` and add the workspace, as ``codexgram admin allow-user`` / ``add-workspace`` do:
    validated the same way, each change and its audit row in ONE transaction. What is there already (a
    reused ``--dir``) is left alone; a workspace of that name elsewhere is an error.

    Blocking (SQLite): call it from a worker thread in async code.
    """
    name = validate_workspace_name(workspace_name)
    path = validate_workspace_path(str(workspace)).path
    conn = open_database(db_path)
    try:
        with immediate_transaction(conn):
            if not queries.is_user_allowed(conn, user_id):
                now = time.time()
                queries.allow_user(conn, user_id=user_id, name=PLAYGROUND_USER_NAME, at=now)
                detail = {"user_id": user_id, "name": PLAYGROUND_USER_NAME}
                queries.write_audit(conn, actor=AUDIT_ACTOR, action="allow-user", detail=detail, at=now)
        with immediate_transaction(conn):
            existing = queries.get_workspace(conn, name)
            if existing is None:
                now = time.time()
                queries.add_workspace(conn, name=name, path=path, at=now)
                detail = {"name": name, "path": path}
                queries.write_audit(conn, actor=AUDIT_ACTOR, action="add-workspace", detail=detail, at=now)
            elif existing.path != path:
                raise PlaygroundError(
                    f"the database {db_path} has a workspace {name!r} at {existing.path}, not {path}: "
                    "use another --dir"
                )
    finally:
        conn.close()


async def _bot(settings: Settings, chat: trio.CancelScope, write: Write) -> None:
    """Run the bot. It returns only after its own orderly shutdown (a signal): the playground ends too."""
    await run_bot(settings)
    log.info("playground: the bot stopped")
    write("the bot stopped: stopping the playground...")
    chat.cancel()


async def _wait_for_login(fake: FakeTelegram, write: Write) -> str | None:
    """Wait until the bot checked its token with getMe; its username, or None if it did not in time."""

    def logged_in() -> bool:
        return any(call.ok for call in fake.calls("getMe"))

    with trio.move_on_after(LOGIN_WAIT):
        await fake.wait_until(logged_in)
    call = next((call for call in fake.calls("getMe") if call.ok), None)
    if call is None:
        write(f"the bot has not logged in after {LOGIN_WAIT:.0f} s; see the log")
        return None
    result = call.result
    username = result.get("username") if isinstance(result, dict) else None
    return username if isinstance(username, str) else None


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
        "The mock model answers 'You said: ...'; [[shell:CMD]] in a message makes it ask to run CMD,",
        "[[patch:NAME:TEXT]] write a file, [[slow:5]] stream slowly, [[fail]] fail.",
        f"Ctrl-C or Ctrl-D (end of input) stops everything and {ending}.",
        "",
    ]


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

    def write(line: str) -> None:
        print(line, flush=True)

    try:
        trio.run(partial(run_playground, directory=directory, keep=keep, write=write))
    except KeyboardInterrupt:  # only in the instants before the playground's signal handling is in place
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except CodexgramError as exc:
        fail(str(exc), code=EXIT_REFUSED)


def register(app: typer.Typer) -> None:
    """Add the ``playground`` command to the ``codexgram`` CLI (called by ``codexgram.cli.main``)."""
    app.command("playground")(playground_command)
