"""The ``run`` entry point: settings -> root nursery -> supervisor -> actors, until SIGINT/SIGTERM.

Order matters: the repository starts first (everything else needs it) and, because the supervisor stops
actors newest first, stops last, so the writes other actors make while they stop still land.

Shutdown: the first SIGINT/SIGTERM (or the crash of an actor the bot cannot live without) asks the
supervisor to stop every actor, each with its own shielded cleanup and deadline; a second signal during that
stops everything at once. The process then exits 0 after a signal, non-zero after an essential crash.
"""

from __future__ import annotations

import functools
import gc
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Final

import trio

from codexgram.actors.actor_group import actor_group_actor
from codexgram.actors.chat_actor import chat_actor_factory
from codexgram.actors.codex_connection import LinkSettings
from codexgram.actors.codex_link import CodexLink, codex_link_actor
from codexgram.actors.inbox import Inbox, recover
from codexgram.actors.outbox import OutboxSettings, outbox_actor
from codexgram.actors.outbox_handle import OutboxHandle
from codexgram.actors.poller import poller_actor
from codexgram.actors.repository import Repository, repository_actor
from codexgram.actors.runtime import Supervisor, unwrapping_single_errors
from codexgram.actors.services import ConversationSettings, Services
from codexgram.actors.thread_actor import thread_actor_factory
from codexgram.chat.chat_views import COMMANDS
from codexgram.chat.thread_settings import ThreadConfig
from codexgram.codex.transport import unix_socket_connector
from codexgram.config import Settings
from codexgram.errors import (
    ActorError,
    CodexUnavailable,
    ConfigError,
    TelegramError,
    TelegramUnauthorized,
)
from codexgram.telegram.client import BotApiClient
from codexgram.telegram.instance_lock import acquire_instance_lock
from codexgram.telegram.types import BotCommand

log = logging.getLogger(__name__)

REPOSITORY: Final = "repository"
OUTBOX: Final = "outbox"
CODEX_LINK: Final = "codex_link"
THREADS: Final = "threads"
CHATS: Final = "chats"
POLLER: Final = "poller"
# Process-wide actors nothing restarts: if one crashes (a bug, or a revoked token for the poller), the bot
# stops with a non-zero exit, so a process manager restarts it whole, rather than running on without its
# store, its Telegram output, Codex, or its chats. (One chat's or one thread's crash is contained by its
# group and logged: the groups themselves are essential.)
ESSENTIAL_ACTORS: Final = frozenset({REPOSITORY, OUTBOX, CODEX_LINK, THREADS, CHATS, POLLER})
SHUTDOWN_TIMEOUT: Final = 15.0
# How long start-up waits for the first connection to Codex before it logs that Codex is away (the link goes
# on trying in the background either way).
CODEX_CONNECT_GRACE: Final = 3.0


async def start_actors(
    supervisor: Supervisor, settings: Settings, repository: Repository, resources: AsyncExitStack
) -> None:
    """Start the bot's actors after the repository, each ready before the next that needs it starts.

    ``resources`` outlives the actors (it is closed after the supervisor stopped them): the instance lock and
    the Bot API client are registered on it, so they are released only once nothing uses them any more.

    In order: the instance lock, the Bot API client (the token checked with ``getMe``), the outbox (which
    delivers at once what an earlier run left in the durable outbox), the Codex link (which connects, and
    keeps reconnecting with backoff while the app-server is away), the thread and chat groups, the command
    menu (``setMyCommands``), the recovery of what the last run left unfinished (chats with updates not
    handled, threads with prompts or turns not delivered), and last the poller, so no update is taken
    before everything that handles it runs.
    """
    token = settings.telegram_token
    if token is None:
        raise ConfigError("CODEXGRAM_TELEGRAM_TOKEN", "not set")
    resources.enter_context(acquire_instance_lock(settings.data_dir, token))

    client = BotApiClient(token=token, base_url=settings.telegram_api_url)
    resources.push_async_callback(client.aclose)
    bot_username = await _check_token(client)

    outbox_mailbox = await supervisor.start(
        OUTBOX, functools.partial(outbox_actor, client=client, store=repository, settings=OutboxSettings())
    )
    link: CodexLink = await supervisor.start(
        CODEX_LINK,
        functools.partial(
            codex_link_actor,
            unix_socket_connector(settings.codex_socket),
            settings=LinkSettings(call_timeout=settings.codex_call_timeout),
        ),
    )
    try:
        await link.wait_connected(CODEX_CONNECT_GRACE)
    except CodexUnavailable:
        log.warning(
            "codex app-server is not reachable at %s (%s); retrying in the background. "
            "Start it with scripts/start-codex-app-server",
            settings.codex_socket,
            link.last_disconnect_reason or "no connection yet",
        )
    else:
        log.info("connected to codex app-server %s at %s", link.server_version, settings.codex_socket)

    services = Services(
        repository=repository,
        outbox=OutboxHandle(outbox_mailbox),
        link=link,
        bot=client,
        settings=ConversationSettings(
            thread=ThreadConfig(max_chunks=settings.max_message_chunks), bot_username=bot_username
        ),
    )
    services.threads = await supervisor.start(
        THREADS, functools.partial(actor_group_actor, "threads", thread_actor_factory(services))
    )
    services.chats = await supervisor.start(
        CHATS, functools.partial(actor_group_actor, "chats", chat_actor_factory(services))
    )
    await _set_commands(client)
    await recover(services)
    inbox = Inbox(services)
    await supervisor.start(
        POLLER,
        functools.partial(
            poller_actor,
            client=client,
            store=repository,
            consumer=inbox.accept,
            poll_timeout=settings.poll_timeout,
        ),
    )


