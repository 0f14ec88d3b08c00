"""The bot as ``codexgram playground`` runs it: :func:`codexgram.app.run_bot` with a ``start`` that reports
when every actor runs and a ``stop`` the playground sets at end of input, so the bot always ends by its own
orderly shutdown (the one SIGINT/SIGTERM gives it), never by a cancellation from outside.

:class:`PlaygroundBot` holds the two events; :func:`bot_username` reads who the bot logged in as from the
fake Telegram's record of ``getMe``.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from typing import Final

import attrs
import trio

from codexgram.actors.repository import Repository
from codexgram.actors.runtime import Supervisor
from codexgram.app import SHUTDOWN_TIMEOUT, run_bot, start_actors
from codexgram.config import Settings
from codexgram.testing.fake_telegram import FakeTelegram

log = logging.getLogger(__name__)

# How long the banner waits for the bot to run (every actor started) before it says so and goes on anyway.
START_WAIT: Final = 30.0
# How long end of input waits for the bot's orderly shutdown (each actor has SHUTDOWN_TIMEOUT, but they stop
# promptly in practice) before cancelling what is left.
STOP_WAIT: Final = SHUTDOWN_TIMEOUT + 5.0


@attrs.define(eq=False)
class PlaygroundBot:
    """One run of the bot. :meth:`run` returns after the bot's orderly shutdown, whoever asked for it: a
    signal (the bot's own handling), or :meth:`stop` (end of input)."""

    settings: Settings
    running: trio.Event = attrs.field(factory=trio.Event, init=False)  # every actor started
    stopped: trio.Event = attrs.field(factory=trio.Event, init=False)  # run_bot returned or raised
    stop_requested: bool = attrs.field(default=False, init=False)  # by the playground, not by a signal
    _stop: trio.Event = attrs.field(factory=trio.Event, init=False)  # a signal sets it too

    async def run(self) -> None:
        try:
            await run_bot(self.settings, stop=self._stop, start=self._start)
        finally:
            self.stopped.set()
        log.info("playground: the bot stopped")

    async def _start(
        self, supervisor: Supervisor, settings: Settings, repository: Repository, resources: AsyncExitStack
    ) -> None:
        await start_actors(supervisor, settings, repository, resources)
        self.running.set()

    async def wait_running(self, timeout: float = START_WAIT) -> bool:  # noqa: ASYNC109 - a grace period
        """Whether the bot runs (every actor started, the poller last) within ``timeout`` seconds."""
        with trio.move_on_after(timeout):
            await self.running.wait()
        return self.running.is_set()

    async def stop(self, timeout: float = STOP_WAIT) -> bool:  # noqa: ASYNC109 - a bound on the shutdown
        """Ask for the orderly shutdown and wait (at most ``timeout``) until :meth:`run` is over. Whether it
        was: if not, the caller cancels what is left."""
        self.stop_requested = True
        self._stop.set()
        with trio.move_on_after(timeout):
            await self.stopped.wait()
        return self.stopped.is_set()


def bot_username(fake: FakeTelegram) -> str | None:
    """The username the bot got from its (first successful) ``getMe``; None if it did not log in."""
    call = next((call for call in fake.calls("getMe") if call.ok), None)
    result = call.result if call is not None else None
    username = result.get("username") if isinstance(result, dict) else None
    return username if isinstance(username, str) else None
