"""The ``run`` entry point: settings -> root nursery -> supervisor -> actors, until SIGINT/SIGTERM.

Order matters: the repository starts first (everything else needs it) and, because the supervisor stops
actors newest first, stops last, so the writes other actors make while they stop still land.

Shutdown: the first SIGINT/SIGTERM (or the crash of an actor the bot cannot live without) asks the
supervisor to stop every actor, each with its own shielded cleanup and deadline; a second signal during that
stops everything at once. The process then exits 0 after a signal, non-zero after an essential crash.
"""

from __future__ import annotations

import functools
import logging
import signal
from collections.abc import AsyncIterator
from typing import Final

import trio

from codexgram.actors.repository import Repository, repository_actor
from codexgram.actors.runtime import Supervisor, unwrapping_single_errors
from codexgram.config import Settings
from codexgram.errors import ActorError

log = logging.getLogger(__name__)

REPOSITORY: Final = "repository"
ESSENTIAL_ACTORS: Final = frozenset({REPOSITORY})
SHUTDOWN_TIMEOUT: Final = 15.0


async def start_actors(supervisor: Supervisor, settings: Settings, repository: Repository) -> None:
    """Start the bot's actors after the repository. The place where the rest of the bot is wired in.

    The Telegram poller and outbox, the Codex link and the chat actors are added here as they land; each is
    started with ``await supervisor.start(name, functools.partial(actor, ...))`` so it is ready (its mailbox
    registered) before the next one that needs it starts.
    """
    del supervisor, settings, repository  # nothing else is wired yet


async def run_bot(settings: Settings) -> None:
    """Run the bot until SIGINT/SIGTERM. Returns after a clean shutdown.

    Resource handling: every actor lives in the root nursery opened here and is stopped before this returns.
    Error handling: a start failure (e.g. ``DatabaseTooNew``) raises from here, before anything runs;
    ``ActorError`` after shutdown if an essential actor crashed.
    """
    log.info("starting codexgram with %r", settings)
    settings.upload_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    stop = trio.Event()
    essential_crash: list[str] = []

    def on_crash(name: str, error: BaseException) -> None:
        if name in ESSENTIAL_ACTORS:
            log.critical("essential actor %s crashed (%r): shutting down", name, error)
            essential_crash.append(name)
            stop.set()

    with unwrapping_single_errors(), trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            supervisor = Supervisor(nursery, on_crash=on_crash)
            mailbox = await supervisor.start(
                REPOSITORY, functools.partial(repository_actor, settings.db_path)
            )
            await start_actors(supervisor, settings, Repository(mailbox))
            nursery.start_soon(_watch_signals, signals, stop, nursery.cancel_scope)
            log.info("codexgram is running (stop with Ctrl-C or SIGTERM)")

            await stop.wait()
            log.info("shutting down")
            await supervisor.shutdown(timeout=SHUTDOWN_TIMEOUT)
            nursery.cancel_scope.cancel()  # ends the signal watcher
    log.info("stopped")
    if essential_crash:
        raise ActorError(f"the {essential_crash[0]} actor crashed; see the log above")


async def _watch_signals(signals: AsyncIterator[int], stop: trio.Event, everything: trio.CancelScope) -> None:
    """First signal: ask for an orderly shutdown. Second: cancel everything now."""
    async for signum in signals:
        if not stop.is_set():
            log.info("received %s", signal.Signals(signum).name)
            stop.set()
        else:
            log.warning("received %s again: stopping now", signal.Signals(signum).name)
            everything.cancel()
            return