async def _set_commands(client: BotApiClient) -> None:
    """Register the command menu; best effort (the bot works without it)."""
    commands = [BotCommand(command=name, description=text) for name, text in COMMANDS]
    try:
        await client.set_my_commands(commands)
    except TelegramError as exc:
        log.warning("could not register the command menu (%s); going on", exc)


async def _check_token(client: BotApiClient) -> str | None:
    """Ask Telegram who we are: a refused token is a configuration error, not something to retry forever.

    A network failure is not fatal: Telegram may be unreachable for a while, and the outbox retries.
    Returns the bot's username (for ``/command@botname``), None if Telegram could not be asked.
    """
    try:
        me = await client.get_me()  # the client's own per-call timeout applies
    except TelegramUnauthorized:
        raise ConfigError(
            "CODEXGRAM_TELEGRAM_TOKEN",
            "Telegram refused this token (401 Unauthorized): check it with @BotFather",
        ) from None
    except TelegramError as exc:
        log.warning("could not reach Telegram to check the token (%s); going on", exc)
        return None
    log.info("logged in to Telegram as @%s (id %d)", me.username, me.id)
    return me.username


StartActors = Callable[[Supervisor, Settings, Repository, AsyncExitStack], Awaitable[None]]


async def run_bot(
    settings: Settings,
    *,
    stop: trio.Event | None = None,
    start: StartActors | None = None,
    repository: Callable[..., Awaitable[None]] | None = None,
) -> None:
    """Run the bot until SIGINT/SIGTERM (or until ``stop`` is set). Returns after a clean shutdown.

    ``start`` (default :func:`start_actors`) and ``repository`` (default the repository actor) are what tests
    and tools replace instead of patching this module.

    Resource handling: every actor lives in the root nursery opened here and is stopped before this returns.
    Error handling: a start failure (e.g. ``DatabaseTooNew``) raises from here, before anything runs;
    ``ActorError`` after shutdown if an essential actor crashed.
    """
    log.info("starting codexgram with %r", settings)
    settings.upload_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    stop = stop if stop is not None else trio.Event()
    start = start if start is not None else start_actors
    repository = repository or repository_actor
    essential_crash: list[str] = []

    def on_crash(name: str, error: BaseException) -> None:
        if name in ESSENTIAL_ACTORS:
            log.critical("essential actor %s crashed (%r): shutting down", name, error)
            essential_crash.append(name)
            stop.set()

    with unwrapping_single_errors(), trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with AsyncExitStack() as resources, trio.open_nursery() as nursery:
            supervisor = Supervisor(nursery, on_crash=on_crash)
            mailbox = await supervisor.start(REPOSITORY, functools.partial(repository, settings.db_path))
            # Signals are watched from here on, also while the actors start: a Ctrl-C during a slow start
            # (Telegram or Codex not answering) cancels the start and goes straight to the orderly shutdown.
            starting = trio.CancelScope()
            nursery.start_soon(_watch_signals, signals, stop, starting, nursery.cancel_scope)
            with starting:
                await start(supervisor, settings, Repository(mailbox), resources)
            if not starting.cancelled_caught:
                freeze_startup_objects()
                log.info("codexgram is running (stop with Ctrl-C or SIGTERM)")

            await stop.wait()
            log.info("shutting down")
            await supervisor.shutdown(timeout=SHUTDOWN_TIMEOUT)
            nursery.cancel_scope.cancel()  # ends the signal watcher
    log.info("stopped")
    if essential_crash:
        raise ActorError(f"the {essential_crash[0]} actor crashed; see the log above")


def freeze_startup_objects() -> None:
    """Move what exists once the bot runs (modules, actors, settings: ~90,000 objects) out of the garbage
    collector's reach. Why: each full collection scanned them all again, ~40 ms with the event loop stopped,
    a few times a minute under load: the latency tail of every chat (see docs/benchmarks.md)."""
    gc.collect()
    gc.freeze()


async def _watch_signals(
    signals: AsyncIterator[int], stop: trio.Event, starting: trio.CancelScope, everything: trio.CancelScope
) -> None:
    """First signal: cancel a start still in progress and ask for an orderly shutdown. Second: cancel
    everything now."""
    async for signum in signals:
        if not stop.is_set():
            log.info("received %s", signal.Signals(signum).name)
            starting.cancel()
            stop.set()
        else:
            log.warning("received %s again: stopping now", signal.Signals(signum).name)
            everything.cancel()
            return
