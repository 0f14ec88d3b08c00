"""The real ``codexgram run`` process, for end-to-end tests: started, watched, stopped, killed.

A test gives it the fake Bot API server, the real app-server's socket and a data directory; it allowlists a
user and a workspace in the database first, like an owner would with ``codexgram admin``. The process is the
installed console script, so a test exercises exactly what a user runs. Its stderr (the log) is collected
and shown when a test fails.

Resource handling: :meth:`BotProcess.start` runs the stderr reader in the caller's nursery; :meth:`stop`
(SIGTERM, then SIGKILL after a deadline) and :meth:`kill` (SIGKILL: a crash) end it. Use it as an async
context manager to be sure it is gone after the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

import trio

from codexgram.store import queries
from codexgram.store.db import open_database
from codexgram.testing.fake_telegram.server import FakeTelegram
from codexgram.testing.fake_telegram.state import FakeMessage

STOP_TIMEOUT = 20.0


def console_script() -> Path:
    """The ``codexgram`` console script of the running interpreter's environment."""
    return Path(sys.executable).parent / "codexgram"


def bot_env(
    data_dir: Path, fake: FakeTelegram, socket_path: Path, *, log_level: str = "INFO", **extra: str
) -> dict[str, str]:
    """The environment of a ``codexgram run`` against ``fake`` and the app-server at ``socket_path``, with
    its data under ``data_dir``: this process's environment without any ``CODEXGRAM_*`` of the developer."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CODEXGRAM_")}
    env.update(
        CODEXGRAM_TELEGRAM_TOKEN=fake.token,
        CODEXGRAM_TELEGRAM_API_URL=fake.base_url,
        CODEXGRAM_CODEX_SOCKET=str(socket_path),
        CODEXGRAM_DATA_DIR=str(data_dir),
        CODEXGRAM_DB=str(data_dir / "bot.sqlite3"),
        CODEXGRAM_LOG_LEVEL=log_level,
        **extra,
    )
    return env


def prepare_database(db: Path, *, users: Mapping[int, str], workspaces: Mapping[str, Path]) -> None:
    """Allowlist ``users`` and add ``workspaces`` (what an owner does with ``codexgram admin``)."""
    conn = open_database(db)
    try:
        with conn:
            now = time.time()
            for user_id, name in users.items():
                queries.allow_user(conn, user_id=user_id, name=name, at=now)
            for name, path in workspaces.items():
                queries.add_workspace(conn, name=name, path=str(path), at=now)
    finally:
        conn.close()


class BotProcess:
    """One ``codexgram run`` process (see the module docstring)."""

    def __init__(self, *, env: Mapping[str, str], cwd: Path) -> None:
        self.env = dict(env)
        self.cwd = cwd
        self.stderr = bytearray()
        self.process: trio.Process | None = None
        self.runs = 0

    def __repr__(self) -> str:
        return f"<BotProcess pid={self.pid} runs={self.runs}>"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def log(self) -> str:
        return self.stderr.decode("utf-8", "replace")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self, nursery: trio.Nursery, *, wait_running: float = 30.0) -> None:
        """Start the process and return once it logs that it runs (polling Telegram)."""
        if self.running:
            raise RuntimeError("the bot is running already")
        marker = len(self.stderr)
        self.process = await trio.lowlevel.open_process(
            [str(console_script()), "run"],
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.runs += 1
        assert self.process.stderr is not None
        nursery.start_soon(self._collect, self.process.stderr)
        with trio.fail_after(wait_running):
            while b"codexgram is running" not in self.stderr[marker:]:
                if self.process.returncode is not None:
                    raise RuntimeError(f"codexgram run exited with {self.process.returncode}:\n{self.log}")
                await trio.sleep(0.02)

    async def _collect(self, stream: trio.abc.ReceiveStream) -> None:
        async with stream:
            async for chunk in stream:
                self.stderr.extend(chunk)

    async def stop(self) -> int:
        """SIGTERM and wait (SIGKILL after ``STOP_TIMEOUT``); returns the exit status."""
        process = self.process
        if process is None:
            return 0
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            with trio.move_on_after(STOP_TIMEOUT):
                await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode is not None
        return process.returncode

    async def kill(self) -> None:
        """SIGKILL: the process dies at once, mid-whatever (a crash)."""
        process = self.process
        if process is not None and process.returncode is None:
            os.kill(process.pid, signal.SIGKILL)
            await process.wait()

    async def __aenter__(self) -> BotProcess:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with trio.CancelScope(shield=True):
            await self.stop()


class UserChat:
    """A private chat with the bot on the fake Bot API server, as its user: say things, press buttons, and
    wait for what the bot shows."""

    def __init__(self, fake: FakeTelegram, chat_id: int) -> None:
        self.fake = fake
        self.chat_id = chat_id
        fake.ensure_chat(chat_id)

    def say(self, text: str) -> int:
        """Send ``text``; returns the update id."""
        update = self.fake.user_sends_text(self.chat_id, text)
        assert update is not None
        return int(update["update_id"])

    def bot_messages(self) -> list[FakeMessage]:
        return self.fake.bot_messages(self.chat_id)

    def texts(self) -> list[str]:
        """What the bot's messages show now (a document shows as its caption), oldest first."""
        return [
            m.text if m.text is not None else f"[document] {m.caption or ''}" for m in self.bot_messages()
        ]

    def find(self, needle: str) -> FakeMessage | None:
        return next((m for m in self.bot_messages() if needle in (m.text or m.caption or "")), None)

    async def wait_for(self, needle: str, *, timeout: float = 30.0) -> FakeMessage:  # noqa: ASYNC109
        """The first bot message that shows ``needle`` (now or once it appears)."""
        with trio.fail_after(timeout):
            await self.fake.wait_until(lambda: self.find(needle) is not None)
        found = self.find(needle)
        assert found is not None
        return found

    async def wait_until(
        self,
        condition: Callable[[], bool],
        *,
        timeout: float = 30.0,  # noqa: ASYNC109 - a test helper: the bound is part of what it means
    ) -> None:
        with trio.fail_after(timeout):
            await self.fake.wait_until(condition)

    def press(self, message: FakeMessage, button_text: str) -> None:
        """Press the button of ``message`` whose text contains ``button_text``."""
        current = next(m for m in self.fake.messages(self.chat_id) if m.message_id == message.message_id)
        for button in current.buttons:
            if button_text in str(button.get("text", "")):
                self.fake.user_presses_button(self.chat_id, current.message_id, str(button["callback_data"]))
                return
        raise AssertionError(f"no button {button_text!r} on message {current.message_id}: {current.buttons}")
