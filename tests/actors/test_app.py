"""run_bot: an essential actor's crash shuts the bot down; SIGTERM flushes pending writes, closes the file."""

from __future__ import annotations

import functools
import logging
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import trio

from codexgram import app
from codexgram.actors.runtime import Reply, tell_nowait
from codexgram.config import load_settings
from codexgram.errors import ActorError
from codexgram.messages import Transaction
from codexgram.store import queries
from codexgram.store.db import open_database


async def test_a_repository_crash_shuts_the_bot_down(tmp_path: Path, autojump_clock: trio.abc.Clock) -> None:
    cleaned_up: list[str] = []

    async def crashing_repository(db_path: Path, *, task_status: trio.TaskStatus[Any]) -> None:
        send, _receive = trio.open_memory_channel[Any](1)
        task_status.started(send)
        await trio.sleep(5)
        raise OSError("disk gone")

    async def other_actor(*, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started(None)
        try:
            await trio.sleep_forever()
        finally:
            cleaned_up.append("other")

    async def start_other(supervisor: Any, settings: Any, repository: Any, resources: Any) -> None:
        await supervisor.start("other", other_actor)

    settings = load_settings({"HOME": str(tmp_path), "CODEXGRAM_DATA_DIR": str(tmp_path / "data")})
    with pytest.raises(ActorError, match="repository actor crashed"):
        await app.run_bot(settings, start=start_other, repository=crashing_repository)
    assert cleaned_up == ["other"]  # the rest was stopped in order, not abandoned
    assert (tmp_path / "data" / "uploads").is_dir()


async def test_sigterm_flushes_queued_writes_and_closes_the_database(tmp_path: Path) -> None:
    """The issue's "clean shutdown on SIGTERM (pending writes flushed, connections closed)", in-process."""
    writes = 100

    async def queue_writes_then_sigterm(
        supervisor: Any, settings: Any, repository: Any, resources: Any
    ) -> None:
        mailbox = supervisor.mailbox(app.REPOSITORY)
        for n in range(writes):  # queued, none awaited: they are still pending when the signal arrives
            work = functools.partial(queries.set_state, key=f"k{n}", value=str(n))
            tell_nowait(mailbox, Transaction(work=work, reply=Reply()))
        signal.raise_signal(signal.SIGTERM)  # run_bot's signal receiver is already open

    settings = load_settings({"HOME": str(tmp_path), "CODEXGRAM_DATA_DIR": str(tmp_path / "data")})
    with trio.fail_after(30):
        await app.run_bot(settings, start=queue_writes_then_sigterm)  # returns normally after a signal

    # Closed by the time run_bot returned: the last connection to a WAL file checkpoints it and removes -wal.
    assert not await trio.Path(f"{settings.db_path}-wal").exists()
    conn = open_database(settings.db_path)
    try:
        assert [queries.get_state(conn, f"k{n}") for n in range(writes)] == [str(n) for n in range(writes)]
    finally:
        conn.close()


async def test_a_signal_during_a_slow_start_stops_the_bot(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram or Codex not answering must not make Ctrl-C wait for the start to give up."""
    caplog.set_level(logging.INFO)
    start_cancelled: list[bool] = []

    async def hanging_start(supervisor: Any, settings: Any, repository: Any, resources: Any) -> None:
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            start_cancelled.append(True)
            raise

    async def send_sigterm_once_starting() -> None:
        while "starting codexgram" not in caplog.text:
            await trio.sleep(0.01)
        await trio.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)

    settings = load_settings({"HOME": str(tmp_path), "CODEXGRAM_DATA_DIR": str(tmp_path / "data")})
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_sigterm_once_starting)
            await app.run_bot(settings, start=hanging_start)
    assert start_cancelled == [True]
    assert "received SIGTERM" in caplog.text
    assert "codexgram is running" not in caplog.text
    assert "stopped" in caplog.text


@pytest.mark.parametrize("name", sorted(app.ESSENTIAL_ACTORS - {app.REPOSITORY}))
async def test_a_crash_of_a_process_wide_actor_shuts_the_bot_down(name: str, tmp_path: Path) -> None:
    """Nothing restarts the outbox or the Codex link: running on without one would be a silent half-bot.
    (Real clock: the real repository works in a thread, which a virtual clock would jump past.)"""

    async def crashing_actor(*, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started(None)
        await trio.sleep(0.05)
        raise RuntimeError("a bug")

    async def start_crashing(supervisor: Any, settings: Any, repository: Any, resources: Any) -> None:
        await supervisor.start(name, crashing_actor)

    settings = load_settings({"HOME": str(tmp_path), "CODEXGRAM_DATA_DIR": str(tmp_path / "data")})
    with trio.fail_after(20), pytest.raises(ActorError, match=f"the {name} actor crashed"):
        await app.run_bot(settings, start=start_crashing)


async def test_a_crash_of_another_actor_is_contained(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One chat's crash (any non-essential actor) is logged and the bot runs on."""
    caplog.set_level(logging.INFO)

    async def crashing_actor(*, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started(None)
        raise RuntimeError("a bug in one chat")

    async def start_crashing(supervisor: Any, settings: Any, repository: Any, resources: Any) -> None:
        await supervisor.start("chat 42", crashing_actor)

    async def stop_later() -> None:
        while "actor chat 42 crashed" not in caplog.text:
            await trio.sleep(0.01)
        await trio.sleep(0.2)
        assert "shutting down" not in caplog.text  # the crash alone did not stop the bot
        os.kill(os.getpid(), signal.SIGTERM)

    settings = load_settings({"HOME": str(tmp_path), "CODEXGRAM_DATA_DIR": str(tmp_path / "data")})
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stop_later)
            await app.run_bot(settings, start=start_crashing)  # returns normally: no ActorError
    assert "received SIGTERM" in caplog.text
